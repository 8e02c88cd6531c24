import assert from "node:assert/strict";
import { derivedKey } from "../_helpers/events.ts";
import fc from "fast-check";
import { parseEventLine } from "../../src/events/envelope.ts";
import { EventPayloadError } from "../../src/events/errors.ts";
import { toCanonical } from "../../src/events/to_canonical.ts";
import type { CanonicalMessage, EventType } from "../../src/events/types.ts";
import { anyValidEvent, canonicalPayload, postmarkPayload, twilioPayload } from "./_arbitraries.ts";

const receivedAt = new Date("2024-05-01T16:00:00Z");
const CAP = 262_144;

function checkInvariants(m: CanonicalMessage): void {
  assert.ok(m.direction === "inbound" || m.direction === "outbound");
  assert.ok(["sms", "mms", "email"].includes(m.channel));
  assert.ok(/\S/.test(m.providerMessageId));
  assert.ok(/\S/.test(m.from));
  assert.ok(m.to.length >= 1 && m.to.length <= 100);
  for (const a of [...m.to, ...m.cc]) assert.equal(typeof a, "string");
  if (m.channel !== "email") assert.deepEqual(m.cc, []);
  if (m.channel === "sms") assert.deepEqual(m.attachments, []);
  assert.ok(!Number.isNaN(m.sentAt.getTime()));
  if (m.receivedAt) assert.ok(!Number.isNaN(m.receivedAt.getTime()));
  assert.ok(m.attachments.length <= 50);
  for (const key of ["subject", "body", "html"] as const) assert.notEqual(m[key], "");
}

Deno.test("toCanonical() sets direction per event type", () => {
  const sms = {
    channel: "sms",
    provider_message_id: "SM1",
    from: "+14155550142",
    to: "+14155550100",
    sent_at: "2024-05-01T16:00:03Z",
  };
  assert.equal(toCanonical("message.received", sms, { receivedAt }).direction, "inbound");
  assert.equal(toCanonical("message.sent", sms, { receivedAt }).direction, "outbound");
  const twilio = { MessageSid: "SM1", From: "+14155550142", To: "+14155550100" };
  assert.equal(toCanonical("twilio.message", twilio, { receivedAt }).direction, "inbound");
  const postmark = { MessageID: "p1", From: "a@example.com", To: "b@example.org" };
  assert.equal(toCanonical("postmark.inbound", postmark, { receivedAt }).direction, "inbound");
});

Deno.test("toCanonical() throws EventPayloadError for payloads that are not objects", () => {
  const types: EventType[] = [
    "message.received",
    "message.sent",
    "twilio.message",
    "postmark.inbound",
  ];
  for (const eventType of types) {
    for (const payload of [null, undefined, "x", 5, [], true]) {
      assert.throws(
        () => toCanonical(eventType, payload, { receivedAt }),
        (error: unknown) =>
          error instanceof EventPayloadError && error.path === "payload" &&
          error.eventType === eventType &&
          /^payload: (missing|expected an object)/.test(error.message),
      );
    }
  }
});

Deno.test("valid payloads: parseEventLine accepts them and toCanonical maps what it stored", () => {
  fc.assert(
    fc.property(anyValidEvent, ({ eventType, payload }) => {
      const line = JSON.stringify({ event_type: eventType, payload });
      const result = parseEventLine(line, { maxPayloadBytes: CAP });
      assert.equal(result.ok, true, JSON.stringify(result));
      if (result.ok !== true) return;
      assert.equal(result.event.eventType, eventType);
      // The stored payload is the original (after U+0000 replacement), not zod's copy.
      const asJson = JSON.parse(line).payload; // undefined-valued keys do not survive JSON
      assert.deepEqual(Object.keys(result.event.payload), Object.keys(asJson));
      const fromStored = toCanonical(eventType, result.event.payload, { receivedAt });
      checkInvariants(fromStored);
      assert.ok(
        result.event.idempotencyKey?.startsWith(`convo:v1:${eventType}:`) &&
          result.event.idempotencyKey.endsWith(`:${fromStored.providerMessageId}`),
      );
      // The worker may also get the payload before replacement (tests, other producers).
      checkInvariants(toCanonical(eventType, payload, { receivedAt }));
      // --type gives the same event.
      const typed = parseEventLine(JSON.stringify(payload), {
        maxPayloadBytes: CAP,
        type: eventType,
      });
      assert.equal(typed.ok, true);
      if (typed.ok === true) assert.equal(typed.event.idempotencyKey, result.event.idempotencyKey);
    }),
    { numRuns: 1500 },
  );
});

