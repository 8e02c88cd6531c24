/**
 * The shapes a claimed event takes on its way to rows: addresses and bodies
 * normalized and keyed, and the prepared message that planning reads.
 *
 * @module
 */
import type { CanonicalMessage } from "../events/types.ts";
import type { ClaimedEvent } from "../queue/types.ts";

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
  /** Inbound: the address the provider delivered to, when it says (routed by first). */
  readonly deliveredTo?: AddressRef;
  /** Everyone on the message, ours included (the delivered-to address too), each once, by key. */
  readonly participants: readonly AddressRef[];
  /** The body, when its normalized text is not empty. */
  readonly body?: BodyRef;
  /** The snippet this message gives its conversation (null: nothing to show). */
  readonly snippet: string | null;
  /** Attachment URLs, keyed. */
  readonly attachments: readonly { url: string; key: bigint; contentType: string | null }[];
}
