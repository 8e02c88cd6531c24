/**
 * The queue's SQL: claim a batch, extend its claim (heartbeat), record what
 * became of each event, release a batch unprocessed. Each is one statement over
 * arrays (`unnest`), never a statement per event.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import type { ClaimedEvent, Outcome } from "./types.ts";

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

function claimArrays(events: readonly { id: bigint; attempts: number }[]) {
  return { ids: events.map((e) => e.id.toString()), attempts: events.map((e) => e.attempts) };
}

/**
 * Extends the claim of events still held by this claim. Skips rows another
 * transaction has locked (the batch being committed), so it never waits and
 * never deadlocks with its own worker.
 *
 * @returns how many claims were extended.
 */
export async function extendClaims(
  sql: Sql,
  events: readonly ClaimedEvent[],
  visibilityMs: number,
): Promise<number> {
  if (events.length === 0) return 0;
  const { ids, attempts } = claimArrays(events);
  const result = await sql`
    with mine as (
      select e.id from inbound_events e
      join unnest(${ids}::bigint[], ${attempts}::int[]) as c(id, attempts)
        on e.id = c.id and e.attempts = c.attempts
      where e.status = 'processing'
      order by e.id
      for update of e skip locked
    )
    update inbound_events e
    set locked_until = now() + ${visibilityMs} * interval '1 millisecond',
        available_at = now() + ${visibilityMs} * interval '1 millisecond'
    from mine where e.id = mine.id`;
  return result.count;
}

/**
 * Records outcomes: `done` (processed_at set), `dead` (last_error set), or back
 * to `pending` after a delay. Only rows still held by the given claims change.
 * Runs inside the batch's transaction, so the events are done exactly when their
 * messages are written.
 *
 * @returns how many events were updated.
 */
export async function recordOutcomes(sql: Sql, outcomes: readonly Outcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  const sorted = [...outcomes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const { ids, attempts } = claimArrays(sorted);
  const statuses = sorted.map((o) => (o.status === "retry" ? "pending" : o.status));
  const errors = sorted.map((o) => (o.status === "done" ? null : o.error.slice(0, 2000)));
  const delays = sorted.map((o) => (o.status === "retry" ? Math.round(o.delayMs) : 0));
  const result = await sql`
    update inbound_events e
    set status = x.status,
        processed_at = case when x.status = 'done' then now() else e.processed_at end,
        last_error = case when x.status = 'done' then null else x.error end,
        locked_until = null,
        available_at = case when x.status = 'pending'
          then now() + x.delay_ms * interval '1 millisecond' else e.available_at end
    from unnest(${ids}::bigint[], ${attempts}::int[], ${statuses}::text[], ${errors}::text[],
                ${delays}::bigint[]) as x(id, attempts, status, error, delay_ms)
    where e.id = x.id and e.attempts = x.attempts and e.status = 'processing'`;
  return result.count;
}

/**
 * Gives claimed events back unprocessed (shutdown before their batch started):
 * pending again at once, and the attempt does not count.
 */
export async function releaseEvents(sql: Sql, events: readonly ClaimedEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const { ids, attempts } = claimArrays(events);
  const result = await sql`
    update inbound_events e
    set status = 'pending', attempts = e.attempts - 1, locked_until = null, available_at = now()
    from unnest(${ids}::bigint[], ${attempts}::int[]) as c(id, attempts)
    where e.id = c.id and e.attempts = c.attempts and e.status = 'processing'`;
  return result.count;
}