Deno.test("enqueue and worker agree: a mutated payload is accepted by both or by neither", () => {
  const mutated = fc.tuple(
    fc.oneof(
      canonicalPayload.map((p) => ({ eventType: "message.received" as const, p })),
      twilioPayload.map((p) => ({ eventType: "twilio.message" as const, p })),
      postmarkPayload.map((p) => ({ eventType: "postmark.inbound" as const, p })),
    ),
    fc.nat(),
    fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(
        "",
        " ",
        "x".repeat(400),
        "whatsapp:+14155550142",
        "2024-05-01T16:00:00",
        "5",
      ),
    ),
    fc.boolean(),
  ).map(([{ eventType, p }, index, value, remove]) => {
    const keys = Object.keys(p);
    const key = keys[index % keys.length];
    const payload: Record<string, unknown> = { ...p };
    if (remove) delete payload[key];
    else payload[key] = value;
    return { eventType, payload };
  });
  fc.assert(
    fc.property(mutated, ({ eventType, payload }) => {
      const enqueue = parseEventLine(JSON.stringify(payload), {
        maxPayloadBytes: CAP,
        type: eventType,
      });
      let worker: "ok" | string;
      try {
        checkInvariants(toCanonical(eventType, payload, { receivedAt }));
        worker = "ok";
      } catch (error) {
        if (!(error instanceof EventPayloadError)) throw error;
        worker = error.message;
      }
      if (enqueue.ok === true) {
        assert.equal(worker, "ok");
        checkInvariants(toCanonical(eventType, enqueue.event.payload, { receivedAt }));
      } else {
        assert.equal(enqueue.ok, false);
        // Same schema, same first problem (unless the line itself was the problem).
        if (enqueue.ok === false && enqueue.reason.startsWith("payload")) {
          assert.equal(enqueue.reason, worker);
        }
      }
    }),
    { numRuns: 3000 },
  );
});

interface Expected {
  line: number;
  outcome: "valid" | "duplicate" | "blank" | "invalid";
  key?: string;
  reason?: string;
  nulReplaced?: number;
}

