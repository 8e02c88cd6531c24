/**
 * Writes a batch plan, set-based, inside the caller's transaction, in three
 * round trips of pipelined statements (each table one statement over arrays):
 *
 * 1. what needs no id from the database: dedup rows (phones, emails, bodies,
 *    attachment URLs) and the check that no 64-bit key holds a different value;
 *    contacts with their `contact_addresses`; conversations
 *    (`insert … on conflict do nothing`), each read back;
 * 2. participants (for conversations created here only: a conversation's key is
 *    its participant set, so an existing one has them all), and messages
 *    (`on conflict (provider_id, provider_message_id) do nothing`) with their
 *    attachments;
 * 3. the counters, last activity and snippet of each conversation, for the
 *    messages actually inserted, after locking those conversations in id order.
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
import type { Sql } from "../db/connect.ts";
import type { Learned, WriteCache } from "./cache.ts";
import { KeyCollisionError } from "./errors.ts";
import type { BatchPlan, PlannedContact, PlannedConversation, PlannedMessage } from "./plan.ts";

type Row<T> = [bigint, T];
type Address = { raw: string; value: string };
type Body = { raw: string; normalized: string };

const cmp = <T extends bigint | string>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);
const byKey = <T>(m: Map<bigint, T>): Row<T>[] => [...m.entries()].sort(([a], [b]) => cmp(a, b));
const s = (v: bigint) => v.toString();
const idArrayLiteral = (values: readonly bigint[]) => `{${values.join(",")}}`;

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

/** Addresses the cache does not know; a known key with another value is a collision. */
function unknownAddresses(
  table: string,
  rows: Row<Address>[],
  cache: WriteCache | undefined,
  learned: Learned,
): Row<Address>[] {
  const out: Row<Address>[] = [];
  for (const row of rows) {
    const known = cache?.address(row[0]);
    if (known === undefined) {
      out.push(row);
      learned.addresses.push([row[0], row[1].value]);
    } else if (known !== row[1].value) {
      throw new KeyCollisionError(`${table} id ${row[0]}`);
    }
  }
  return out;
}

interface DedupRows {
  phones: Row<Address>[];
  emails: Row<Address>[];
  xms: Row<Body>[];
  mails: Row<Body>[];
  urls: Row<string>[];
}

function insertDedup(sql: Sql, d: DedupRows) {
  // `on conflict do nothing` has no target on purpose: these tables have two
  // unique indexes (id and hash), a target names only one arbiter, and two
  // workers inserting the same new value then fail on the other
  // ("duplicate key … hash_key"), as the four-worker test showed.
  return sql`
    with
    p as (
      insert into phone_numbers (id, raw, e164, hash)
      select id, raw, v, id
      from unnest(${d.phones.map(([k]) => s(k))}::bigint[], ${
    d.phones.map(([, r]) => r.raw)
  }::text[],
                  ${d.phones.map(([, r]) => r.value)}::text[]) as t(id, raw, v)
      order by id
      on conflict do nothing
    ),
    e as (
      insert into email_addresses (id, raw, lowered, hash)
      select id, raw, v, id
      from unnest(${d.emails.map(([k]) => s(k))}::bigint[], ${
    d.emails.map(([, r]) => r.raw)
  }::text[],
                  ${d.emails.map(([, r]) => r.value)}::text[]) as t(id, raw, v)
      order by id
      on conflict do nothing
    ),
    xb as (
      insert into xms_bodies (id, raw, normalized, hash)
      select id, raw, n, id
      from unnest(${d.xms.map(([k]) => s(k))}::bigint[], ${d.xms.map(([, r]) => r.raw)}::text[],
                  ${d.xms.map(([, r]) => r.normalized)}::text[]) as t(id, raw, n)
      order by id
      on conflict do nothing
    ),
    eb as (
      insert into email_bodies (id, raw, normalized, hash)
      select id, raw, n, id
      from unnest(${d.mails.map(([k]) => s(k))}::bigint[], ${d.mails.map(([, r]) => r.raw)}::text[],
                  ${d.mails.map(([, r]) => r.normalized)}::text[]) as t(id, raw, n)
      order by id
      on conflict do nothing
    ),
    u as (
      insert into attachment_urls (id, raw, hash)
      select id, raw, id
      from unnest(${d.urls.map(([k]) => s(k))}::bigint[], ${
    d.urls.map(([, r]) => r)
  }::text[]) as t(id, raw)
      order by id
      on conflict do nothing
    )
    select 1`;
}

