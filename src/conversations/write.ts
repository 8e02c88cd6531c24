/**
 * The conversation side of a message, written set-based in the caller's
 * transaction: contacts with their `contact_addresses`, conversations
 * (`insert … on conflict do nothing`, then read back and checked for a key
 * collision) and participants. Ingest writes a batch's rows through it, and a
 * backfill assigns legacy messages through the same statements, so both create
 * the same contacts and conversations.
 *
 * Every list must be sorted by its unique key (contacts: customer, kind,
 * address; conversations: customer, channel, key): rows are locked in that
 * order by every writer, so concurrent writers never deadlock.
 *
 * @module
 */
import { bareArray, textArray } from "../db/array_literal.ts";
import type { Sql } from "../db/connect.ts";
import { candidateKeys, KeysExhaustedError } from "../dedup/keys.ts";
import {
  contactRef,
  conversationRef,
  type PlannedContact,
  type PlannedConversation,
} from "./refs.ts";

const s = (v: bigint) => v.toString();

/** A contact with its ref. */
export type ContactRow = readonly [string, PlannedContact];

const cmp = <T extends bigint | string>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order new contacts are written in by every writer (customer, kind, address), so
 * that concurrent writers take their rows' locks in one order and never deadlock.
 */
export const contactOrder = (a: PlannedContact, b: PlannedContact): number =>
  cmp(a.customerId, b.customerId) || cmp(a.kind, b.kind) || cmp(a.addressId, b.addressId);

function contactArrays(rows: readonly ContactRow[]) {
  return {
    customers: bareArray(rows, (r) => r[1].customerId),
    kinds: textArray(rows, (r) => r[1].kind),
    addresses: bareArray(rows, (r) => r[1].addressId),
  };
}

/**
 * Creates the contacts of addresses first seen here. The contact row is made
 * only for the `contact_addresses` row that wins (parent and child inserted in
 * one statement; the foreign key is checked at its end), so two workers racing
 * leave no orphan contact.
 */
function insertContacts(sql: Sql, rows: readonly ContactRow[]) {
  const a = contactArrays(rows);
  return sql`
    with input as (
      select t.customer_id, t.kind, t.address_id, t.display_name,
             nextval('contacts_id_seq') as contact_id
      from unnest(${a.customers}::bigint[], ${a.kinds}::text[], ${a.addresses}::bigint[],
                  ${textArray(rows, (r) => r[1].displayName)}::text[])
        as t(customer_id, kind, address_id, display_name)
      where not exists (
        select 1 from contact_addresses ca
        where ca.customer_id = t.customer_id and ca.kind = t.kind and ca.address_id = t.address_id
      )
    ),
    won as (
      insert into contact_addresses (customer_id, kind, address_id, contact_id)
      select customer_id, kind, address_id, contact_id from input
      order by customer_id, kind, address_id
      on conflict do nothing
      returning contact_id
    )
    insert into contacts (id, customer_id, display_name)
    select i.contact_id, i.customer_id, i.display_name
    from won join input i using (contact_id)`;
}

function selectContacts(sql: Sql, rows: readonly ContactRow[]) {
  const a = contactArrays(rows);
  return sql<{ customer_id: bigint; kind: string; address_id: bigint; contact_id: bigint }[]>`
    select ca.customer_id, ca.kind, ca.address_id, ca.contact_id
    from contact_addresses ca
    join unnest(${a.customers}::bigint[], ${a.kinds}::text[], ${a.addresses}::bigint[])
      as t(customer_id, kind, address_id)
      on ca.customer_id = t.customer_id and ca.kind = t.kind and ca.address_id = t.address_id`;
}

/** A conversation with its ref. */
export type ConversationRow = readonly [string, PlannedConversation];

/** The order new conversations are written in by every writer (customer, channel, key). */
export const conversationOrder = (a: PlannedConversation, b: PlannedConversation): number =>
  cmp(a.customerId, b.customerId) || cmp(a.channel, b.channel) || cmp(a.key, b.key);

