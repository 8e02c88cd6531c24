import assert from "node:assert/strict";
import fc from "fast-check";
import { type LineResult, parseEventLine } from "../../src/events/envelope.ts";
import { anyValidEvent } from "./_arbitraries.ts";
import { derivedKey } from "../_helpers/events.ts";

const CAP = 262_144;
const opts = { maxPayloadBytes: CAP };

const sms = {
  channel: "sms",
  provider_message_id: "SM0001",
  from: "+14155550142",
  to: "+14155550100",
  body: "hello",
  sent_at: "2024-05-01T16:00:03Z",
};
const envelope = (payload: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ event_type: "message.received", payload, ...extra });

function accepted(result: LineResult) {
  assert.equal(result.ok, true, `expected ok, got ${JSON.stringify(result)}`);
  return result as Extract<LineResult, { ok: true }>;
}

function rejected(result: LineResult): string {
  assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`);
  return (result as { reason: string }).reason;
}

Deno.test("parseEventLine() skips empty and whitespace-only lines as blank", () => {
  for (const line of ["", " ", "\t", "\r", "  \t \r", "\uFEFF"]) {
    assert.deepEqual(parseEventLine(line, opts), { ok: "blank" }, JSON.stringify(line));
  }
});

Deno.test("parseEventLine() accepts an envelope and derives the idempotency key", () => {
  const r = accepted(parseEventLine(envelope(sms), opts));
  assert.equal(r.event.eventType, "message.received");
  assert.equal(r.event.idempotencyKey, derivedKey("message.received", ["+14155550100"], "SM0001"));
  assert.deepEqual(r.event.payload, sms);
  assert.equal(r.nulReplaced, 0);
  assert.equal(r.loneSurrogatesReplaced, 0);
});

Deno.test("parseEventLine() keeps an explicit idempotency key over the derived one", () => {
  const r = accepted(parseEventLine(envelope(sms, { idempotency_key: "import-7:42" }), opts));
  assert.equal(r.event.idempotencyKey, "import-7:42");
  const n = accepted(parseEventLine(envelope(sms, { idempotency_key: null }), opts));
  assert.equal(n.event.idempotencyKey, derivedKey("message.received", ["+14155550100"], "SM0001"));
});

Deno.test("parseEventLine() derives keys from each type's message id", () => {
  const twilio = { From: "+14155550142", To: "+14155550100", Body: "x", NumMedia: "0" };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["message.sent", sms, derivedKey("message.sent", ["+14155550142"], "SM0001")],
    [
      "twilio.message",
      { ...twilio, MessageSid: "SMa", SmsSid: "SMb" },
      derivedKey("twilio.message", ["+14155550100"], "SMa"),
    ],
    [
      "twilio.message",
      { ...twilio, SmsMessageSid: "SMc", SmsSid: "SMd" },
      derivedKey("twilio.message", ["+14155550100"], "SMc"),
    ],
    [
      "twilio.message",
      { ...twilio, SmsSid: "SMe" },
      derivedKey("twilio.message", ["+14155550100"], "SMe"),
    ],
    [
      "postmark.inbound",
      { MessageID: "pm-1", FromFull: { Email: "a@example.com" }, To: "b@example.org" },
      derivedKey("postmark.inbound", ["b@example.org"], "pm-1"),
    ],
  ];
  for (const [type, payload, key] of cases) {
    const r = accepted(parseEventLine(JSON.stringify({ event_type: type, payload }), opts));
    assert.equal(r.event.idempotencyKey, key);
  }
});

Deno.test("parseEventLine() with a type reads the whole line as the payload", () => {
  const r = accepted(parseEventLine(JSON.stringify(sms), { ...opts, type: "message.sent" }));
  assert.equal(r.event.eventType, "message.sent");
  assert.equal(r.event.idempotencyKey, derivedKey("message.sent", ["+14155550142"], "SM0001"));
  // An envelope given with --type is a payload missing every field.
  const reason = rejected(parseEventLine(envelope(sms), { ...opts, type: "message.sent" }));
  assert.match(reason, /^payload\.channel: /);
});

Deno.test("parseEventLine() keeps the original payload, unknown provider fields included", () => {
  const payload = { ...sms, provider_extra: { nested: [1, "two"] }, Tag: null };
  const r = accepted(parseEventLine(envelope(payload), opts));
  assert.deepEqual(r.event.payload, payload);
  const twilio = JSON.parse(
    Deno.readTextFileSync(new URL("../fixtures/events/twilio_sms.json", import.meta.url)),
  );
  const t = accepted(parseEventLine(JSON.stringify(twilio), { ...opts, type: "twilio.message" }));
  assert.deepEqual(t.event.payload, twilio);
  assert.equal(t.event.payload.FromCity, "SAN FRANCISCO");
});

Deno.test("parseEventLine() rejects malformed JSON briefly, without quoting the line", () => {
  const cases: Array<[string, RegExp]> = [
    [
      '{"event_type":"message.received","payload":{"from":"+14155550142" x}}',
      /^invalid JSON: Expected ',' or '}' after property value in JSON at position \d+$/,
    ],
    ["+14155550142", /^invalid JSON: Unexpected token '\+'$/],
    [
      '{"event_type":"message.received","payload":{"from":"+1415555',
      /^invalid JSON: Unterminated string in JSON at position \d+$/,
    ],
    ['{"event_type":"message.received",}', /^invalid JSON: /],
    ["jane@example.com", /^invalid JSON: Unexpected token 'j'$/],
    ["{'a':1}", /^invalid JSON: Expected property name or '}' in JSON at position 1$/],
  ];
  for (const [line, pattern] of cases) {
    const reason = rejected(parseEventLine(line, opts));
    assert.match(reason, pattern);
    assert.ok(!reason.includes("4155550142") && !reason.includes("example.com"), reason);
    assert.ok(!reason.includes("\n"));
  }
});

Deno.test("parseEventLine() rejects bad envelopes with a reason", () => {
  const cases: Array<[string, string]> = [
    ["[1,2]", "envelope: expected a JSON object, got array"],
    ["null", "envelope: expected a JSON object, got null"],
    ['"text"', "envelope: expected a JSON object, got string"],
    [
      JSON.stringify({ event_type: "message.received", payload: sms, eventType: "x" }),
      "unknown envelope key 'eventType' (expected event_type, payload, idempotency_key)",
    ],
    [
      JSON.stringify({ payload: sms }),
      "event_type: missing (expected one of message.received, message.sent, twilio.message, postmark.inbound)",
    ],
    [JSON.stringify({ event_type: 7, payload: sms }), "event_type: expected a string, got number"],
    [
      JSON.stringify({ event_type: "foo", payload: sms }),
      "unknown event_type 'foo' (expected one of message.received, message.sent, twilio.message, postmark.inbound)",
    ],
    [JSON.stringify({ event_type: "message.received" }), "payload: missing (expected an object)"],
    [envelope([sms]), "payload: expected an object, got array"],
    [envelope("x"), "payload: expected an object, got string"],
    [envelope(null), "payload: expected an object, got null"],
    [envelope(sms, { idempotency_key: "" }), "idempotency_key: must not be empty or blank"],
    [envelope(sms, { idempotency_key: "   " }), "idempotency_key: must not be empty or blank"],
    [envelope(sms, { idempotency_key: 42 }), "idempotency_key: expected a string, got number"],
    [
      envelope(sms, { idempotency_key: "convo:v1:message.received:0000000000000000:SM0001" }),
      "idempotency_key: the prefix 'convo:' is reserved for derived keys",
    ],
    [
      envelope(sms, { idempotency_key: "k".repeat(201) }),
      "idempotency_key: over the 200-character limit",
    ],
  ];
  for (const [line, reason] of cases) assert.equal(rejected(parseEventLine(line, opts)), reason);
  accepted(parseEventLine(envelope(sms, { idempotency_key: "k".repeat(200) }), opts));
});

Deno.test("parseEventLine() quotes unknown names short and on one line", () => {
  const reason = rejected(
    parseEventLine(JSON.stringify({ event_type: "a\nb'" + "x".repeat(80) }), opts),
  );
  assert.equal(
    reason,
    `unknown event_type 'a?b?${
      "x".repeat(36)
    }…' (expected one of message.received, message.sent, twilio.message, postmark.inbound)`,
  );
});

