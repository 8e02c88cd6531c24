/**
 * `convo queue prune`: deletes done events once they are old enough, so the
 * queue table stays small (done events are kept for a while as a record and
 * for replays).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";

/** Options of {@link pruneDone}. */
export interface PruneOptions {
  /** Delete done events processed more than this many milliseconds ago (≥ 0). */
  olderThanMs: number;
  /** Events deleted per statement; default {@link PRUNE_BATCH_SIZE}. */
  batchSize?: number;
  /** Called after each batch with the running total (progress of a long prune). */
  onBatch?: (deletedSoFar: number) => void;
}

/** What {@link pruneDone} did. */
export interface PruneResult {
  /** Events deleted. */
  deleted: number;
  /** Delete statements run (the last one may have deleted fewer than a batch). */
  batches: number;
  /** The cutoff used: done events processed before it were deleted. */
  cutoff: Date;
}

/** Default events deleted per statement. */
export const PRUNE_BATCH_SIZE = 10_000;

/**
 * Deletes `done` events with `processed_at` older than `olderThanMs`, in
 * batches of `batchSize` ids, each its own statement and transaction, so a
 * large prune never holds one huge transaction (locks, WAL, bloat all at
 * once) and can be interrupted at any point without losing what it did.
 *
 * The cutoff (`now() - olderThanMs`) is fixed once at the start. Batches walk
 * the primary key upwards from where the last one stopped (keyset), so each
 * row is looked at once however many batches there are, rather than every
 * batch rescanning the entries the previous ones deleted. Rows another
 * transaction holds locked are skipped (`skip locked`), so two prunes at once
 * share the work; the loop ends with the first batch that is not full.
 *
 * @throws {RangeError} when `olderThanMs` is negative or `batchSize` not a positive integer.
 * @example Usage
 * ```ts ignore
 * import { pruneDone } from "./prune.ts";
 * const { deleted } = await pruneDone(sql, { olderThanMs: 7 * 86_400_000 });
 * ```
 */
export async function pruneDone(sql: Sql, options: PruneOptions): Promise<PruneResult> {
  const { olderThanMs, batchSize = PRUNE_BATCH_SIZE } = options;
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new RangeError(
      `Cannot prune: current olderThanMs is '${olderThanMs}' (expected a duration ≥ 0)`,
    );
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot prune: current batchSize is '${batchSize}' (expected a positive integer)`,
    );
  }
  // As text, so the cutoff keeps PostgreSQL's microseconds (a Date has milliseconds).
  const [{ cutoff, cutoff_text }] = await sql<{ cutoff: Date; cutoff_text: string }[]>`
    select c as cutoff, c::text as cutoff_text
    from (select now() - ${
    String(Math.round(olderThanMs))
  }::bigint * interval '1 millisecond' as c) t`;

  let deleted = 0;
  let batches = 0;
  let after: bigint | null = null;
  while (true) {
    const [batch]: { n: number; last: bigint | null }[] = await sql<
      { n: number; last: bigint | null }[]
    >`
      with batch as (
        select id from inbound_events
        where status = 'done' and processed_at < ${cutoff_text}::timestamptz
          ${after === null ? sql`` : sql`and id > ${after}`}
        order by id
        limit ${batchSize}
        for update skip locked
      ), gone as (
        delete from inbound_events e using batch b where e.id = b.id returning e.id
      )
      select count(*)::int as n, max(id) as last from gone`;
    batches++;
    deleted += batch.n;
    options.onBatch?.(deleted);
    if (batch.n < batchSize || batch.last === null) break;
    after = batch.last;
  }
  return { deleted, batches, cutoff };
}
