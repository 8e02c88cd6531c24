/**
 * `postmark.inbound`: the JSON Postmark POSTs for an inbound email, and its mapping to a
 * {@link CanonicalMessage}.
 *
 * Only the fields read are validated (`MessageID`, `From`/`FromFull`, `To`/`ToFull`,
 * `Cc`/`CcFull`, `OriginalRecipient`, `Subject`, `Date`, `TextBody`, `HtmlBody`,
 * `StrippedTextReply`, `Attachments[].Name/ContentType/ContentID`); the rest (`Headers`,
 * `Bcc`/`BccFull`, `ReplyTo`, `Tag`, `MessageStream`, `MailboxHash`, …) is allowed,
 * ignored, and kept in the stored payload — except attachment `Content`, which
 * enqueue drops ({@link stripAttachmentContent}).
 *
 * Rules (decisions, see the README):
 * - addresses come from the `…Full[].Email` fields; when those are absent or all
 *   blank, from the header string (`To`, split on commas outside quotes); display names
 *   are dropped; addresses stay raw (case and `+tag` kept);
 * - when no `To` recipient is left (all-Bcc mail), `OriginalRecipient` (the address
 *   Postmark received the mail at) is the recipient;
 * - `OriginalRecipient`, when given, is also `deliveredTo`: the worker routes by it first,
 *   so mail that reached us by Bcc, a list or forwarding goes to the mailbox it was
 *   delivered to, not to the first of our addresses on To/Cc;
 * - `sentAt` is the parsed `Date`; when `Date` is absent or unparseable (no zone,
 *   not a date), the time the event reached us; `receivedAt` is always the latter;
 * - body is `TextBody`, else `StrippedTextReply`; html is `HtmlBody`;
 * - attachments carry content, not URLs: each becomes
 *   `postmark:<MessageID>/<ContentID>` or `postmark:<MessageID>/<index>/<Name>`, and the
 *   base64 content is not copied into the canonical form.
 *
 * @module
 */

import { z } from "zod";
import { parseAddressList } from "./_address_list.ts";
import { parseEmailDate } from "./_email_date.ts";
import {
  MAX_ADDRESS,
  MAX_ATTACHMENTS,
  MAX_MESSAGE_ID,
  MAX_RECIPIENTS,
  MAX_SHORT_TEXT,
  MAX_SUBJECT,
} from "./_limits.ts";
import type { Attachment, CanonicalMessage } from "./types.ts";
import {
  array,
  DECLINE,
  fastObject,
  type Field,
  type IssueSink,
  nonBlankText,
  object,
  passes,
  text,
} from "./_fast.ts";

const NOT_BLANK = /\S/;

const mailbox = z.object({ Email: z.string().max(MAX_ADDRESS).nullish() });
const mailboxes = z.array(mailbox).max(MAX_RECIPIENTS).nullish();
const headerText = z.string().max(MAX_RECIPIENTS * (MAX_ADDRESS + 100)).nullish();

const attachment = z.object({
  Name: z.string().max(MAX_SHORT_TEXT).nullish(),
  ContentType: z.string().max(MAX_SHORT_TEXT).nullish(),
  ContentID: z.string().max(MAX_SHORT_TEXT).nullish(),
});

const shape = z.object({
  MessageID: z.string().max(MAX_MESSAGE_ID).regex(NOT_BLANK, "must not be blank"),
  From: headerText,
  FromFull: mailbox.nullish(),
  To: headerText,
  ToFull: mailboxes,
  Cc: headerText,
  CcFull: mailboxes,
  OriginalRecipient: z.string().max(MAX_ADDRESS).nullish(),
  Subject: z.string().max(MAX_SUBJECT).nullish(),
  Date: z.string().nullish(), // unreadable or absent: sentAt falls back, never rejected
  TextBody: z.string().nullish(),
  HtmlBody: z.string().nullish(),
  StrippedTextReply: z.string().nullish(),
  Attachments: z.array(attachment).max(MAX_ATTACHMENTS).nullish(),
});

type Shape = z.output<typeof shape>;

