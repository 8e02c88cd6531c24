/**
 * A batch of prepared messages → the row sets to write: dedup rows, contacts,
 * conversations, participants, messages, attachments. Pure: routing answers
 * come in through a function. Also decides, per event, the failures that need
 * no database (no endpoint mapping) and the replays within the batch.
 *
 * @module
 */
import {
  type MessageConversation,
  planConversation,
  type RouteLookup,
} from "../conversations/plan.ts";
import type { PlannedContact, PlannedConversation } from "../conversations/refs.ts";
import { maskAddress, maskText } from "../log/redact.ts";
import type { Channel } from "../normalize/address.ts";
import type { conversationKey } from "../normalize/conversation_key.ts";
import type { DedupTable, KeyRequest } from "../dedup/keys.ts";
import { KeyConflictError, PermanentEventError } from "./errors.ts";
import { pickRoute, type Route } from "../endpoints/route.ts";
import type { PreparedMessage } from "./types.ts";

/** A message to insert (unless already there: a replay). */
export interface PlannedMessage {
  /** Index of the event in the batch. */
  readonly index: number;
  readonly customerId: bigint;
  readonly providerId: bigint;
  readonly direction: "inbound" | "outbound";
  readonly channel: Channel;
  readonly providerMessageId: string;
  readonly fromId: bigint;
  readonly toIds: readonly bigint[];
  readonly ccIds: readonly bigint[];
  readonly subject: string | null;
  readonly bodyId: bigint | null;
  readonly sentAt: Date;
  readonly receivedAt: Date | null;
  readonly snippet: string | null;
  /** Key of its conversation in {@link BatchPlan.conversations}. */
  readonly conversation: string;
  /** Keys of its external participants in {@link BatchPlan.contacts}. */
  readonly contacts: readonly string[];
  readonly attachments: readonly { urlId: bigint; contentType: string | null }[];
}

/** Everything a batch writes. Maps are keyed so each row appears once. */
export interface BatchPlan {
  readonly phones: Map<bigint, { raw: string; value: string }>;
  readonly emails: Map<bigint, { raw: string; value: string }>;
  readonly xmsBodies: Map<bigint, { raw: string; normalized: string }>;
  readonly emailBodies: Map<bigint, { raw: string; normalized: string }>;
  readonly urls: Map<bigint, string>;
  readonly contacts: Map<string, PlannedContact>;
  readonly conversations: Map<string, PlannedConversation>;
  readonly messages: PlannedMessage[];
  /** Batch indexes of events repeating a message earlier in the same batch. */
  readonly replays: number[];
}

/** A prepared message that cannot be written, and why. */
export interface PlanFailure {
  readonly index: number;
  readonly error: Error;
}

/**
 * The values of `p` whose key the plan (or `p` itself) already holds with a
 * different value, both named for resolving, and the first such key.
 */
function inBatchConflicts(
  plan: BatchPlan,
  p: PreparedMessage,
): { what: string; requests: KeyRequest[] } | undefined {
  const requests: KeyRequest[] = [];
  let what: string | undefined;
  // This message's own values. A message holds a few (at most the recipient and
  // attachment limits of events/_limits.ts): a linear search beats building a string key
  // per value, a bigint's decimal text each (~3 % of the worker's busy time).
  const own: { table: DedupTable; key: bigint; value: string }[] = [];
  const check = (table: DedupTable, key: bigint, value: string, planned: string | undefined) => {
    const other = planned ?? own.find((o) => o.key === key && o.table === table)?.value;
    if (other === undefined) own.push({ table, key, value });
    else if (other !== value) {
      what ??= `${table} id ${key}`;
      requests.push({ table, value }, { table, value: other });
    }
  };
  for (const a of p.participants) {
    if (a.kind === "phone") check("phone_numbers", a.key, a.value, plan.phones.get(a.key)?.value);
    else check("email_addresses", a.key, a.value, plan.emails.get(a.key)?.value);
  }
  if (p.body) {
    const [table, map] = p.body.table === "xms"
      ? ["xms_bodies" as const, plan.xmsBodies]
      : ["email_bodies" as const, plan.emailBodies];
    check(table, p.body.key, p.body.normalized, map.get(p.body.key)?.normalized);
  }
  for (const a of p.attachments) check("attachment_urls", a.key, a.url, plan.urls.get(a.key));
  return what === undefined ? undefined : { what, requests };
}

/** Looks up the mappings of an address (see `Router.routes`). */
export type { RouteLookup };

/** The conversation of a routed message (`conversations/plan.ts`: the rule the backfill shares). */
function conversationOf(
  p: PreparedMessage,
  route: Route,
  lookup: RouteLookup,
  key: typeof conversationKey | undefined,
) {
  try {
    return planConversation(
      { customerId: route.customerId, channel: p.message.channel, participants: p.participants },
      { lookup, key },
    );
  } catch (err) {
    throw new PermanentEventError(maskText((err as Error).message), { cause: err });
  }
}

