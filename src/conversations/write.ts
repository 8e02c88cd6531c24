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
import type { Sql } from "../db/connect.ts";
import { candidateKeys, KeysExhaustedError } from "../dedup/keys.ts";
import {
  contactRef,
  conversationRef,
  type PlannedContact,
  type PlannedConversation,
} from "./refs.ts";

const s = (v: bigint) => v.toString();

/**
 * A PostgreSQL array literal of strings, every element quoted.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { textArrayLiteral } from "./write.ts";
 * assert.equal(textArrayLiteral(['a"b', "c\\d", "+1"]), '{"a\\"b","c\\\\d","+1"}');
 * ```
 */
export function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}

/** A contact with its ref. */
export type ContactRow = readonly [string, PlannedContact];

function contactArrays(rows: readonly ContactRow[]) {
  return {
    customers: rows.map(([, c]) => s(c.customerId)),
    kinds: rows.map(([, c]) => c.kind),
    addresses: rows.map(([, c]) => s(c.addressId)),
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
                  ${rows.map(([, c]) => c.displayName)}::text[])
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

function conversationArrays(rows: readonly ConversationRow[]) {
  return {
    customers: rows.map(([, c]) => s(c.customerId)),
    channels: rows.map(([, c]) => c.channel),
    keys: rows.map(([, c]) => s(c.key)),
  };
}

function insertConversations(sql: Sql, rows: readonly ConversationRow[]) {
  const a = conversationArrays(rows);
  return sql<{ customer_id: bigint; channel: string; participants: string[] }[]>`
    insert into conversations (customer_id, channel, participants_key, participants)
    select customer_id, channel, participants_key, participants::text[]
    from unnest(${a.customers}::bigint[], ${a.channels}::text[], ${a.keys}::bigint[],
                ${rows.map(([, c]) => textArrayLiteral(c.participants))}::text[])
      as t(customer_id, channel, participants_key, participants)
    order by customer_id, channel, participants_key
    on conflict (customer_id, channel, participants_key) do nothing
    returning customer_id, channel, participants`;
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
 * Adds participants (conversation id, contact id) to conversations, sorted by
 * both ids (the lock order every writer keeps); existing pairs are kept.
 */
export function insertParticipants(sql: Sql, pairs: readonly (readonly [bigint, bigint])[]) {
  return sql`
    insert into conversation_participants (conversation_id, contact_id, role)
    select conversation_id, contact_id, 'contact'
    from unnest(${pairs.map(([c]) => s(c))}::bigint[], ${pairs.map(([, k]) => s(k))}::bigint[])
      as t(conversation_id, contact_id)
    order by conversation_id, contact_id
    on conflict do nothing`;
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
 * @throws {KeysExhaustedError} when every candidate key holds other participants.
 */
export async function writeConversations(
  sql: Sql,
  rows: readonly ConversationRow[],
): Promise<WrittenConversations> {
  if (rows.length === 0) return { conversations: new Map() };
  const [created, found] = await Promise.all([
    insertConversations(sql, rows),
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
  created: readonly { customer_id: bigint; channel: string; participants: string[] }[],
  found: readonly {
    id: bigint;
    customer_id: bigint;
    channel: string;
    participants: string[];
  }[],
  write: boolean,
): Promise<WrittenConversations> {
  const conversations = new Map<string, WrittenConversation>();
  const createdRefs = new Set(
    created.map((r) => conversationRef(r.customer_id, r.channel, r.participants)),
  );
  const planned = new Set(rows.map(([ref]) => ref));
  for (const r of found) {
    const ref = conversationRef(r.customer_id, r.channel, r.participants);
    // A row under a planned key with other participants is not ours (a collision).
    if (!planned.has(ref)) continue;
    conversations.set(ref, {
      id: r.id,
      participants: r.participants,
      created: createdRefs.has(ref),
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
                ${textArrayLiteral(row.participants)}::text[])
        on conflict (customer_id, channel, participants_key) do nothing
        returning id, participants`;
      if (inserted) return { id: inserted.id, participants: inserted.participants, created: true };
      break;
    }
  }
  throw new KeysExhaustedError(`conversations of customer ${row.customerId} (${row.channel})`);
}
