import assert from "node:assert/strict";
import { parseAddressList } from "../../src/events/_address_list.ts";
import { parseEmailDate } from "../../src/events/_email_date.ts";
import { toCanonical } from "../../src/events/to_canonical.ts";
import { rejectionReason } from "../_helpers/events.ts";

const fixture: Record<string, unknown> = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/events/postmark_inbound.json", import.meta.url)),
);
const receivedAt = new Date("2024-05-01T16:12:50Z");
const postmark = (payload: unknown) => toCanonical("postmark.inbound", payload, { receivedAt });

const reason = (payload: unknown) => rejectionReason(() => postmark(payload));

const minimal = {
  MessageID: "pm-1",
  From: "jane@example.com",
  FromFull: { Email: "jane@example.com", Name: "", MailboxHash: "" },
  To: "support@example.org",
  ToFull: [{ Email: "support@example.org", Name: "", MailboxHash: "" }],
  Date: "Wed, 1 May 2024 09:12:44 -0700",
};

Deno.test("postmarkToMessage() maps the inbound fixture: cc, tags, case and attachment", () => {
  const m = postmark(fixture);
  assert.deepEqual(m, {
    direction: "inbound",
    channel: "email",
    providerMessageId: "73e6d360-66eb-11e1-8e72-a8904824019b",
    from: "Dana.Lee+Orders@Example.COM",
    to: ["Support+Ticket-1042@example.org"],
    cc: ["Ops@Example.org", "billing@example.org"],
    deliveredTo: "support+ticket-1042@example.org",
    subject: "Invoice 2024-0419 is wrong",
    body: "Hi,\n\nThe invoice lists 3 boxes, we received 2. Scan attached.\n\nDana",
    html:
      "<html><body><p>Hi,</p><p>The invoice lists 3 boxes, we received 2. Scan attached.</p><p>Dana</p></body></html>",
    sentAt: new Date("2024-05-01T16:12:44Z"),
    receivedAt,
    attachments: [{
      url: "postmark:73e6d360-66eb-11e1-8e72-a8904824019b/0/invoice-scan.pdf",
      contentType: "application/pdf",
    }],
  });
  const content = (fixture.Attachments as Array<{ Content: string }>)[0].Content;
  assert.ok(!JSON.stringify(m).includes(content), "base64 content must not be copied");
});

Deno.test("postmarkToMessage() names attachments by ContentID, else index and Name", () => {
  const m = postmark({
    ...minimal,
    Attachments: [
      { Name: "logo.png", ContentType: "image/png", ContentID: "logo@01DA.0", Content: "iVBO" },
      { Name: "a.pdf", ContentType: "application/pdf", ContentID: "" },
      { Name: "", ContentType: "" },
      {},
    ],
  });
  assert.deepEqual(m.attachments, [
    { url: "postmark:pm-1/logo@01DA.0", contentType: "image/png" },
    { url: "postmark:pm-1/1/a.pdf", contentType: "application/pdf" },
    { url: "postmark:pm-1/2" },
    { url: "postmark:pm-1/3" },
  ]);
});

Deno.test("postmarkToMessage() falls back to the header strings when …Full is missing or blank", () => {
  const m = postmark({
    MessageID: "pm-2",
    From: '"Doe, Jane" <Jane+Work@Example.com>',
    To: '"Support, Team" <support@example.org>, sales@example.org (Sales)',
    ToFull: [{ Email: "", Name: "Support, Team" }],
    Cc: "undisclosed-recipients:;",
  });
  assert.equal(m.from, "Jane+Work@Example.com");
  assert.deepEqual(m.to, ["support@example.org", "sales@example.org"]);
  assert.deepEqual(m.cc, []);
});

Deno.test("postmarkToMessage() uses OriginalRecipient when no To recipient is left", () => {
  const m = postmark({ ...minimal, To: "", ToFull: [], OriginalRecipient: "support@example.org" });
  assert.deepEqual(m.to, ["support@example.org"]);
  assert.equal(
    reason({ ...minimal, To: "undisclosed-recipients:;", ToFull: [], OriginalRecipient: "" }),
    "payload.ToFull: no recipient: ToFull, To and OriginalRecipient are all empty",
  );
});

