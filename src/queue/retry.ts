/**
 * `convo queue retry`: dead events back to pending, for another round of
 * attempts (after the cause was fixed: a missing endpoint mapping added, a
 * bug deployed away).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { QUEUE_CHANNEL } from "./channel.ts";
import { type EventSelector, selectorCondition } from "./select.ts";

/** Options of {@link retryDead}. */
export interface RetryOptions {
  /** Only these events; default every dead event (that the selector matches). */
  ids?: readonly bigint[];
  /** Only dead events this selector also matches (its `status` is ignored: always dead). */
  selector?: EventSelector;
  /** Count what would be retried and change nothing. */
  dryRun?: boolean;
}

/** What {@link retryDead} did. */
export interface RetryResult {
  /** Dead events put back to pending (with `dryRun`: that would be). */
  retried: number;
  /**
   * Of the given ids, those that do not exist, are not dead or do not match
   * the selector (sorted, unique); untouched.
   */
  notDead: bigint[];
}

/**
 * Puts dead events (all, or those the ids and the selector pick) back to
 * `pending`, claimable at once: `attempts = 0`, `available_at = now()`,
 * `locked_until` and `processed_at` cleared. `last_error` is kept: it is the
 * record of why the event died until a new attempt overwrites it (a pending
 * event with a `last_error` is one that failed before). Ids that do not
 * exist or are not dead are reported in `notDead`, not an error: "retry
 * these if dead" is safe to repeat. In one transaction with a `pg_notify` on
 * the queue's channel, so long-running workers wake as soon as the events
 * are visible. With `dryRun`, the same selection is counted and nothing
 * changes (no notification either).
 *
 * @example Usage
 * ```ts ignore
 * import { retryDead } from "./retry.ts";
 * const { retried, notDead } = await retryDead(sql, { ids: [17n, 18n] });
 * // retried === 1, notDead === [18n] when only 17 was dead
 * await retryDead(sql, { selector: { eventType: "twilio.message", errorLike: "no endpoint" } });
 * ```
 */
export async function retryDead(sql: Sql, options: RetryOptions = {}): Promise<RetryResult> {
  const ids = options.ids;
  const where = selectorCondition(sql, { ...options.selector, status: "dead", ids });
  return await sql.begin(async (tx) => {
    let retried: number;
    let matched: bigint[] = [];
    if (options.dryRun) {
      if (ids === undefined) {
        const [{ n }] = await tx<{ n: number }[]>`
          select count(*)::int as n from inbound_events where ${where}`;
        retried = n;
      } else {
        matched = (await tx<{ id: bigint }[]>`select id from inbound_events where ${where}`)
          .map((r) => r.id);
        retried = matched.length;
      }
    } else if (ids === undefined) {
      const result = await tx`
        update inbound_events
        set status = 'pending', attempts = 0, available_at = now(), locked_until = null,
            processed_at = null
        where ${where}`;
      retried = result.count;
    } else {
      matched = (await tx<{ id: bigint }[]>`
        update inbound_events
        set status = 'pending', attempts = 0, available_at = now(), locked_until = null,
            processed_at = null
        where ${where}
        returning id`).map((r) => r.id);
      retried = matched.length;
    }
    const done = new Set(matched);
    const notDead = ids === undefined
      ? []
      : [...new Set(ids)].filter((id) => !done.has(id)).sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
    if (retried > 0 && !options.dryRun) await tx`select pg_notify(${QUEUE_CHANNEL}, '')`;
    return { retried, notDead };
  });
}