function conversationArrays(rows: readonly ConversationRow[]) {
  return {
    customers: bareArray(rows, (r) => r[1].customerId),
    channels: textArray(rows, (r) => r[1].channel),
    keys: bareArray(rows, (r) => r[1].key),
  };
}

/**
 * A message planned into a conversation this batch may create: a conversation
 * created with its messages' counters is written once, where creating it
 * empty and moving its counters after the messages writes it twice (a second
 * row version, and an entry in each of its indexes).
 */
export interface SeedMessage {
  /** Ref of its conversation. */
  readonly conversation: string;
  /** `messages.sent_at`. */
  readonly sentAt: Date;
  /** `messages.received_at`. */
  readonly receivedAt: Date | null;
  /** What it shows as `last_snippet`. */
  readonly snippet: string | null;
}

/** The counters a created conversation was inserted with. */
export interface Seeded {
  /** `message_count` */
  readonly count: number;
  /** `last_message_at` */
  readonly lastAt: Date | null;
  /** `last_snippet` */
  readonly snippet: string | null;
}

/** Inserts conversations; a created one counts its seed messages (see {@link writeConversations}). */
function insertConversations(
  sql: Sql,
  rows: readonly ConversationRow[],
  seeds: readonly SeedMessage[],
) {
  const a = conversationArrays(rows);
  const index = new Map(rows.map(([ref], i) => [ref, i]));
  const seeded = seeds.filter((m) => index.has(m.conversation));
  // The newest seed by activity time, then by position (the order of the message
  // ids: the messages are inserted in this order), as the counters' update and a
  // recount pick it; the activity time of a message written in this transaction
  // (created_at = now()) by the recount's own function.
  return sql<
    {
      customer_id: bigint;
      channel: string;
      participants: string[];
      message_count: bigint;
      last_message_at: Date | null;
      last_snippet: string | null;
    }[]
  >`
    with seed as (
      select m.i, m.n, m.snippet, convo_message_activity_at(m.sent_at, m.received_at, now()) as at
      from unnest(${bareArray(seeded, (m) => index.get(m.conversation)!)}::int[],
                  ${bareArray(seeded, (_, n) => n)}::int[],
                  ${bareArray(seeded, (m) => m.sentAt)}::timestamptz[],
                  ${bareArray(seeded, (m) => m.receivedAt)}::timestamptz[],
                  ${textArray(seeded, (m) => m.snippet)}::text[])
        as m(i, n, sent_at, received_at, snippet)
    ),
    counted as (select i, count(*) as n from seed group by i),
    newest as (select distinct on (i) i, at, snippet from seed order by i, at desc, n desc)
    insert into conversations (customer_id, channel, participants_key, participants,
                               message_count, last_message_at, last_snippet)
    select t.customer_id, t.channel, t.participants_key, t.participants::text[],
           coalesce(counted.n, 0), newest.at, newest.snippet
    from unnest(${a.customers}::bigint[], ${a.channels}::text[], ${a.keys}::bigint[],
                ${textArray(rows, (r) => textArray(r[1].participants, (v) => v))}::text[],
                ${bareArray(rows, (_, i) => i)}::int[])
      as t(customer_id, channel, participants_key, participants, i)
    left join counted on counted.i = t.i
    left join newest on newest.i = t.i
    order by t.customer_id, t.channel, t.participants_key
    on conflict (customer_id, channel, participants_key) do nothing
    returning customer_id, channel, participants, message_count, last_message_at, last_snippet`;
}

/** Reads conversations back (new and existing); a separate statement sees rows committed meanwhile. */
function selectConversations(sql: Sql, rows: readonly ConversationRow[]) {
  const a = conversationArrays(rows);
  return sql<
    {
      id: bigint;
      customer_id: bigint;
      channel: string;
      participants_key: bigint;
      participants: string[];
    }[]
  >`
    select c.id, c.customer_id, c.channel, c.participants_key, c.participants
    from conversations c
    join unnest(${a.customers}::bigint[], ${a.channels}::text[], ${a.keys}::bigint[])
      as t(customer_id, channel, participants_key)
      on c.customer_id = t.customer_id and c.channel = t.channel
     and c.participants_key = t.participants_key`;
}