Deno.test("postmarkToMessage() carries OriginalRecipient as deliveredTo (Bcc, lists, forwarding)", () => {
  const bcc = postmark({ ...minimal, OriginalRecipient: "Sales@Example.net" });
  assert.deepEqual(bcc.to, ["support@example.org"]);
  assert.equal(bcc.deliveredTo, "Sales@Example.net");
  assert.equal(postmark({ ...minimal, OriginalRecipient: " " }).deliveredTo, undefined);
  assert.equal(postmark(minimal).deliveredTo, undefined);
});

Deno.test("postmarkInboundSchema rejects a message without a sender", () => {
  const expected =
    "payload.FromFull.Email: missing: neither FromFull.Email nor From holds an address";
  assert.equal(reason({ ...minimal, From: "", FromFull: { Email: "" } }), expected);
  assert.equal(reason({ ...minimal, From: undefined, FromFull: undefined }), expected);
  assert.equal(reason({ ...minimal, From: '"Nobody"', FromFull: null }), expected);
});

Deno.test("postmarkToMessage() reads Date, else falls back to receivedAt", () => {
  const cases: Array<[unknown, string]> = [
    ["Fri, 1 Aug 2014 16:45:32 -04:00", "2014-08-01T20:45:32.000Z"],
    [undefined, receivedAt.toISOString()],
    ["", receivedAt.toISOString()],
    ["yesterday", receivedAt.toISOString()],
    ["Wed, 1 May 2024 09:12:44", receivedAt.toISOString()], // no zone: ambiguous
    ["Wed, " + " ".repeat(100_000) + "1 May 2024 09:12:44 +0000", receivedAt.toISOString()],
    // Year 10000 in UTC: the database would refuse it ("time zone displacement out of range").
    ["Fri, 31 Dec 9999 23:30:00 -0100", receivedAt.toISOString()],
    ["9999-12-31T23:30:00-01:00", receivedAt.toISOString()],
    ["Fri, 31 Dec 9999 23:30:00 +0000", "9999-12-31T23:30:00.000Z"], // far, but storable
  ];
  for (const [date, iso] of cases) {
    assert.equal(postmark({ ...minimal, Date: date }).sentAt.toISOString(), iso, String(date));
  }
  assert.equal(
    postmark({ ...minimal, Date: "yesterday" }).receivedAt?.getTime(),
    receivedAt.getTime(),
  );
});

Deno.test("postmarkToMessage() takes TextBody, else StrippedTextReply; HtmlBody as html", () => {
  assert.equal(postmark({ ...minimal, TextBody: "full", StrippedTextReply: "reply" }).body, "full");
  assert.equal(postmark({ ...minimal, TextBody: "", StrippedTextReply: "reply" }).body, "reply");
  const m = postmark({ ...minimal, TextBody: "", HtmlBody: "", Subject: "" });
  assert.equal("body" in m, false);
  assert.equal("html" in m, false);
  assert.equal("subject" in m, false);
});

Deno.test("postmarkInboundSchema ignores the fields it does not read", () => {
  const m = postmark({
    ...minimal,
    Headers: "not even an array",
    BccFull: 7,
    MessageStream: "inbound",
    Attachments: [{ Name: "a.txt", Content: 12, ContentLength: "big" }],
  });
  assert.equal(m.providerMessageId, "pm-1");
});

Deno.test("postmarkInboundSchema rejects invalid fields with the path", () => {
  const many = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ Email: `u${i}@example.org`, Name: "" }));
  const cases: Array<[unknown, string]> = [
    [{ ...minimal, MessageID: undefined }, "payload.MessageID: missing (expected a string)"],
    [{ ...minimal, MessageID: "" }, "payload.MessageID: must not be blank"],
    [
      { ...minimal, ToFull: { Email: "a@example.org" } },
      "payload.ToFull: expected an array, got object",
    ],
    [
      { ...minimal, ToFull: [{ Email: 5 }] },
      "payload.ToFull[0].Email: expected a string, got number",
    ],
    [{ ...minimal, Subject: "s".repeat(999) }, "payload.Subject: over the 998-character limit"],
    [{ ...minimal, ToFull: many(101) }, "payload.ToFull: over the 100-item limit"],
    [{ ...minimal, CcFull: many(101) }, "payload.CcFull: over the 100-item limit"],
    [
      { ...minimal, ToFull: [], To: many(101).map((b) => b.Email).join(", ") },
      "payload.To: over the 100-item limit",
    ],
    [
      { ...minimal, Attachments: Array.from({ length: 51 }, () => ({ Name: "a" })) },
      "payload.Attachments: over the 50-item limit",
    ],
    [{ ...minimal, Date: 1714579964 }, "payload.Date: expected a string, got number"],
    [
      { ...minimal, FromFull: null, From: `${"a".repeat(400)}@example.com` },
      "payload.From: holds an address over the 320-character limit",
    ],
  ];
  for (const [payload, expected] of cases) {
    const got = reason(payload);
    assert.equal(got, expected);
    assert.ok(!got.includes("example.org") && !got.includes("example.com"), got);
  }
});

