/**
 * The canonical payload of `message.received` and `message.sent`: our own snake_case
 * JSON form for producers that are not a known provider, and its mapping to a
 * {@link CanonicalMessage}.
 *
 * Rules beyond the field types (each one a decision, see the README):
 * - unknown top-level and attachment keys are allowed and ignored (providers add fields);
 * - `null` is accepted for every optional field and means absent;
 * - `to` / `cc` as a string is ONE address (never split on commas);
 * - timestamps must carry a zone (`Z` or `±hh:mm`): a zone-less time is ambiguous; and
 *   fall in the years 0001–9999 UTC (year 0000, or 9999-12-31T23:30:00-01:00, is refused);
 * - an `sms` message with attachments becomes `mms` (that is what the carrier sent);
 * - `cc` is kept for `email` only and dropped (not rejected) otherwise;
 * - an empty `subject` / `body` / `html` means absent;
 * - `delivered_to` (optional) is the address the provider delivered the message to (the
 *   envelope recipient): inbound messages are routed by it first (Bcc, forwarding);
 * - on `sms` / `mms`, an address prefixed with another channel (`whatsapp:`) is refused;
 *   every phone spelling the normalizer takes (`tel:+1…`) is accepted.
 *
 * @module
 */

import { z } from "zod";
import {
  MAX_ADDRESS,
  MAX_ATTACHMENTS,
  MAX_MESSAGE_ID,
  MAX_RECIPIENTS,
  MAX_SHORT_TEXT,
  MAX_SUBJECT,
  MAX_URL,
} from "./_limits.ts";
import type { Channel } from "../normalize/address.ts";
import { notPhoneSpelling } from "../normalize/phone.ts";
import { isSupportedTime, TIME_RANGE_PROBLEM } from "./_time_range.ts";
import type { Attachment, CanonicalMessage } from "./types.ts";
import {
  array,
  DECLINE,
  either,
  fastObject,
  type Field,
  httpUrl,
  type IssueSink,
  matching,
  nonBlankText,
  object,
  passes,
  text,
} from "./_fast.ts";

const NOT_BLANK = /\S/;

const address = z.string().max(MAX_ADDRESS).regex(NOT_BLANK, "must not be blank");

/**
 * An RFC 3339 timestamp with `Z` or a `±hh:mm` offset; seconds required; an instant in the
 * years 0001–9999 UTC (what the database holds as we write it).
 */
const timestamp = z.iso.datetime({ offset: true }).refine(inTimeRange, TIME_RANGE_PROBLEM);

/** The range check of a timestamp; text that is no date at all is the format check's. */
function inTimeRange(text: string): boolean {
  return Number.isNaN(Date.parse(text)) || isSupportedTime(new Date(text));
}

const addressList = (min: number) =>
  z.union([address, z.array(address).min(min).max(MAX_RECIPIENTS)], {
    error: "expected a string or an array of strings",
  });

const attachment = z.object({
  url: z.url({ protocol: /^https?$/ }).max(MAX_URL),
  content_type: z.string().max(MAX_SHORT_TEXT).nullish(),
});

/** The channels a canonical payload may name (the schema's and the fast path's). */
const CHANNEL_VALUES = ["sms", "mms", "email"] as const;

/** The fields of a canonical payload (their types; the rules across them: below). */
const fields = z.object({
  channel: z.enum(CHANNEL_VALUES),
  provider_message_id: z.string().max(MAX_MESSAGE_ID).regex(NOT_BLANK, "must not be blank"),
  from: address,
  to: addressList(1),
  cc: addressList(0).nullish(),
  delivered_to: address.nullish(),
  subject: z.string().max(MAX_SUBJECT).nullish(),
  body: z.string().nullish(),
  html: z.string().nullish(),
  sent_at: timestamp,
  received_at: timestamp.nullish(),
  attachments: z.array(attachment).max(MAX_ATTACHMENTS).nullish(),
});

