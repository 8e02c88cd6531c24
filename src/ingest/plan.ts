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
import { KeyCollisionError, PermanentEventError } from "./errors.ts";
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

/** The first key of `p` that the plan already holds with a different value, named. */
function inBatchCollision(
  plan: BatchPlan,
  p: PreparedMessage,
  planned: MessageConversation,
): string | undefined {
  for (const a of p.participants) {
    const held = (a.kind === "phone" ? plan.phones : plan.emails).get(a.key);
    if (held && held.value !== a.value) {
      return `${a.kind === "phone" ? "phone_numbers" : "email_addresses"} id ${a.key}`;
    }
  }
  if (p.body) {
    const held = (p.body.table === "xms" ? plan.xmsBodies : plan.emailBodies).get(p.body.key);
    if (held && held.normalized !== p.body.normalized) {
      return `${p.body.table === "xms" ? "xms_bodies" : "email_bodies"} id ${p.body.key}`;
    }
  }
  for (const a of p.attachments) {
    const held = plan.urls.get(a.key);
    if (held !== undefined && held !== a.url) return `attachment_urls id ${a.key}`;
  }
  const c = planned.conversation;
  const held = plan.conversations.get(planned.ref);
  if (held && held.participants.join("\n") !== c.participants.join("\n")) {
    return `conversations key ${c.key}`;
  }
  return undefined;
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
 * const { plan, failures } = planBatch(prepared, (a) => router.routes(a.key, a.value));
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
    // A key an earlier event of the batch holds with another value: refused, as the
    // database check refuses one committed before (the first value would be kept).
    const collision = inBatchCollision(plan, p, planned);
    if (collision) {
      failures.push({ index, error: new KeyCollisionError(`${collision} (within one batch)`) });
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
