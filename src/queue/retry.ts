/**
 * `convo queue retry`: dead events back to pending, for another round of
 * attempts (after the cause was fixed: a missing endpoint mapping added, a
 * bug deployed away).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { QUEUE_CHANNEL } from "./channel.ts";

/** Options of {@link retryDead}. */
export interface RetryOptions {
  /** Only these events; default every dead event. */
  ids?: readonly bigint[];
}

/** What {@link retryDead} did. */
export interface RetryResult {
  /** Dead events put back to pending. */
  retried: number;
  /** Of the given ids, those that do not exist or are not dead (sorted, unique); untouched. */
  notDead: bigint[];
}

/**
 * Puts dead events (all, or the given ids) back to `pending`, claimable at
 * once: `attempts = 0`, `available_at = now()`, `locked_until` and
 * `processed_at` cleared. `last_error` is kept: it is the record of why the
 * event died until a new attempt overwrites it (a pending event with a
 * `last_error` is one that failed before). Ids that do not exist or are not
 * dead are reported in `notDead`, not an error: "retry these if dead" is safe
 * to repeat. In one transaction with a `pg_notify` on the queue's channel, so
 * long-running workers wake as soon as the events are visible.
 *
 * @example Usage
 * ```ts ignore
 * import { retryDead } from "./retry.ts";
 * const { retried, notDead } = await retryDead(sql, { ids: [17n, 18n] });
 * // retried === 1, notDead === [18n] when only 17 was dead
 * ```
 */
export async function retryDead(sql: Sql, options: RetryOptions = {}): Promise<RetryResult> {
  const ids = options.ids;
  return await sql.begin(async (tx) => {
    let retried: number;
    let notDead: bigint[] = [];
    if (ids === undefined) {
      const result = await tx`
        update inbound_events
        set status = 'pending', attempts = 0, available_at = now(), locked_until = null,
            processed_at = null
        where status = 'dead'`;
      retried = result.count;
    } else {
      const rows = await tx<{ id: bigint; retried: boolean }[]>`
        with wanted as (
          select distinct id from unnest(${ids.map(String)}::bigint[]) as t(id)
        ), updated as (
          update inbound_events e
          set status = 'pending', attempts = 0, available_at = now(), locked_until = null,
              processed_at = null
          from wanted w
          where e.id = w.id and e.status = 'dead'
          returning e.id
        )
        select w.id, exists (select 1 from updated u where u.id = w.id) as retried
        from wanted w
        order by w.id`;
      retried = rows.filter((r) => r.retried).length;
      notDead = rows.filter((r) => !r.retried).map((r) => r.id);
    }
    if (retried > 0) await tx`select pg_notify(${QUEUE_CHANNEL}, '')`;
    return { retried, notDead };
  });
}
