/**
 * `backfillConversations()`: gives every legacy message (`conversation_id is
 * null`) the conversation ingest would have given it, in keyset-ordered
 * batches of one transaction each:
 *
 * 1. the next batch of legacy rows after the cursor `(customer_id, id)`, read
 *    through the partial index `messages_legacy_idx`, locked `for update skip
 *    locked` (a second backfill skips them instead of waiting);
 * 2. their addresses (dedup rows) and the routes of those addresses, then the
 *    plan (`plan.ts` → `conversations/plan.ts`, ingest's rule);
 * 3. contacts and conversations found or created (`conversations/write.ts`,
 *    with its collision check);
 * 4. participants of the conversations created, the messages assigned
 *    (`… and conversation_id is null`: never twice), and the counters of every
 *    conversation touched recomputed from the messages (`recount.ts`).
 *
 * Workers only insert messages that have a conversation, so they never touch
 * legacy rows; they add to counters under a lock the recount takes too. A
 * killed run leaves whole batches (assigned rows leave the legacy set), so a
 * rerun resumes; a second run finds nothing. A dry run does the reads only.
 *
 * @module
 */
import {
  contactOrder,
  type ContactRow,
  conversationOrder,
  type ConversationRow,
  findContacts,
  findConversations,
  insertParticipants,
  writeContacts,
  writeConversations,
  type WrittenConversations,
} from "../conversations/write.ts";
import type { Sql } from "../db/connect.ts";
import { createRouter, type Router } from "../endpoints/route.ts";
import { WriteCache } from "../ingest/cache.ts";
import type { Logger } from "../log/logger.ts";
import {
  addressIds,
  type AddressKind,
  addressKind,
  type AssignmentPlan,
  type LegacyMessage,
  planAssignments,
  type Unassignable,
} from "./plan.ts";
import { recountConversations } from "./recount.ts";

/** Options of {@link backfillConversations}. */
export interface BackfillOptions {
  /** Legacy messages per batch (and transaction). Default 5000. */
  batchSize?: number;
  /** Only this customer's messages. */
  customerId?: bigint;
  /** Read and report; write nothing. */
  dryRun?: boolean;
  /** Grapheme clusters in a snippet (config.snippetLength). */
  snippetLength: number;
  /** Stops after the current batch when aborted. */
  signal?: AbortSignal;
  /** Called after every batch. */
  onProgress?: (progress: BackfillProgress) => void;
  /** Unassignable messages are logged here (warn). */
  logger?: Logger;
  /** The clock, for elapsed time (tests). */
  now?: () => number;
}

/** Where a run is. */
export interface BackfillProgress {
  /** Legacy messages at the start (estimate of the work). */
  readonly total: number;
  /** Legacy messages read so far. */
  readonly scanned: number;
  /** Of them, assigned (or, in a dry run, assignable). */
  readonly assigned: number;
  /** Milliseconds since the start. */
  readonly elapsedMs: number;
}

/** What a run did (a dry run: would do). */
export interface BackfillResult {
  readonly dryRun: boolean;
  /** Legacy messages at the start. */
  readonly total: number;
  /** Legacy messages read. */
  readonly scanned: number;
  /** Messages given a conversation. */
  readonly assigned: number;
  /** Conversations created. */
  readonly conversationsCreated: number;
  /** Conversations that existed and received legacy messages. */
  readonly conversationsReused: number;
  /** Contacts created (with their contact_addresses). */
  readonly contactsCreated: number;
  /** Messages that cannot be assigned (reported, skipped). */
  readonly unassignable: number;
  /** The first of them (up to 100), with the reason. */
  readonly unassignableSamples: readonly Unassignable[];
  /** Batches committed. */
  readonly batches: number;
  /** Wall time. */
  readonly elapsedMs: number;
  /** Stopped by the signal before the end (a rerun resumes). */
  readonly interrupted: boolean;
}

const SAMPLES = 100;
const s = (v: bigint) => v.toString();

/** Legacy messages still unassigned (one count over the partial index). */
export async function countLegacy(sql: Sql, customerId?: bigint): Promise<number> {
  const [r] = customerId === undefined
    ? await sql<{ n: number }[]>`
        select count(*)::int8 as n from messages where conversation_id is null`
    : await sql<{ n: number }[]>`
        select count(*)::int8 as n from messages
        where conversation_id is null and customer_id = ${s(customerId)}`;
  return Number(r.n);
}

interface Cursor {
  customerId: bigint;
  id: bigint;
}

