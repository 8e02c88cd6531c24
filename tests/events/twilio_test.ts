import assert from "node:assert/strict";
import { toCanonical } from "../../src/events/to_canonical.ts";
import { twilioMessageId, twilioMessageSchema } from "../../src/events/twilio.ts";
import { rejectionReason } from "../_helpers/events.ts";

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/events/${name}`, import.meta.url)));

const twilioSms = fixture("twilio_sms.json");
const twilioMms = fixture("twilio_mms.json");
const receivedAt = new Date("2024-05-01T16:03:30.250Z");
const twilio = (payload: unknown) => toCanonical("twilio.message", payload, { receivedAt });

const reason = (payload: unknown) => rejectionReason(() => twilio(payload));

const minimal = { MessageSid: "SM01", From: "+14155550142", To: "+14155550100", Body: "hi" };

Deno.test("twilioToMessage() maps the SMS webhook fixture", () => {
  assert.deepEqual(twilio(twilioSms), {
    direction: "inbound",
    channel: "sms",
    providerMessageId: "SM5f1a0c2b9e8d4f7a6b3c2d1e0f9a0003",
    from: "+14155550142",
    to: ["+14155550100"],
    cc: [],
    body: "Great, see you then 👍",
    sentAt: receivedAt,
    receivedAt,
    attachments: [],
  });
});

Deno.test("twilioToMessage() maps the MMS fixture's two media in order", () => {
  const m = twilio(twilioMms);
  assert.equal(m.channel, "mms");
  assert.equal(m.providerMessageId, "MM5f1a0c2b9e8d4f7a6b3c2d1e0f9a0006");
  assert.deepEqual(m.attachments, [
    { url: twilioMms.MediaUrl0, contentType: "image/jpeg" },
    { url: twilioMms.MediaUrl1, contentType: "image/png" },
  ]);
  assert.equal(m.body, "Here are the two photos of the damaged box");
});

Deno.test("twilioToMessage() takes times from the receivedAt option, as copies", () => {
  const at = new Date("2024-05-01T00:00:00Z");
  const m = toCanonical("twilio.message", minimal, { receivedAt: at });
  assert.equal(m.sentAt.getTime(), at.getTime());
  assert.equal(m.receivedAt?.getTime(), at.getTime());
  m.sentAt.setTime(0);
  assert.equal(at.getTime(), new Date("2024-05-01T00:00:00Z").getTime());
});

Deno.test("twilioToMessage() reads the message id from MessageSid, SmsMessageSid or SmsSid", () => {
  const { MessageSid: _, ...rest } = minimal;
  assert.equal(twilio({ ...rest, MessageSid: "SMa", SmsSid: "SMb" }).providerMessageId, "SMa");
  assert.equal(twilio({ ...rest, SmsMessageSid: "SMc", SmsSid: "SMd" }).providerMessageId, "SMc");
  assert.equal(twilio({ ...rest, SmsSid: "SMe" }).providerMessageId, "SMe");
  assert.equal(
    reason(rest),
    "payload.MessageSid: missing (expected a string; SmsMessageSid or SmsSid also accepted)",
  );
  assert.equal(reason({ ...rest, MessageSid: " " }), "payload.MessageSid: must not be blank");
  assert.equal(twilioMessageId(twilioMessageSchema.parse({ ...rest, SmsSid: "SMf" })), "SMf");
});

Deno.test("twilioToMessage() maps Direction", () => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, "inbound"],
    ["inbound", "inbound"],
    ["outbound-api", "outbound"],
    ["outbound-call", "outbound"],
    ["outbound-reply", "outbound"],
  ];
  for (const [direction, expected] of cases) {
    assert.equal(twilio({ ...minimal, Direction: direction }).direction, expected);
  }
  assert.equal(
    reason({ ...minimal, Direction: "outgoing" }),
    "payload.Direction: expected one of inbound, outbound-api, outbound-call, outbound-reply",
  );
});

Deno.test("twilioToMessage() reads NumMedia: absent is 0, channel mms when > 0", () => {
  assert.equal(twilio(minimal).channel, "sms");
  assert.equal(twilio({ ...minimal, NumMedia: "0" }).channel, "sms");
  const ten: Record<string, string> = { ...minimal, NumMedia: "10" };
  for (let i = 0; i < 10; i++) ten[`MediaUrl${i}`] = `https://api.twilio.com/m/${i}`;
  const m = twilio(ten);
  assert.equal(m.channel, "mms");
  assert.equal(m.attachments.length, 10);
  assert.deepEqual(m.attachments[9], { url: "https://api.twilio.com/m/9" });
});

