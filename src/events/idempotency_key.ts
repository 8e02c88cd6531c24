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
import { hash64Hex } from "../normalize/hash.ts";
import { DEFAULT_REGION, normalizePhone } from "../normalize/phone.ts";
import { canonicalCc, canonicalTo } from "./canonical.ts";
import { postmarkCc, postmarkDeliveredTo, postmarkTo } from "./postmark.ts";
import { twilioDirection } from "./twilio.ts";
import { providerMessageId, type ValidPayload } from "./validate_payload.ts";

/** Keys that start with this are convo's own; an explicit `idempotency_key` may not. */
export const RESERVED_KEY_PREFIX = "convo:";

/** The version of the derived key's rule; a new rule gets a new version, never the same. */
const DERIVED_PREFIX = `${RESERVED_KEY_PREFIX}v1:`;

/**
 * Our side of the message, as the adapters (`canonicalToMessage`, `twilioToMessage`,
 * `postmarkToMessage`) give it and the worker routes it: the sender of an outbound
 * message; else the address delivered to, the recipients and the copies. Read with the
 * adapters' own helpers rather than by converting the whole message (its body, times and
 * attachments): that conversion was a third of the key's cost.
 */
function ourSide(valid: ValidPayload): { email: boolean; addresses: string[] } {
  switch (valid.eventType) {
    case "message.received": {
      const p = valid.data;
      const addresses = p.delivered_to ? [p.delivered_to] : [];
      for (const a of canonicalTo(p)) addresses.push(a);
      for (const a of canonicalCc(p)) addresses.push(a);
      return { email: p.channel === "email", addresses };
    }
    case "message.sent":
      return { email: valid.data.channel === "email", addresses: [valid.data.from] };
    case "twilio.message": {
      const p = valid.data;
      return { email: false, addresses: [twilioDirection(p) === "outbound" ? p.From : p.To] };
    }
    case "postmark.inbound": {
      const p = valid.data;
      const deliveredTo = postmarkDeliveredTo(p);
      const addresses = deliveredTo !== undefined ? [deliveredTo] : [];
      for (const a of postmarkTo(p)) addresses.push(a);
      for (const a of postmarkCc(p)) addresses.push(a);
      return { email: true, addresses };
    }
  }
}

/** The normalized form, or the address trimmed when it has none (the worker refuses it). */
function normalized(email: boolean, address: string): string {
  try {
    return email
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
  const { email, addresses } = ourSide(valid);
  // Distinct and sorted; a handful of addresses, so a list beats a Set.
  const scope: string[] = [];
  for (const address of addresses) {
    const n = normalized(email, address);
    if (!scope.includes(n)) scope.push(n);
  }
  scope.sort();
  if (valid.eventType === "twilio.message" && typeof payload.AccountSid === "string") {
    scope.push(`account:${payload.AccountSid}`);
  }
  const side = hash64Hex(scope.join("\n"));
  return `${DERIVED_PREFIX}${valid.eventType}:${side}:${providerMessageId(valid)}`;
}
