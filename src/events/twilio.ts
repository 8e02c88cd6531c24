/**
 * `twilio.message`: the parameters of Twilio's incoming-message webhook (its form
 * fields as one JSON object of strings), and their mapping to a {@link CanonicalMessage}.
 *
 * Only the fields read are validated: `MessageSid` (or the older `SmsMessageSid` /
 * `SmsSid`), `From`, `To`, `Body`, `NumMedia`, `MediaUrl{N}`, `MediaContentType{N}` and
 * `Direction`. Everything else Twilio sends (`AccountSid`, `MessagingServiceSid`,
 * `FromCity`, …, `ApiVersion`, and fields Twilio adds later) is allowed and ignored.
 *
 * Rules (decisions, see the README):
 * - `NumMedia` absent means 0; `MediaUrl{N}` is required for every N < NumMedia and
 *   must be absent for N ≥ NumMedia (media would otherwise be silently lost);
 * - channel `mms` when NumMedia > 0, else `sms`;
 * - direction inbound unless `Direction` is `outbound-api` / `outbound-call` /
 *   `outbound-reply`;
 * - addresses prefixed with another channel (`whatsapp:+1…`, `messenger:…`, `rcs:…`) are
 *   rejected: only SMS and MMS are supported; every phone spelling the normalizer takes
 *   (`tel:+1…`, full-width digits, …) is accepted (`notPhoneSpelling`, the one rule);
 * - the webhook carries no timestamp: `sentAt` and `receivedAt` are the time the event
 *   reached us (the adapter's `receivedAt` option).
 *
 * @module
 */

import { z } from "zod";
import { MAX_ADDRESS, MAX_MESSAGE_ID, MAX_SHORT_TEXT, MAX_URL } from "./_limits.ts";
import { notPhoneSpelling } from "../normalize/phone.ts";
import type { Attachment, CanonicalMessage } from "./types.ts";
import {
  DECLINE,
  fastObject,
  type Field,
  httpUrl,
  type IssueSink,
  matching,
  nonBlankText,
  passes,
  text,
} from "./_fast.ts";

/** Twilio sends at most 10 media per message. */
const MAX_MEDIA = 10;
const NOT_BLANK = /\S/;
const NUM_MEDIA = /^(?:\d|10)$/;

const sid = z.string().max(MAX_MESSAGE_ID).regex(NOT_BLANK, "must not be blank");
const address = z.string().max(MAX_ADDRESS).regex(NOT_BLANK, "must not be blank");
const mediaUrl = z.url({ protocol: /^https?$/ }).max(MAX_URL);
const mediaType = z.string().max(MAX_SHORT_TEXT);

const MEDIA_URL_KEYS = Array.from({ length: MAX_MEDIA }, (_, i) => `MediaUrl${i}`);
const MEDIA_TYPE_KEYS = Array.from({ length: MAX_MEDIA }, (_, i) => `MediaContentType${i}`);

type MediaIndex = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
type MediaShape =
  & { [K in `MediaUrl${MediaIndex}`]: z.ZodOptional<typeof mediaUrl> }
  & { [K in `MediaContentType${MediaIndex}`]: z.ZodOptional<typeof mediaType> };

/** `MediaUrl0`…`MediaUrl9` and `MediaContentType0`…`MediaContentType9`, all optional. */
const mediaShape = {} as MediaShape;
for (let i = 0; i < MAX_MEDIA; i++) {
  (mediaShape as Record<string, unknown>)[MEDIA_URL_KEYS[i]] = mediaUrl.optional();
  (mediaShape as Record<string, unknown>)[MEDIA_TYPE_KEYS[i]] = mediaType.optional();
}

/** The values of `Direction` (the schema's and the fast path's). */
const DIRECTION_VALUES = ["inbound", "outbound-api", "outbound-call", "outbound-reply"] as const;