/**
 * Adds participants (conversation id, contact id) to conversations, inserted in order
 * of both ids (the lock order every writer keeps); existing pairs are kept.
 *
 * `created: true` says every conversation was created by the caller's transaction and
 * the pairs are distinct: then no pair can exist yet (nobody else sees the conversation
 * before the commit), and the rows are inserted without `on conflict`, which checks the
 * primary key before each insert and writes a second WAL record to confirm it.
 */
export function insertParticipants(
  sql: Sql,
  pairs: readonly (readonly [bigint, bigint])[],
  options: { created?: boolean } = {},
) {
  const conversations = bareArray(pairs, (p) => p[0]);
  const contacts = bareArray(pairs, (p) => p[1]);
  return sql`
    insert into conversation_participants (conversation_id, contact_id, role)
    select conversation_id, contact_id, 'contact'
    from unnest(${conversations}::bigint[], ${contacts}::bigint[]) as t(conversation_id, contact_id)
    order by conversation_id, contact_id
    ${options.created ? sql`` : sql`on conflict do nothing`}`;
}

/** What {@link writeContacts} found or created. */
export interface WrittenContacts {
  /** Contact ids by contact ref. */
  readonly ids: Map<string, bigint>;
  /** How many of them this call created. */
  readonly created: number;
}

/** Finds or creates contacts (with their `contact_addresses`). */
export async function writeContacts(
  sql: Sql,
  rows: readonly ContactRow[],
): Promise<WrittenContacts> {
  const ids = new Map<string, bigint>();
  if (rows.length === 0) return { ids, created: 0 };
  const [inserted, found] = await Promise.all([
    insertContacts(sql, rows),
    selectContacts(sql, rows),
  ]);
  for (const r of found) ids.set(contactRef(r.customer_id, r.kind, r.address_id), r.contact_id);
  return { ids, created: inserted.count };
}

/**
 * Finds existing contacts without creating any (a dry run).
 *
 * @returns contact ids by contact ref, for those that exist.
 */
export async function findContacts(
  sql: Sql,
  rows: readonly ContactRow[],
): Promise<Map<string, bigint>> {
  const ids = new Map<string, bigint>();
  if (rows.length === 0) return ids;
  for (const r of await selectContacts(sql, rows)) {
    ids.set(contactRef(r.customer_id, r.kind, r.address_id), r.contact_id);
  }
  return ids;
}

/** A conversation found or created by {@link writeConversations}. */
export interface WrittenConversation {
  /** conversations.id */
  readonly id: bigint;
  /** Its participants as stored. */
  readonly participants: readonly string[];
  /** Whether this call created it (then it has no participants rows yet). */
  readonly created: boolean;
  /**
   * Created: the counters it was inserted with (its seed messages', all of them
   * counted; no seed: none).
   */
  readonly seeded?: Seeded;
}

/** What {@link writeConversations} found. */
export interface WrittenConversations {
  /** By conversation ref. */
  readonly conversations: Map<string, WrittenConversation>;
}

/**
 * Finds or creates conversations. A conversation whose key holds another
 * participant set (a 64-bit collision, maybe forged) is found or created under
 * its first fallback key instead (`dedup/keys.ts`), never merged, never refused.
 *
 * A conversation created here starts with the counters of its `seeds` (the
 * messages about to be written into it, in the order they will be inserted),
 * as if all of them were: the caller compares with the messages actually
 * inserted ({@link WrittenConversation.seeded}) and corrects the rare
 * difference (a message already stored). Without seeds it starts empty.
 *
 * @throws {KeysExhaustedError} when every candidate key holds other participants.
 */
export async function writeConversations(
  sql: Sql,
  rows: readonly ConversationRow[],
  seeds: readonly SeedMessage[] = [],
): Promise<WrittenConversations> {
  if (rows.length === 0) return { conversations: new Map() };
  const [created, found] = await Promise.all([
    insertConversations(sql, rows, seeds),
    selectConversations(sql, rows),
  ]);
  return await checkConversations(sql, rows, created, found, true);
}