function ourSide(p: PreparedMessage, lookup: RouteLookup): Route {
  const m = p.message;
  // Inbound: the address the provider delivered to first (when it says), then To and Cc.
  const candidates = m.direction === "outbound"
    ? [p.from]
    : p.deliveredTo
    ? [p.deliveredTo, ...p.to, ...p.cc]
    : [...p.to, ...p.cc];
  for (const a of candidates) {
    const route = pickRoute(lookup(a), m.channel);
    if (route) return route;
  }
  const side = m.direction === "outbound" ? "sender" : "recipient";
  const shown = candidates.map((a) => maskAddress(a.value)).join(", ");
  throw new PermanentEventError(
    `no endpoint mapping for the ${side} (${shown}) on channel ${m.channel}; add one with convo endpoint add, then convo queue retry --dead`,
  );
}

/**
 * Plans the rows of a batch. `items` are the prepared messages with their batch
 * index; events that cannot be routed come back as failures.
 *
 * @example Usage
 * ```ts ignore
 * const { plan, failures } = planBatch(prepared, (a) => router.routes(a.value));
 * ```
 */
export function planBatch(
  items: readonly { index: number; prepared: PreparedMessage }[],
  lookup: RouteLookup,
  options: {
    /** The conversation key function (default `conversationKey`): a seam for tests. */
    conversationKey?: typeof conversationKey;
  } = {},
): { plan: BatchPlan; failures: PlanFailure[] } {
  const plan: BatchPlan = {
    phones: new Map(),
    emails: new Map(),
    xmsBodies: new Map(),
    emailBodies: new Map(),
    urls: new Map(),
    contacts: new Map(),
    conversations: new Map(),
    messages: [],
    replays: [],
  };
  const failures: PlanFailure[] = [];
  const seen = new Set<string>();
  for (const { index, prepared: p } of items) {
    let route: Route;
    let planned: MessageConversation;
    try {
      route = ourSide(p, lookup);
      planned = conversationOf(p, route, lookup, options.conversationKey);
    } catch (err) {
      failures.push({ index, error: err as Error });
      continue;
    }
    const m = p.message;
    const messageRef = `${route.providerId}|${m.providerMessageId}`;
    if (seen.has(messageRef)) {
      plan.replays.push(index);
      continue;
    }
    // A key an earlier event of the batch (or this one) holds with another value: never
    // merged. The caller resolves the keys (one value moves to a fallback) and plans again.
    const conflict = inBatchConflicts(plan, p);
    if (conflict) {
      failures.push({
        index,
        error: new KeyConflictError(`${conflict.what} (within one batch)`, conflict.requests),
      });
      continue;
    }
    seen.add(messageRef);

    for (const a of p.participants) {
      const table = a.kind === "phone" ? plan.phones : plan.emails;
      if (!table.has(a.key)) table.set(a.key, { raw: a.raw, value: a.value });
    }
    if (p.body) {
      const table = p.body.table === "xms" ? plan.xmsBodies : plan.emailBodies;
      if (!table.has(p.body.key)) {
        table.set(p.body.key, { raw: p.body.raw, normalized: p.body.normalized });
      }
    }
    for (const a of p.attachments) if (!plan.urls.has(a.key)) plan.urls.set(a.key, a.url);

    // Ours: every participant mapped to this customer; the others are contacts.
    for (const [ref, contact] of planned.contacts) {
      const existing = plan.contacts.get(ref);
      if (!existing || (existing.displayName === null && contact.displayName)) {
        plan.contacts.set(ref, contact);
      }
    }
    const conversation = planned.ref;
    if (!plan.conversations.has(conversation)) {
      plan.conversations.set(conversation, planned.conversation);
    }
    plan.messages.push({
      index,
      customerId: route.customerId,
      providerId: route.providerId,
      direction: m.direction,
      channel: m.channel,
      providerMessageId: m.providerMessageId,
      fromId: p.from.key,
      toIds: p.to.map((a) => a.key),
      ccIds: p.cc.map((a) => a.key),
      subject: m.subject ?? null,
      bodyId: p.body?.key ?? null,
      sentAt: m.sentAt,
      receivedAt: m.receivedAt ?? (m.direction === "inbound" ? p.event.receivedAt : null),
      snippet: p.snippet,
      conversation,
      contacts: planned.contacts.map(([ref]) => ref),
      attachments: p.attachments.map((a) => ({ urlId: a.key, contentType: a.contentType })),
    });
  }
  return { plan, failures };
}
