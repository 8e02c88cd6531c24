/**
 * A batch of legacy messages → the conversations and contacts they need, and
 * which message joins which conversation. Pure: the stored addresses and the
 * routes come in through functions. The rule itself is ingest's
 * (`conversations/plan.ts`); this only turns a stored row into its input.
 *
 * @module
 */
import {
  type ParticipantAddress,
  planConversation,
  type RouteLookup,
} from "../conversations/plan.ts";
import type { PlannedContact, PlannedConversation } from "../conversations/refs.ts";
import { maskText } from "../log/redact.ts";
import { type Channel, CHANNELS } from "../normalize/address.ts";

/** A legacy message as stored (`conversation_id is null`). */
export interface LegacyMessage {
  /** messages.id */
  readonly id: bigint;
  /** messages.customer_id */
  readonly customerId: bigint;
  /** messages.channel: sms, mms or email. */
  readonly channel: string;
  /** phone_numbers.id (sms/mms) or email_addresses.id (email); null when unknown. */
  readonly fromId: bigint | null;
  /** Recipients, same tables. */
  readonly toIds: readonly bigint[];
  /** Cc recipients (email). */
  readonly ccIds: readonly bigint[];
}

/** The dedup table of a channel's addresses. */
export type AddressKind = "phone" | "email";

/** Finds the normalized value of a stored address (undefined: no such row). */
export type AddressLookup = (kind: AddressKind, id: bigint) => string | undefined;

/** A message that cannot be given a conversation, and why (addresses masked). */
export interface Unassignable {
  /** messages.id */
  readonly messageId: bigint;
  /** Why, in one line. */
  readonly reason: string;
}

/** What a batch of legacy messages needs. Maps are keyed by ref so each row appears once. */
export interface AssignmentPlan {
  /** Contacts to find or create, by contact ref. */
  readonly contacts: Map<string, PlannedContact>;
  /** Conversations to find or create, by conversation ref. */
  readonly conversations: Map<string, PlannedConversation>;
  /** Each assignable message: its conversation ref and its contact refs. */
  readonly messages: { id: bigint; customerId: bigint; conversation: string; contacts: string[] }[];
  /** Messages that cannot be assigned. */
  readonly unassignable: Unassignable[];
}

/**
 * The address table of a channel, or undefined for an unknown channel.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressKind } from "./plan.ts";
 * assert.equal(addressKind("mms"), "phone");
 * assert.equal(addressKind("email"), "email");
 * assert.equal(addressKind("fax"), undefined);
 * ```
 */
export function addressKind(channel: string): AddressKind | undefined {
  if (!(CHANNELS as readonly string[]).includes(channel)) return undefined;
  return channel === "email" ? "email" : "phone";
}

/** Every address id on a message (sender first), each once. */
export function addressIds(m: LegacyMessage): bigint[] {
  const ids = m.fromId === null ? [...m.toIds, ...m.ccIds] : [m.fromId, ...m.toIds, ...m.ccIds];
  return [...new Set(ids)];
}

function participantsOf(
  m: LegacyMessage,
  kind: AddressKind,
  address: AddressLookup,
): ParticipantAddress[] | string {
  const out: ParticipantAddress[] = [];
  for (const id of addressIds(m)) {
    const value = address(kind, id);
    if (value === undefined) {
      return `address id ${id} not found in ${
        kind === "phone" ? "phone_numbers" : "email_addresses"
      }`;
    }
    out.push({ kind, key: id, value });
  }
  return out;
}

/**
 * Plans the conversations of legacy messages: each gets the conversation
 * ingest would have given it (`planConversation`); a message with an unknown
 * channel, an address id without its dedup row, or no address at all is
 * reported instead.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { planAssignments } from "./plan.ts";
 * const values = new Map([[1n, "+14155550100"], [2n, "+14155550123"]]);
 * const route = { kind: "sms" as const, customerId: 7n, providerId: 3n };
 * const plan = planAssignments([
 *   { id: 10n, customerId: 7n, channel: "sms", fromId: 2n, toIds: [1n], ccIds: [] },
 *   { id: 11n, customerId: 7n, channel: "sms", fromId: 9n, toIds: [1n], ccIds: [] },
 * ], { address: (_kind, id) => values.get(id), lookup: (a) => (a.key === 1n ? [route] : []) });
 * assert.equal(plan.messages.length, 1);
 * assert.deepEqual(plan.messages[0].contacts, ["7|phone|2"]);
 * assert.equal(plan.unassignable[0].reason, "address id 9 not found in phone_numbers");
 * ```
 */
export function planAssignments(
  rows: readonly LegacyMessage[],
  options: { address: AddressLookup; lookup: RouteLookup },
): AssignmentPlan {
  const plan: AssignmentPlan = {
    contacts: new Map(),
    conversations: new Map(),
    messages: [],
    unassignable: [],
  };
  for (const m of rows) {
    const kind = addressKind(m.channel);
    if (kind === undefined) {
      plan.unassignable.push({ messageId: m.id, reason: `unknown channel '${m.channel}'` });
      continue;
    }
    const participants = participantsOf(m, kind, options.address);
    if (typeof participants === "string") {
      plan.unassignable.push({ messageId: m.id, reason: participants });
      continue;
    }
    let planned;
    try {
      planned = planConversation(
        { customerId: m.customerId, channel: m.channel as Channel, participants },
        { lookup: options.lookup },
      );
    } catch (err) {
      plan.unassignable.push({ messageId: m.id, reason: maskText((err as Error).message) });
      continue;
    }
    for (const [ref, contact] of planned.contacts) {
      if (!plan.contacts.has(ref)) plan.contacts.set(ref, contact);
    }
    if (!plan.conversations.has(planned.ref)) {
      plan.conversations.set(planned.ref, planned.conversation);
    }
    plan.messages.push({
      id: m.id,
      customerId: m.customerId,
      conversation: planned.ref,
      contacts: planned.contacts.map(([ref]) => ref),
    });
  }
  return plan;
}
