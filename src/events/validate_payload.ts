/**
 * One place that knows which schema validates which event type, so that `convo enqueue`
 * (via `parseEventLine`) and `convo work` (via `toCanonical`) accept exactly the same
 * payloads.
 *
 * @module
 */

import { payloadError } from "./_issues.ts";
import {
  type CanonicalPayload,
  canonicalPayloadSchema,
  fastCanonicalPayload,
} from "./canonical.ts";
import {
  fastPostmarkInbound,
  type PostmarkInboundPayload,
  postmarkInboundSchema,
} from "./postmark.ts";
import {
  fastTwilioMessage,
  twilioMessageId,
  type TwilioMessagePayload,
  twilioMessageSchema,
} from "./twilio.ts";
import type { EventType } from "./types.ts";

/** A payload that passed its event type's schema, with the schema's (typed) output. */
export type ValidPayload =
  | { eventType: "message.received" | "message.sent"; data: CanonicalPayload }
  | { eventType: "twilio.message"; data: TwilioMessagePayload }
  | { eventType: "postmark.inbound"; data: PostmarkInboundPayload };

// `reportInput` lets the reason tell "missing" from "wrong type"; the input itself is
// never printed (see _issues.ts).
const PARSE_OPTIONS = { reportInput: true } as const;

/**
 * Validates a payload against the schema of its event type: its fast path first (plain
 * checks that accept the usual shapes with zod's exact output, see `_fast.ts`), then zod,
 * which decides the rest and words every reason.
 *
 * @throws {EventPayloadError} when the payload does not fit; the message names the field
 * path and what was expected, never a value.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { validatePayload } from "./validate_payload.ts";
 * const valid = validatePayload("twilio.message", {
 *   MessageSid: "SM00000000000000000000000000000001",
 *   From: "+14155550101",
 *   To: "+14155550199",
 *   Body: "hello",
 *   NumMedia: "0",
 * });
 * assert.equal(valid.eventType, "twilio.message");
 * assert.throws(
 *   () => validatePayload("message.received", { channel: "fax" }),
 *   { name: "EventPayloadError", message: "payload.channel: expected one of sms, mms, email (and 4 more problems)" },
 * );
 * ```
 */
export function validatePayload(eventType: EventType, payload: unknown): ValidPayload {
  switch (eventType) {
    case "message.received":
    case "message.sent": {
      const fast = fastCanonicalPayload(payload);
      if (fast) return { eventType, data: fast };
      const r = canonicalPayloadSchema.safeParse(payload, PARSE_OPTIONS);
      if (!r.success) throw payloadError(eventType, r.error.issues);
      return { eventType, data: r.data };
    }
    case "twilio.message": {
      const fast = fastTwilioMessage(payload);
      if (fast) return { eventType, data: fast };
      const r = twilioMessageSchema.safeParse(payload, PARSE_OPTIONS);
      if (!r.success) throw payloadError(eventType, r.error.issues);
      return { eventType, data: r.data };
    }
    case "postmark.inbound": {
      const fast = fastPostmarkInbound(payload);
      if (fast) return { eventType, data: fast };
      const r = postmarkInboundSchema.safeParse(payload, PARSE_OPTIONS);
      if (!r.success) throw payloadError(eventType, r.error.issues);
      return { eventType, data: r.data };
    }
  }
}

/**
 * The provider's id of a validated payload's message: `provider_message_id`, Twilio
 * `MessageSid` (else `SmsMessageSid`, `SmsSid`), Postmark `MessageID`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { providerMessageId, validatePayload } from "./validate_payload.ts";
 * const valid = validatePayload("postmark.inbound", {
 *   MessageID: "73e6d360-66eb-11e1-8e72-a8904824019b",
 *   FromFull: { Email: "jane@example.com" },
 *   ToFull: [{ Email: "support@example.org" }],
 * });
 * assert.equal(providerMessageId(valid), "73e6d360-66eb-11e1-8e72-a8904824019b");
 * ```
 */
export function providerMessageId(valid: ValidPayload): string {
  switch (valid.eventType) {
    case "message.received":
    case "message.sent":
      return valid.data.provider_message_id;
    case "twilio.message":
      return twilioMessageId(valid.data);
    case "postmark.inbound":
      return valid.data.MessageID;
  }
}
