/**
 * fast-check arbitraries of VALID payloads of every event type, shaped like what
 * producers and providers really send (plus noise: unknown fields, odd Unicode, NULs).
 *
 * @module
 */

import fc from "fast-check";
import type { EventType } from "../../src/events/types.ts";

/** Strings with any code point, U+0000 included (never lone surrogates). */
const anyText = (maxLength: number) => fc.string({ unit: "binary", maxLength });

/** A string with at least one non-whitespace character. */
const nonBlank = (maxLength: number) =>
  fc.tuple(
    fc.string({ minLength: 1, maxLength: 1 }).filter((s) => /\S/.test(s)),
    anyText(maxLength - 1),
  )
    .map(([head, rest]) => head + rest);

const digits = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));

/** Phone-like addresses: E.164, national, short code, alphanumeric sender id. */
export const phoneAddress: fc.Arbitrary<string> = fc.oneof(
  digits(4).map((d) => `+1415555${d}`),
  digits(4).map((d) => `(415) 555-${d}`),
  digits(5),
  fc.constantFrom("ACME", "ExampleCo", "Alerts"),
);

/** Email-like addresses, raw: mixed case, `+tags`, display names. */
export const emailAddress: fc.Arbitrary<string> = fc.oneof(
  fc.emailAddress(),
  fc.tuple(fc.constantFrom("Jane", "Bob.Smith", "ops"), fc.constantFrom("", "+Tag", "+orders"))
    .map(([local, tag]) => `${local}${tag}@Example.com`),
  fc.emailAddress().map((e) => `"Doe, Jane" <${e}>`),
);

const sid = (prefix: string) => fc.stringMatching(/^[0-9a-f]{32}$/).map((hex) => `${prefix}${hex}`);

/** A timestamp as RFC 3339 text with Z or an offset, and optional fractional seconds. */
export const rfc3339: fc.Arbitrary<string> = fc.tuple(
  fc.date({
    min: new Date("1971-01-01T00:00:00Z"),
    max: new Date("2099-12-31T00:00:00Z"),
    noInvalidDate: true,
  }),
  fc.oneof(fc.constant(null), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 })),
  fc.constantFrom(0, 3, 6),
).map(([date, offset, fraction]) => formatRfc3339(date, offset, fraction));

