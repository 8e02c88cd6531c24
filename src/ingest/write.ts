/**
 * Writes a batch plan, set-based, inside the caller's transaction. Every table
 * is written with one statement over arrays, rows in key order, in the same
 * table order by every worker, so concurrent workers wait for each other but
 * never deadlock:
 *
 * 1. dedup rows (phones, emails, bodies, attachment URLs), then a check that no
 *    64-bit key holds a different value (collision). `on conflict do nothing`
 *    has no target on purpose: these tables have two unique indexes (id and
 *    hash), and a target names only one arbiter, so two workers inserting the
 *    same new value would fail on the other ("duplicate key … hash_key");
 * 2. contacts and `contact_addresses` for external addresses (created on first
 *    sight, no orphans when two workers race: the contact row is created only
 *    for the `contact_addresses` row that won);
 * 3. conversations (`insert … on conflict do nothing`), then all of them read
 *    back;
 * 4. participants, for the conversations created here only (a conversation's
 *    key is its participants, so an existing one has them all);
 * 5. the batch's conversations locked in id order, then messages
 *    (`on conflict (provider_id, provider_message_id) do nothing`),
 *    their attachments, and the counters, last activity and snippet of each
 *    conversation, for the messages actually inserted — one statement.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { KeyCollisionError } from "./errors.ts";
import type { BatchPlan, PlannedMessage } from "./plan.ts";

const byKey = <T>(m: Map<bigint, T>) =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const s = (v: bigint) => v.toString();
/** A PostgreSQL array literal of strings, every element quoted. */
export function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}
const idArrayLiteral = (values: readonly bigint[]) => `{${values.join(",")}}`;

async function writeDedup(sql: Sql, plan: BatchPlan): Promise<void> {
  const phones = byKey(plan.phones);
  const emails = byKey(plan.emails);
  const xms = byKey(plan.xmsBodies);
  const mails = byKey(plan.emailBodies);
  const urls = byKey(plan.urls);
  await sql`
    with
    p as (
      insert into phone_numbers (id, raw, e164, hash)
      select id, raw, v, id
      from unnest(${phones.map(([k]) => s(k))}::bigint[], ${phones.map(([, r]) => r.raw)}::text[],
                  ${phones.map(([, r]) => r.value)}::text[]) as t(id, raw, v)
      order by id
      on conflict do nothing
    ),
    e as (
      insert into email_addresses (id, raw, lowered, hash)
      select id, raw, v, id
      from unnest(${emails.map(([k]) => s(k))}::bigint[], ${emails.map(([, r]) => r.raw)}::text[],
                  ${emails.map(([, r]) => r.value)}::text[]) as t(id, raw, v)
      order by id
      on conflict do nothing
    ),
    xb as (
      insert into xms_bodies (id, raw, normalized, hash)
      select id, raw, n, id
      from unnest(${xms.map(([k]) => s(k))}::bigint[], ${xms.map(([, r]) => r.raw)}::text[],
                  ${xms.map(([, r]) => r.normalized)}::text[]) as t(id, raw, n)
      order by id
      on conflict do nothing
    ),
    eb as (
      insert into email_bodies (id, raw, normalized, hash)
      select id, raw, n, id
      from unnest(${mails.map(([k]) => s(k))}::bigint[], ${mails.map(([, r]) => r.raw)}::text[],
                  ${mails.map(([, r]) => r.normalized)}::text[]) as t(id, raw, n)
      order by id
      on conflict do nothing
    ),
    u as (
      insert into attachment_urls (id, raw, hash)
      select id, raw, id
      from unnest(${urls.map(([k]) => s(k))}::bigint[], ${
    urls.map(([, r]) => r)
  }::text[]) as t(id, raw)
      order by id
      on conflict do nothing
    )
    select 1`;
  // A separate statement sees rows other workers committed meanwhile.
  const collisions = await sql<{ t: string; id: bigint }[]>`
    select 'phone_numbers' as t, p.id from phone_numbers p
      join unnest(${phones.map(([k]) => s(k))}::bigint[], ${phones.map(([, r]) => r.value)}::text[])
        as x(id, v) on p.id = x.id
      where p.e164 <> x.v
    union all
    select 'email_addresses', a.id from email_addresses a
      join unnest(${emails.map(([k]) => s(k))}::bigint[], ${emails.map(([, r]) => r.value)}::text[])
        as x(id, v) on a.id = x.id
      where a.lowered <> x.v
    union all
    select 'xms_bodies', b.id from xms_bodies b
      join unnest(${xms.map(([k]) => s(k))}::bigint[], ${xms.map(([, r]) => r.normalized)}::text[])
        as x(id, v) on b.id = x.id
      where b.normalized <> x.v
    union all
    select 'email_bodies', b.id from email_bodies b
      join unnest(${mails.map(([k]) => s(k))}::bigint[], ${
    mails.map(([, r]) => r.normalized)
  }::text[])
        as x(id, v) on b.id = x.id
      where b.normalized <> x.v
    union all
    select 'attachment_urls', u.id from attachment_urls u
      join unnest(${urls.map(([k]) => s(k))}::bigint[], ${urls.map(([, r]) => r)}::text[])
        as x(id, v) on u.id = x.id
      where u.raw <> x.v`;
  if (collisions.length > 0) {
    throw new KeyCollisionError(collisions.map((c) => `${c.t} id ${c.id}`).join(", "));
  }
}