/** The rules of a Postmark payload beyond its fields' types. */
function refinePostmark(p: Shape, ctx: IssueSink): void {
  if (senderOf(p) === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["FromFull", "Email"],
      message: "missing: neither FromFull.Email nor From holds an address",
    });
  }
  const to = recipientsOf(p.ToFull, p.To);
  if (to.length === 0 && !nonBlank(p.OriginalRecipient)) {
    ctx.addIssue({
      code: "custom",
      path: ["ToFull"],
      message: "no recipient: ToFull, To and OriginalRecipient are all empty",
    });
  }
  // A …Full array over the limit is reported by its own check; here, the header strings.
  if (to.length > MAX_RECIPIENTS && (p.ToFull?.length ?? 0) <= MAX_RECIPIENTS) {
    ctx.addIssue({
      code: "custom",
      path: ["To"],
      message: `over the ${MAX_RECIPIENTS}-item limit`,
    });
  }
  const cc = recipientsOf(p.CcFull, p.Cc);
  if (cc.length > MAX_RECIPIENTS && (p.CcFull?.length ?? 0) <= MAX_RECIPIENTS) {
    ctx.addIssue({
      code: "custom",
      path: ["Cc"],
      message: `over the ${MAX_RECIPIENTS}-item limit`,
    });
  }
  for (const key of ["From", "To", "Cc"] as const) {
    for (const address of p[key] ? parseAddressList(p[key]) : []) {
      if (address.length > MAX_ADDRESS) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `holds an address over the ${MAX_ADDRESS}-character limit`,
        });
        break;
      }
    }
  }
}

/**
 * The zod schema of a `postmark.inbound` payload.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { postmarkInboundSchema } from "./postmark.ts";
 * const ok = postmarkInboundSchema.safeParse({
 *   MessageID: "73e6d360-66eb-11e1-8e72-a8904824019b",
 *   From: "jane@example.com",
 *   FromFull: { Email: "jane@example.com", Name: "Jane", MailboxHash: "" },
 *   To: "support@example.org",
 *   ToFull: [{ Email: "support@example.org", Name: "", MailboxHash: "" }],
 *   Date: "Fri, 1 Aug 2014 16:45:32 -04:00",
 * });
 * assert.equal(ok.success, true);
 * const noSender = postmarkInboundSchema.safeParse({ MessageID: "x", To: "a@example.org" });
 * assert.equal(noSender.success, false);
 * ```
 */
export const postmarkInboundSchema = shape.superRefine(refinePostmark);

/** A validated `postmark.inbound` payload (the schema's output; unknown keys stripped). */
export type PostmarkInboundPayload = z.output<typeof postmarkInboundSchema>;

const fastMailbox = object({
  Email: { check: text(MAX_ADDRESS), optional: true, nullable: true },
});
const fastMailboxes: Field = {
  check: array(fastMailbox, 0, MAX_RECIPIENTS),
  optional: true,
  nullable: true,
};
const fastHeaderText: Field = {
  check: text(MAX_RECIPIENTS * (MAX_ADDRESS + 100)),
  optional: true,
  nullable: true,
};
const fastShortText = { check: text(MAX_SHORT_TEXT), optional: true, nullable: true };
const fastAnyText = { check: text(), optional: true, nullable: true };

/** {@link shape}, as fast checks; `tests/events/fast_test.ts` holds the two together. */
const FAST_FIELDS: Record<string, Field> = {
  MessageID: { check: nonBlankText(MAX_MESSAGE_ID) },
  From: fastHeaderText,
  FromFull: { check: fastMailbox, optional: true, nullable: true },
  To: fastHeaderText,
  ToFull: fastMailboxes,
  Cc: fastHeaderText,
  CcFull: fastMailboxes,
  OriginalRecipient: { check: text(MAX_ADDRESS), optional: true, nullable: true },
  Subject: { check: text(MAX_SUBJECT), optional: true, nullable: true },
  Date: fastAnyText,
  TextBody: fastAnyText,
  HtmlBody: fastAnyText,
  StrippedTextReply: fastAnyText,
  Attachments: {
    check: array(
      object({ Name: fastShortText, ContentType: fastShortText, ContentID: fastShortText }),
      0,
      MAX_ATTACHMENTS,
    ),
    optional: true,
    nullable: true,
  },
};