Deno.test("parseEmailDate() reads RFC 5322 dates as mail servers write them", () => {
  const cases: Array<[string, string | null]> = [
    ["Fri, 1 Aug 2014 16:45:32 -04:00", "2014-08-01T20:45:32.000Z"],
    ["Thu, 5 Apr 2012 16:59:01 +0200", "2012-04-05T14:59:01.000Z"],
    ["Thu, 24 Mar 2011 15:59:30 -0400 (EDT)", "2011-03-24T19:59:30.000Z"],
    ["5 Apr 2012 16:59:01 GMT", "2012-04-05T16:59:01.000Z"],
    ["Thu,5 Apr 2012 16:59 UT", "2012-04-05T16:59:00.000Z"],
    ["Mon, 4 Mar 2024 08:00:00 EST", "2024-03-04T13:00:00.000Z"],
    ["Mon, 1 Jul 2024 08:00:00 pdt", "2024-07-01T15:00:00.000Z"],
    ["Tuesday, 02 January 2024 23:59:59 +0000", "2024-01-02T23:59:59.000Z"],
    ["1 Jan 99 00:00:00 +0000", "1999-01-01T00:00:00.000Z"],
    ["1 Jan 24 00:00:00 +0000", "2024-01-01T00:00:00.000Z"],
    ["Sat, 31 Dec 2016 23:59:60 +0000", "2016-12-31T23:59:59.000Z"],
    ["Mon, 1 Jan 2024 00:00:00 +1400", "2023-12-31T10:00:00.000Z"],
    ["2024-05-01T09:12:44-07:00", "2024-05-01T16:12:44.000Z"],
    ["2024-05-01T16:12:44.5Z", "2024-05-01T16:12:44.500Z"],
    ["Wed, 1 May 2024 09:12:44", null],
    ["2024-05-01T09:12:44", null],
    ["Wed, 1 May 2024 09:12:44 XYZ", null],
    ["Wed, 1 May 2024 09:12:44 A", null],
    ["Fri, 30 Feb 2024 10:00:00 +0000", null],
    ["Mon, 1 Jan 2024 24:00:00 +0000", null],
    ["Mon, 1 Jan 2024 10:00:00 +2400", null],
    ["Mon, 1 Foo 2024 10:00:00 +0000", null],
    ["", null],
    ["1714579964", null],
  ];
  for (const [text, iso] of cases) {
    assert.equal(parseEmailDate(text)?.toISOString() ?? null, iso, text);
  }
});

Deno.test("parseAddressList() splits header address lists", () => {
  const cases: Array<[string, string[]]> = [
    ["", []],
    ["a@example.com", ["a@example.com"]],
    [" a@example.com , b@example.org ", ["a@example.com", "b@example.org"]],
    ['"Doe, Jane" <jane@example.com>', ["jane@example.com"]],
    ['"Say \\"hi\\", ok" <q@example.com>, r@example.com', ["q@example.com", "r@example.com"]],
    ["Jane Doe <jane@example.com>", ["jane@example.com"]],
    ["jane@example.com (Jane, at work)", ["jane@example.com"]],
    ["Team: a@example.com, b@example.com;, c@example.com", [
      "a@example.com",
      "b@example.com",
      "c@example.com",
    ]],
    ["undisclosed-recipients:;", []],
    ["user@[IPv6:2001:db8::1]", ["user@[IPv6:2001:db8::1]"]],
    ["Jane+Tag@Example.COM", ["Jane+Tag@Example.COM"]],
    [",,", []],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseAddressList(text), expected, text);
});