async function writeContacts(sql: Sql, plan: BatchPlan): Promise<Map<string, bigint>> {
  const rows = [...plan.contacts.entries()].sort(([, a], [, b]) =>
    a.customerId !== b.customerId
      ? (a.customerId < b.customerId ? -1 : 1)
      : a.kind !== b.kind
      ? (a.kind < b.kind ? -1 : 1)
      : a.addressId < b.addressId
      ? -1
      : a.addressId > b.addressId
      ? 1
      : 0
  );
  const customers = rows.map(([, c]) => s(c.customerId));
  const kinds = rows.map(([, c]) => c.kind);
  const addresses = rows.map(([, c]) => s(c.addressId));
  const names = rows.map(([, c]) => c.displayName);
  await sql`
    with input as (
      select t.customer_id, t.kind, t.address_id, t.display_name,
             nextval('contacts_id_seq') as contact_id
      from unnest(${customers}::bigint[], ${kinds}::text[], ${addresses}::bigint[],
                  ${names}::text[]) as t(customer_id, kind, address_id, display_name)
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
  const found = await sql<
    { customer_id: bigint; kind: string; address_id: bigint; contact_id: bigint }[]
  >`
    select ca.customer_id, ca.kind, ca.address_id, ca.contact_id
    from contact_addresses ca
    join unnest(${customers}::bigint[], ${kinds}::text[], ${addresses}::bigint[])
      as t(customer_id, kind, address_id)
      on ca.customer_id = t.customer_id and ca.kind = t.kind and ca.address_id = t.address_id`;
  return new Map(found.map((r) => [`${r.customer_id}|${r.kind}|${r.address_id}`, r.contact_id]));
}

function sortedConversations(plan: BatchPlan) {
  return [...plan.conversations.entries()].sort(([, a], [, b]) =>
    a.customerId !== b.customerId
      ? (a.customerId < b.customerId ? -1 : 1)
      : a.channel !== b.channel
      ? (a.channel < b.channel ? -1 : 1)
      : a.key < b.key
      ? -1
      : a.key > b.key
      ? 1
      : 0
  );
}

/** Inserts the conversations that do not exist yet; returns the refs of those it created. */
async function insertConversations(sql: Sql, plan: BatchPlan): Promise<Set<string>> {
  const rows = sortedConversations(plan);
  const created = await sql<{ customer_id: bigint; channel: string; participants_key: bigint }[]>`
    insert into conversations (customer_id, channel, participants_key, participants)
    select customer_id, channel, participants_key, participants::text[]
    from unnest(${rows.map(([, c]) => s(c.customerId))}::bigint[],
                ${rows.map(([, c]) => c.channel)}::text[],
                ${rows.map(([, c]) => s(c.key))}::bigint[],
                ${rows.map(([, c]) => textArrayLiteral(c.participants))}::text[])
      as t(customer_id, channel, participants_key, participants)
    order by customer_id, channel, participants_key
    on conflict (customer_id, channel, participants_key) do nothing
    returning customer_id, channel, participants_key`;
  return new Set(created.map((r) => `${r.customer_id}|${r.channel}|${r.participants_key}`));
}

/** Reads back every conversation of the batch (new and existing), checking for key collisions. */
async function findConversations(sql: Sql, plan: BatchPlan): Promise<Map<string, bigint>> {
  const rows = sortedConversations(plan);
  const found = await sql<
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
    join unnest(${rows.map(([, c]) => s(c.customerId))}::bigint[],
                ${rows.map(([, c]) => c.channel)}::text[],
                ${rows.map(([, c]) => s(c.key))}::bigint[])
      as t(customer_id, channel, participants_key)
      on c.customer_id = t.customer_id and c.channel = t.channel
     and c.participants_key = t.participants_key`;
  const ids = new Map<string, bigint>();
  for (const r of found) {
    const ref = `${r.customer_id}|${r.channel}|${r.participants_key}`;
    const expected = plan.conversations.get(ref)!;
    if (r.participants.join("\n") !== expected.participants.join("\n")) {
      throw new KeyCollisionError(`conversations key ${r.participants_key} (id ${r.id})`);
    }
    ids.set(ref, r.id);
  }
  return ids;
}

