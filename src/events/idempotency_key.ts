/**
 * The idempotency key `convo enqueue` derives for an event that brings none: at the scope of
 * the message's identity in the worker, in a namespace explicit keys cannot enter.
 *
 * The worker knows a message by `(provider, provider message id)`, and the provider comes
 * from routing "our side" of the message (the address delivered to, the recipients, or the
 * sender of an outbound message). Enqueue does not route, so the derived key is scoped by
 * what decides the route: our side's addresses, normalized, sorted and hashed (for Twilio,
 * with the `AccountSid`, which with the `MessageSid` is Twilio's own identity):
 *
 * ```
 * convo:v1:<event_type>:<16 hex digits: hash64 of our side>:<provider message id>
 * ```
 *
 * Two events with the same key have the same message id and the same candidate addresses,
 * so the worker would route them to the same provider and take them for the same message:
 * the key is never wider than the message's identity. It may be narrower (another spelling
 * of the same address that the normalizer does not fold); the worker's unique
 * `(provider_id, provider_message_id)` then makes the second one a replay.
 *
 * @module
 */

import { normalizeEmail } from "../normalize/email.ts";
import { hash64, hashHex } from "../normalize/hash.ts";
import { DEFAULT_REGION, normalizePhone } from "../normalize/phone.ts";
import { canonicalToMessage } from "./canonical.ts";
import { postmarkToMessage } from "./postmark.ts";
import { twilioToMessage } from "./twilio.ts";
import type { CanonicalMessage } from "./types.ts";
import { providerMessageId, type ValidPayload } from "./validate_payload.ts";

/** Keys that start with this are convo's own; an explicit `idempotency_key` may not. */
export const RESERVED_KEY_PREFIX = "convo:";

/** The version of the derived key's rule; a new rule gets a new version, never the same. */
const DERIVED_PREFIX = `${RESERVED_KEY_PREFIX}v1:`;

/** Addresses are only read here: any time will do for the adapters' times. */
const EPOCH = new Date(0);

function messageOf(valid: ValidPayload): CanonicalMessage {
  switch (valid.eventType) {
    case "message.received":
      return canonicalToMessage(valid.data, { direction: "inbound" });
    case "message.sent":
      return canonicalToMessage(valid.data, { direction: "outbound" });
    case "twilio.message":
      return twilioToMessage(valid.data, { receivedAt: EPOCH });
    case "postmark.inbound":
      return postmarkToMessage(valid.data, { receivedAt: EPOCH });
  }
}

/** The normalized form, or the address trimmed when it has none (the worker refuses it). */
function normalized(message: CanonicalMessage, address: string): string {
  try {
    return message.channel === "email"
      ? normalizeEmail(address).address
      : normalizePhone(address, { region: DEFAULT_REGION }).value;
  } catch {
    return address.trim();
  }
}

/**
 * Derives the idempotency key of a validated payload (see the module doc). `payload` is the
 * payload as given, for the fields the schema does not keep (Twilio's `AccountSid`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { derivedIdempotencyKey } from "./idempotency_key.ts";
 * import { validatePayload } from "./validate_payload.ts";
 * const sms = (to: string) => {
 *   const payload = { MessageSid: "SM01", From: "+14155550101", To: to };
 *   return derivedIdempotencyKey(validatePayload("twilio.message", payload), payload);
 * };
 * assert.match(sms("+14155550199"), /^convo:v1:twilio\.message:[0-9a-f]{16}:SM01$/);
 * assert.equal(sms("+1 (415) 555-0199"), sms("+14155550199"));
 * assert.notEqual(sms("+14155550188"), sms("+14155550199"));
 * ```
 */
export function derivedIdempotencyKey(
  valid: ValidPayload,
  payload: Readonly<Record<string, unknown>>,
): string {
  const message = messageOf(valid);
  const ours = message.direction === "outbound"
    ? [message.from]
    : [...(message.deliveredTo ? [message.deliveredTo] : []), ...message.to, ...message.cc];
  const scope = [...new Set(ours.map((a) => normalized(message, a)))].sort();
  if (valid.eventType === "twilio.message" && typeof payload.AccountSid === "string") {
    scope.push(`account:${payload.AccountSid}`);
  }
  const side = hashHex(hash64(scope.join("\n")));
  return `${DERIVED_PREFIX}${valid.eventType}:${side}:${providerMessageId(valid)}`;
}
