/**
 * Every phone spelling the normalizer accepts is accepted wherever an event takes a phone
 * number (Twilio's From/To, canonical sms/mms from/to/delivered_to); another channel's
 * prefix stays a clear permanent error, at enqueue and in the normalizer alike.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { validatePayload } from "../../src/events/validate_payload.ts";
import { normalizePhone } from "../../src/normalize/phone.ts";
import { rejectionReason } from "../_helpers/events.ts";

const twilio = (address: string) =>
  validatePayload("twilio.message", {
    MessageSid: "SM01",
    From: address,
    To: address,
    Body: "hi",
  });
const canonical = (address: string) =>
  validatePayload("message.received", {
    channel: "sms",
    provider_message_id: "m1",
    from: address,
    to: [address],
    delivered_to: address,
    sent_at: "2024-05-01T12:00:00Z",
  });

const accepted = (value: string): boolean => {
  try {
    normalizePhone(value);
    return true;
  } catch {
    return false;
  }
};

const FULL_WIDTH = (s: string) =>
  s.replace(/[0-9+()-]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
const ARABIC_INDIC = (s: string) =>
  s.replace(/[0-9]/g, (c) => String.fromCharCode(0x660 + Number(c)));

Deno.test("validatePayload() accepts tel:, sms:, sc:, id: and full-width phone spellings", () => {
  for (
    const spelling of [
      "tel:+14152753122",
      "TEL:+1-415-275-3122;ext=1",
      "sms:+14152753122",
      "sc:12345",
      "id:ACME",
      FULL_WIDTH("+1 (415) 275-3122"),
      ARABIC_INDIC("+14152753122"),
    ]
  ) {
    assert.equal(normalizePhone(spelling).value.length > 0, true, spelling);
    twilio(spelling);
    canonical(spelling);
  }
  assert.equal(normalizePhone(FULL_WIDTH("+1 (415) 275-3122")).value, "+14152753122");
  assert.equal(normalizePhone(ARABIC_INDIC("+14152753122")).value, "+14152753122");
});

Deno.test("validatePayload() refuses another channel's prefix, like normalizePhone()", () => {
  assert.equal(
    rejectionReason(() => canonical("whatsapp:+14155550142")),
    "payload.from: channel 'whatsapp' is not supported (sms and mms only) (and 2 more problems)",
  );
  assert.equal(
    rejectionReason(() => twilio(" messenger:1234567890")),
    "payload.From: channel 'messenger' is not supported (sms and mms only) (and 1 more problem)",
  );
  assert.throws(() => normalizePhone("whatsapp:+14155550142"), {
    message:
      "Cannot parse phone number: current value is 'whatsapp:+14155550142' (channel 'whatsapp' is not supported (sms and mms only))",
  });
  // An email channel takes any address; the phone rule is not applied there.
  validatePayload("message.received", {
    channel: "email",
    provider_message_id: "m1",
    from: "jane@example.com",
    to: "mailto:support@example.org",
    sent_at: "2024-05-01T12:00:00Z",
  });
});

Deno.test("validatePayload() accepts every string normalizePhone() accepts (property)", () => {
  const spelling = fc.oneof(
    fc.stringMatching(/^(tel:|sms:|TEL:|sc:|id:|tel:\/\/)?\+?[0-9 ().-]{3,16}(;ext=[0-9]{1,4})?$/),
    fc.stringMatching(/^\+1[2-9][0-9]{9}$/).map(FULL_WIDTH),
    fc.stringMatching(/^\+44[0-9]{10}$/).map(ARABIC_INDIC),
    fc.stringMatching(/^(id:)?[A-Za-z][A-Za-z0-9 .&_-]{0,10}$/),
    fc.stringMatching(/^[a-z]{2,9}:\+?[0-9]{3,12}$/),
    fc.string({ maxLength: 16 }),
  );
  fc.assert(
    fc.property(spelling, (value) => {
      if (!accepted(value)) return;
      twilio(value);
      canonical(value);
    }),
    { numRuns: 2000 },
  );
});
