/**
 * Records what became of claimed events (done, dead, or back to pending).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { claimArrays } from "./_claim_arrays.ts";
import type { Outcome } from "./types.ts";

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
