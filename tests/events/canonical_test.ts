import assert from "node:assert/strict";
import { canonicalPayloadSchema, canonicalToMessage } from "../../src/events/canonical.ts";
import { EventPayloadError } from "../../src/events/errors.ts";
import { toCanonical } from "../../src/events/to_canonical.ts";
import { rejectionReason } from "../_helpers/events.ts";

const receivedAt = new Date("2024-05-01T16:00:05Z");
const sms = {
  channel: "sms",
  provider_message_id: "SM0001",
  from: "+14155550142",
  to: "+14155550100",
  body: "hello",
  sent_at: "2024-05-01T16:00:03Z",
};
const email = {
  channel: "email",
  provider_message_id: "<a1@mail.example.com>",
  from: "Dana Lee <Dana.Lee+Orders@Example.COM>",
  to: ["support@example.org"],
  cc: ["Ops@Example.org", "billing@example.org"],
  subject: "Invoice",
  body: "text",
  html: "<p>text</p>",
  sent_at: "2024-05-01T09:15:00-07:00",
};

const received = (payload: unknown) => toCanonical("message.received", payload, { receivedAt });

const reason = (payload: unknown) => rejectionReason(() => received(payload));

Deno.test("canonicalToMessage() maps a minimal sms", () => {
  assert.deepEqual(received(sms), {
    direction: "inbound",
    channel: "sms",
    providerMessageId: "SM0001",
    from: "+14155550142",
    to: ["+14155550100"],
    cc: [],
    body: "hello",
    sentAt: new Date("2024-05-01T16:00:03Z"),
    attachments: [],
  });
});

Deno.test("canonicalToMessage() maps an email with cc, html and both times", () => {
  const m = toCanonical("message.sent", { ...email, received_at: "2024-05-01T16:15:02.5Z" }, {
    receivedAt,
  });
  assert.equal(m.direction, "outbound");
  assert.equal(m.channel, "email");
  assert.equal(m.from, "Dana Lee <Dana.Lee+Orders@Example.COM>"); // raw: normalized later
  assert.deepEqual(m.to, ["support@example.org"]);
  assert.deepEqual(m.cc, ["Ops@Example.org", "billing@example.org"]);
  assert.equal(m.subject, "Invoice");
  assert.equal(m.html, "<p>text</p>");
  assert.equal(m.sentAt.toISOString(), "2024-05-01T16:15:00.000Z");
  assert.equal(m.receivedAt?.toISOString(), "2024-05-01T16:15:02.500Z");
});

Deno.test("canonicalToMessage() reads to and cc as one address when given a string", () => {
  const m = received({ ...email, to: "a@example.org, b@example.org", cc: "c@example.org" });
  assert.deepEqual(m.to, ["a@example.org, b@example.org"]);
  assert.deepEqual(m.cc, ["c@example.org"]);
});

Deno.test("canonicalToMessage() drops cc outside email", () => {
  assert.deepEqual(received({ ...sms, cc: ["+14155550144"] }).cc, []);
  assert.deepEqual(received({ ...email, cc: [] }).cc, []);
  assert.deepEqual(received({ ...email, cc: null }).cc, []);
});

Deno.test("canonicalToMessage() turns an sms with attachments into mms", () => {
  const attachments = [
    { url: "https://media.example.com/1.jpg", content_type: "image/jpeg" },
    { url: "http://media.example.com/2.png", extra_field: true },
  ];
  const m = received({ ...sms, attachments });
  assert.equal(m.channel, "mms");
  assert.deepEqual(m.attachments, [
    { url: "https://media.example.com/1.jpg", contentType: "image/jpeg" },
    { url: "http://media.example.com/2.png" },
  ]);
  assert.equal(received({ ...sms, attachments: [] }).channel, "sms");
  assert.equal(received({ ...sms, channel: "mms" }).channel, "mms"); // group text, no media
  assert.equal(received({ ...email, attachments }).channel, "email");
});