/**
 * The fast path of {@link postmarkInboundSchema} (see `_fast.ts`): its output for the
 * payloads it can decide, else `undefined` (zod decides).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { fastPostmarkInbound } from "./postmark.ts";
 * const payload = {
 *   MessageID: "73e6d360-66eb-11e1-8e72-a8904824019b",
 *   FromFull: { Email: "jane@example.com", Name: "Jane" },
 *   ToFull: [{ Email: "support@example.org" }],
 *   MessageStream: "inbound",
 * };
 * assert.deepEqual(fastPostmarkInbound(payload), {
 *   MessageID: "73e6d360-66eb-11e1-8e72-a8904824019b",
 *   FromFull: { Email: "jane@example.com" },
 *   ToFull: [{ Email: "support@example.org" }],
 * });
 * assert.equal(fastPostmarkInbound({ ...payload, FromFull: null }), undefined);
 * ```
 */
export function fastPostmarkInbound(payload: unknown): PostmarkInboundPayload | undefined {
  const p = fastObject(payload, FAST_FIELDS);
  if (p === DECLINE) return undefined;
  const typed = p as PostmarkInboundPayload;
  return passes(typed, refinePostmark) ? typed : undefined;
}

/** Options of {@link postmarkToMessage}. */
export interface PostmarkToMessageOptions {
  /** When the event reached us: `receivedAt`, and `sentAt` when `Date` cannot be read. */
  receivedAt: Date;
}

/**
 * Maps a validated Postmark inbound payload to a {@link CanonicalMessage}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { postmarkInboundSchema, postmarkToMessage } from "./postmark.ts";
 * const payload = postmarkInboundSchema.parse({
 *   MessageID: "22c74902-a0c1-4511-804f-341342852c90",
 *   From: '"Jane Doe" <Jane.Doe+work@Example.com>',
 *   FromFull: { Email: "Jane.Doe+work@Example.com", Name: "Jane Doe", MailboxHash: "work" },
 *   To: "support@example.org",
 *   ToFull: [],
 *   Cc: '"Ops, Team" <ops@example.org>, bob@example.net',
 *   Subject: "Order 1042",
 *   Date: "Thu, 5 Apr 2012 16:59:01 +0200",
 *   TextBody: "Where is it?",
 *   Attachments: [{ Name: "receipt.pdf", Content: "JVBERi0=", ContentType: "application/pdf", ContentLength: 5 }],
 * });
 * const message = postmarkToMessage(payload, { receivedAt: new Date("2012-04-05T15:00:00Z") });
 * assert.equal(message.from, "Jane.Doe+work@Example.com");
 * assert.deepEqual(message.to, ["support@example.org"]);
 * assert.deepEqual(message.cc, ["ops@example.org", "bob@example.net"]);
 * assert.equal(message.sentAt.toISOString(), "2012-04-05T14:59:01.000Z");
 * assert.deepEqual(message.attachments, [
 *   { url: "postmark:22c74902-a0c1-4511-804f-341342852c90/0/receipt.pdf", contentType: "application/pdf" },
 * ]);
 * ```
 */
export function postmarkToMessage(
  payload: PostmarkInboundPayload,
  options: PostmarkToMessageOptions,
): CanonicalMessage {
  const to = postmarkTo(payload);
  const attachments: Attachment[] = [];
  if (payload.Attachments) {
    const prefix = `postmark:${payload.MessageID}/`;
    for (let i = 0; i < payload.Attachments.length; i++) {
      const a = payload.Attachments[i];
      const url = prefix + (a.ContentID ? a.ContentID : a.Name ? `${i}/${a.Name}` : `${i}`);
      attachments.push(a.ContentType ? { url, contentType: a.ContentType } : { url });
    }
  }
  const sentAt = payload.Date ? parseEmailDate(payload.Date) : null;
  const message: CanonicalMessage = {
    direction: "inbound",
    channel: "email",
    providerMessageId: payload.MessageID,
    // The schema guarantees a sender; "" only for an unvalidated object.
    from: senderOf(payload) ?? "",
    to,
    cc: postmarkCc(payload),
    sentAt: sentAt ?? new Date(options.receivedAt.getTime()),
    receivedAt: new Date(options.receivedAt.getTime()),
    attachments,
  };
  const body = payload.TextBody || payload.StrippedTextReply;
  if (body) message.body = body;
  if (payload.HtmlBody) message.html = payload.HtmlBody;
  if (payload.Subject) message.subject = payload.Subject;
  const deliveredTo = postmarkDeliveredTo(payload);
  if (deliveredTo !== undefined) message.deliveredTo = deliveredTo;
  return message;
}

