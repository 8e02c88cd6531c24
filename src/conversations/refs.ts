/**
 * Contacts and conversations as rows to find or create, and the text refs that
 * name them in plans and in the worker's cache. Shared by ingest and by a
 * backfill, so both give a message the same conversation.
 *
 * @module
 */

/** A contact to find or create: one per external address per customer. */
export interface PlannedContact {
  readonly customerId: bigint;
  readonly kind: "phone" | "email";
  readonly addressId: bigint;
  readonly displayName: string | null;
}

/** A conversation to find or create. */
export interface PlannedConversation {
  readonly customerId: bigint;
  readonly channel: "sms" | "email";
  readonly key: bigint;
  readonly participants: readonly string[];
}

/**
 * The ref of a contact: customer, address kind and address key.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { contactRef } from "./refs.ts";
 * assert.equal(contactRef(1n, "phone", -5n), "1|phone|-5");
 * ```
 */
export const contactRef = (customerId: bigint, kind: string, addressId: bigint): string =>
  `${customerId}|${kind}|${addressId}`;

/**
 * The ref of a conversation: customer, channel and participants (never the
 * 64-bit key, which a collision can move to a fallback: see `dedup/keys.ts`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { conversationRef } from "./refs.ts";
 * assert.equal(conversationRef(1n, "sms", ["+1415", "+1650"]), "1|sms|+1415\n+1650");
 * ```
 */
export const conversationRef = (
  customerId: bigint,
  channel: string,
  participants: readonly string[],
): string => `${customerId}|${channel}|${participants.join("\n")}`;
