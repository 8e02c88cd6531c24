/**
 * Extends the claims of a batch in hand (the worker's heartbeat).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { claimArrays } from "./_claim_arrays.ts";
import type { ClaimedEvent } from "./types.ts";

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
