/**
 * The derived idempotency key reads "our side" of a message with the adapters' helpers, not
 * by converting the whole message. It must give the key the conversion gave: a reference
 * kept here (the rule as it was written before, on `canonicalToMessage`, `twilioToMessage`
 * and `postmarkToMessage`) against the real function, on arbitrary valid payloads with the
 * address fields shuffled, and on the bench generator's realistic events.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalToMessage } from "../../src/events/canonical.ts";
import { derivedIdempotencyKey } from "../../src/events/idempotency_key.ts";
import { postmarkToMessage } from "../../src/events/postmark.ts";
import { twilioToMessage } from "../../src/events/twilio.ts";
import type { CanonicalMessage, EventType } from "../../src/events/types.ts";
import { providerMessageId, type ValidPayload } from "../../src/events/validate_payload.ts";
import { validatePayload } from "../../src/events/validate_payload.ts";
import { normalizeEmail } from "../../src/normalize/email.ts";
import { hash64, hashHex } from "../../src/normalize/hash.ts";
import { DEFAULT_REGION, normalizePhone } from "../../src/normalize/phone.ts";
import { generateEvents } from "../bench/_generate.ts";
import { anyValidEvent, emailAddress, phoneAddress } from "./_arbitraries.ts";

const EPOCH = new Date(0);

/** The rule on the whole message, as `derivedIdempotencyKey` computed it before. */
function reference(valid: ValidPayload, payload: Record<string, unknown>): string {
  let message: CanonicalMessage;
  switch (valid.eventType) {
    case "message.received":
      message = canonicalToMessage(valid.data, { direction: "inbound" });
      break;
    case "message.sent":
      message = canonicalToMessage(valid.data, { direction: "outbound" });
      break;
    case "twilio.message":
      message = twilioToMessage(valid.data, { receivedAt: EPOCH });
      break;
    case "postmark.inbound":
      message = postmarkToMessage(valid.data, { receivedAt: EPOCH });
      break;
  }
  const normalized = (a: string) => {
    try {
      return message.channel === "email"
        ? normalizeEmail(a).address
        : normalizePhone(a, { region: DEFAULT_REGION }).value;
    } catch {
      return a.trim();
    }
  };
  const ours = message.direction === "outbound"
    ? [message.from]
    : [...(message.deliveredTo ? [message.deliveredTo] : []), ...message.to, ...message.cc];
  const scope = [...new Set(ours.map(normalized))].sort();
  if (valid.eventType === "twilio.message" && typeof payload.AccountSid === "string") {
    scope.push(`account:${payload.AccountSid}`);
  }
  return `convo:v1:${valid.eventType}:${hashHex(hash64(scope.join("\n")))}:${
    providerMessageId(valid)
  }`;
}

/** Both keys of a payload, or undefined when the payload is not valid. */
function keys(eventType: EventType, payload: Record<string, unknown>) {
  let valid: ValidPayload;
  try {
    valid = validatePayload(eventType, payload);
  } catch {
    return undefined;
  }
  return { mine: derivedIdempotencyKey(valid, payload), want: reference(valid, payload) };
}

/** Address fields edited into shapes the arbitraries do not make on their own. */
const edit = fc.record({
  field: fc.constantFrom(
    "delivered_to",
    "cc",
    "to",
    "OriginalRecipient",
    "To",
    "ToFull",
    "Cc",
    "CcFull",
    "AccountSid",
    "Direction",
  ),
  value: fc.oneof(
    fc.constant(undefined),
    fc.constantFrom("", " ", "\t"),
    phoneAddress,
    emailAddress,
    fc.array(fc.oneof(phoneAddress, emailAddress, fc.constant(" ")), { maxLength: 3 }),
    fc.array(
      fc.record({ Email: fc.oneof(emailAddress, fc.constantFrom("", " ")), Name: fc.string() }, {
        noNullPrototype: true,
      }),
      { maxLength: 3 },
    ),
    fc.constantFrom("outbound-api", "inbound", "ACxyz"),
  ),
});

Deno.test("derivedIdempotencyKey() gives the whole-message rule's key on any valid payload", () => {
  let compared = 0;
  fc.assert(
    fc.property(
      anyValidEvent,
      fc.array(edit, { maxLength: 3 }),
      ({ eventType, payload }, edits) => {
        const edited: Record<string, unknown> = { ...payload };
        for (const { field, value } of edits) {
          if (value === undefined) delete edited[field];
          else edited[field] = value;
        }
        for (const p of [payload, edited]) {
          const k = keys(eventType, p);
          if (k === undefined) continue;
          compared++;
          assert.equal(k.mine, k.want);
        }
      },
    ),
    { numRuns: 3000 },
  );
  // The edits must not make most payloads invalid, or the test compares little.
  assert.ok(compared > 4000, `compared ${compared}`);
});

Deno.test("derivedIdempotencyKey() gives the whole-message rule's key on realistic events", () => {
  const { lines } = generateEvents(5000, 7);
  let compared = 0;
  for (const line of lines) {
    const { event_type, payload } = JSON.parse(line);
    const k = keys(event_type, payload);
    assert.ok(k, "the generator's events are valid");
    assert.equal(k.mine, k.want);
    compared++;
  }
  assert.equal(compared, 5000);
});

Deno.test("derivedIdempotencyKey() scopes by our side only, in any order and spelling", () => {
  const valid = (payload: Record<string, unknown>) => validatePayload("message.received", payload);
  const base = {
    channel: "sms",
    provider_message_id: "m-1",
    from: "+14155550101",
    sent_at: "2024-05-01T12:00:00Z",
  };
  const a = { ...base, to: ["+14155550102", "+14155550103"] };
  const b = { ...base, to: ["+1 (415) 555-0103", "+14155550102", "+14155550102"] };
  const c = { ...base, to: ["+14155550102"] };
  const d = { ...base, from: "+14155550199", to: ["+14155550103", "+14155550102"] };
  assert.equal(derivedIdempotencyKey(valid(a), a), derivedIdempotencyKey(valid(b), b));
  assert.notEqual(derivedIdempotencyKey(valid(a), a), derivedIdempotencyKey(valid(c), c));
  // The sender is their side of an inbound message: not in the scope.
  assert.equal(derivedIdempotencyKey(valid(a), a), derivedIdempotencyKey(valid(d), d));
  // An SMS's cc is not read (the adapter drops it); an email's is.
  const sms = { ...a, cc: ["+14155550104"] };
  assert.equal(derivedIdempotencyKey(valid(sms), sms), derivedIdempotencyKey(valid(a), a));
  const mail = {
    ...base,
    channel: "email",
    from: "x@example.net",
    to: "ops@example.org",
    subject: "hi",
  };
  const mailCc = { ...mail, cc: "Team <team@example.org>" };
  assert.notEqual(
    derivedIdempotencyKey(valid(mail), mail),
    derivedIdempotencyKey(valid(mailCc), mailCc),
  );
});
