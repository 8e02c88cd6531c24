/**
 * The dispatcher from any event to its {@link CanonicalMessage}.
 *
 * @module
 */

import { canonicalToMessage } from "./canonical.ts";
import { postmarkToMessage } from "./postmark.ts";
import { twilioToMessage } from "./twilio.ts";
import type { CanonicalMessage, EventType } from "./types.ts";
import { validatePayload } from "./validate_payload.ts";

/** Options of {@link toCanonical}. */
export interface ToCanonicalOptions {
  /**
   * When the event reached us (its enqueue time). Twilio's and Postmark's `receivedAt`,
   * and their `sentAt` when the provider gives none (Twilio) or an unreadable one
   * (Postmark). Canonical payloads carry their own times and ignore it.
   */
  receivedAt: Date;
}

/**
 * Validates an event's payload with its type's schema (the same one `parseEventLine`
 * uses at enqueue) and maps it to one provider-neutral message.
 *
 * @throws {EventPayloadError} when the payload is invalid: a permanent error, the worker
 * dead-letters the event.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { toCanonical } from "./to_canonical.ts";
 * const message = toCanonical("message.sent", {
 *   channel: "email",
 *   provider_message_id: "<a1@example.org>",
 *   from: "support@example.org",
 *   to: "jane@example.com",
 *   cc: ["ops@example.org"],
 *   subject: "Your order",
 *   body: "Shipped.",
 *   sent_at: "2024-05-01T12:00:00Z",
 * }, { receivedAt: new Date("2024-05-01T12:00:05Z") });
 * assert.equal(message.direction, "outbound");
 * assert.deepEqual(message.to, ["jane@example.com"]);
 * assert.deepEqual(message.cc, ["ops@example.org"]);
 * assert.throws(
 *   () => toCanonical("twilio.message", { From: "+14155550101" }, { receivedAt: new Date() }),
 *   { name: "EventPayloadError", message: "payload.To: missing (expected a string)" },
 * );
 * ```
 */
export function toCanonical(
  eventType: EventType,
  payload: unknown,
  options: ToCanonicalOptions,
): CanonicalMessage {
  const valid = validatePayload(eventType, payload);
  switch (valid.eventType) {
    case "message.received":
      return canonicalToMessage(valid.data, { direction: "inbound" });
    case "message.sent":
      return canonicalToMessage(valid.data, { direction: "outbound" });
    case "twilio.message":
      return twilioToMessage(valid.data, options);
    case "postmark.inbound":
      return postmarkToMessage(valid.data, options);
  }
}