/**
 * The mail's recipients, as {@link postmarkToMessage} gives them: `ToFull`'s addresses,
 * else `To` parsed, else `OriginalRecipient`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { postmarkTo } from "./postmark.ts";
 * assert.deepEqual(postmarkTo({ To: "A <a@example.org>, b@example.org" }), [
 *   "a@example.org",
 *   "b@example.org",
 * ]);
 * assert.deepEqual(postmarkTo({ OriginalRecipient: "c@example.org" }), ["c@example.org"]);
 * ```
 */
export function postmarkTo(
  payload: Pick<PostmarkInboundPayload, "ToFull" | "To" | "OriginalRecipient">,
): string[] {
  const to = recipientsOf(payload.ToFull, payload.To);
  const deliveredTo = to.length === 0 ? postmarkDeliveredTo(payload) : undefined;
  return deliveredTo === undefined ? to : [deliveredTo];
}

/**
 * The mail's copies, as {@link postmarkToMessage} gives them: `CcFull`'s addresses, else
 * `Cc` parsed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { postmarkCc } from "./postmark.ts";
 * assert.deepEqual(postmarkCc({ Cc: "ops@example.org" }), ["ops@example.org"]);
 * assert.deepEqual(postmarkCc({}), []);
 * ```
 */
export function postmarkCc(payload: Pick<PostmarkInboundPayload, "CcFull" | "Cc">): string[] {
  return recipientsOf(payload.CcFull, payload.Cc);
}

/**
 * The address the mail was delivered to (`OriginalRecipient`), unless blank.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { postmarkDeliveredTo } from "./postmark.ts";
 * assert.equal(postmarkDeliveredTo({ OriginalRecipient: "c@example.org" }), "c@example.org");
 * assert.equal(postmarkDeliveredTo({ OriginalRecipient: " " }), undefined);
 * ```
 */
export function postmarkDeliveredTo(
  payload: Pick<PostmarkInboundPayload, "OriginalRecipient">,
): string | undefined {
  return nonBlank(payload.OriginalRecipient) ? payload.OriginalRecipient : undefined;
}

function nonBlank(value: string | null | undefined): value is string {
  return typeof value === "string" && NOT_BLANK.test(value);
}

function senderOf(p: Shape): string | undefined {
  const email = p.FromFull?.Email;
  if (nonBlank(email)) return email;
  return p.From ? parseAddressList(p.From)[0] : undefined;
}

function recipientsOf(
  full: Shape["ToFull"],
  text: string | null | undefined,
): string[] {
  if (full && full.length > 0) {
    const out: string[] = [];
    for (const r of full) if (nonBlank(r.Email)) out.push(r.Email);
    if (out.length > 0) return out;
  }
  return text ? parseAddressList(text) : [];
}

/**
 * Drops the base64 `Content` of every attachment of a Postmark inbound
 * payload, in place: the worker never reads it (an attachment becomes a
 * `postmark:` URL with its content type), and storing it made an ordinary mail
 * with a 200 KB PDF (270 KB of base64) exceed the 256 KiB payload cap, and
 * every claim carry it. `Name`, `ContentType`, `ContentID` and `ContentLength`
 * are kept; a missing `ContentLength` is filled from the base64 length.
 *
 * @returns how many contents were dropped.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripAttachmentContent } from "./postmark.ts";
 * const payload = { Attachments: [{ Name: "a.pdf", Content: "JVBERi0=", ContentType: "application/pdf" }] };
 * assert.equal(stripAttachmentContent(payload), 1);
 * assert.deepEqual(payload.Attachments, [{ Name: "a.pdf", ContentType: "application/pdf", ContentLength: 5 }]);
 * ```
 */
export function stripAttachmentContent(payload: Record<string, unknown>): number {
  const list = payload.Attachments;
  if (!Array.isArray(list)) return 0;
  let dropped = 0;
  for (const a of list) {
    if (typeof a !== "object" || a === null || !("Content" in a)) continue;
    const item = a as Record<string, unknown>;
    const content = item.Content;
    delete item.Content;
    dropped++;
    if (item.ContentLength === undefined && typeof content === "string") {
      const clean = content.replace(/[^A-Za-z0-9+/]/g, "");
      item.ContentLength = Math.floor(clean.length * 3 / 4);
    }
  }
  return dropped;
}