Deno.test("canonicalToMessage() treats null and empty optional fields as absent", () => {
  const m = received({
    ...sms,
    body: "",
    subject: null,
    html: null,
    received_at: null,
    attachments: null,
    cc: null,
  });
  assert.equal("body" in m, false);
  assert.equal("subject" in m, false);
  assert.equal("html" in m, false);
  assert.equal("receivedAt" in m, false);
  assert.deepEqual(m.attachments, []);
});

Deno.test("canonicalPayloadSchema ignores unknown top-level keys", () => {
  const m = received({ ...sms, provider: "bandwidth", meta: { a: [1] } });
  assert.equal(m.providerMessageId, "SM0001");
  const parsed = canonicalPayloadSchema.parse({ ...sms, provider: "bandwidth" });
  assert.equal("provider" in parsed, false);
});

Deno.test("canonicalPayloadSchema accepts RFC 3339 timestamps with a zone", () => {
  const cases: Array<[string, string]> = [
    ["2024-05-01T16:00:03Z", "2024-05-01T16:00:03.000Z"],
    ["2024-05-01T16:00:03.123Z", "2024-05-01T16:00:03.123Z"],
    ["2024-05-01T16:00:03.123456Z", "2024-05-01T16:00:03.123Z"],
    ["2024-05-01T21:30:03+05:30", "2024-05-01T16:00:03.000Z"],
    ["2024-05-01T09:00:03-07:00", "2024-05-01T16:00:03.000Z"],
    ["2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"],
  ];
  for (const [text, iso] of cases) {
    assert.equal(received({ ...sms, sent_at: text }).sentAt.toISOString(), iso, text);
  }
});

Deno.test("canonicalPayloadSchema rejects zone-less and malformed timestamps", () => {
  const zoneless =
    "payload.sent_at: timestamp has no time zone (ambiguous): add Z or an offset like +02:00";
  const malformed =
    "payload.sent_at: expected an RFC 3339 timestamp with a time zone, like 2024-05-01T12:00:00Z";
  const cases: Array<[unknown, string]> = [
    ["2024-05-01T16:00:03", zoneless],
    ["2024-05-01T16:00", zoneless],
    ["2024-05-01 16:00:03", zoneless],
    ["2024-05-01", malformed],
    ["2024-05-01T16:00Z", malformed], // RFC 3339 requires seconds
    ["2024-05-01T16:00:03+0200", malformed],
    ["2023-02-29T00:00:00Z", malformed],
    ["Wed, 1 May 2024 16:00:03 +0000", malformed],
    ["", malformed],
    [1714579203, "payload.sent_at: expected a string, got number"],
  ];
  for (const [sentAt, expected] of cases) {
    assert.equal(reason({ ...sms, sent_at: sentAt }), expected, String(sentAt));
  }
  assert.equal(
    reason({ ...sms, received_at: "2024-05-01T16:00:03" }),
    zoneless.replace("sent_at", "received_at"),
  );
});

Deno.test("canonicalPayloadSchema rejects instants PostgreSQL cannot take as we write them", () => {
  const range =
    "outside the supported range: the instant must fall in the years 0001 to 9999 (UTC)";
  for (
    const at of ["0000-01-01T00:00:00Z", "9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00"]
  ) {
    assert.equal(reason({ ...sms, sent_at: at }), `payload.sent_at: ${range}`, at);
    assert.equal(reason({ ...sms, received_at: at }), `payload.received_at: ${range}`, at);
  }
  for (
    const at of ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59+01:00"]
  ) {
    canonicalPayloadSchema.parse({ ...sms, sent_at: at });
  }
});