Deno.test("twilioMessageSchema rejects media that disagree with NumMedia", () => {
  const { MediaUrl1: _, ...missingSecond } = twilioMms;
  const cases: Array<[unknown, string]> = [
    [missingSecond, "payload.MediaUrl1: missing (NumMedia is 2)"],
    [{ ...minimal, NumMedia: "1" }, "payload.MediaUrl0: missing (NumMedia is 1)"],
    [
      { ...minimal, NumMedia: "0", MediaUrl0: "https://api.twilio.com/m/0" },
      "payload.MediaUrl0: present but NumMedia is 0",
    ],
    [
      { ...minimal, MediaUrl0: "https://api.twilio.com/m/0" },
      "payload.MediaUrl0: present but NumMedia is 0",
    ],
    [
      { ...twilioMms, MediaUrl1: "ftp://api.twilio.com/m/1" },
      "payload.MediaUrl1: expected an http or https URL",
    ],
    [
      { ...twilioMms, MediaContentType0: 5 },
      "payload.MediaContentType0: expected a string, got number",
    ],
  ];
  for (const [payload, expected] of cases) assert.equal(reason(payload), expected);
});

Deno.test("twilioMessageSchema rejects a NumMedia that is not a count from 0 to 10", () => {
  for (const n of ["11", "-1", "1.0", " 1", "", "two"]) {
    assert.equal(
      reason({ ...minimal, NumMedia: n }),
      "payload.NumMedia: expected a count from 0 to 10, as a string",
      n,
    );
  }
  assert.equal(
    reason({ ...minimal, NumMedia: 2 }),
    "payload.NumMedia: expected a string, got number",
  );
});

Deno.test("twilioMessageSchema rejects channel-prefixed addresses (WhatsApp, …)", () => {
  const cases: Array<[unknown, string]> = [
    [
      { ...minimal, From: "whatsapp:+14155550142" },
      "payload.From: channel 'whatsapp' is not supported (sms and mms only)",
    ],
    [
      { ...minimal, To: "WhatsApp:+14155550100" },
      "payload.To: channel 'whatsapp' is not supported (sms and mms only)",
    ],
    [
      { ...minimal, From: "messenger:1234567890" },
      "payload.From: channel 'messenger' is not supported (sms and mms only)",
    ],
    [
      { ...minimal, From: "rcs:brand_agent" },
      "payload.From: channel 'rcs' is not supported (sms and mms only)",
    ],
    [
      { ...minimal, From: "newchannel:+14155550142" },
      "payload.From: a channel-prefixed address is not supported (sms and mms only)",
    ],
  ];
  for (const [payload, expected] of cases) {
    const got = reason(payload);
    assert.equal(got, expected);
    assert.ok(!got.includes("4155550"));
  }
});

Deno.test("twilioMessageSchema rejects missing or mistyped addresses", () => {
  const cases: Array<[unknown, string]> = [
    [{ ...minimal, From: undefined }, "payload.From: missing (expected a string)"],
    [{ ...minimal, To: 14155550100 }, "payload.To: expected a string, got number"],
    [{ ...minimal, To: "" }, "payload.To: must not be blank"],
    [{ ...minimal, Body: ["hi"] }, "payload.Body: expected a string, got array"],
  ];
  for (const [payload, expected] of cases) assert.equal(reason(payload), expected);
});

Deno.test("twilioToMessage() keeps short codes and sender ids raw, and an empty Body absent", () => {
  const m = twilio({ ...minimal, From: "ACME", To: "22395", Body: "" });
  assert.equal(m.from, "ACME");
  assert.deepEqual(m.to, ["22395"]);
  assert.equal("body" in m, false);
});

Deno.test("twilioMessageSchema ignores unknown fields of any type", () => {
  const m = twilio({
    ...minimal,
    ApiVersion: "2010-04-01",
    NewField: { nested: [1] },
    MediaUrl10: 5,
  });
  assert.equal(m.providerMessageId, "SM01");
});
