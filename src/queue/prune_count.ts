/**
 * `convo queue prune --dry-run`: how many events a prune would delete.
 *
 * Kept apart from `prune.ts` (whose statement it mirrors) so the two can
 * change in parallel; its predicate must stay `pruneDone`'s: done (or, with
 * `status`, dead) events with `processed_at` before `now() - olderThanMs` (tests/queue/prune_count_test.ts
 * checks the count against what `pruneDone` then deletes).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";

/** What {@link countPrunable} found. */
export interface PruneCount {
  /** Events of the status processed (or dead) before the cutoff. */
  count: number;
  /** The cutoff: `now() - olderThanMs`. */
  cutoff: Date;
}

/**
 * Counts the done (or `status`) events processed more than `olderThanMs` ago;
 * changes nothing.
 *
 * @throws {RangeError} when `olderThanMs` is negative or not finite.
 * @example Usage
 * ```ts ignore
 * import { countPrunable } from "./prune_count.ts";
 * const { count, cutoff } = await countPrunable(sql, { olderThanMs: 7 * 86_400_000 });
 * ```
 */
export async function countPrunable(
  sql: Sql,
  options: { olderThanMs: number; status?: "done" | "dead" },
): Promise<PruneCount> {
  const { olderThanMs } = options;
  const status = options.status ?? "done";
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new RangeError(
      `Cannot count prunable events: current olderThanMs is '${olderThanMs}' (expected a duration ≥ 0)`,
    );
  }
  const [row] = await sql<{ count: number; cutoff: Date }[]>`
    with c as (
      select now() - ${String(Math.round(olderThanMs))}::bigint * interval '1 millisecond' as cutoff
    )
    select (select count(*)::int from inbound_events, c
            where status = ${status} and processed_at < c.cutoff) as count,
           (select cutoff from c) as cutoff`;
  return { count: row.count, cutoff: row.cutoff };
}
