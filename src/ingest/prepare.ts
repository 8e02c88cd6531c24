/**
 * One claimed event → one normalized message: the canonical form, every address
 * normalized and keyed, the body normalized and keyed, the conversation key, the
 * snippet. Pure: no database. Errors here are permanent (the same payload always
 * fails the same way).
 *
 * @module
 */
import { toCanonical } from "../events/to_canonical.ts";
import type { CanonicalMessage, EventType } from "../events/types.ts";
import { isEventType } from "../events/types.ts";
import { maskText } from "../log/redact.ts";
import { normalizeBody } from "../normalize/body.ts";
import { conversationKey } from "../normalize/conversation_key.ts";
import { normalizeEmail } from "../normalize/email.ts";
import { hash64 } from "../normalize/hash.ts";
import { normalizePhone } from "../normalize/phone.ts";
import { snippet } from "../normalize/snippet.ts";
import type { ClaimedEvent } from "../queue/types.ts";
import { htmlToText } from "./_html.ts";
import { PermanentEventError } from "./errors.ts";

/** An address of a message, normalized and keyed. */
export interface AddressRef {
  /** `phone` (phone_numbers) or `email` (email_addresses). */
  readonly kind: "phone" | "email";
  /** hash64 of the normalized form: the dedup row's id. */
  readonly key: bigint;
  /** The normalized form. */
  readonly value: string;
  /** As the provider wrote it. */
  readonly raw: string;
  /** An email display name, when there was one. */
  readonly displayName?: string;
}

/** A body, normalized and keyed. */
export interface BodyRef {
  /** `xms` (xms_bodies: sms/mms) or `email` (email_bodies). */
  readonly table: "xms" | "email";
  /** hash64 of the normalized text. */
  readonly key: bigint;
  /** As received. */
  readonly raw: string;
  /** Normalized (what is hashed). */
  readonly normalized: string;
}

/** An event made ready to write. */
export interface PreparedMessage {
  /** The claimed event. */
  readonly event: ClaimedEvent;
  /** The provider-neutral message. */
  readonly message: CanonicalMessage;
  /** The sender. */
  readonly from: AddressRef;
  /** The recipients. */
  readonly to: readonly AddressRef[];
  /** Cc recipients (email). */
  readonly cc: readonly AddressRef[];
  /** Everyone on the message, ours included, each once, by key. */
  readonly participants: readonly AddressRef[];
  /** The conversation: channel (`sms` for MMS), key and sorted participants. */
  readonly conversation: { channel: "sms" | "email"; key: bigint; participants: string[] };
  /** The body, when its normalized text is not empty. */
  readonly body?: BodyRef;
  /** The snippet this message gives its conversation (null: nothing to show). */
  readonly snippet: string | null;
  /** Attachment URLs, keyed. */
  readonly attachments: readonly { url: string; key: bigint; contentType: string | null }[];
}

/** Options of {@link prepareEvent}. */
export interface PrepareOptions {
  /** Region for national phone numbers. */
  region: string;
  /** Grapheme clusters in a snippet. */
  snippetLength: number;
}

function address(channel: "sms" | "mms" | "email", raw: string, region: string): AddressRef {
  try {
    if (channel === "email") {
      const e = normalizeEmail(raw);
      return {
        kind: "email",
        key: hash64(e.address),
        value: e.address,
        raw,
        displayName: e.displayName,
      };
    }
    const p = normalizePhone(raw, { region });
    return { kind: "phone", key: hash64(p.value), value: p.value, raw };
  } catch (err) {
    // The message names the raw value: masked, because last_error is shown in logs.
    throw new PermanentEventError(maskText((err as Error).message), { cause: err });
  }
}

function unique(refs: readonly AddressRef[]): AddressRef[] {
  const seen = new Map<bigint, AddressRef>();
  for (const r of refs) if (!seen.has(r.key)) seen.set(r.key, r);
  return [...seen.values()];
}

function describeAttachments(n: number): string | null {
  return n === 0 ? null : n === 1 ? "[1 attachment]" : `[${n} attachments]`;
}

/**
 * Prepares one event.
 *
 * @throws {PermanentEventError} or `EventPayloadError` when the event cannot
 * become a message.
 */
export function prepareEvent(event: ClaimedEvent, options: PrepareOptions): PreparedMessage {
  if (!isEventType(event.eventType)) {
    throw new PermanentEventError(`unknown event_type '${event.eventType}'`);
  }
  const message = toCanonical(event.eventType as EventType, event.payload, {
    receivedAt: event.receivedAt,
  });
  const channel = message.channel;
  const from = address(channel, message.from, options.region);
  const to = message.to.map((a) => address(channel, a, options.region));
  const cc = message.cc.map((a) => address(channel, a, options.region));
  const participants = unique([from, ...to, ...cc]);
  const conversation = conversationKey(channel, participants.map((p) => p.value));

  const text = message.body ?? (message.html ? htmlToText(message.html) : undefined);
  let body: BodyRef | undefined;
  if (text !== undefined) {
    const normalized = normalizeBody(text);
    if (normalized !== "") {
      body = {
        table: channel === "email" ? "email" : "xms",
        key: hash64(normalized),
        raw: text,
        normalized,
      };
    }
  }
  const shown = body?.normalized ??
    (message.subject ? normalizeBody(message.subject) || undefined : undefined);
  const snip = shown !== undefined
    ? snippet(shown, { length: options.snippetLength })
    : describeAttachments(message.attachments.length);

  const attachments = message.attachments.map((a) => ({
    url: a.url,
    key: hash64(a.url),
    contentType: a.contentType ?? null,
  }));
  return {
    event,
    message,
    from,
    to,
    cc,
    participants,
    conversation,
    body,
    snippet: snip,
    attachments,
  };
}
