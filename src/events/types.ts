/**
 * Shared types of inbound events and the one message form every event becomes.
 *
 * Terminology:
 *
 * - **event**: one inbound record taken from a provider webhook or a producer, an
 *   `event_type` plus its JSON `payload`; one NDJSON line at `convo enqueue`, one
 *   `inbound_events` row in the queue.
 * - **envelope**: the NDJSON line form `{"event_type", "payload", "idempotency_key"?}`
 *   (without `--type`; with `--type T` the whole line is the payload).
 * - **payload**: the event's body as the provider or producer sent it. It is stored as
 *   given (after U+0000 replacement), unknown provider fields included.
 * - **idempotency key**: the queue's dedup key: the envelope's `idempotency_key`, or
 *   one derived at the scope of the message's identity (`derivedIdempotencyKey`,
 *   `convo:v1:…`). A repeated key is a duplicate, not an error.
 * - **canonical message**: {@link CanonicalMessage}, what the ingest writes; every
 *   event type is turned into one by `toCanonical`.
 * - **provider message id**: the provider's id of the message (`provider_message_id`,
 *   Twilio `MessageSid`, Postmark `MessageID`): the message-level dedup key.
 *
 * @module
 */
import type { Channel } from "../normalize/address.ts";

/** Every event type `convo enqueue` accepts, in the order reasons list them. */
export const EVENT_TYPES = [
  "message.received",
  "message.sent",
  "twilio.message",
  "postmark.inbound",
] as const;

/** One of {@link EVENT_TYPES}. */
export type EventType = typeof EVENT_TYPES[number];

/** An attachment reference: a URL, never the content. */
export interface Attachment {
  /** Where the content is: an http(s) URL, or `postmark:<MessageID>/<ContentID or index/Name>`. */
  url: string;
  /** The MIME type the provider gave, as given. */
  contentType?: string;
}

/** One message, provider-neutral: what the ingest writes. Addresses are RAW here (not normalized). */
export interface CanonicalMessage {
  /** `message.received`, Twilio and Postmark are inbound (unless Twilio says `outbound-*`); `message.sent` is outbound. */
  direction: "inbound" | "outbound";
  /** `sms` with attachments becomes `mms`. */
  channel: Channel;
  /** The provider's id of the message; with the provider, the message's dedup key. */
  providerMessageId: string;
  /** The sender's address, raw. */
  from: string;
  /** The recipients' addresses, raw; at least one. */
  to: string[];
  /** Cc addresses, raw; email only, `[]` otherwise. */
  cc: string[];
  /**
   * The address the provider delivered the message to (the envelope recipient, Postmark
   * `OriginalRecipient`, canonical `delivered_to`), raw, when the provider says it. An
   * inbound message is routed by it first: it may be on none of `to`/`cc` (Bcc, a list,
   * forwarding).
   */
  deliveredTo?: string;
  /** The subject; absent when missing or empty. */
  subject?: string;
  /** Raw text (the caller normalizes); absent when missing or empty. */
  body?: string;
  /** Raw HTML; absent when missing or empty. */
  html?: string;
  /** When the message was sent (the provider's or producer's time, else the time it reached us). */
  sentAt: Date;
  /** When the message reached us or the recipient, when known. */
  receivedAt?: Date;
  /** Attachment references, in the provider's order. */
  attachments: Attachment[];
}

/**
 * Tells whether a string is one of {@link EVENT_TYPES}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { isEventType } from "./types.ts";
 * assert.equal(isEventType("twilio.message"), true);
 * assert.equal(isEventType("twilio.call"), false);
 * ```
 */
export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && (EVENT_TYPES as readonly string[]).includes(value);
}