/**
 * Finds existing conversations without creating any (a dry run), looking past
 * collisions as {@link writeConversations} does; none is `created`.
 */
export async function findConversations(
  sql: Sql,
  rows: readonly ConversationRow[],
): Promise<WrittenConversations> {
  if (rows.length === 0) return { conversations: new Map() };
  return await checkConversations(sql, rows, [], await selectConversations(sql, rows), false);
}

async function checkConversations(
  sql: Sql,
  rows: readonly ConversationRow[],
  created: readonly {
    customer_id: bigint;
    channel: string;
    participants: string[];
    message_count?: bigint;
    last_message_at?: Date | null;
    last_snippet?: string | null;
  }[],
  found: readonly {
    id: bigint;
    customer_id: bigint;
    channel: string;
    participants: string[];
  }[],
  write: boolean,
): Promise<WrittenConversations> {
  const conversations = new Map<string, WrittenConversation>();
  const createdRefs = new Map(
    created.map((r) => [conversationRef(r.customer_id, r.channel, r.participants), r]),
  );
  const planned = new Set(rows.map(([ref]) => ref));
  for (const r of found) {
    const ref = conversationRef(r.customer_id, r.channel, r.participants);
    // A row under a planned key with other participants is not ours (a collision).
    if (!planned.has(ref)) continue;
    const mine = createdRefs.get(ref);
    conversations.set(ref, {
      id: r.id,
      participants: r.participants,
      created: mine !== undefined,
      seeded: mine && {
        count: Number(mine.message_count ?? 0),
        lastAt: mine.last_message_at ?? null,
        snippet: mine.last_snippet ?? null,
      },
    });
  }
  // A planned conversation not found under its key: the key holds other participants.
  for (const [ref, row] of rows) {
    if (conversations.has(ref)) continue;
    const moved = await atFallbackKey(sql, row, write);
    if (moved) conversations.set(ref, moved);
  }
  return { conversations };
}

/**
 * A conversation whose key holds other participants: found under the first of
 * its candidate keys that holds its participants, else created under the first
 * free one (`write`), in the caller's transaction. Rare: only after a collision.
 */
async function atFallbackKey(
  sql: Sql,
  row: PlannedConversation,
  write: boolean,
): Promise<WrittenConversation | undefined> {
  const candidates = await candidateKeys(
    sql,
    `conversations\n${row.customerId}\n${row.channel}`,
    row.participants.join("\n"),
    row.key,
  );
  const wanted = row.participants.join("\n");
  // A free key taken meanwhile by a concurrent writer: look again (bounded).
  for (let round = 0; round < 3; round++) {
    const held = new Map(
      (await sql<{ id: bigint; participants_key: bigint; participants: string[] }[]>`
        select id, participants_key, participants from conversations
        where customer_id = ${s(row.customerId)} and channel = ${row.channel}
          and participants_key = any(${candidates.map(s)}::bigint[])`).map((r) => [
        r.participants_key,
        r,
      ]),
    );
    for (const key of candidates) {
      const r = held.get(key);
      if (r && r.participants.join("\n") === wanted) {
        return { id: r.id, participants: r.participants, created: false };
      }
      if (r) continue;
      if (!write) return undefined;
      const [inserted] = await sql<{ id: bigint; participants: string[] }[]>`
        insert into conversations (customer_id, channel, participants_key, participants)
        values (${s(row.customerId)}, ${row.channel}, ${s(key)},
                ${textArray(row.participants, (v) => v)}::text[])
        on conflict (customer_id, channel, participants_key) do nothing
        returning id, participants`;
      if (inserted) {
        return {
          id: inserted.id,
          participants: inserted.participants,
          created: true,
          seeded: { count: 0, lastAt: null, snippet: null },
        };
      }
      break;
    }
  }
  throw new KeysExhaustedError(`conversations of customer ${row.customerId} (${row.channel})`);
}
