/**
 * Recomputing a conversation's counters from its messages: `message_count`
 * (count), `last_message_at` (the newest activity time,
 * `convo_message_activity_at`: `conversations/activity.ts`) and `last_snippet`
 * (the snippet of the newest message by activity time, then id, by
 * `messageSnippet`): the rules ingest uses.
 *
 * Safe next to workers, which add to the counters under a `for no key update`
 * lock taken in id order (`ingest/write.ts`). The conversations are locked
 * first, in id order, in one statement; the messages are counted in a *later*
 * statement of the same transaction. Under READ COMMITTED every statement
 * takes a new snapshot, so a worker's increment either committed before our
 * lock (and its messages are counted) or waits for our commit and then adds to
 * our absolute value. Counting in the UPDATE itself would not do: a statement
 * that waits for a row lock keeps its older snapshot for its subqueries, and a
 * worker's messages committed meanwhile would be lost from the count.
 *
 * @module
 */
import { messageSnippet } from "../conversations/snippet.ts";
import type { Sql } from "../db/connect.ts";

const s = (v: bigint) => v.toString();

/** Locks conversations in id order (the order workers lock them in). */
export function lockConversations(sql: Sql, ids: readonly bigint[]) {
  return sql`
    select id from conversations where id = any(${ids.map(s)}::bigint[])
    order by id for no key update`;
}

interface Counted {
  id: bigint;
  n: bigint;
  last_at: Date | null;
  body: string | null;
  subject: string | null;
  attachments: number;
}

/** Counts each conversation's messages and reads what its newest one shows. */
function countMessages(sql: Sql, ids: readonly bigint[]) {
  return sql<Counted[]>`
    select c.id, s.n, s.last_at, coalesce(xb.normalized, eb.normalized) as body, l.subject,
           coalesce(a.n, 0)::int as attachments
    from unnest(${ids.map(s)}::bigint[]) as c(id)
    cross join lateral (
      select count(*) as n,
             max(convo_message_activity_at(m.sent_at, m.received_at, m.created_at)) as last_at
      from messages m where m.conversation_id = c.id
    ) s
    left join lateral (
      select m.id, m.channel, m.body_id, m.subject from messages m
      where m.conversation_id = c.id
      order by convo_message_activity_at(m.sent_at, m.received_at, m.created_at) desc, m.id desc
      limit 1
    ) l on true
    left join lateral (
      select count(*) as n from message_attachments ma where ma.message_id = l.id
    ) a on true
    left join xms_bodies xb on l.channel <> 'email' and xb.id = l.body_id
    left join email_bodies eb on l.channel = 'email' and eb.id = l.body_id`;
}

/** Writes the recomputed counters where they differ; returns how many rows changed. */
async function writeCounters(sql: Sql, rows: readonly Counted[], snippetLength: number) {
  if (rows.length === 0) return 0;
  const snippets = rows.map((r) =>
    r.n === 0n ? null : messageSnippet(
      { body: r.body, subject: r.subject, attachments: r.attachments },
      { length: snippetLength },
    )
  );
  const result = await sql`
    update conversations c
    set message_count = v.n, last_message_at = v.last_at, last_snippet = v.snippet
    from unnest(${rows.map((r) => s(r.id))}::bigint[], ${rows.map((r) => s(r.n))}::bigint[],
                ${rows.map((r) => r.last_at?.toISOString() ?? null)}::timestamptz[],
                ${snippets}::text[]) as v(id, n, last_at, snippet)
    where c.id = v.id
      and (c.message_count, c.last_message_at, c.last_snippet)
          is distinct from (v.n, v.last_at, v.snippet)`;
  return result.count;
}

/**
 * Recomputes the counters of conversations from their messages, in the
 * caller's transaction (which must be READ COMMITTED, PostgreSQL's default).
 * Extra statements given in `before` are sent in the same round trip, ahead
 * of the lock (the backfill's message updates).
 *
 * @returns how many conversations had different counters.
 * @example Usage
 * ```ts ignore
 * await sql.begin((tx) => recountConversations(tx, [1n, 2n], { snippetLength: 120 }));
 * ```
 */
export async function recountConversations(
  sql: Sql,
  ids: readonly bigint[],
  options: { snippetLength: number; before?: readonly Promise<unknown>[] },
): Promise<number> {
  const before = options.before ?? [];
  if (ids.length === 0) {
    await Promise.all(before);
    return 0;
  }
  const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Pipelined, run in this order: lock first, then count in a new snapshot.
  const results = await Promise.all([
    ...before,
    lockConversations(sql, sorted),
    countMessages(sql, sorted),
  ]);
  return await writeCounters(sql, results[results.length - 1] as Counted[], options.snippetLength);
}