/** The rules of a canonical payload beyond its fields' types. */
function refineCanonical(p: z.output<typeof fields>, ctx: IssueSink): void {
  if (p.channel === "email") return;
  // The phone normalizer's own rule: another channel's prefix is refused, every phone
  // spelling (`tel:+1…`, full-width digits) is not.
  const check = (value: string, path: (string | number)[]) => {
    const problem = notPhoneSpelling(value);
    if (problem) ctx.addIssue({ code: "custom", path, message: problem });
  };
  check(p.from, ["from"]);
  if (typeof p.to === "string") check(p.to, ["to"]);
  else p.to.forEach((a, i) => check(a, ["to", i]));
  if (p.delivered_to) check(p.delivered_to, ["delivered_to"]);
}

/**
 * The zod schema of a `message.received` / `message.sent` payload.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalPayloadSchema } from "./canonical.ts";
 * const ok = canonicalPayloadSchema.safeParse({
 *   channel: "sms",
 *   provider_message_id: "m-1",
 *   from: "+14155550101",
 *   to: "+14155550102",
 *   sent_at: "2024-05-01T12:00:00Z",
 * });
 * assert.equal(ok.success, true);
 * const zoneless = canonicalPayloadSchema.safeParse({
 *   channel: "sms",
 *   provider_message_id: "m-1",
 *   from: "+14155550101",
 *   to: "+14155550102",
 *   sent_at: "2024-05-01T12:00:00",
 * });
 * assert.equal(zoneless.success, false);
 * ```
 */
export const canonicalPayloadSchema = fields.superRefine(refineCanonical);

/** A validated canonical payload (the schema's output; unknown keys stripped). */
export type CanonicalPayload = z.output<typeof canonicalPayloadSchema>;

/**
 * The fast path of {@link canonicalPayloadSchema} (see `_fast.ts`): its output for the
 * payloads it can decide, else `undefined` (zod decides).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { fastCanonicalPayload } from "./canonical.ts";
 * const payload = {
 *   channel: "sms",
 *   provider_message_id: "m-1",
 *   from: "+14155550101",
 *   to: "+14155550102",
 *   sent_at: "2024-05-01T12:00:00Z",
 *   extra: true,
 * };
 * assert.deepEqual(fastCanonicalPayload(payload), {
 *   channel: "sms",
 *   provider_message_id: "m-1",
 *   from: "+14155550101",
 *   to: "+14155550102",
 *   sent_at: "2024-05-01T12:00:00Z",
 * });
 * assert.equal(fastCanonicalPayload({ ...payload, sent_at: "2024-05-01T12:00:00" }), undefined);
 * ```
 */
export function fastCanonicalPayload(payload: unknown): CanonicalPayload | undefined {
  const p = fastObject(payload, FAST_FIELDS);
  if (p === DECLINE) return undefined;
  const typed = p as CanonicalPayload;
  return passes(typed, refineCanonical) ? typed : undefined;
}

const DATETIME = z.regexes.datetime({ offset: true });
/**
 * Years 0002–9998 are in range whatever the offset (at most ±23:59): the instant is
 * computed only near the ends (`Date.parse` was 2.6 % of `convo enqueue`'s profile).
 */
const INNER_YEAR = /^(?:000[2-9]|00[1-9]\d|0[1-9]\d\d|[1-8]\d{3}|9[0-8]\d\d|99[0-8]\d|999[0-8])-/;
const fastTimestamp = matching((t) => DATETIME.test(t) && (INNER_YEAR.test(t) || inTimeRange(t)));
const fastAddress = nonBlankText(MAX_ADDRESS);
const fastAddressList = (min: number) =>
  either(fastAddress, array(fastAddress, min, MAX_RECIPIENTS));
const CHANNELS = new Set<string>(CHANNEL_VALUES);