type Row = {
  id: bigint;
  customer_id: bigint;
  channel: string;
  from_address_id: bigint | null;
  to_address_ids: bigint[];
  cc_address_ids: bigint[];
};

/** The next legacy rows after the cursor, in `(customer_id, id)` order (the partial index's). */
export function selectLegacyBatch(
  sql: Sql,
  after: Cursor,
  options: { limit: number; customerId?: bigint; lock: boolean },
) {
  const { limit, customerId } = options;
  const c = s(after.customerId), id = s(after.id);
  if (customerId === undefined) {
    return options.lock
      ? sql<Row[]>`
          select id, customer_id, channel, from_address_id, to_address_ids, cc_address_ids
          from messages
          where conversation_id is null and (customer_id, id) > (${c}::bigint, ${id}::bigint)
          order by customer_id, id limit ${limit}
          for update skip locked`
      : sql<Row[]>`
          select id, customer_id, channel, from_address_id, to_address_ids, cc_address_ids
          from messages
          where conversation_id is null and (customer_id, id) > (${c}::bigint, ${id}::bigint)
          order by customer_id, id limit ${limit}`;
  }
  return options.lock
    ? sql<Row[]>`
        select id, customer_id, channel, from_address_id, to_address_ids, cc_address_ids
        from messages
        where conversation_id is null and customer_id = ${s(customerId)} and id > ${id}::bigint
        order by customer_id, id limit ${limit}
        for update skip locked`
    : sql<Row[]>`
        select id, customer_id, channel, from_address_id, to_address_ids, cc_address_ids
        from messages
        where conversation_id is null and customer_id = ${s(customerId)} and id > ${id}::bigint
        order by customer_id, id limit ${limit}`;
}

/**
 * What the run has seen of the current customers' conversations and contacts,
 * so each is counted once as created or reused. Batches come in customer
 * order and conversations and contacts belong to one customer, so a
 * customer's entries are dropped once the run has moved past it: memory is
 * bounded by the largest customer, not the run.
 */
class Seen {
  readonly #by = new Map<bigint, Set<string>>();