/** The fields of a Twilio payload (their types; the rules across them: below). */
const fields = z.object({
  MessageSid: sid.optional(),
  SmsMessageSid: sid.optional(),
  SmsSid: sid.optional(),
  From: address,
  To: address,
  Body: z.string().optional(),
  NumMedia: z.string().regex(NUM_MEDIA, "expected a count from 0 to 10, as a string").optional(),
  Direction: z.enum(DIRECTION_VALUES).optional(),
  ...mediaShape,
});

/** The rules of a Twilio payload beyond its fields' types. */
function refineTwilio(p: z.output<typeof fields>, ctx: IssueSink): void {
  if (p.MessageSid === undefined && p.SmsMessageSid === undefined && p.SmsSid === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["MessageSid"],
      message: "missing (expected a string; SmsMessageSid or SmsSid also accepted)",
    });
  }
  for (const key of ["From", "To"] as const) {
    const problem = notPhoneSpelling(p[key]);
    if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
  }
  // A NumMedia that failed its own check has been reported already: nothing to compare.
  if (p.NumMedia !== undefined && !NUM_MEDIA.test(p.NumMedia)) return;
  const count = p.NumMedia === undefined ? 0 : Number(p.NumMedia);
  const record = p as Record<string, unknown>;
  for (let i = 0; i < MAX_MEDIA; i++) {
    const present = record[MEDIA_URL_KEYS[i]] !== undefined;
    if (i < count && !present) {
      ctx.addIssue({
        code: "custom",
        path: [MEDIA_URL_KEYS[i]],
        message: `missing (NumMedia is ${count})`,
      });
    } else if (i >= count && present) {
      ctx.addIssue({
        code: "custom",
        path: [MEDIA_URL_KEYS[i]],
        message: `present but NumMedia is ${count}`,
      });
    }
  }
}

/**
 * The zod schema of a `twilio.message` payload.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { twilioMessageSchema } from "./twilio.ts";
 * const base = {
 *   MessageSid: "SM00000000000000000000000000000001",
 *   From: "+14155550101",
 *   To: "+14155550199",
 *   Body: "hi",
 * };
 * assert.equal(twilioMessageSchema.safeParse({ ...base, NumMedia: "0" }).success, true);
 * // NumMedia says 1, but MediaUrl0 is missing:
 * assert.equal(twilioMessageSchema.safeParse({ ...base, NumMedia: "1" }).success, false);
 * // WhatsApp is not SMS:
 * assert.equal(
 *   twilioMessageSchema.safeParse({ ...base, From: "whatsapp:+14155550101" }).success,
 *   false,
 * );
 * ```
 */
export const twilioMessageSchema = fields.superRefine(refineTwilio);

/** A validated `twilio.message` payload (the schema's output; unknown keys stripped). */
export type TwilioMessagePayload = z.output<typeof twilioMessageSchema>;

const fastSid = nonBlankText(MAX_MESSAGE_ID);
const fastAddress = nonBlankText(MAX_ADDRESS);
const DIRECTIONS = new Set<string>(DIRECTION_VALUES);

/** {@link fields}, as fast checks; `tests/events/fast_test.ts` holds the two together. */
const FAST_FIELDS: Record<string, Field> = {
  MessageSid: { check: fastSid, optional: true },
  SmsMessageSid: { check: fastSid, optional: true },
  SmsSid: { check: fastSid, optional: true },
  From: { check: fastAddress },
  To: { check: fastAddress },
  Body: { check: text(), optional: true },
  NumMedia: { check: matching((n) => NUM_MEDIA.test(n)), optional: true },
  Direction: { check: matching((d) => DIRECTIONS.has(d)), optional: true },
};
for (let i = 0; i < MAX_MEDIA; i++) {
  FAST_FIELDS[MEDIA_URL_KEYS[i]] = { check: httpUrl(MAX_URL), optional: true };
  FAST_FIELDS[MEDIA_TYPE_KEYS[i]] = { check: text(MAX_SHORT_TEXT), optional: true };
}