/** {@link fields}, as fast checks; `tests/events/fast_test.ts` holds the two together. */
const FAST_FIELDS: Record<string, Field> = {
  channel: { check: matching((c) => CHANNELS.has(c)) },
  provider_message_id: { check: nonBlankText(MAX_MESSAGE_ID) },
  from: { check: fastAddress },
  to: { check: fastAddressList(1) },
  cc: { check: fastAddressList(0), optional: true, nullable: true },
  delivered_to: { check: fastAddress, optional: true, nullable: true },
  subject: { check: text(MAX_SUBJECT), optional: true, nullable: true },
  body: { check: text(), optional: true, nullable: true },
  html: { check: text(), optional: true, nullable: true },
  sent_at: { check: fastTimestamp },
  received_at: { check: fastTimestamp, optional: true, nullable: true },
  attachments: {
    check: array(
      object({
        url: { check: httpUrl(MAX_URL) },
        content_type: { check: text(MAX_SHORT_TEXT), optional: true, nullable: true },
      }),
      0,
      MAX_ATTACHMENTS,
    ),
    optional: true,
    nullable: true,
  },
};

/** Options of {@link canonicalToMessage}. */
export interface CanonicalToMessageOptions {
  /** `inbound` for `message.received`, `outbound` for `message.sent`. */
  direction: "inbound" | "outbound";
}

/**
 * Maps a validated canonical payload to a {@link CanonicalMessage}. `receivedAt` is the
 * payload's `received_at` or absent: the payload is the authority on its own times.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalPayloadSchema, canonicalToMessage } from "./canonical.ts";
 * const payload = canonicalPayloadSchema.parse({
 *   channel: "sms",
 *   provider_message_id: "m-2",
 *   from: "+14155550101",
 *   to: ["+14155550102"],
 *   body: "photo",
 *   sent_at: "2024-05-01T12:00:00-07:00",
 *   attachments: [{ url: "https://media.example.com/1.jpg", content_type: "image/jpeg" }],
 * });
 * const message = canonicalToMessage(payload, { direction: "outbound" });
 * assert.equal(message.channel, "mms");
 * assert.equal(message.sentAt.toISOString(), "2024-05-01T19:00:00.000Z");
 * assert.deepEqual(message.attachments, [
 *   { url: "https://media.example.com/1.jpg", contentType: "image/jpeg" },
 * ]);
 * ```
 */
export function canonicalToMessage(
  payload: CanonicalPayload,
  options: CanonicalToMessageOptions,
): CanonicalMessage {
  const attachments: Attachment[] = [];
  if (payload.attachments) {
    for (const a of payload.attachments) {
      attachments.push(
        a.content_type ? { url: a.url, contentType: a.content_type } : { url: a.url },
      );
    }
  }
  const channel: Channel = payload.channel === "sms" && attachments.length > 0
    ? "mms"
    : payload.channel;
  const message: CanonicalMessage = {
    direction: options.direction,
    channel,
    providerMessageId: payload.provider_message_id,
    from: payload.from,
    to: canonicalTo(payload),
    cc: canonicalCc(payload),
    sentAt: new Date(payload.sent_at),
    attachments,
  };
  if (payload.subject) message.subject = payload.subject;
  if (payload.body) message.body = payload.body;
  if (payload.html) message.html = payload.html;
  if (payload.received_at) message.receivedAt = new Date(payload.received_at);
  if (payload.delivered_to) message.deliveredTo = payload.delivered_to;
  return message;
}

/**
 * The message's recipients (`to`), as {@link canonicalToMessage} gives them.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalTo } from "./canonical.ts";
 * assert.deepEqual(canonicalTo({ to: "+14155550102" }), ["+14155550102"]);
 * ```
 */
export function canonicalTo(payload: Pick<CanonicalPayload, "to">): string[] {
  return typeof payload.to === "string" ? [payload.to] : payload.to;
}

/**
 * The message's copies (`cc`), as {@link canonicalToMessage} gives them: email only.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalCc } from "./canonical.ts";
 * assert.deepEqual(canonicalCc({ channel: "email", cc: "ops@example.org" }), ["ops@example.org"]);
 * assert.deepEqual(canonicalCc({ channel: "sms", cc: "+14155550102" }), []);
 * ```
 */
export function canonicalCc(payload: Pick<CanonicalPayload, "channel" | "cc">): string[] {
  // An SMS with attachments becomes MMS, never email: the payload's channel decides.
  return payload.channel === "email" && payload.cc
    ? (typeof payload.cc === "string" ? [payload.cc] : payload.cc)
    : [];
}
