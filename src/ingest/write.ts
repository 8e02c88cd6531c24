/**
 * Writes a batch plan, set-based, inside the caller's transaction, in three
 * round trips of pipelined statements (each table one statement over arrays):
 *
 * 1. what needs no id from the database: dedup rows (phones, emails, bodies,
 *    attachment URLs) and the check that no 64-bit key holds a different value
 *    (`dedup/write.ts`); contacts with their `contact_addresses`; conversations
 *    (`insert … on conflict do nothing`), each read back (`conversations/write.ts`);
 * 2. participants (for conversations created here only: a conversation's key is
 *    its participant set, so an existing one has them all), and messages
 *    (`on conflict (provider_id, provider_message_id) do nothing`) with their
 *    attachments;
 * 3. the counters, last activity and snippet of each conversation, for the
 *    messages actually inserted, after locking those conversations in id order;
 *    a message's activity time is its sent_at clamped to a day after it reached us
 *    (`conversations/activity.ts`), so a sender's date cannot pin a conversation.
 *    A conversation created in round trip 1 was inserted with the counters of the
 *    messages planned into it, so it is written once, not inserted and then
 *    updated; it is updated here only when the messages inserted say otherwise
 *    (one was already stored).
 *
 * Rows are written in key order and tables in the same order by every worker,
 * so concurrent workers wait for each other but never deadlock; the counter
 * locks come last, so a hot conversation is held only until the commit.
 *
 * Addresses, contacts and conversations the worker's cache knows are neither
 * written nor read (see `cache.ts`).
 *
 * @module
 */
import {
  contactOrder,
  type ContactRow,
  conversationOrder,
  type ConversationRow,
  insertParticipants,
  type Seeded,
  type SeedMessage,
  writeContacts,
  writeConversations,
} from "../conversations/write.ts";
import { bareArray, textArray } from "../db/array_literal.ts";
import type { Sql } from "../db/connect.ts";
import {
  type DedupAddress,
  type DedupCollision,
  type DedupRow,
  type DedupRows,
  writeDedupRows,
} from "../dedup/write.ts";
import { messageActivityAt } from "../conversations/activity.ts";
import type { Learned, WriteCache } from "./cache.ts";
import type { DedupTable } from "../dedup/keys.ts";
import { KeyConflictError } from "./errors.ts";
import type { BatchPlan, PlannedMessage } from "./plan.ts";

const cmp = <T extends bigint | string>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);
const byKey = <T>(m: Map<bigint, T>): DedupRow<T>[] =>
  [...m.entries()].sort((x, y) => cmp(x[0], y[0]));
const idArrayLiteral = (values: readonly bigint[]) => `{${values.join(",")}}`;

/** Addresses the cache does not know; a known key with another value is a collision. */
function unknownAddresses(
  table: DedupTable,
  rows: DedupRow<DedupAddress>[],
  cache: WriteCache | undefined,
  learned: Learned,
): DedupRow<DedupAddress>[] {
  const out: DedupRow<DedupAddress>[] = [];
  for (const row of rows) {
    const known = cache?.address(row[0]);
    if (known === undefined) {
      out.push(row);
      learned.addresses.push([row[0], row[1].value]);
    } else if (known !== row[1].value) {
      throw new KeyConflictError(`${table} id ${row[0]}`, [
        { table, value: row[1].value },
        { table, value: known },
      ]);
    }
  }
  return out;
}

/** The values to resolve after the database reported keys holding other values: ours and theirs. */
function conflictOf(collisions: readonly DedupCollision[]): KeyConflictError {
  return new KeyConflictError(
    collisions.map((c) => `${c.table} id ${c.id}`).join(", "),
    collisions.flatMap((c) => [
      { table: c.table, value: c.value },
      { table: c.table, value: c.stored },
    ]),
  );
}