Deno.test("mixed.ndjson: every line has the outcome its README promises", () => {
  const text = Deno.readTextFileSync(new URL("../fixtures/events/mixed.ndjson", import.meta.url));
  const lines = text.split("\n");
  assert.equal(lines.pop(), ""); // ends with a newline
  const sid = (prefix: string, n: number) =>
    `${prefix}5f1a0c2b9e8d4f7a6b3c2d1e0f9a${String(n).padStart(4, "0")}`;
  const expected: Expected[] = [
    {
      line: 1,
      outcome: "valid",
      key: derivedKey("message.received", ["+14155550100"], sid("SM", 1)),
    },
    { line: 2, outcome: "valid", key: derivedKey("message.sent", ["+14155550100"], sid("SM", 2)) },
    {
      line: 3,
      outcome: "valid",
      key: derivedKey(
        "twilio.message",
        ["+14155550100"],
        sid("SM", 3),
        "AC0a1b2c3d4e5f60718293a4b5c6d7e8f9",
      ),
    },
    { line: 4, outcome: "valid", key: "outbound-sms-2024-05-01-0004" },
    {
      line: 5,
      outcome: "valid",
      key: derivedKey(
        "message.received",
        ["+14155550100", "+14155550144", "+14155550145"],
        sid("MM", 5),
      ),
    },
    {
      line: 6,
      outcome: "valid",
      key: derivedKey(
        "twilio.message",
        ["+14155550100"],
        sid("MM", 6),
        "AC0a1b2c3d4e5f60718293a4b5c6d7e8f9",
      ),
    },
    { line: 7, outcome: "blank" },
    {
      line: 8,
      outcome: "valid",
      key: derivedKey("postmark.inbound", [
        "support@example.org",
        "ops@example.org",
        "billing@example.org",
      ], "73e6d360-66eb-11e1-8e72-a8904824019b"),
    },
    {
      line: 9,
      outcome: "valid",
      key: derivedKey(
        "message.sent",
        ["support@example.org"],
        "<20240501171500.1042@mail.example.org>",
      ),
    },
    {
      line: 10,
      outcome: "valid",
      key: derivedKey("message.received", [
        "support@example.org",
        "ops@example.org",
        "billing@example.org",
      ], "<CAF7x3Q+ab2Zq@mail.example.com>"),
    },
    {
      line: 11,
      outcome: "duplicate",
      key: derivedKey("message.received", ["+14155550100"], sid("SM", 1)),
    },
    {
      line: 12,
      outcome: "duplicate",
      key: derivedKey(
        "twilio.message",
        ["+14155550100"],
        sid("SM", 3),
        "AC0a1b2c3d4e5f60718293a4b5c6d7e8f9",
      ),
    },
    { line: 13, outcome: "invalid", reason: "invalid JSON: Unexpected end of JSON input" },
    {
      line: 14,
      outcome: "invalid",
      reason: "payload.to: expected a string or an array of strings",
    },
    {
      line: 15,
      outcome: "valid",
      key: derivedKey("message.received", ["+14155550100"], sid("SM", 15)),
      nulReplaced: 1,
    },
    {
      line: 16,
      outcome: "invalid",
      reason:
        "payload.sent_at: timestamp has no time zone (ambiguous): add Z or an offset like +02:00",
    },
  ];
  assert.equal(lines.length, expected.length);
  const seen = new Set<string>();
  for (const e of expected) {
    const r = parseEventLine(lines[e.line - 1], { maxPayloadBytes: CAP });
    const where = `line ${e.line}`;
    if (e.outcome === "blank") {
      assert.deepEqual(r, { ok: "blank" }, where);
    } else if (e.outcome === "invalid") {
      assert.deepEqual(r, { ok: false, reason: e.reason }, where);
    } else {
      assert.equal(r.ok, true, `${where}: ${JSON.stringify(r)}`);
      if (r.ok !== true) continue;
      assert.equal(r.event.idempotencyKey, e.key, where);
      assert.equal(r.nulReplaced, e.nulReplaced ?? 0, where);
      assert.equal(seen.has(e.key!), e.outcome === "duplicate", where);
      seen.add(e.key!);
      checkInvariants(toCanonical(r.event.eventType, r.event.payload, { receivedAt }));
    }
  }
});

Deno.test("mixed.ndjson: the conversations the README describes", () => {
  const text = Deno.readTextFileSync(new URL("../fixtures/events/mixed.ndjson", import.meta.url));
  const messages = text.split("\n").map((line) => parseEventLine(line, { maxPayloadBytes: CAP }))
    .flatMap((r) =>
      r.ok === true ? [toCanonical(r.event.eventType, r.event.payload, { receivedAt })] : []
    );
  const group = messages.find((m) => m.to.length === 3)!;
  assert.equal(group.channel, "mms");
  assert.equal(group.from, "+14155550143");
  assert.deepEqual(group.to, ["+14155550100", "+14155550144", "+14155550145"]);
  const withAlex = messages.filter((m) =>
    m.from === "+14155550142" || m.to.includes("+14155550142")
  );
  assert.deepEqual(
    withAlex.map((m) => m.direction),
    ["inbound", "outbound", "inbound", "outbound", "inbound", "inbound", "inbound"],
  );
  const emails = messages.filter((m) => m.channel === "email");
  assert.equal(emails.length, 3);
  for (const m of emails) assert.equal(m.cc.length, 2);
  const twilioMms = messages.find((m) =>
    m.providerMessageId.startsWith("MM") && m.attachments.length === 2
  );
  assert.ok(twilioMms);
});
