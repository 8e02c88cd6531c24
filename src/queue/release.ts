/**
 * Gives claimed events back unprocessed (shutdown with a batch claimed ahead).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { claimArrays } from "./_claim_arrays.ts";
import type { ClaimedEvent } from "./types.ts";

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