function insertMessages(sql: Sql, rows: PlannedMessage[], conversations: Map<string, bigint>) {
  const att: { index: number; urlId: bigint; contentType: string | null }[] = [];
  for (const m of rows) for (const a of m.attachments) att.push({ index: m.index, ...a });
  return sql<{ idx: number; id: bigint; created_at: Date }[]>`
    with input as (
      select * from unnest(
        ${bareArray(rows, (m) => m.index)}::int[],
        ${bareArray(rows, (m) => m.customerId)}::bigint[],
        ${bareArray(rows, (m) => conversations.get(m.conversation)!)}::bigint[],
        ${bareArray(rows, (m) => m.providerId)}::bigint[],
        ${textArray(rows, (m) => m.direction)}::text[],
        ${textArray(rows, (m) => m.channel)}::text[],
        ${textArray(rows, (m) => m.providerMessageId)}::text[],
        ${bareArray(rows, (m) => m.fromId)}::bigint[],
        ${textArray(rows, (m) => idArrayLiteral(m.toIds))}::text[],
        ${textArray(rows, (m) => idArrayLiteral(m.ccIds))}::text[],
        ${textArray(rows, (m) => m.subject)}::text[],
        ${bareArray(rows, (m) => m.bodyId)}::bigint[],
        ${bareArray(rows, (m) => m.sentAt)}::timestamptz[],
        ${bareArray(rows, (m) => m.receivedAt)}::timestamptz[]
      ) as t(idx, customer_id, conversation_id, provider_id, direction, channel,
             provider_message_id, from_id, to_ids, cc_ids, subject, body_id, sent_at, received_at)
    ),
    ins as (
      insert into messages (customer_id, conversation_id, provider_id, direction, channel,
                            provider_message_id, from_address_id, to_address_ids,
                            cc_address_ids, subject, body_id, sent_at, received_at)
      select customer_id, conversation_id, provider_id, direction, channel, provider_message_id,
             from_id, to_ids::bigint[], cc_ids::bigint[], subject, body_id, sent_at, received_at
      from input
      order by provider_id, provider_message_id
      on conflict (provider_id, provider_message_id) do nothing
      returning id, provider_id, provider_message_id, created_at
    ),
    new_messages as (
      select ins.id, ins.created_at, i.idx, i.customer_id, i.conversation_id
      from ins join input i
        on i.provider_id = ins.provider_id and i.provider_message_id = ins.provider_message_id
    ),
    new_attachments as (
      select nextval('attachments_id_seq') as id, n.id as message_id, n.customer_id,
             a.url_id, a.content_type
      from new_messages n
      join unnest(${bareArray(att, (a) => a.index)}::int[], ${
    bareArray(att, (a) => a.urlId)
  }::bigint[],
                  ${textArray(att, (a) => a.contentType)}::text[]) as a(idx, url_id, content_type)
        on a.idx = n.idx
    ),
    ins_attachments as (
      insert into attachments (id, customer_id, url_id, content_type)
      select id, customer_id, url_id, content_type from new_attachments
    ),
    ins_links as (
      insert into message_attachments (message_id, attachment_id)
      select message_id, id from new_attachments
    )
    select idx, id, created_at from new_messages`;
}

interface Activity {
  id: bigint;
  n: number;
  last: PlannedMessage;
  /** The activity time of `last` (`messageActivityAt`). */
  lastAt: Date;
  lastId: bigint;
}

/**
 * Per conversation: messages inserted, and the newest of them by activity time
 * (sent_at, clamped to a day after arrival: see conversations/activity.ts),
 * then message id: the order the backfill's recount reads the newest message
 * in, so both give a conversation the same snippet when times tie (a provider
 * that sends no time: the enqueue time).
 */