Deno.test("canonicalPayloadSchema rejects wrong types and values with the path", () => {
  const cases: Array<[unknown, string]> = [
    [[sms], "payload: expected an object, got array"],
    [{ ...sms, channel: "fax" }, "payload.channel: expected one of sms, mms, email"],
    [{ ...sms, channel: undefined }, "payload.channel: missing (expected one of sms, mms, email)"],
    [
      { ...sms, provider_message_id: undefined },
      "payload.provider_message_id: missing (expected a string)",
    ],
    [{ ...sms, provider_message_id: "  " }, "payload.provider_message_id: must not be blank"],
    [
      { ...sms, provider_message_id: "x".repeat(256) },
      "payload.provider_message_id: over the 255-character limit",
    ],
    [{ ...sms, from: "" }, "payload.from: must not be blank"],
    [{ ...sms, from: 14155550142 }, "payload.from: expected a string, got number"],
    [{ ...sms, to: 14155550100 }, "payload.to: expected a string or an array of strings"],
    [{ ...sms, to: { a: 1 } }, "payload.to: expected a string or an array of strings"],
    [{ ...sms, to: [] }, "payload.to: needs at least 1 item"],
    [{ ...sms, to: ["+14155550100", ""] }, "payload.to[1]: must not be blank"],
    [{ ...sms, to: ["+14155550100", null] }, "payload.to[1]: expected a string, got null"],
    [{ ...sms, to: "x".repeat(321) }, "payload.to: over the 320-character limit"],
    [
      {
        ...sms,
        to: Array.from({ length: 101 }, (_, i) => `+1415555${String(i).padStart(4, "0")}`),
      },
      "payload.to: over the 100-item limit",
    ],
    [{ ...email, cc: [5] }, "payload.cc[0]: expected a string, got number"],
    [{ ...sms, body: 5 }, "payload.body: expected a string, got number"],
    [{ ...email, subject: "s".repeat(999) }, "payload.subject: over the 998-character limit"],
    [
      { ...sms, attachments: [{ url: "ftp://media.example.com/1.jpg" }] },
      "payload.attachments[0].url: expected an http or https URL",
    ],
    [
      { ...sms, attachments: [{ url: "not a url" }] },
      "payload.attachments[0].url: expected an http or https URL",
    ],
    [{ ...sms, attachments: [{}] }, "payload.attachments[0].url: missing (expected a string)"],
    [{ ...sms, attachments: {} }, "payload.attachments: expected an array, got object"],
    [
      {
        ...sms,
        attachments: Array.from({ length: 51 }, () => ({ url: "https://m.example.com/x" })),
      },
      "payload.attachments: over the 50-item limit",
    ],
    [
      { channel: "sms" },
      "payload.provider_message_id: missing (expected a string) (and 3 more problems)",
    ],
  ];
  for (const [payload, expected] of cases) assert.equal(reason(payload), expected);
});

Deno.test("canonicalPayloadSchema accepts the limits exactly", () => {
  const m = received({
    ...email,
    subject: "s".repeat(998),
    to: Array.from({ length: 100 }, (_, i) => `u${i}@example.org`),
    cc: Array.from({ length: 100 }, (_, i) => `c${i}@example.org`),
    attachments: Array.from({ length: 50 }, (_, i) => ({ url: `https://m.example.com/${i}` })),
  });
  assert.equal(m.to.length, 100);
  assert.equal(m.cc.length, 100);
  assert.equal(m.attachments.length, 50);
});

Deno.test("EventPayloadError from a canonical payload is permanent and names the path", () => {
  try {
    toCanonical("message.sent", { ...sms, to: [] }, { receivedAt });
    assert.fail("expected a throw");
  } catch (error) {
    assert.ok(error instanceof EventPayloadError);
    assert.equal(error.path, "payload.to");
    assert.equal(error.problem, "needs at least 1 item");
    assert.equal(error.eventType, "message.sent");
    assert.equal(error.permanent, true);
    assert.equal(error.name, "EventPayloadError");
  }
});

Deno.test("canonicalToMessage() maps direction from its option", () => {
  const payload = canonicalPayloadSchema.parse(sms);
  assert.equal(canonicalToMessage(payload, { direction: "outbound" }).direction, "outbound");
  assert.equal(canonicalToMessage(payload, { direction: "inbound" }).direction, "inbound");
});
