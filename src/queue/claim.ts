/**
 * Claims a batch of events: one statement, `for update skip locked`.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import type { ClaimedEvent } from "./types.ts";

/**
 * Claims up to `limit` events: the oldest claimable (pending and due, or
 * processing with an expired claim), skipping rows other workers hold.
 * Sets them `processing`, adds 1 to `attempts`, and moves `locked_until` and
 * `available_at` to now + visibility, so an abandoned claim becomes claimable
 * again through the same partial index.
 */
export async function claimEvents(
  sql: Sql,
  limit: number,
  visibilityMs: number,
): Promise<ClaimedEvent[]> {
  const rows = await sql<
    { id: bigint; event_type: string; payload: unknown; attempts: number; received_at: Date }[]
  >`
    with next as (
      select id from inbound_events
      where status in ('pending', 'processing') and available_at <= now()
      order by available_at, id
      limit ${limit}
      for update skip locked
    )
    update inbound_events e
    set status = 'processing',
        attempts = e.attempts + 1,
        locked_until = now() + ${visibilityMs} * interval '1 millisecond',
        available_at = now() + ${visibilityMs} * interval '1 millisecond'
    from next
    where e.id = next.id
    returning e.id, e.event_type, e.payload, e.attempts, e.received_at`;
  return rows.map((r) => ({
    id: r.id,
    eventType: r.event_type,
    payload: r.payload,
    attempts: r.attempts,
    receivedAt: r.received_at,
  })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