function activityOf(
  rows: readonly PlannedMessage[],
  inserted: Map<number, { id: bigint; createdAt: Date }>,
  ids: Map<string, bigint>,
) {
  const by = new Map<bigint, Activity>();
  for (const m of rows) {
    const row = inserted.get(m.index);
    if (row === undefined) continue;
    const at = messageActivityAt({
      sentAt: m.sentAt,
      receivedAt: m.receivedAt,
      createdAt: row.createdAt,
    });
    const id = ids.get(m.conversation)!;
    const a = by.get(id);
    if (!a) by.set(id, { id, n: 1, last: m, lastAt: at, lastId: row.id });
    else {
      a.n++;
      const t = at.getTime() - a.lastAt.getTime();
      if (t > 0 || (t === 0 && row.id > a.lastId)) {
        a.last = m;
        a.lastAt = at;
        a.lastId = row.id;
      }
    }
  }
  return [...by.values()].sort((a, b) => cmp(a.id, b.id));
}

/** Locks the conversations in id order (a common lock order: no deadlock), then moves their counters. */
function updateCounters(sql: Sql, activity: Activity[]) {
  const ids = bareArray(activity, (a) => a.id);
  return [
    sql`select 1 from conversations where id = any(${ids}::bigint[]) order by id for no key update`,
    sql`
      update conversations c
      set message_count = c.message_count + a.n,
          last_message_at = greatest(c.last_message_at, a.last_at),
          last_snippet = case when c.last_message_at is null or a.last_at >= c.last_message_at
                              then a.snippet else c.last_snippet end
      from unnest(${ids}::bigint[], ${bareArray(activity, (a) => a.n)}::int[],
                  ${bareArray(activity, (a) => a.lastAt)}::timestamptz[],
                  ${
      textArray(activity, (a) => a.last.snippet)
    }::text[]) as a(id, n, last_at, snippet)
      where c.id = a.id`,
  ];
}

/**
 * Conversations created in this transaction were inserted with their planned
 * messages' counters (`writeConversations`' seeds): nobody else can see them
 * yet, so where the messages actually inserted say otherwise (one was already
 * stored), their counters are set outright. Returns the activity of the others.
 */
function settleCreated(
  sql: Sql,
  activity: Activity[],
  created: Map<bigint, Seeded>,
): { existing: Activity[]; corrections?: Promise<unknown> } {
  const existing: Activity[] = [];
  const fix: { id: bigint; n: number; at: Date | null; snippet: string | null }[] = [];
  const settled = new Set<bigint>();
  for (const a of activity) {
    const seeded = created.get(a.id);
    if (seeded === undefined) {
      existing.push(a);
      continue;
    }
    settled.add(a.id);
    if (
      seeded.count !== a.n || seeded.lastAt?.getTime() !== a.lastAt.getTime() ||
      seeded.snippet !== a.last.snippet
    ) {
      fix.push({ id: a.id, n: a.n, at: a.lastAt, snippet: a.last.snippet });
    }
  }
  // Created, but none of its messages inserted.
  for (const [id, seeded] of created) {
    if (!settled.has(id) && seeded.count !== 0) fix.push({ id, n: 0, at: null, snippet: null });
  }
  if (fix.length === 0) return { existing };
  fix.sort((a, b) => cmp(a.id, b.id));
  return {
    existing,
    corrections: sql`
      update conversations c
      set message_count = f.n, last_message_at = f.at, last_snippet = f.snippet
      from unnest(${bareArray(fix, (f) => f.id)}::bigint[], ${bareArray(fix, (f) => f.n)}::int[],
                  ${bareArray(fix, (f) => f.at)}::timestamptz[],
                  ${textArray(fix, (f) => f.snippet)}::text[]) as f(id, n, at, snippet)
      where c.id = f.id`,
  };
}

/** What {@link writePlan} did. */
export interface WriteResult {
  /** Batch indexes of the events whose message was inserted (the others: replays). */
  readonly inserted: Set<number>;
  /** Rows seen, for the cache once the transaction commits. */
  readonly learned: Learned;
}

/**
 * Writes a batch plan in the caller's transaction.
 *
 * @throws {KeyConflictError} when a 64-bit key already holds a different value
 * (the caller resolves the keys and writes again).
 */