/**
 * Participants of the conversations this batch created. A conversation's key
 * is its participants, so an existing one already has them all.
 */
async function writeParticipants(
  sql: Sql,
  plan: BatchPlan,
  created: Set<string>,
  conversations: Map<string, bigint>,
  contacts: Map<string, bigint>,
): Promise<void> {
  const pairs = new Map<string, [bigint, bigint]>();
  for (const m of plan.messages) {
    if (!created.has(m.conversation)) continue;
    const conversation = conversations.get(m.conversation)!;
    for (const ref of m.contacts) {
      const contact = contacts.get(ref)!;
      pairs.set(`${conversation}|${contact}`, [conversation, contact]);
    }
  }
  const rows = [...pairs.values()].sort(([a1, b1], [a2, b2]) =>
    a1 !== a2 ? (a1 < a2 ? -1 : 1) : b1 < b2 ? -1 : b1 > b2 ? 1 : 0
  );
  if (rows.length === 0) return;
  await sql`
    insert into conversation_participants (conversation_id, contact_id, role)
    select conversation_id, contact_id, 'contact'
    from unnest(${rows.map(([c]) => s(c))}::bigint[], ${rows.map(([, k]) => s(k))}::bigint[])
      as t(conversation_id, contact_id)
    order by conversation_id, contact_id
    on conflict do nothing`;
}

async function writeMessages(
  sql: Sql,
  messages: readonly PlannedMessage[],
  conversations: Map<string, bigint>,
): Promise<Set<number>> {
  const rows = [...messages].sort((a, b) =>
    a.providerId !== b.providerId
      ? (a.providerId < b.providerId ? -1 : 1)
      : a.providerMessageId < b.providerMessageId
      ? -1
      : a.providerMessageId > b.providerMessageId
      ? 1
      : 0
  );
  const att: { index: number; urlId: bigint; contentType: string | null }[] = [];
  for (const m of rows) {
    for (const a of m.attachments) att.push({ index: m.index, ...a });
  }
  // Lock the conversations whose counters change, in id order (a common lock
  // order: no deadlock), as late as possible (hot conversations are held only
  // for this statement and the commit).
  const conversationIds = [...new Set(rows.map((m) => conversations.get(m.conversation)!))]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  await sql`
    select 1 from conversations where id = any(${conversationIds.map(s)}::bigint[])
    order by id for no key update`;
  const inserted = await sql<{ idx: number }[]>`
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
        ${rows.map((m) => m.receivedAt?.toISOString() ?? null)}::timestamptz[],
        ${rows.map((m) => m.snippet)}::text[]
      ) as t(idx, customer_id, conversation_id, provider_id, direction, channel,
             provider_message_id, from_id, to_ids, cc_ids, subject, body_id, sent_at,
             received_at, snippet)
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
      select ins.id, i.idx, i.customer_id, i.conversation_id, i.sent_at, i.snippet
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
    ),
    activity as (
      select conversation_id, count(*) as n, max(sent_at) as last_at,
             (array_agg(snippet order by sent_at desc, idx desc))[1] as snippet
      from new_messages group by conversation_id
    ),
    counters as (
      update conversations c
      set message_count = c.message_count + a.n,
          last_message_at = greatest(c.last_message_at, a.last_at),
          last_snippet = case when c.last_message_at is null or a.last_at >= c.last_message_at
                              then a.snippet else c.last_snippet end
      from activity a
      where c.id = a.conversation_id
    )
    select idx from new_messages`;
  return new Set(inserted.map((r) => r.idx));
}

/**
 * Writes a batch plan in the caller's transaction.
 *
 * @returns the batch indexes of the events whose message was inserted (the
 * others were already there: replays).
 * @throws {KeyCollisionError} when a 64-bit key already holds a different value.
 */
export async function writePlan(sql: Sql, plan: BatchPlan): Promise<Set<number>> {
  if (plan.messages.length === 0) return new Set();
  await writeDedup(sql, plan);
  const contacts = await writeContacts(sql, plan);
  const created = await insertConversations(sql, plan);
  const conversations = await findConversations(sql, plan);
  await writeParticipants(sql, plan, created, conversations, contacts);
  return await writeMessages(sql, plan.messages, conversations);
}
