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
  /** Delete events finished (done, or dead) more than this many milliseconds ago (≥ 0). */
  olderThanMs: number;
  /** Which events: `done` (default) or `dead` (finished = died, `processed_at`). */
  status?: "done" | "dead";
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
  /** The cutoff used: events finished before it were deleted. */
  cutoff: Date;
}

interface Batch {
  n: number;
  last_id: bigint | null;
  last_at: string | null;
}

/** Default events deleted per statement. */
export const PRUNE_BATCH_SIZE = 10_000;

/**
 * Deletes `done` (or, with `status`, `dead`) events with `processed_at` older
 * than `olderThanMs`, in
 * batches of `batchSize` ids, each its own statement and transaction, so a
 * large prune never holds one huge transaction (locks, WAL, bloat all at
 * once) and can be interrupted at any point without losing what it did.
 *
 * The cutoff (`now() - olderThanMs`) is fixed once at the start. Batches walk
 * the index `inbound_events_finished_idx (status, processed_at, id)` upwards
 * from where the last one stopped (keyset), so each batch reads only the rows
 * it deletes, rather than scanning the table or rescanning the entries the
 * previous ones deleted. Rows another
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
  const { olderThanMs, batchSize = PRUNE_BATCH_SIZE, status = "done" } = options;
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
  let after: { at: string; id: bigint } | null = null;
  while (true) {
    const [batch]: Batch[] = await sql<Batch[]>`
      with batch as (
        select id, processed_at from inbound_events
        where status = ${status} and processed_at < ${cutoff_text}::timestamptz
          ${
      after === null
        ? sql``
        : sql`and (processed_at, id) > (${after.at}::timestamptz, ${String(after.id)}::bigint)`
    }
        order by processed_at, id
        limit ${batchSize}
        for update skip locked
      ), gone as (
        delete from inbound_events e using batch b where e.id = b.id
        returning e.id, e.processed_at
      ), last as (
        select id, processed_at::text as at from gone order by processed_at desc, id desc limit 1
      )
      select (select count(*)::int from gone) as n, last.id as last_id, last.at as last_at
      from (select 1) one left join last on true`;
    batches++;
    deleted += batch.n;
    options.onBatch?.(deleted);
    if (batch.n < batchSize || batch.last_id === null || batch.last_at === null) break;
    after = { at: batch.last_at, id: batch.last_id };
  }
  return { deleted, batches, cutoff };
}