Deno.test("parseEventLine() rejects invalid payloads with the field path and no value", () => {
  const cases: Array<[unknown, string]> = [
    [{ ...sms, to: 14155550100 }, "payload.to: expected a string or an array of strings"],
    [{ ...sms, to: ["+14155550100", 5] }, "payload.to[1]: expected a string, got number"],
    [{ ...sms, channel: "fax" }, "payload.channel: expected one of sms, mms, email"],
    [
      { ...sms, sent_at: "2024-05-01T16:00:03" },
      "payload.sent_at: timestamp has no time zone (ambiguous): add Z or an offset like +02:00",
    ],
    [
      { ...sms, from: undefined, to: undefined },
      "payload.from: missing (expected a string) (and 1 more problem)",
    ],
  ];
  for (const [payload, reason] of cases) {
    const got = rejected(parseEventLine(envelope(payload), opts));
    assert.equal(got, reason);
    assert.ok(!got.includes("4155550100"));
  }
});

Deno.test("parseEventLine() rejects an oversized line without parsing it", () => {
  const cap = 1024;
  const big = "x".repeat(cap + 1); // not even JSON: it must not get that far
  assert.equal(
    rejected(parseEventLine(big, { maxPayloadBytes: cap })),
    "line is 1025 bytes, over the 1024-byte cap",
  );
  assert.equal(
    rejected(parseEventLine(big, { maxPayloadBytes: cap, type: "message.sent" })),
    "payload is 1025 bytes, over the 1024-byte cap",
  );
  assert.equal(
    rejected(parseEventLine("x".repeat(300_001), opts)),
    "line is 300001 bytes, over the 262144-byte cap",
  );
});