  moveTo(customerId: bigint): void {
    for (const k of this.#by.keys()) if (k < customerId) this.#by.delete(k);
  }

  /** True the first time a ref is added. */
  add(customerId: bigint, ref: string): boolean {
    let set = this.#by.get(customerId);
    if (!set) this.#by.set(customerId, set = new Set());
    if (set.has(ref)) return false;
    set.add(ref);
    return true;
  }
}

/** Resolves address ids to normalized values, through the cache, then the dedup tables. */
async function resolveAddresses(
  sql: Sql,
  rows: readonly LegacyMessage[],
  cache: WriteCache,
): Promise<Map<AddressKind, Map<bigint, string>>> {
  const known = new Map<AddressKind, Map<bigint, string>>([["phone", new Map()], [
    "email",
    new Map(),
  ]]);
  const missing = { phone: new Set<bigint>(), email: new Set<bigint>() };
  for (const m of rows) {
    const kind = addressKind(m.channel);
    if (!kind) continue;
    for (const id of addressIds(m)) {
      const v = cache.address(id);
      if (v !== undefined) known.get(kind)!.set(id, v);
      else missing[kind].add(id);
    }
  }
  const phones = [...missing.phone].map(s), emails = [...missing.email].map(s);
  const none = Promise.resolve([] as { id: bigint; value: string }[]);
  const [p, e] = await Promise.all([
    phones.length
      ? sql<{ id: bigint; value: string }[]>`
          select id, e164 as value from phone_numbers where id = any(${phones}::bigint[])`
      : none,
    emails.length
      ? sql<{ id: bigint; value: string }[]>`
          select id, lowered as value from email_addresses where id = any(${emails}::bigint[])`
      : none,
  ]);
  for (const r of p) known.get("phone")!.set(r.id, r.value);
  for (const r of e) known.get("email")!.set(r.id, r.value);
  return known;
}

/** What one batch did. */
interface BatchOutcome {
  assigned: number;
  conversationsCreated: number;
  conversationsReused: number;
  contactsCreated: number;
  unassignable: Unassignable[];
}

interface RunState {
  readonly cache: WriteCache;
  readonly router: Router;
  readonly conversations: Seen;
  readonly contacts: Seen;
  readonly snippetLength: number;
}

/** Splits the plan's rows into those the cache knows and those to write or read. */
function uncached(plan: AssignmentPlan, cache: WriteCache) {
  const contacts = new Map<string, bigint>();
  const newContacts: ContactRow[] = [];
  for (const entry of plan.contacts) {
    const id = cache.contact(entry[0]);
    if (id === undefined) newContacts.push(entry);
    else contacts.set(entry[0], id);
  }
  newContacts.sort((x, y) => contactOrder(x[1], y[1]));
  const conversations = new Map<string, { id: bigint; created: boolean }>();
  const newConversations: ConversationRow[] = [];
  for (const entry of plan.conversations) {
    // A ref names the participants, so a known ref is this very conversation.
    const known = cache.conversation(entry[0]);
    if (known === undefined) newConversations.push(entry);
    else conversations.set(entry[0], { id: known.id, created: false });
  }
  newConversations.sort((x, y) => conversationOrder(x[1], y[1]));
  return { contacts, newContacts, conversations, newConversations };
}

/** Adds what writeConversations/findConversations found to the batch's maps. */
function takeConversations(
  written: WrittenConversations,
  rows: readonly ConversationRow[],
  into: Map<string, { id: bigint; created: boolean }>,
) {
  for (const [ref] of rows) {
    const w = written.conversations.get(ref);
    if (w) into.set(ref, { id: w.id, created: w.created });
  }
}

/** Counts conversations as created or reused, each once per run. */
function tallyConversations(
  state: RunState,
  plan: AssignmentPlan,
  found: Map<string, { id: bigint; created: boolean } | undefined>,
  dryRun: boolean,
) {
  let created = 0, reused = 0;
  for (const [ref, c] of plan.conversations) {
    if (!state.conversations.add(c.customerId, ref)) continue;
    const f = found.get(ref);
    if (dryRun ? f === undefined : f!.created) created++;
    else reused++;
  }
  return { created, reused };
}

/** One batch in its transaction. */
async function runBatch(
  tx: Sql,
  rows: readonly LegacyMessage[],
  state: RunState,
  dryRun: boolean,
): Promise<BatchOutcome & { learned: Parameters<WriteCache["learn"]>[0] }> {
  const learned = {
    addresses: [] as [bigint, string][],
    contacts: [] as [string, bigint][],
    conversations: [] as [string, { id: bigint; participants: string }][],
  };
  const values = await resolveAddresses(tx, rows, state.cache);
  const all = new Map<bigint, string>();
  for (const m of values.values()) for (const [k, v] of m) all.set(k, v);
  for (const [k, v] of all) {
    if (state.cache.address(k) === undefined) learned.addresses.push([k, v]);
  }
  await state.router.load(all.values());
  const plan = planAssignments(rows, {
    address: (kind, id) => values.get(kind)!.get(id),
    lookup: (a) => state.router.routes(a.value),
  });
  const u = uncached(plan, state.cache);

  let contactsCreated = 0;
  if (dryRun) {
    const [foundContacts, foundConversations] = await Promise.all([
      findContacts(tx, u.newContacts),
      findConversations(tx, u.newConversations),
    ]);
    for (const [ref, c] of u.newContacts) {
      if (!foundContacts.has(ref) && state.contacts.add(c.customerId, ref)) contactsCreated++;
    }
    takeConversations(foundConversations, u.newConversations, u.conversations);
  } else {
    const [contacts, conversations] = await Promise.all([
      writeContacts(tx, u.newContacts),
      writeConversations(tx, u.newConversations),
    ]);
    contactsCreated = contacts.created;
    for (const [ref, id] of contacts.ids) {
      u.contacts.set(ref, id);
      learned.contacts.push([ref, id]);
    }
    takeConversations(conversations, u.newConversations, u.conversations);
    for (const [ref, c] of conversations.conversations) {
      learned.conversations.push([ref, { id: c.id, participants: c.participants.join("\n") }]);
    }
  }

  const unassignable = [...plan.unassignable];
  const assign: { id: bigint; conversation: bigint }[] = [];
  const pairs = new Map<string, [bigint, bigint]>();
  const found = new Map<string, { id: bigint; created: boolean } | undefined>();
  for (const m of plan.messages) {
    const c = u.conversations.get(m.conversation);
    found.set(m.conversation, c);
    if (dryRun) continue;
    assign.push({ id: m.id, conversation: c!.id });
    if (!c!.created) continue;
    for (const ref of m.contacts) {
      const contact = u.contacts.get(ref)!;
      pairs.set(`${c!.id}|${contact}`, [c!.id, contact]);
    }
  }
  const tally = tallyConversations(state, plan, found, dryRun);
  const outcome = {
    assigned: dryRun ? plan.messages.length : 0,
    conversationsCreated: tally.created,
    conversationsReused: tally.reused,
    contactsCreated,
    unassignable,
    learned,
  };
  if (dryRun || assign.length === 0) return outcome;

  const participantRows = [...pairs.values()];
  const update = tx`
    update messages m set conversation_id = v.cid
    from unnest(${assign.map((a) => s(a.id))}::bigint[],
                ${assign.map((a) => s(a.conversation))}::bigint[]) as v(id, cid)
    where m.id = v.id and m.conversation_id is null`;
  const touched = [...new Set(assign.map((a) => a.conversation))];
  const before: Promise<unknown>[] = [];
  if (participantRows.length) {
    before.push(insertParticipants(tx, participantRows) as unknown as Promise<unknown>);
  }
  before.push(update as unknown as Promise<unknown>);
  await recountConversations(tx, touched, { snippetLength: state.snippetLength, before });
  outcome.assigned = (await update).count;
  return outcome;
}

const RETRYABLE = new Set(["40P01", "40001"]);

/**
 * Assigns legacy messages to conversations (see the module doc).
 *
 * @example Usage
 * ```ts ignore
 * const result = await backfillConversations(sql, { snippetLength: 120, batchSize: 5000 });
 * ```
 */
export async function backfillConversations(
  sql: Sql,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const batchSize = options.batchSize ?? 5000;
  const dryRun = options.dryRun ?? false;
  const state: RunState = {
    cache: new WriteCache(),
    router: createRouter(sql),
    conversations: new Seen(),
    contacts: new Seen(),
    snippetLength: options.snippetLength,
  };
  const total = await countLegacy(sql, options.customerId);
  const result = {
    dryRun,
    total,
    scanned: 0,
    assigned: 0,
    conversationsCreated: 0,
    conversationsReused: 0,
    contactsCreated: 0,
    unassignable: 0,
    unassignableSamples: [] as Unassignable[],
    batches: 0,
    elapsedMs: 0,
    interrupted: false,
  };
  let cursor: Cursor = { customerId: options.customerId ?? -(2n ** 63n), id: -(2n ** 63n) };
  for (;;) {
    if (options.signal?.aborted) {
      result.interrupted = true;
      break;
    }
    let attempt = 0;
    let done: { rows: LegacyMessage[]; outcome?: Awaited<ReturnType<typeof runBatch>> };
    for (;;) {
      try {
        done = await sql.begin(async (raw) => {
          const tx = raw as unknown as Sql;
          const rows = (await selectLegacyBatch(tx, cursor, {
            limit: batchSize,
            customerId: options.customerId,
            lock: !dryRun,
          })).map((r): LegacyMessage => ({
            id: r.id,
            customerId: r.customer_id,
            channel: r.channel,
            fromId: r.from_address_id,
            toIds: r.to_address_ids,
            ccIds: r.cc_address_ids,
          }));
          if (rows.length === 0) return { rows };
          state.conversations.moveTo(rows[0].customerId);
          state.contacts.moveTo(rows[0].customerId);
          return { rows, outcome: await runBatch(tx, rows, state, dryRun) };
        });
        break;
      } catch (err) {
        state.cache.clear();
        const code = (err as { code?: string }).code;
        if (!RETRYABLE.has(code ?? "") || ++attempt > 5) throw err;
        options.logger?.info("backfill batch retried", { code, attempt });
      }
    }
    const { rows, outcome } = done;
    if (rows.length === 0 || !outcome) break;
    state.cache.learn(outcome.learned);
    const last = rows[rows.length - 1];
    cursor = { customerId: last.customerId, id: last.id };
    result.batches++;
    result.scanned += rows.length;
    result.assigned += outcome.assigned;
    result.conversationsCreated += outcome.conversationsCreated;
    result.conversationsReused += outcome.conversationsReused;
    result.contactsCreated += outcome.contactsCreated;
    result.unassignable += outcome.unassignable.length;
    for (const u of outcome.unassignable) {
      options.logger?.warn("message cannot be assigned a conversation; skipped", {
        message_id: u.messageId,
        reason: u.reason,
      });
      if (result.unassignableSamples.length < SAMPLES) result.unassignableSamples.push(u);
    }
    options.onProgress?.({
      total,
      scanned: result.scanned,
      assigned: result.assigned,
      elapsedMs: now() - started,
    });
    if (rows.length < batchSize) break;
  }
  result.elapsedMs = now() - started;
  return result;
}