/** Keys whose stored value differs from ours. A separate statement, so it sees rows other workers committed meanwhile. */
function dedupCollisions(sql: Sql, d: DedupRows) {
  return sql<{ t: string; id: bigint }[]>`
    select 'phone_numbers' as t, p.id from phone_numbers p
      join unnest(${d.phones.map(([k]) => s(k))}::bigint[], ${
    d.phones.map(([, r]) => r.value)
  }::text[])
        as x(id, v) on p.id = x.id
      where p.e164 <> x.v
    union all
    select 'email_addresses', a.id from email_addresses a
      join unnest(${d.emails.map(([k]) => s(k))}::bigint[], ${
    d.emails.map(([, r]) => r.value)
  }::text[])
        as x(id, v) on a.id = x.id
      where a.lowered <> x.v
    union all
    select 'xms_bodies', b.id from xms_bodies b
      join unnest(${d.xms.map(([k]) => s(k))}::bigint[], ${
    d.xms.map(([, r]) => r.normalized)
  }::text[])
        as x(id, v) on b.id = x.id
      where b.normalized <> x.v
    union all
    select 'email_bodies', b.id from email_bodies b
      join unnest(${d.mails.map(([k]) => s(k))}::bigint[], ${
    d.mails.map(([, r]) => r.normalized)
  }::text[])
        as x(id, v) on b.id = x.id
      where b.normalized <> x.v
    union all
    select 'attachment_urls', u.id from attachment_urls u
      join unnest(${d.urls.map(([k]) => s(k))}::bigint[], ${d.urls.map(([, r]) => r)}::text[])
        as x(id, v) on u.id = x.id
      where u.raw <> x.v`;
}

type ContactRow = [string, PlannedContact];