Deno.test("parseEventLine() counts UTF-8 bytes, not UTF-16 units, against the cap", () => {
  const cap = 1024;
  const fill = (line: string, unit: string, bytesPerUnit: number, target: number) => {
    const bytes = new TextEncoder().encode(line).length;
    return line.replace("FILL", unit.repeat(Math.floor((target - bytes + 4) / bytesPerUnit)));
  };
  for (const [unit, size] of [["é", 2], ["€", 3], ["😀", 4]] as const) {
    const template = envelope({ ...sms, body: "FILL" });
    const exact = fill(template, unit, size, cap);
    const bytes = new TextEncoder().encode(exact).length;
    assert.ok(bytes <= cap && bytes > cap - size, `${unit}: ${bytes}`);
    accepted(parseEventLine(exact, { maxPayloadBytes: bytes }));
    assert.equal(
      rejected(parseEventLine(exact, { maxPayloadBytes: bytes - 1 })),
      `line is ${bytes} bytes, over the ${bytes - 1}-byte cap`,
    );
  }
});

Deno.test("parseEventLine() replaces escaped U+0000 in values and keys, and counts them", () => {
  const line = String
    .raw`{"event_type":"message.received","payload":{"channel":"sms","provider_message_id":"SM\u00001","from":"+14155550142","to":["+14155550100"],"body":"a\u0000b\u0000c","sent_at":"2024-05-01T16:00:03Z","x\u0000y":{"deep":[["\u0000"]]}}}`;
  const r = accepted(parseEventLine(line, opts));
  assert.equal(r.nulReplaced, 5);
  const p = r.event.payload;
  assert.equal(p.body, "a\uFFFDb\uFFFDc");
  assert.equal(p.provider_message_id, "SM\uFFFD1");
  assert.equal(
    r.event.idempotencyKey,
    derivedKey("message.received", ["+14155550100"], "SM\uFFFD1"),
  );
  assert.deepEqual(p["x\uFFFDy"], { deep: [["\uFFFD"]] });
  assert.ok(!("x\u0000y" in p));
  assert.ok(!JSON.stringify(r.event).includes("\\u0000"));
});

Deno.test("parseEventLine() replaces U+0000 in the idempotency key too", () => {
  const r = accepted(parseEventLine(envelope(sms, { idempotency_key: "k\u0000" }), opts));
  assert.equal(r.event.idempotencyKey, "k\uFFFD");
  assert.equal(r.nulReplaced, 1);
});