/** Formats a date as RFC 3339 in the given offset (null: `Z`) with `fraction` digits. */
export function formatRfc3339(date: Date, offsetMinutes: number | null, fraction: number): string {
  const shifted = new Date(date.getTime() + (offsetMinutes ?? 0) * 60_000);
  const iso = shifted.toISOString(); // 2024-05-01T12:00:00.123Z
  const base = iso.slice(0, 19);
  const frac = fraction === 0 ? "" : "." + iso.slice(20, 23).padEnd(fraction, "0");
  if (offsetMinutes === null) return `${base}${frac}Z`;
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${base}${frac}${sign}${hh}:${mm}`;
}

const httpUrl = fc.webUrl({ validSchemes: ["http", "https"] });

/** Unknown extra fields, as providers add them; names never collide with known ones. */
const extraFields = (known: ReadonlySet<string>) =>
  fc.dictionary(
    fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.has(k) && !/^Media/.test(k)),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 3, noNullPrototype: true },
  );

const CANONICAL_KEYS = new Set([
  "channel",
  "provider_message_id",
  "from",
  "to",
  "cc",
  "subject",
  "body",
  "html",
  "sent_at",
  "received_at",
  "attachments",
]);

/** A valid `message.received` / `message.sent` payload. */
export const canonicalPayload: fc.Arbitrary<Record<string, unknown>> = fc.constantFrom(
  "sms",
  "mms",
  "email",
).chain((channel) => {
  const address = channel === "email" ? emailAddress : phoneAddress;
  return fc.record({
    channel: fc.constant(channel),
    provider_message_id: nonBlank(60),
    from: address,
    to: fc.oneof(address, fc.array(address, { minLength: 1, maxLength: 5 })),
    cc: fc.option(fc.oneof(address, fc.array(address, { maxLength: 3 })), { nil: undefined }),
    subject: fc.option(anyText(120), { nil: undefined }),
    body: fc.option(anyText(300), { nil: undefined }),
    html: fc.option(anyText(100), { nil: undefined }),
    sent_at: rfc3339,
    received_at: fc.option(rfc3339, { nil: undefined }),
    attachments: fc.option(
      fc.array(
        fc.record(
          { url: httpUrl, content_type: fc.constantFrom("image/jpeg", "application/pdf") },
          {
            requiredKeys: ["url"],
            noNullPrototype: true,
          },
        ),
        { maxLength: 4 },
      ),
      { nil: undefined },
    ),
  }, {
    requiredKeys: ["channel", "provider_message_id", "from", "to", "sent_at"],
    noNullPrototype: true,
  }).chain((payload) => extraFields(CANONICAL_KEYS).map((extra) => ({ ...extra, ...payload })));
});

/** A valid `twilio.message` payload: the webhook's form fields as strings. */
export const twilioPayload: fc.Arbitrary<Record<string, unknown>> = fc.record({
  sid: sid("SM"),
  sidField: fc.constantFrom("MessageSid", "SmsMessageSid", "SmsSid", "all"),
  from: phoneAddress,
  to: phoneAddress,
  body: fc.option(anyText(200), { nil: undefined }),
  media: fc.array(
    fc.record({
      url: httpUrl,
      type: fc.option(fc.constantFrom("image/jpeg", "video/mp4"), { nil: undefined }),
    }),
    { maxLength: 10 },
  ),
  direction: fc.option(
    fc.constantFrom("inbound", "outbound-api", "outbound-call", "outbound-reply"),
    {
      nil: undefined,
    },
  ),
  extra: fc.dictionary(
    fc.constantFrom(
      "AccountSid",
      "MessagingServiceSid",
      "FromCity",
      "ToZip",
      "NumSegments",
      "ApiVersion",
      "SmsStatus",
    ),
    fc.string({ maxLength: 20 }),
    { maxKeys: 5, noNullPrototype: true },
  ),
}, { noNullPrototype: true }).map((g) => {
  const payload: Record<string, unknown> = { ...g.extra, From: g.from, To: g.to };
  if (g.sidField === "all") {
    payload.MessageSid = g.sid;
    payload.SmsMessageSid = g.sid;
    payload.SmsSid = g.sid;
  } else payload[g.sidField] = g.sid;
  if (g.body !== undefined) payload.Body = g.body;
  payload.NumMedia = String(g.media.length);
  g.media.forEach((m, i) => {
    payload[`MediaUrl${i}`] = m.url;
    if (m.type) payload[`MediaContentType${i}`] = m.type;
  });
  if (g.direction) payload.Direction = g.direction;
  return payload;
});

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An RFC 5322 date in Postmark's style (`Fri, 1 Aug 2014 16:45:32 -04:00`) or plain. */
const emailDate = fc.tuple(
  fc.date({
    min: new Date("1990-01-01T00:00:00Z"),
    max: new Date("2099-12-31T00:00:00Z"),
    noInvalidDate: true,
  }),
  fc.integer({ min: -12, max: 14 }),
  fc.boolean(),
).map(([d, hours, colon]) => {
  const local = new Date(d.getTime() + hours * 3_600_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const zone = `${hours < 0 ? "-" : "+"}${pad(Math.abs(hours))}${colon ? ":" : ""}00`;
  return `${DAYS[local.getUTCDay()]}, ${local.getUTCDate()} ${MONTHS[local.getUTCMonth()]} ` +
    `${local.getUTCFullYear()} ${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:` +
    `${pad(local.getUTCSeconds())} ${zone}`;
});

const mailbox = fc.record({
  Email: fc.emailAddress(),
  Name: fc.constantFrom("", "Jane Doe", "Ops, Team"),
  MailboxHash: fc.constantFrom("", "Ticket-1"),
}, { noNullPrototype: true });

const headerList = (boxes: Array<{ Email: string; Name: string }>) =>
  boxes.map((b) => (b.Name ? `"${b.Name}" <${b.Email}>` : b.Email)).join(", ");

/** A valid `postmark.inbound` payload. */
export const postmarkPayload: fc.Arbitrary<Record<string, unknown>> = fc.record({
  id: fc.uuid(),
  from: mailbox,
  to: fc.array(mailbox, { minLength: 1, maxLength: 4 }),
  cc: fc.array(mailbox, { maxLength: 3 }),
  useFull: fc.boolean(),
  subject: anyText(120),
  date: fc.oneof(emailDate, fc.constant(""), fc.constant("garbage")),
  text: anyText(300),
  html: anyText(100),
  stripped: anyText(50),
  attachments: fc.array(
    fc.record({
      Name: fc.constantFrom("a.pdf", "scan 1.png", "notes.txt"),
      Content: fc.base64String({ maxLength: 40 }),
      ContentType: fc.constantFrom("application/pdf", "image/png", "text/plain"),
      ContentLength: fc.nat(1000),
      ContentID: fc.constantFrom("", "image001.png@01DA0000.00000000"),
    }, { noNullPrototype: true }),
    { maxLength: 3 },
  ),
}, { noNullPrototype: true }).map((g) => {
  const payload: Record<string, unknown> = {
    FromName: g.from.Name,
    MessageStream: "inbound",
    From: g.from.Email,
    To: headerList(g.to),
    Cc: headerList(g.cc),
    Bcc: "",
    BccFull: [],
    OriginalRecipient: g.to[0].Email,
    Subject: g.subject,
    MessageID: g.id,
    ReplyTo: "",
    MailboxHash: "",
    Date: g.date,
    TextBody: g.text,
    HtmlBody: g.html,
    StrippedTextReply: g.stripped,
    Tag: "",
    Headers: [{ Name: "X-Spam-Status", Value: "No" }],
    Attachments: g.attachments,
  };
  if (g.useFull) {
    payload.FromFull = g.from;
    payload.ToFull = g.to;
    payload.CcFull = g.cc;
  }
  return payload;
});

/** A valid payload of a random event type. */
export const anyValidEvent: fc.Arbitrary<
  { eventType: EventType; payload: Record<string, unknown> }
> = fc
  .oneof(
    canonicalPayload.map((payload) => ({ eventType: "message.received" as const, payload })),
    canonicalPayload.map((payload) => ({ eventType: "message.sent" as const, payload })),
    twilioPayload.map((payload) => ({ eventType: "twilio.message" as const, payload })),
    postmarkPayload.map((payload) => ({ eventType: "postmark.inbound" as const, payload })),
  );
