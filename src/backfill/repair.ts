/**
 * `repairCounters()`: `backfill-conversations --recount`, drift repair.
 * Recomputes the counters, `last_message_at` and `last_snippet` of every
 * conversation (or one customer's) from its messages, in id-ordered batches of
 * one transaction each (`recount.ts`: safe next to workers). Assignments are
 * not touched.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { recountConversations } from "./recount.ts";

/** Options of {@link repairCounters}. */
export interface RepairOptions {
  /** Conversations per batch. Default 5000. */
  batchSize?: number;
  /** Only this customer's conversations. */
  customerId?: bigint;
  /** Grapheme clusters in a snippet (config.snippetLength). */
  snippetLength: number;
  /** Stops after the current batch when aborted. */
  signal?: AbortSignal;
  /** Called after every batch with the conversations done and the total. */
  onProgress?: (progress: { total: number; scanned: number; elapsedMs: number }) => void;
  /** The clock (tests). */
  now?: () => number;
}

/** What {@link repairCounters} did. */
export interface RepairResult {
  /** Conversations at the start. */
  readonly total: number;
  /** Conversations recounted. */
  readonly recounted: number;
  /** Of them, those whose counters were wrong (now fixed). */
  readonly repaired: number;
  /** Wall time. */
  readonly elapsedMs: number;
  /** Stopped by the signal before the end. */
  readonly interrupted: boolean;
}

/**
 * Recounts conversations from their messages.
 *
 * @example Usage
 * ```ts ignore
 * const { repaired } = await repairCounters(sql, { snippetLength: 120 });
 * ```
 */
export async function repairCounters(sql: Sql, options: RepairOptions): Promise<RepairResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const batchSize = options.batchSize ?? 5000;
  const customer = options.customerId?.toString();
  const [{ n }] = customer === undefined
    ? await sql<{ n: bigint }[]>`select count(*) as n from conversations`
    : await sql<
      { n: bigint }[]
    >`select count(*) as n from conversations where customer_id = ${customer}`;
  const total = Number(n);
  let after = -(2n ** 63n);
  let recounted = 0, repaired = 0, interrupted = false;
  for (;;) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    const from = after.toString();
    const ids = (customer === undefined
      ? await sql<{ id: bigint }[]>`
          select id from conversations where id > ${from}::bigint order by id limit ${batchSize}`
      : await sql<{ id: bigint }[]>`
          select id from conversations where customer_id = ${customer} and id > ${from}::bigint
          order by id limit ${batchSize}`).map((r) => r.id);
    if (ids.length === 0) break;
    repaired += await sql.begin((tx) =>
      recountConversations(tx as unknown as Sql, ids, { snippetLength: options.snippetLength })
    );
    recounted += ids.length;
    after = ids[ids.length - 1];
    options.onProgress?.({ total, scanned: recounted, elapsedMs: now() - started });
    if (ids.length < batchSize) break;
  }
  return { total, recounted, repaired, elapsedMs: now() - started, interrupted };
}
