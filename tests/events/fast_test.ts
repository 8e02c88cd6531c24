/**
 * The payload schemas' fast paths (`src/events/_fast.ts`) against the schemas themselves:
 * a fast path may decline, or accept with exactly zod's output; it may never accept what
 * zod refuses, nor give another output. And the realistic payloads must take it, or it
 * is dead weight.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalPayloadSchema, fastCanonicalPayload } from "../../src/events/canonical.ts";
import { fastPostmarkInbound, postmarkInboundSchema } from "../../src/events/postmark.ts";
import { fastTwilioMessage, twilioMessageSchema } from "../../src/events/twilio.ts";
import { validatePayload } from "../../src/events/validate_payload.ts";
import type { EventType } from "../../src/events/types.ts";
import { generateEvents } from "../bench/_generate.ts";
import { anyValidEvent } from "./_arbitraries.ts";

interface Pair {
  fast: (payload: unknown) => unknown;
  // deno-lint-ignore no-explicit-any
  schema: { safeParse(payload: unknown): { success: boolean; data?: any } };
}

const PAIRS: Record<EventType, Pair> = {
  "message.received": { fast: fastCanonicalPayload, schema: canonicalPayloadSchema },
  "message.sent": { fast: fastCanonicalPayload, schema: canonicalPayloadSchema },
  "twilio.message": { fast: fastTwilioMessage, schema: twilioMessageSchema },
  "postmark.inbound": { fast: fastPostmarkInbound, schema: postmarkInboundSchema },
};

/** Holds the fast path of `eventType` to its schema on `payload`; whether it accepted. */
function agrees(eventType: EventType, payload: unknown): boolean {
  const { fast, schema } = PAIRS[eventType];
  const mine = fast(payload);
  if (mine === undefined) return false;
  const zod = schema.safeParse(payload);
  assert.ok(zod.success, "the fast path accepted what the schema refuses");
  assert.deepStrictEqual(mine, zod.data);
  return true;
}

/** Values that sit on or just past an edge of some field's rule. */
const SCALAR_EDGES: unknown[] = [
  null,
  undefined,
  "",
  " ",
  "\t\n",
  0,
  1,
  true,
  [],
  {},
  ["+14155550101"],
  [""],
  [null],
  [{}],
  [{ url: "https://example.com/a.jpg" }],
  [{ url: "https://example.com/a.jpg", content_type: null }],
  [{ url: " https://example.com/a.jpg" }],
  [{ url: "https://example.com/a\tb.jpg" }],
  [{ Email: null }],
  [{ Email: "a@example.org", Name: "A" }],
  [{ Name: "x".repeat(256) }],
  { Email: "a@example.org" },
  { Email: 1 },
  "x".repeat(255),
  "x".repeat(256),
  "x".repeat(320),
  "x".repeat(321),
  "x".repeat(998),
  "x".repeat(999),
  "sms",
  "mms",
  "email",
  "fax",
  "inbound",
  "outbound-api",
  "outbound",
  "0",
  "1",
  "2",
  "10",
  "11",
  "01",
  " 1",
  "+14155550101",
  "whatsapp:+14155550101",
  "tel:+14155550101",
  "WhatsApp:+14155550101",
  "messenger:abc",
  "ｗhatsapp:+1",
  "a@example.org",
  '"A, B" <a@example.org>, c@example.org',
  "<" + "x".repeat(330) + "@example.org>",
  "2024-05-01T12:00:00Z",
  "2024-05-01T12:00:00.123456+02:00",
  "2024-05-01T12:00:00",
  "2024-05-01T12:00Z",
  "2024-02-30T12:00:00Z",
  "2024-02-29T12:00:00Z",
  "2023-02-29T12:00:00Z",
  "0000-01-01T00:00:00Z",
  "0001-01-01T00:00:00+00:01",
  "9999-12-31T23:59:59Z",
  "9999-12-31T23:30:00-01:00",
  "2024-05-01t12:00:00z",
  "https://example.com/a.jpg",
  "HTTPS://example.com/a.jpg",
  "http://example.com:99999/",
  "http:example.com",
  "https:/example.com",
  "ftp://example.com/a",
  "https://",
  "https://exa mple.com/",
  "https://example.com/" + "x".repeat(2030),
  "https://example.com/" + "x".repeat(2029),
  "https://[::1]/a",
  "https://ex%61mple.com/",
  "\u0000",
  "\uFEFFx",
  "\u00a0",
];

