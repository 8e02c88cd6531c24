/**
 * Helpers of the backfill tests: the conversation state by content (ids are
 * new after a backfill), a dump of every table a backfill may write, erasing
 * conversations back to legacy rows, and draining the queue in-process.
 */
import type { Sql } from "../../src/db/connect.ts";
import { processBatch } from "../../src/ingest/process.ts";
import { claimEvents } from "../../src/queue/claim.ts";
import { ingestOptions } from "../_helpers/ingest.ts";

/**
 * Each conversation by content: customer, channel, participants → its
 * messages (the partition), its contacts' addresses and its counters.
 */
export async function conversationState(sql: Sql): Promise<string[]> {
  const rows = await sql`
    select c.customer_id, c.channel, c.participants, c.message_count, c.last_message_at,
           c.last_snippet,
           (select array_agg(m.id order by m.id) from messages m where m.conversation_id = c.id)
             as messages,
           (select array_agg(ca.kind || ':' || ca.address_id order by ca.kind, ca.address_id)
              from conversation_participants cp
              join contact_addresses ca on ca.contact_id = cp.contact_id
             where cp.conversation_id = c.id) as contacts
    from conversations c
    order by c.customer_id, c.channel, c.participants`;
  return rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
}

/** The contacts by content: customer, kind, address. */
export async function contactState(sql: Sql): Promise<string[]> {
  const rows = await sql<{ k: string }[]>`
    select ca.customer_id || '|' || ca.kind || '|' || ca.address_id as k
    from contact_addresses ca join contacts c on c.id = ca.contact_id order by 1`;
  return rows.map((r) => r.k);
}

/** A digest of every row of the tables a backfill may write. */
export async function dump(sql: Sql): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (
    const t of [
      "messages",
      "conversations",
      "conversation_participants",
      "contacts",
      "contact_addresses",
    ]
  ) {
    const [r] = await sql.unsafe(
      `select count(*)::text || ':' || coalesce(md5(string_agg(x::text, ',' order by x::text)), '')
         as d from ${t} x`,
    );
    out[t] = r.d as string;
  }
  return out;
}

/** Turns every message back into a legacy row and deletes conversations (and contacts). */
export async function eraseConversations(
  sql: Sql,
  options: { contacts?: boolean } = {},
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`update messages set conversation_id = null`;
    await tx`delete from conversation_participants`;
    await tx`delete from conversations`;
    if (options.contacts) {
      await tx`delete from contact_addresses`;
      await tx`delete from contacts`;
    }
  });
}

/** Drains the queue with the worker's batch processing; returns messages inserted. */
export async function drainQueue(sql: Sql, batchSize = 200): Promise<number> {
  const opts = ingestOptions(sql);
  let inserted = 0;
  for (;;) {
    const batch = await claimEvents(sql, batchSize, 60_000);
    if (batch.length === 0) return inserted;
    inserted += (await processBatch(sql, batch, opts)).inserted;
  }
}
