/**
 * A message's activity time: when it counts as its conversation's latest activity
 * (`conversations.last_message_at`, and which message's snippet is `last_snippet`).
 *
 * `sent_at` is the provider's or the sender's time, and an email's `Date` header is whatever
 * the sender wrote: one email dated 9999 would keep its conversation on top of the overview,
 * with a frozen snippet, forever. So the activity time is `sent_at`, but never more than a day
 * after the message reached us (`received_at`) or was written (`created_at`, set by the
 * database): the message keeps its own `sent_at` as given.
 *
 * The same rule in SQL is `convo_message_activity_at(sent_at, received_at, created_at)`
 * (migration `20261203090000_activity_at`): ingest moves the counters with this
 * function, and a recount from `messages` must use that one (PostgreSQL's `least` skips
 * nulls, as this does).
 *
 * @module
 */

/** How far past its arrival a message's own time may count: clocks and zones drift. */
export const ACTIVITY_LEEWAY_MS = 24 * 60 * 60 * 1000;

/** The times of a message that its activity time depends on. */
export interface MessageTimes {
  /** `messages.sent_at`. */
  readonly sentAt: Date;
  /** `messages.received_at` (null for an outbound message without one). */
  readonly receivedAt: Date | null;
  /** `messages.created_at`: when the row was written. */
  readonly createdAt: Date;
}

/**
 * `least(sent_at, received_at + 24 h, created_at + 24 h)`, nulls skipped.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { messageActivityAt } from "./activity.ts";
 * const createdAt = new Date("2024-05-01T12:00:05Z");
 * const at = (sentAt: string, receivedAt: string | null) =>
 *   messageActivityAt({
 *     sentAt: new Date(sentAt),
 *     receivedAt: receivedAt === null ? null : new Date(receivedAt),
 *     createdAt,
 *   }).toISOString();
 * assert.equal(at("2024-05-01T11:59:00Z", "2024-05-01T12:00:00Z"), "2024-05-01T11:59:00.000Z");
 * assert.equal(at("9999-12-31T00:00:00Z", "2024-05-01T12:00:00Z"), "2024-05-02T12:00:00.000Z");
 * assert.equal(at("9999-12-31T00:00:00Z", null), "2024-05-02T12:00:05.000Z");
 * ```
 */
export function messageActivityAt(times: MessageTimes): Date {
  let t = Math.min(times.sentAt.getTime(), times.createdAt.getTime() + ACTIVITY_LEEWAY_MS);
  if (times.receivedAt !== null) t = Math.min(t, times.receivedAt.getTime() + ACTIVITY_LEEWAY_MS);
  return new Date(t);
}