/** The scalar edges inside every nested shape the schemas have. */
const EDGES: unknown[] = [
  ...SCALAR_EDGES,
  ...SCALAR_EDGES.flatMap((e) => [
    [e],
    ["+14155550101", e],
    { Email: e },
    [{ Email: e }],
    [{ Email: "a@example.org" }, { Email: e, Name: "n" }],
    [{ url: e }],
    [{ url: "https://example.com/a.jpg", content_type: e }],
    [{ Name: e }],
    [{ ContentType: e, ContentID: "c" }],
    [{ ContentID: e }],
  ]),
];

/** Field names of every schema, plus a stranger. */
const KEYS = [
  "channel",
  "provider_message_id",
  "from",
  "to",
  "cc",
  "delivered_to",
  "subject",
  "body",
  "html",
  "sent_at",
  "received_at",
  "attachments",
  "MessageSid",
  "SmsMessageSid",
  "SmsSid",
  "From",
  "To",
  "Body",
  "NumMedia",
  "Direction",
  "MediaUrl0",
  "MediaUrl1",
  "MediaUrl9",
  "MediaContentType0",
  "MediaContentType9",
  "MessageID",
  "FromFull",
  "ToFull",
  "Cc",
  "CcFull",
  "OriginalRecipient",
  "Subject",
  "Date",
  "TextBody",
  "HtmlBody",
  "StrippedTextReply",
  "Attachments",
  "Unknown",
];

/** A valid payload with up to four fields set to an edge value or removed. */
const mutated = fc.record({
  event: anyValidEvent,
  edits: fc.array(
    fc.record({
      key: fc.constantFrom(...KEYS),
      value: fc.oneof(fc.constantFrom(...EDGES), fc.constant("<delete>")),
    }),
    { maxLength: 4 },
  ),
}).map(({ event, edits }) => {
  const payload: Record<string, unknown> = structuredClone(event.payload);
  for (const { key, value } of edits) {
    if (value === "<delete>") delete payload[key];
    else payload[key] = value;
  }
  return { eventType: event.eventType, payload };
});

Deno.test("fast paths: a valid payload takes the fast path with zod's exact output, or declines", () => {
  let accepted = 0;
  let runs = 0;
  fc.assert(
    fc.property(anyValidEvent, ({ eventType, payload }) => {
      runs++;
      // As it arrives: from JSON (the arbitraries leave some optional keys `undefined`).
      if (agrees(eventType, JSON.parse(JSON.stringify(payload)))) accepted++;
      agrees(eventType, payload);
    }),
    { numRuns: 2000 },
  );
  // The arbitraries are noisy on purpose (odd Unicode, NULs, unknown fields): most of
  // them must still be decided without zod.
  assert.ok(accepted > runs * 0.8, `only ${accepted} of ${runs} took the fast path`);
});

Deno.test("fast paths: edited payloads are accepted only as zod accepts them", () => {
  let accepted = 0;
  let refusedByZod = 0;
  fc.assert(
    fc.property(mutated, ({ eventType, payload }) => {
      if (agrees(eventType, payload)) accepted++;
      else if (!PAIRS[eventType].schema.safeParse(payload).success) refusedByZod++;
    }),
    { numRuns: 5000 },
  );
  // Both sides of the property are exercised.
  assert.ok(accepted > 500, `accepted ${accepted}`);
  assert.ok(refusedByZod > 500, `refused ${refusedByZod}`);
});

Deno.test("fast paths: every edge value in every field, one at a time, on a payload of each type", () => {
  const samples = fc.sample(anyValidEvent, { numRuns: 12, seed: 7 });
  for (const { eventType, payload } of samples) {
    for (const key of KEYS) {
      for (const value of EDGES) {
        agrees(eventType, { ...payload, [key]: value });
      }
    }
  }
});

Deno.test("fast paths: a key present with the value undefined declines (zod keeps it)", () => {
  const payload = {
    MessageSid: "SM01",
    From: "+14155550101",
    To: "+14155550199",
    Body: undefined,
  };
  assert.equal(fastTwilioMessage(payload), undefined);
  assert.equal(twilioMessageSchema.safeParse(payload).success, true);
});

Deno.test("fast paths: the bench generator's realistic events all take the fast path", () => {
  const { lines } = generateEvents(3000, 11);
  const counts = new Map<string, number>();
  for (const line of lines) {
    const { event_type: eventType, payload } = JSON.parse(line);
    assert.ok(agrees(eventType, payload), `${eventType} declined`);
    counts.set(eventType, (counts.get(eventType) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort(), Object.keys(PAIRS).sort());
});

Deno.test("fast paths: validatePayload still words zod's reasons for what the fast path declines", () => {
  assert.throws(
    () =>
      validatePayload("message.received", {
        channel: "sms",
        provider_message_id: "m-1",
        from: "+14155550101",
        to: "+14155550102",
        sent_at: "2024-05-01T12:00:00",
      }),
    { name: "EventPayloadError", message: /^payload\.sent_at: / },
  );
});
