/**
 * Message → conversation, the one rule: given the customer a message belongs
 * to, every address on it and the endpoint routes of those addresses, which
 * conversation it joins and which contacts (its external participants) that
 * conversation has. Pure: routing answers come in through a function.
 *
 * Ingest's `planBatch` calls it for each new event and the backfill for each
 * legacy row, so both give a message the same conversation, participants and
 * contacts.
 *
 * @module
 */
import type { Route } from "../endpoints/route.ts";
import type { Channel } from "../normalize/address.ts";
import { conversationKey } from "../normalize/conversation_key.ts";
import {
  contactRef,
  conversationRef,
  type PlannedContact,
  type PlannedConversation,
} from "./refs.ts";

/** An address on a message, normalized and keyed (ingest's `AddressRef` is one). */
export interface ParticipantAddress {
  /** `phone` (phone_numbers) or `email` (email_addresses). */
  readonly kind: "phone" | "email";
  /** hash64 of the normalized form: the dedup row's id. */
  readonly key: bigint;
  /** The normalized form. */
  readonly value: string;
  /** An email display name, when there was one (legacy rows have none). */
  readonly displayName?: string;
}

/** Looks up the endpoint mappings of an address (see `Router.routes`). */
export type RouteLookup = (address: ParticipantAddress) => readonly Route[];

/** The conversation of a message and its external participants. */
export interface MessageConversation {
  /** The conversation's ref (see `conversationRef`). */
  readonly ref: string;
  /** The conversation to find or create. */
  readonly conversation: PlannedConversation;
  /** Its contacts, by contact ref, in the order of the participants. */
  readonly contacts: readonly (readonly [string, PlannedContact])[];
}

/** What {@link planConversation} needs to know of a message. */
export interface ConversationInput {
  /** The customer the message belongs to. */
  readonly customerId: bigint;
  /** The message's channel. */
  readonly channel: Channel;
  /** Every address on the message (sender, recipients, cc), ours included, each once by key. */
  readonly participants: readonly ParticipantAddress[];
}

/**
 * The conversation a message joins: keyed by its channel (`mms` threads with
 * `sms`) and every address on it, ours included; its contacts are the
 * addresses not mapped to this customer (an address is ours when any of its
 * routes belongs to the customer).
 *
 * @throws {RangeError} when the channel is unknown, there are no participants
 * or one is empty (see `conversationKey`).
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { planConversation } from "./plan.ts";
 * const ours = { kind: "phone" as const, key: 1n, value: "+14155550100" };
 * const them = { kind: "phone" as const, key: 2n, value: "+14155550123" };
 * const route = { kind: "sms" as const, customerId: 7n, providerId: 3n };
 * const c = planConversation(
 *   { customerId: 7n, channel: "mms", participants: [them, ours] },
 *   { lookup: (a) => (a.key === 1n ? [route] : []) },
 * );
 * assert.equal(c.conversation.channel, "sms");
 * assert.deepEqual(c.conversation.participants, ["+14155550100", "+14155550123"]);
 * assert.deepEqual(c.contacts.map(([ref]) => ref), ["7|phone|2"]);
 * ```
 */
export function planConversation(
  message: ConversationInput,
  options: {
    lookup: RouteLookup;
    /** The key function (default `conversationKey`): a seam for forcing collisions in tests. */
    key?: typeof conversationKey;
  },
): MessageConversation {
  const { customerId, channel, participants } = message;
  const key = (options.key ?? conversationKey)(channel, participants.map((a) => a.value));
  const contacts: [string, PlannedContact][] = [];
  for (const a of participants) {
    // Ours: any mapping of this address to this customer.
    if (options.lookup(a).some((r) => r.customerId === customerId)) continue;
    contacts.push([contactRef(customerId, a.kind, a.key), {
      customerId,
      kind: a.kind,
      addressId: a.key,
      displayName: a.displayName ?? null,
    }]);
  }
  return {
    ref: conversationRef(customerId, key.channel, key.participants),
    conversation: {
      customerId,
      channel: key.channel,
      key: key.key,
      participants: key.participants,
    },
    contacts,
  };
}