export async function writePlan(
  sql: Sql,
  plan: BatchPlan,
  cache?: WriteCache,
): Promise<WriteResult> {
  const learned: Learned = { addresses: [], contacts: [], conversations: [] };
  if (plan.messages.length === 0) return { inserted: new Set(), learned };

  // What the cache knows is neither written nor read.
  const dedup: DedupRows = {
    phones: unknownAddresses("phone_numbers", byKey(plan.phones), cache, learned),
    emails: unknownAddresses("email_addresses", byKey(plan.emails), cache, learned),
    xms: byKey(plan.xmsBodies),
    mails: byKey(plan.emailBodies),
    urls: byKey(plan.urls),
  };
  const contacts = new Map<string, bigint>();
  const newContacts: ContactRow[] = [];
  for (const entry of plan.contacts) {
    const id = cache?.contact(entry[0]);
    if (id === undefined) newContacts.push(entry);
    else contacts.set(entry[0], id);
  }
  newContacts.sort((x, y) => contactOrder(x[1], y[1]));
  const conversations = new Map<string, bigint>();
  const newConversations: ConversationRow[] = [];
  for (const entry of plan.conversations) {
    // A ref names the participants, so a known ref is this very conversation.
    const known = cache?.conversation(entry[0]);
    if (known === undefined) newConversations.push(entry);
    else conversations.set(entry[0], known.id);
  }
  newConversations.sort((x, y) => conversationOrder(x[1], y[1]));

  // Messages in the order they are inserted (and take their ids); those of the
  // conversations this batch may create seed their counters.
  const rows = [...plan.messages].sort((a, b) =>
    cmp(a.providerId, b.providerId) || cmp(a.providerMessageId, b.providerMessageId)
  );
  const mayCreate = new Set(newConversations.map(([ref]) => ref));
  const seeds: SeedMessage[] = [];
  for (const m of rows) if (mayCreate.has(m.conversation)) seeds.push(m);

  // Round trip 1 (pipelined: sent together, run in this order).
  const [collisions, foundContacts, written] = await Promise.all([
    writeDedupRows(sql, dedup),
    writeContacts(sql, newContacts),
    writeConversations(sql, newConversations, seeds),
  ]);
  if (collisions.length > 0) throw conflictOf(collisions);
  for (const [ref, id] of foundContacts.ids) {
    contacts.set(ref, id);
    learned.contacts.push([ref, id]);
  }
  const createdRefs = new Set<string>();
  const created = new Map<bigint, Seeded>();
  for (const [ref, c] of written.conversations) {
    conversations.set(ref, c.id);
    learned.conversations.push([ref, { id: c.id, participants: c.participants.join("\n") }]);
    if (c.created) {
      createdRefs.add(ref);
      created.set(c.id, c.seeded ?? { count: 0, lastAt: null, snippet: null });
    }
  }

  // Round trip 2: participants of new conversations (created by this transaction, so
  // none of their pairs can exist yet), and the messages.
  const pairs = new Map<string, [bigint, bigint]>();
  for (const m of plan.messages) {
    if (!createdRefs.has(m.conversation)) continue;
    const conversation = conversations.get(m.conversation)!;
    for (const ref of m.contacts) {
      const contact = contacts.get(ref)!;
      pairs.set(`${conversation}|${contact}`, [conversation, contact]);
    }
  }
  const participantRows = [...pairs.values()];
  const none = Promise.resolve([] as never[]);
  const [, insertedRows] = await Promise.all([
    participantRows.length ? insertParticipants(sql, participantRows, { created: true }) : none,
    insertMessages(sql, rows, conversations),
  ]);
  const inserted = new Set(insertedRows.map((r) => r.idx));

  // Round trip 3: counters of existing conversations, locked last; those
  // created here were inserted with theirs.
  const { existing, corrections } = settleCreated(
    sql,
    activityOf(
      rows,
      new Map(insertedRows.map((r) => [r.idx, { id: r.id, createdAt: r.created_at }])),
      conversations,
    ),
    created,
  );
  const third: Promise<unknown>[] = existing.length ? updateCounters(sql, existing) : [];
  if (corrections) third.push(corrections);
  if (third.length) await Promise.all(third);
  return { inserted, learned };
}
