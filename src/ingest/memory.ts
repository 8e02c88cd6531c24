/**
 * The worker's memory budget: how many bytes of payload a claim may take so
 * that every batch in memory at once fits the V8 heap.
 *
 * A loop holds up to two batches (the one being written and the one claimed
 * ahead), so `2 × concurrency` batches are in memory at once. Each byte of
 * payload costs about {@link HEAP_BYTES_PER_PAYLOAD_BYTE} bytes of heap at the
 * peak: 64 Postmark payloads of 230 KB (14 MB of JSON) parsed and prepared
 * kept 28 MB live (factor 2.0, measured with `--expose-gc`), and the wire text
 * and the write's parameters are transient copies on top. A claim may overshoot
 * its byte budget by one event (the event that crosses it is taken), so a
 * batch is at most `batchBytes + maxPayloadBytes`.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** Heap bytes per byte of payload held in a batch, at the peak (see the module doc). */
export const HEAP_BYTES_PER_PAYLOAD_BYTE = 4;
/** Heap the worker needs besides its batches: code, caches (20 000 rows of each kind), buffers. */
export const HEAP_BASE_BYTES = 96 * 1024 * 1024;
/** The largest default batch budget: beyond this a batch is slow to write, not faster. */
export const MAX_DEFAULT_BATCH_BYTES = 16 * 1024 * 1024;

/** What {@link batchBytesBudget} decides from. */
export interface MemoryBudgetOptions {
  /** V8's heap limit (`v8.getHeapStatistics().heap_size_limit`). */
  heapLimitBytes: number;
  /** Batch loops. */
  concurrency: number;
  /** Largest payload enqueue accepts (`CONVO_MAX_PAYLOAD_BYTES`). */
  maxPayloadBytes: number;
  /** `--batch-bytes`, when given. */
  requested?: number;
}

/**
 * The payload bytes one claim may take: `requested` when it fits the heap,
 * else the largest that fits, at most {@link MAX_DEFAULT_BATCH_BYTES}.
 *
 * @throws {UsageError} when `requested` (or, without it, any batch) cannot fit.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchBytesBudget } from "./memory.ts";
 * const heap = 518 * 1024 * 1024; // --max-old-space-size=512
 * assert.equal(batchBytesBudget({ heapLimitBytes: heap, concurrency: 1, maxPayloadBytes: 262_144 }), 16 * 1024 * 1024);
 * assert.throws(() =>
 *   batchBytesBudget({ heapLimitBytes: heap, concurrency: 8, maxPayloadBytes: 262_144, requested: 64 * 1024 * 1024 })
 * );
 * ```
 */
export function batchBytesBudget(options: MemoryBudgetOptions): number {
  const { heapLimitBytes, concurrency, maxPayloadBytes, requested } = options;
  const perBatch = (heapLimitBytes - HEAP_BASE_BYTES) /
    (2 * concurrency * HEAP_BYTES_PER_PAYLOAD_BYTE);
  const fits = Math.floor(perBatch - maxPayloadBytes);
  const mb = (n: number) => `${Math.round(n / 1048576)} MiB`;
  if (requested !== undefined) {
    if (requested <= fits) return requested;
    throw new UsageError(
      `invalid --batch-bytes: current value is '${requested}' (2 batches × concurrency ` +
        `${concurrency} do not fit the ${mb(heapLimitBytes)} heap)`,
      {
        hint: fits >= 65_536
          ? `use at most ${fits}, lower --concurrency, or raise --max-old-space-size`
          : "lower --concurrency, or raise --max-old-space-size",
      },
    );
  }
  if (fits < 65_536) {
    throw new UsageError(
      `invalid --concurrency: current value is '${concurrency}' (its batches do not fit the ` +
        `${mb(heapLimitBytes)} heap)`,
      { hint: "lower --concurrency, or raise --max-old-space-size" },
    );
  }
  return Math.min(MAX_DEFAULT_BATCH_BYTES, fits);
}

/** What {@link maxEventBytes} decides from. */
export interface EventLimitOptions {
  /** V8's heap limit (`v8.getHeapStatistics().heap_size_limit`). */
  heapLimitBytes: number;
  /** Batch loops. */
  concurrency: number;
  /** Payload bytes per claim ({@link batchBytesBudget}). */
  batchBytes: number;
  /** Largest payload enqueue accepts (`CONVO_MAX_PAYLOAD_BYTES`). */
  maxPayloadBytes: number;
}

/**
 * The largest payload (JSON text) the worker can hold: what is left of the heap for one
 * event claimed alone while every other batch in memory is at its largest. A larger one
 * (stored by a direct insert, an older version or under a higher cap) would exhaust the
 * heap and crash the worker at every attempt, or block it for seconds in `JSON.parse`
 * (deaf to SIGTERM); the claim leaves its payload in the database and the worker
 * dead-letters it with this limit in the reason.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxEventBytes } from "./memory.ts";
 * const MiB = 1024 * 1024;
 * const limit = maxEventBytes({
 *   heapLimitBytes: 518 * MiB, // --max-old-space-size=512
 *   concurrency: 1,
 *   batchBytes: 16 * MiB,
 *   maxPayloadBytes: 262_144,
 * });
 * assert.equal(Math.round(limit / MiB), 89);
 * ```
 */
export function maxEventBytes(options: EventLimitOptions): number {
  const { heapLimitBytes, concurrency, batchBytes, maxPayloadBytes } = options;
  const others = (2 * concurrency - 1) * (batchBytes + maxPayloadBytes);
  const fits = Math.floor(
    (heapLimitBytes - HEAP_BASE_BYTES) / HEAP_BYTES_PER_PAYLOAD_BYTE - others,
  );
  // Never below what a batch may hold: batchBytesBudget has checked that it fits.
  return Math.max(fits, batchBytes + maxPayloadBytes);
}
