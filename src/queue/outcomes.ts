/**
 * Records what became of claimed events (done, dead, or back to pending).
 *
 * @module
 */
import { bareArray, textArray } from "../db/array_literal.ts";
import type { Sql } from "../db/connect.ts";
import { claimArrays } from "./_claim_arrays.ts";
import type { Outcome } from "./types.ts";

/**
 * Records outcomes: `done` (processed_at set), `dead` (last_error and
 * processed_at set: when it died), or back
 * to `pending` after a delay (a `refund` one with its attempt not counted).
 * Only rows still held by the given claims change (`attempts` and `processing`
 * match): a claim that expired and was taken by another worker changes
 * nothing. Runs inside the batch's transaction, so the events are done exactly
 * when their messages are written.
 *
 * @returns the outcomes recorded: those whose claim was still held. What a
 * worker counts as done, retried or dead is these, not what it meant to record.
 */
export async function recordOutcomes(
  sql: Sql,
  outcomes: readonly Outcome[],
): Promise<Outcome[]> {
  if (outcomes.length === 0) return [];
  const sorted = [...outcomes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const { ids, attempts } = claimArrays(sorted);
  const statuses = textArray(sorted, (o) => (o.status === "retry" ? "pending" : o.status));
  const errors = textArray(sorted, (o) => (o.status === "done" ? null : o.error.slice(0, 2000)));
  const delays = bareArray(sorted, (o) => (o.status === "retry" ? Math.round(o.delayMs) : 0));
  const refunds = bareArray(sorted, (o) => (o.status === "retry" && o.refund === true ? 1 : 0));
  const rows = await sql<{ id: bigint }[]>`
    update inbound_events e
    set status = x.status,
        attempts = e.attempts - x.refund,
        processed_at = case when x.status in ('done', 'dead') then now() else e.processed_at end,
        last_error = case when x.status = 'done' then null else x.error end,
        locked_until = null,
        available_at = case when x.status = 'pending'
          then now() + x.delay_ms * interval '1 millisecond' else e.available_at end
    from unnest(${ids}::bigint[], ${attempts}::int[], ${statuses}::text[], ${errors}::text[],
                ${delays}::bigint[], ${refunds}::int[])
           as x(id, attempts, status, error, delay_ms, refund)
    where e.id = x.id and e.attempts = x.attempts and e.status = 'processing'
    returning e.id`;
  if (rows.length === sorted.length) return sorted;
  const recorded = new Set(rows.map((r) => r.id));
  return sorted.filter((o) => recorded.has(o.id));
}