function contactArrays(rows: ContactRow[]) {
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
function insertContacts(sql: Sql, rows: ContactRow[]) {
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

function selectContacts(sql: Sql, rows: ContactRow[]) {
  const a = contactArrays(rows);
  return sql<{ customer_id: bigint; kind: string; address_id: bigint; contact_id: bigint }[]>`
    select ca.customer_id, ca.kind, ca.address_id, ca.contact_id
    from contact_addresses ca
    join unnest(${a.customers}::bigint[], ${a.kinds}::text[], ${a.addresses}::bigint[])
      as t(customer_id, kind, address_id)
      on ca.customer_id = t.customer_id and ca.kind = t.kind and ca.address_id = t.address_id`;
}

type ConversationRow = [string, PlannedConversation];

function conversationArrays(rows: ConversationRow[]) {
  return {
    customers: rows.map(([, c]) => s(c.customerId)),
    channels: rows.map(([, c]) => c.channel),
    keys: rows.map(([, c]) => s(c.key)),
  };
}

function insertConversations(sql: Sql, rows: ConversationRow[]) {
  const a = conversationArrays(rows);
  return sql<{ customer_id: bigint; channel: string; participants_key: bigint }[]>`
    insert into conversations (customer_id, channel, participants_key, participants)
    select customer_id, channel, participants_key, participants::text[]
    from unnest(${a.customers}::bigint[], ${a.channels}::text[], ${a.keys}::bigint[],
                ${rows.map(([, c]) => textArrayLiteral(c.participants))}::text[])
      as t(customer_id, channel, participants_key, participants)
    order by customer_id, channel, participants_key
    on conflict (customer_id, channel, participants_key) do nothing
    returning customer_id, channel, participants_key`;
}

/** Reads conversations back (new and existing); a separate statement sees rows committed meanwhile. */
function selectConversations(sql: Sql, rows: ConversationRow[]) {
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

function insertParticipants(sql: Sql, pairs: [bigint, bigint][]) {
  return sql`
    insert into conversation_participants (conversation_id, contact_id, role)
    select conversation_id, contact_id, 'contact'
    from unnest(${pairs.map(([c]) => s(c))}::bigint[], ${pairs.map(([, k]) => s(k))}::bigint[])
      as t(conversation_id, contact_id)
    order by conversation_id, contact_id
    on conflict do nothing`;
}

function insertMessages(sql: Sql, rows: PlannedMessage[], conversations: Map<string, bigint>) {
  const att: { index: number; urlId: bigint; contentType: string | null }[] = [];
  for (const m of rows) for (const a of m.attachments) att.push({ index: m.index, ...a });
  return sql<{ idx: number; conversation_id: bigint }[]>`
    with input as (
      select * from unnest(
        ${rows.map((m) => m.index)}::int[],
        ${rows.map((m) => s(m.customerId))}::bigint[],
        ${rows.map((m) => s(conversations.get(m.conversation)!))}::bigint[],
        ${rows.map((m) => s(m.providerId))}::bigint[],
        ${rows.map((m) => m.direction)}::text[],
        ${rows.map((m) => m.channel)}::text[],
        ${rows.map((m) => m.providerMessageId)}::text[],
        ${rows.map((m) => s(m.fromId))}::bigint[],
        ${rows.map((m) => idArrayLiteral(m.toIds))}::text[],
        ${rows.map((m) => idArrayLiteral(m.ccIds))}::text[],
        ${rows.map((m) => m.subject)}::text[],
        ${rows.map((m) => (m.bodyId === null ? null : s(m.bodyId)))}::bigint[],
        ${rows.map((m) => m.sentAt.toISOString())}::timestamptz[],
        ${rows.map((m) => m.receivedAt?.toISOString() ?? null)}::timestamptz[]
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
      returning id, provider_id, provider_message_id
    ),
    new_messages as (
      select ins.id, i.idx, i.customer_id, i.conversation_id
      from ins join input i
        on i.provider_id = ins.provider_id and i.provider_message_id = ins.provider_message_id
    ),
    new_attachments as (
      select nextval('attachments_id_seq') as id, n.id as message_id, n.customer_id,
             a.url_id, a.content_type
      from new_messages n
      join unnest(${att.map((a) => a.index)}::int[], ${att.map((a) => s(a.urlId))}::bigint[],
                  ${att.map((a) => a.contentType)}::text[]) as a(idx, url_id, content_type)
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
    select idx, conversation_id from new_messages`;
}

interface Activity {
  id: bigint;
  n: number;
  last: PlannedMessage;
}

/** Per conversation: messages inserted, and the newest of them (by sent_at, then batch order). */
function activityOf(
  rows: readonly PlannedMessage[],
  inserted: Set<number>,
  ids: Map<string, bigint>,
) {
  const by = new Map<bigint, Activity>();
  for (const m of rows) {
    if (!inserted.has(m.index)) continue;
    const id = ids.get(m.conversation)!;
    const a = by.get(id);
    if (!a) by.set(id, { id, n: 1, last: m });
    else {
      a.n++;
      const t = m.sentAt.getTime() - a.last.sentAt.getTime();
      if (t > 0 || (t === 0 && m.index > a.last.index)) a.last = m;
    }
  }
  return [...by.values()].sort((a, b) => cmp(a.id, b.id));
}

/** Locks the conversations in id order (a common lock order: no deadlock), then moves their counters. */
function updateCounters(sql: Sql, activity: Activity[]) {
  const ids = activity.map((a) => s(a.id));
  return [
    sql`select 1 from conversations where id = any(${ids}::bigint[]) order by id for no key update`,
    sql`
      update conversations c
      set message_count = c.message_count + a.n,
          last_message_at = greatest(c.last_message_at, a.last_at),
          last_snippet = case when c.last_message_at is null or a.last_at >= c.last_message_at
                              then a.snippet else c.last_snippet end
      from unnest(${ids}::bigint[], ${activity.map((a) => a.n)}::int[],
                  ${activity.map((a) => a.last.sentAt.toISOString())}::timestamptz[],
                  ${activity.map((a) => a.last.snippet)}::text[]) as a(id, n, last_at, snippet)
      where c.id = a.id`,
  ];
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
 * @throws {KeyCollisionError} when a 64-bit key already holds a different value.
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
  newContacts.sort(([, a], [, b]) =>
    cmp(a.customerId, b.customerId) || cmp(a.kind, b.kind) || cmp(a.addressId, b.addressId)
  );
  const conversations = new Map<string, bigint>();
  const newConversations: ConversationRow[] = [];
  for (const entry of plan.conversations) {
    const known = cache?.conversation(entry[0]);
    if (known === undefined) newConversations.push(entry);
    else if (known.participants !== entry[1].participants.join("\n")) {
      throw new KeyCollisionError(`conversations key ${entry[1].key} (id ${known.id})`);
    } else conversations.set(entry[0], known.id);
  }
  newConversations.sort(([, a], [, b]) =>
    cmp(a.customerId, b.customerId) || cmp(a.channel, b.channel) || cmp(a.key, b.key)
  );

  // Round trip 1 (pipelined: sent together, run in this order).
  const none = Promise.resolve([] as never[]);
  const [, collisions, , foundContacts, created, foundConversations] = await Promise.all([
    insertDedup(sql, dedup),
    dedupCollisions(sql, dedup),
    newContacts.length ? insertContacts(sql, newContacts) : none,
    newContacts.length ? selectContacts(sql, newContacts) : none,
    newConversations.length ? insertConversations(sql, newConversations) : none,
    newConversations.length ? selectConversations(sql, newConversations) : none,
  ]);
  if (collisions.length > 0) {
    throw new KeyCollisionError(collisions.map((c) => `${c.t} id ${c.id}`).join(", "));
  }
  for (const r of foundContacts) {
    const ref = `${r.customer_id}|${r.kind}|${r.address_id}`;
    contacts.set(ref, r.contact_id);
    learned.contacts.push([ref, r.contact_id]);
  }
  for (const r of foundConversations) {
    const ref = `${r.customer_id}|${r.channel}|${r.participants_key}`;
    const participants = r.participants.join("\n");
    if (participants !== plan.conversations.get(ref)!.participants.join("\n")) {
      throw new KeyCollisionError(`conversations key ${r.participants_key} (id ${r.id})`);
    }
    conversations.set(ref, r.id);
    learned.conversations.push([ref, { id: r.id, participants }]);
  }
  const createdRefs = new Set(
    created.map((r) => `${r.customer_id}|${r.channel}|${r.participants_key}`),
  );

  // Round trip 2: participants of new conversations, and the messages.
  const pairs = new Map<string, [bigint, bigint]>();
  for (const m of plan.messages) {
    if (!createdRefs.has(m.conversation)) continue;
    const conversation = conversations.get(m.conversation)!;
    for (const ref of m.contacts) {
      const contact = contacts.get(ref)!;
      pairs.set(`${conversation}|${contact}`, [conversation, contact]);
    }
  }
  const rows = [...plan.messages].sort((a, b) =>
    cmp(a.providerId, b.providerId) || cmp(a.providerMessageId, b.providerMessageId)
  );
  const participantRows = [...pairs.values()].sort(([a1, b1], [a2, b2]) =>
    cmp(a1, a2) || cmp(b1, b2)
  );
  const [, insertedRows] = await Promise.all([
    participantRows.length ? insertParticipants(sql, participantRows) : none,
    insertMessages(sql, rows, conversations),
  ]);
  const inserted = new Set(insertedRows.map((r) => r.idx));

  // Round trip 3: counters, locked last.
  const activity = activityOf(rows, inserted, conversations);
  if (activity.length) await Promise.all(updateCounters(sql, activity));
  return { inserted, learned };
}
