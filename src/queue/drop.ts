/**
 * `convo queue drop`: deletes dead events an operator has given up on (a
 * payload no fix will make valid, a test burst to a number nobody owns).
 * Never a pending, processing or done event: every statement that deletes
 * says `status = 'dead'` itself, so an event retried between the count and
 * the delete is left alone.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { type EventSelector, hasFilter, selectorCondition } from "./select.ts";

/** Options of {@link dropDead}. */
export interface DropOptions {
  /** Which dead events (its `status` is ignored: always dead). */
  selector?: EventSelector;
  /** Required when the selector has no filter: every dead event. */
  allDead?: boolean;
  /** Count what would be dropped and change nothing. */
  dryRun?: boolean;
  /** Events deleted per statement (each its own transaction); default 10 000. */
  batchSize?: number;
  /** Called with the count before anything is deleted (a seam for tests of the race). */
  onCounted?: (matched: number) => Promise<void> | void;
}

/** What {@link dropDead} did. */
export interface DropResult {
  /** Dead events the selector matched when counted. */
  matched: number;
  /** Events deleted (0 with `dryRun`). */
  dropped: number;
}

/**
 * Counts the dead events the selector picks, then (unless `dryRun`) deletes
 * them in batches, walking the primary key upwards: each batch selects dead
 * matching events `for update skip locked` and deletes them with
 * `status = 'dead'` in the delete itself. Under READ COMMITTED a row updated
 * by a transaction that committed meanwhile is re-read before it is locked or
 * deleted, so an event put back to pending (or claimed) after the count is
 * not deleted: `dropped` is then less than `matched`.
 *
 * @throws {RangeError} when the selector has no filter and `allDead` is not set,
 * or `batchSize` is not a positive integer.
 * @example Usage
 * ```ts ignore
 * import { dropDead } from "./drop.ts";
 * const { matched, dropped } = await dropDead(sql, { selector: { eventType: "twilio.message" } });
 * ```
 */
export async function dropDead(sql: Sql, options: DropOptions): Promise<DropResult> {
  const selector: EventSelector = { ...options.selector, status: "dead" };
  if (!hasFilter(selector) && !options.allDead) {
    throw new RangeError("Cannot drop: no filter given (pass allDead to drop every dead event)");
  }
  const batchSize = options.batchSize ?? 10_000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot drop: current batchSize is '${batchSize}' (expected a positive integer)`,
    );
  }
  const where = selectorCondition(sql, selector);
  const [{ n: matched }] = await sql<{ n: number }[]>`
    select count(*)::int as n from inbound_events where ${where}`;
  if (options.dryRun || matched === 0) return { matched, dropped: 0 };
  await options.onCounted?.(matched);

  let dropped = 0;
  let after: bigint | null = null;
  while (true) {
    const [batch]: { picked: number; last: bigint | null; n: number }[] = await sql<
      { picked: number; last: bigint | null; n: number }[]
    >`
      with batch as (
        select id from inbound_events
        where ${where} ${after === null ? sql`` : sql`and id > ${after}`}
        order by id
        limit ${batchSize}
        for update skip locked
      ), gone as (
        delete from inbound_events e using batch b
        where e.id = b.id and e.status = 'dead'
        returning e.id
      )
      select (select count(*)::int from batch) as picked, (select max(id) from batch) as last,
             (select count(*)::int from gone) as n`;
    dropped += batch.n;
    if (batch.picked < batchSize || batch.last === null) break;
    after = batch.last;
  }
  return { matched, dropped };
}