/**
 * The fast path of {@link twilioMessageSchema} (see `_fast.ts`): its output for the
 * payloads it can decide, else `undefined` (zod decides).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { fastTwilioMessage } from "./twilio.ts";
 * const payload = { MessageSid: "SM01", From: "+14155550101", To: "+14155550199", ApiVersion: "2010-04-01" };
 * assert.deepEqual(fastTwilioMessage(payload), { MessageSid: "SM01", From: "+14155550101", To: "+14155550199" });
 * assert.equal(fastTwilioMessage({ ...payload, NumMedia: "1" }), undefined);
 * ```
 */
export function fastTwilioMessage(payload: unknown): TwilioMessagePayload | undefined {
  const p = fastObject(payload, FAST_FIELDS);
  if (p === DECLINE) return undefined;
  const typed = p as TwilioMessagePayload;
  return passes(typed, refineTwilio) ? typed : undefined;
}

/** Options of {@link twilioToMessage}. */
export interface TwilioToMessageOptions {
  /** When the event reached us; Twilio's webhook has no timestamp of its own. */
  receivedAt: Date;
}

/**
 * The message id of a validated Twilio payload: `MessageSid`, else `SmsMessageSid`, else
 * `SmsSid`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { twilioMessageId } from "./twilio.ts";
 * assert.equal(twilioMessageId({ SmsSid: "SM1", From: "+1", To: "+2" }), "SM1");
 * ```
 */
export function twilioMessageId(payload: TwilioMessagePayload): string {
  // The schema guarantees one of the three; "" only for an unvalidated object.
  return payload.MessageSid ?? payload.SmsMessageSid ?? payload.SmsSid ?? "";
}

/**
 * Maps a validated Twilio payload to a {@link CanonicalMessage}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { twilioMessageSchema, twilioToMessage } from "./twilio.ts";
 * const payload = twilioMessageSchema.parse({
 *   MessageSid: "MM00000000000000000000000000000002",
 *   AccountSid: "AC00000000000000000000000000000000",
 *   From: "+14155550101",
 *   To: "+14155550199",
 *   Body: "",
 *   NumMedia: "1",
 *   MediaUrl0: "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0",
 *   MediaContentType0: "image/jpeg",
 * });
 * const receivedAt = new Date("2024-05-01T12:00:00Z");
 * const message = twilioToMessage(payload, { receivedAt });
 * assert.equal(message.channel, "mms");
 * assert.equal(message.direction, "inbound");
 * assert.equal(message.body, undefined);
 * assert.equal(message.sentAt.getTime(), receivedAt.getTime());
 * ```
 */
export function twilioToMessage(
  payload: TwilioMessagePayload,
  options: TwilioToMessageOptions,
): CanonicalMessage {
  const count = payload.NumMedia === undefined ? 0 : Number(payload.NumMedia);
  const record = payload as Record<string, string | undefined>;
  const attachments: Attachment[] = [];
  for (let i = 0; i < count; i++) {
    const url = record[MEDIA_URL_KEYS[i]] as string;
    const contentType = record[MEDIA_TYPE_KEYS[i]];
    attachments.push(contentType ? { url, contentType } : { url });
  }
  const message: CanonicalMessage = {
    direction: twilioDirection(payload),
    channel: count > 0 ? "mms" : "sms",
    providerMessageId: twilioMessageId(payload),
    from: payload.From,
    to: [payload.To],
    cc: [],
    sentAt: new Date(options.receivedAt.getTime()),
    receivedAt: new Date(options.receivedAt.getTime()),
    attachments,
  };
  if (payload.Body) message.body = payload.Body;
  return message;
}

/**
 * The message's direction: outbound for `Direction` `outbound-*`, inbound otherwise.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { twilioDirection } from "./twilio.ts";
 * assert.equal(twilioDirection({ Direction: "outbound-api" }), "outbound");
 * assert.equal(twilioDirection({}), "inbound");
 * ```
 */
export function twilioDirection(
  payload: Pick<TwilioMessagePayload, "Direction">,
): "inbound" | "outbound" {
  return payload.Direction?.startsWith("outbound") ? "outbound" : "inbound";
}