Deno.test("parseEventLine() reads a raw NUL character inside a string as U+0000", () => {
  // JSON.parse alone rejects it: "Bad control character in string literal".
  const line = envelope({ ...sms, body: "PLACEHOLDER" }).replace("PLACEHOLDER", "a\0b");
  assert.throws(() => JSON.parse(line), SyntaxError);
  const r = accepted(parseEventLine(line, opts));
  assert.equal(r.event.payload.body, "a\uFFFDb");
  assert.equal(r.nulReplaced, 1);
  // Outside a string it is still invalid JSON.
  assert.match(rejected(parseEventLine(envelope(sms) + "\0", opts)), /^invalid JSON: /);
});

Deno.test("parseEventLine() does not take an escaped backslash before u0000 for a NUL", () => {
  const line = envelope({ ...sms, body: "PLACEHOLDER" }).replace(
    "PLACEHOLDER",
    String.raw`C:\\u0000`,
  );
  const r = accepted(parseEventLine(line, opts));
  assert.equal(r.event.payload.body, String.raw`C:\u0000`);
  assert.equal(r.nulReplaced, 0);
});

Deno.test("parseEventLine() keeps a __proto__ key a plain key when rebuilding keys", () => {
  const line = String
    .raw`{"event_type":"message.received","payload":{"channel":"sms","provider_message_id":"SM1","from":"+14155550142","to":"+14155550100","sent_at":"2024-05-01T16:00:03Z","__proto__":{"polluted":true},"k\u0000":1}}`;
  const r = accepted(parseEventLine(line, opts));
  const p = r.event.payload;
  assert.equal(Object.getPrototypeOf(p), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(p, "__proto__")?.value, { polluted: true });
  assert.equal(p["k\uFFFD"], 1);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("parseEventLine() replaces lone surrogates, which PostgreSQL's JSON input rejects", () => {
  const line = envelope({ ...sms, body: "PLACEHOLDER" }).replace(
    "PLACEHOLDER",
    String.raw`lone \ud800 and \udfff, pair \ud83d\ude00`,
  );
  const r = accepted(parseEventLine(line, opts));
  assert.equal(r.event.payload.body, "lone \uFFFD and \uFFFD, pair 😀");
  assert.equal(r.loneSurrogatesReplaced, 2);
  assert.equal(r.nulReplaced, 0);
  const pair = accepted(
    parseEventLine(line.replace(String.raw`lone \ud800 and \udfff, `, ""), opts),
  );
  assert.equal(pair.loneSurrogatesReplaced, 0);
});

Deno.test("parseEventLine() rejects nesting deeper than 64 levels", () => {
  const nest = (depth: number) => "[".repeat(depth) + String.raw`"\u0000"` + "]".repeat(depth);
  // The envelope is level 1, the payload level 2: 62 more arrays make 64.
  const ok = envelope({ ...sms, extra: "PLACEHOLDER" }).replace('"PLACEHOLDER"', nest(62));
  assert.equal(accepted(parseEventLine(ok, opts)).nulReplaced, 1);
  const deep = envelope({ ...sms, extra: "PLACEHOLDER" }).replace('"PLACEHOLDER"', nest(63));
  assert.equal(rejected(parseEventLine(deep, opts)), "line nests deeper than 64 levels");
  const huge = envelope({ ...sms, extra: "PLACEHOLDER" }).replace('"PLACEHOLDER"', nest(100_000));
  assert.equal(rejected(parseEventLine(huge, opts)), "line nests deeper than 64 levels");
  const typed = JSON.stringify({ ...sms, extra: "PLACEHOLDER" }).replace('"PLACEHOLDER"', nest(64));
  assert.equal(
    rejected(parseEventLine(typed, { ...opts, type: "message.sent" })),
    "payload nests deeper than 64 levels",
  );
  // Many brackets side by side are not depth.
  const wide = envelope({ ...sms, extra: Array.from({ length: 500 }, () => ({ a: [1] })) });
  accepted(parseEventLine(wide, opts));
});

Deno.test("parseEventLine() tolerates a byte order mark and a trailing CR", () => {
  accepted(parseEventLine("\uFEFF" + envelope(sms), opts));
  accepted(parseEventLine(envelope(sms) + "\r", opts));
});

Deno.test("parseEventLine() never throws, whatever the line", () => {
  const lines = fc.oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      maxLength: 100,
    }),
    fc.json({ maxDepth: 4 }),
    fc.record({
      event_type: fc.oneof(
        fc.constantFrom("message.received", "message.sent", "twilio.message", "postmark.inbound"),
        fc.string(),
      ),
      payload: fc.jsonValue({ maxDepth: 3 }),
      idempotency_key: fc.jsonValue({ maxDepth: 1 }),
    }, { requiredKeys: [], noNullPrototype: true }).map((e) => JSON.stringify(e)),
    // Valid lines, then cut or corrupted at a random place.
    fc.tuple(anyValidEvent, fc.nat(), fc.constantFrom("", "\0", "\\u0000", "\\ud800", "}", '"'))
      .map(
        ([e, at, insert]) => {
          const line = JSON.stringify({ event_type: e.eventType, payload: e.payload });
          const i = at % (line.length + 1);
          return line.slice(0, i) + insert + line.slice(i);
        },
      ),
  );
  fc.assert(
    fc.property(
      lines,
      fc.option(
        fc.constantFrom("message.received", "twilio.message", "postmark.inbound") as fc.Arbitrary<
          "message.received" | "twilio.message" | "postmark.inbound"
        >,
        { nil: undefined },
      ),
      (line, type) => {
        const r = parseEventLine(line, { maxPayloadBytes: 4096, type });
        if (r.ok === false) {
          assert.equal(typeof r.reason, "string");
          assert.ok(r.reason.length > 0 && r.reason.length < 400, r.reason);
          assert.ok(!/[\n\r]/.test(r.reason), r.reason);
        } else if (r.ok === true) {
          assert.equal(typeof r.event.payload, "object");
          assert.ok(r.nulReplaced >= 0 && r.loneSurrogatesReplaced >= 0);
          // What we hand to PostgreSQL holds no U+0000 and no lone surrogate.
          const json = JSON.stringify(r.event).replaceAll("\\\\", ""); // drop literal backslashes
          assert.ok(!json.includes("\\u0000"), json);
          assert.ok(!/\\ud[89a-f]/i.test(json), json);
        } else {
          assert.equal(r.ok, "blank");
        }
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("parseEventLine() derives a key at the scope of the message's identity", () => {
  const key = (type: string, payload: Record<string, unknown>) =>
    accepted(parseEventLine(JSON.stringify({ event_type: type, payload }), opts)).event
      .idempotencyKey;
  // The same provider message id sent to two customers' numbers: two messages, two keys.
  assert.notEqual(
    key("message.received", sms),
    key("message.received", { ...sms, to: "+14155550190" }),
  );
  // A replay (same message, another spelling of our number) is the same key.
  assert.equal(
    key("message.received", sms),
    key("message.received", { ...sms, to: "tel:+1-415-555-0100", body: "edited" }),
  );
  // Outbound: our side is the sender.
  assert.notEqual(key("message.sent", sms), key("message.sent", { ...sms, from: "+14155550190" }));
  assert.equal(key("message.sent", sms), key("message.sent", { ...sms, to: "+14155550190" }));
  // Twilio: the AccountSid is part of the identity.
  const twilio = { MessageSid: "SM1", From: "+14155550142", To: "+14155550100" };
  assert.notEqual(
    key("twilio.message", { ...twilio, AccountSid: "AC1" }),
    key("twilio.message", { ...twilio, AccountSid: "AC2" }),
  );
  // Postmark: one email delivered to two customers (Bcc) is two deliveries.
  const mail = { MessageID: "pm-1", From: "jane@example.com", To: "list@example.net" };
  assert.notEqual(
    key("postmark.inbound", { ...mail, OriginalRecipient: "support@acme.example" }),
    key("postmark.inbound", { ...mail, OriginalRecipient: "help@bloom.example" }),
  );
  // The event type is part of it, and derived keys never take an explicit key's form.
  assert.notEqual(key("message.received", sms), key("message.sent", sms));
  assert.ok(key("message.received", sms)?.startsWith("convo:v1:message.received:"));
});
