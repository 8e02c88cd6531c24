/**
 * The worker loop. It knows no SQL: it is handed `claim`, `process`,
 * `heartbeat` and `waitForWork`, a clock and an abort signal, so its behaviour
 * (limits, drain, shutdown, heartbeats) is tested with fakes.
 *
 * `concurrency` loops run side by side, each claiming and processing its own
 * batches; they share the `maxEvents` budget and the stop conditions.
 *
 * @module
 */
import type { BatchResult, ClaimedEvent } from "./types.ts";

/** What the loop is handed; `P` is what `prepare` makes of a batch. */
export interface WorkerDeps<P = unknown> {
  /**
   * Claims up to `limit` events (for loop number `loop`). With
   * `suspects: false` it must not take a suspect (an event whose previous
   * claim expired: see `claim.ts`); a suspect it may take comes alone.
   */
  claim(limit: number, loop: number, options: { suspects: boolean }): Promise<ClaimedEvent[]>;
  /**
   * Prepares a batch (parsing, routing: no writes) so that it can run while
   * the previous batch's transaction is in the database. Optional.
   */
  prepare?(batch: ClaimedEvent[], loop: number): Promise<P>;
  /** Processes a batch and records its outcomes; `prepared` is what `prepare` returned. */
  process(batch: ClaimedEvent[], loop: number, prepared?: P): Promise<BatchResult>;
  /** Gives back events claimed ahead but never processed (at shutdown). */
  release?(batch: ClaimedEvent[]): Promise<void>;
  /** Extends the claim of a batch in hand. */
  heartbeat(batch: ClaimedEvent[]): Promise<void>;
  /**
   * Resolves when work may have arrived (a notification), after `ms`, or when
   * `signal` aborts, whichever is first.
   */
  waitForWork(ms: number, signal: AbortSignal): Promise<void>;
  /** Called after each batch with the statistics so far. */
  onBatch?(stats: Readonly<WorkerStats>): void;
  /** Called when a claim or a batch throws (the database is out of reach). */
  onError?(err: unknown, loop: number): void;
  /**
   * Whether an error from a claim or a batch is fatal: trying again cannot
   * help (the database has no schema). Every loop stops and {@link runWorker}
   * throws it. Default: none is.
   */
  isFatal?(err: unknown): boolean;
  /** Milliseconds now (default `performance.now`). */
  now?: () => number;
  /** Waits `ms` unless aborted (default: a timer). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Limits and modes of the loop. */
export interface WorkerOptions {
  /** Events per claim. */
  batchSize: number;
  /** Parallel loops. */
  concurrency: number;
  /** Exit when nothing is claimable (cron mode). */
  drain: boolean;
  /** Stop claiming after this many events. */
  maxEvents?: number;
  /** Stop claiming after this long. */
  maxSeconds?: number;
  /** Idle wait between polls when no notification comes. */
  pollMs: number;
  /** Heartbeat period while a batch is in hand. */
  heartbeatMs: number;
  /**
   * How long the heartbeat extends the claims of one batch (and of the batch
   * claimed ahead with it). After that a batch stuck in the database (a hung
   * connection, a frozen process) lets its events go back to the queue when
   * the claim expires, instead of holding them for as long as it hangs.
   * Default 30 × `heartbeatMs` (10 × the visibility timeout in `convo work`).
   */
  maxHoldMs?: number;
  /** Pause after an error before trying again. */
  errorBackoffMs?: number;
  /**
   * Consecutive errors (claims or batches that threw, with no claim or batch
   * succeeding in between) after which the loops stop with `errors`: a cron
   * drain must end while the database is out of reach. Default: no limit.
   */
  maxErrors?: number;
  /**
   * Claim and prepare the next batch while the current one is written (one
   * batch ahead per loop). Needs `prepare`; default true.
   */
  lookahead?: boolean;
}

/** What the loop did. */
export interface WorkerStats {
  claimed: number;
  done: number;
  retried: number;
  dead: number;
  inserted: number;
  batches: number;
  errors: number;
  /** Claimed ahead, then given back unprocessed at shutdown. */
  released: number;
  /**
   * Claimed, but the batch failed without its outcomes recorded (the database
   * went away): left claimed until the visibility timeout. Absent: 0.
   */
  unfinished?: number;
  /** Milliseconds from start to stop. */
  elapsedMs: number;
  /** Why it stopped. */
  stoppedBy: "drained" | "max-events" | "max-seconds" | "signal" | "errors";
}

/** Statistics before anything happened. */
export function emptyStats(): WorkerStats {
  return {
    claimed: 0,
    done: 0,
    retried: 0,
    dead: 0,
    inserted: 0,
    batches: 0,
    errors: 0,
    released: 0,
    unfinished: 0,
    elapsedMs: 0,
    stoppedBy: "drained",
  };
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/**
 * Runs the loops until drained, a limit is reached, or `signal` aborts. On
 * abort no new batch is claimed; batches in hand are finished.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { runWorker } from "./worker.ts";
 * const queue = [1n, 2n, 3n].map((id) => ({
 *   id, eventType: "message.received", payload: {}, attempts: 1, receivedAt: new Date(0),
 * }));
 * const stats = await runWorker({
 *   claim: (n) => Promise.resolve(queue.splice(0, n)),
 *   process: (b) => Promise.resolve({ done: b.length, retried: 0, dead: 0, inserted: b.length }),
 *   heartbeat: () => Promise.resolve(),
 *   waitForWork: () => Promise.resolve(),
 * }, { batchSize: 2, concurrency: 1, drain: true, pollMs: 1000, heartbeatMs: 10_000 },
 *   new AbortController().signal);
 * assert.equal(stats.done, 3);
 * assert.equal(stats.batches, 2);
 * assert.equal(stats.stoppedBy, "drained");
 * ```
 */
export async function runWorker<P = unknown>(
  deps: WorkerDeps<P>,
  options: WorkerOptions,
  signal: AbortSignal,
): Promise<WorkerStats> {
  const now = deps.now ?? (() => performance.now());
  const sleep = deps.sleep ?? defaultSleep;
  const started = now();
  const stats = emptyStats();
  // Claimed plus reserved by in-flight claims: the max-events budget.
  let budgetUsed = 0;
  let stopped: WorkerStats["stoppedBy"] | undefined;
  // Aborted when the loops must stop waiting: a signal, a limit, or drained.
  const idle = new AbortController();
  const stop = (why: WorkerStats["stoppedBy"]) => {
    stopped ??= why;
    idle.abort();
  };
  const onAbort = () => stop("signal");
  if (signal.aborted) stop("signal");
  signal.addEventListener("abort", onAbort, { once: true });
  let idleLoops = 0;
  let consecutiveErrors = 0;
  let fatal: { error: unknown } | undefined;
  /** Counts an error; true when the loops must stop (fatal, or the budget is spent). */
  const failed = (err: unknown, n: number): boolean => {
    stats.errors++;
    deps.onError?.(err, n);
    if (deps.isFatal?.(err)) {
      fatal ??= { error: err };
      stop("errors");
      return true;
    }
    if (options.maxErrors !== undefined && ++consecutiveErrors >= options.maxErrors) {
      stop("errors");
      return true;
    }
    return false;
  };
  // At most one suspect in hand in this process, and nothing claimed ahead
  // beside it: if it kills the process, only it (and the batches of other
  // loops) lose their claims, and those are then suspects tried alone.
  let suspectHeld = false;

  /** How many events the next claim may take, reserving them from the budget. */
  function reserve(): number {
    let limit = options.batchSize;
    if (options.maxEvents !== undefined) {
      limit = Math.min(limit, options.maxEvents - budgetUsed);
      if (limit <= 0) return 0;
    }
    budgetUsed += limit;
    return limit;
  }
  const timeUp = () =>
    options.maxSeconds !== undefined && now() - started >= options.maxSeconds * 1000;

  interface Claimed {
    batch: ClaimedEvent[];
    prepared?: P;
    error?: unknown;
  }

  async function claimAndPrepare(
    limit: number,
    n: number,
    ahead: { batch?: ClaimedEvent[] } | undefined,
  ) {
    const got: Claimed = { batch: [] };
    // A loop claiming ahead holds a batch already: no suspect beside it.
    const suspects = ahead === undefined && !suspectHeld;
    if (suspects) suspectHeld = true;
    try {
      got.batch = await deps.claim(limit, n, { suspects });
    } catch (err) {
      got.error = err;
    }
    if (suspects && !got.batch.some((e) => e.expired)) suspectHeld = false;
    budgetUsed -= limit - got.batch.length;
    if (ahead) ahead.batch = got.batch;
    if (got.batch.length > 0 && deps.prepare) {
      try {
        got.prepared = await deps.prepare(got.batch, n);
      } catch (err) {
        // Not fatal: `process` gets no preparation and does it itself.
        deps.onError?.(err, n);
      }
    }
    return got;
  }

  async function loop(n: number): Promise<void> {
    const useLookahead = (options.lookahead ?? true) && deps.prepare !== undefined;
    let ahead: Promise<Claimed> | undefined;
    const aheadRef: { batch?: ClaimedEvent[] } = {};
    try {
      while (!stopped) {
        let got: Claimed;
        if (ahead) {
          got = await ahead;
          ahead = undefined;
          aheadRef.batch = undefined;
          // Nothing claimed ahead (the queue was empty then, or a suspect is at
          // its head): claim afresh rather than conclude the queue is drained.
          if (got.batch.length === 0 && got.error === undefined) continue;
        } else {
          if (timeUp()) {
            stop("max-seconds");
            break;
          }
          const limit = reserve();
          if (limit === 0) {
            stop("max-events");
            break;
          }
          got = await claimAndPrepare(limit, n, undefined);
        }
        if (got.error !== undefined) {
          if (failed(got.error, n)) break;
          await sleep(options.errorBackoffMs ?? 1000, idle.signal);
          continue;
        }
        consecutiveErrors = 0;
        const batch = got.batch;
        if (batch.length === 0) {
          if (options.drain) {
            // Drained when every loop found nothing at once: a loop still busy
            // may fail a batch back into the queue.
            idleLoops++;
            if (idleLoops >= options.concurrency) {
              stop("drained");
              break;
            }
            await sleep(Math.min(options.pollMs, 50), idle.signal);
            idleLoops--;
            continue;
          }
          // Stopped while claiming: the abort has fired, do not wait for another.
          if (stopped) break;
          await deps.waitForWork(options.pollMs, idle.signal);
          continue;
        }
        stats.claimed += batch.length;
        const suspect = batch.some((e) => e.expired);
        // The next batch is claimed and prepared while this one is written;
        // not beside a suspect.
        if (useLookahead && !suspect && !stopped && !timeUp()) {
          const limit = reserve();
          if (limit > 0) ahead = claimAndPrepare(limit, n, aheadRef);
        }
        const heldSince = now();
        let beating = false;
        const beat = setInterval(() => {
          if (now() - heldSince >= (options.maxHoldMs ?? options.heartbeatMs * 30)) {
            clearInterval(beat);
            deps.onError?.(
              new Error("a batch is still in hand; its claims are no longer extended"),
              n,
            );
            return;
          }
          // One heartbeat at a time: heartbeats piling up behind a hung one
          // would take every connection of the pool.
          if (beating) return;
          beating = true;
          const held = aheadRef.batch?.length ? [...batch, ...aheadRef.batch] : batch;
          deps.heartbeat(held).catch((err) => deps.onError?.(err, n)).finally(() =>
            beating = false
          );
        }, options.heartbeatMs);
        try {
          const r = await deps.process(batch, n, got.prepared);
          stats.done += r.done;
          stats.retried += r.retried;
          stats.dead += r.dead;
          stats.inserted += r.inserted;
          stats.batches++;
          consecutiveErrors = 0;
          deps.onBatch?.({ ...stats, elapsedMs: now() - started });
        } catch (err) {
          // Outcomes could not be recorded: the claims expire and the events are
          // claimed again after the visibility timeout.
          stats.unfinished = (stats.unfinished ?? 0) + batch.length;
          if (!failed(err, n)) await sleep(options.errorBackoffMs ?? 1000, idle.signal);
        } finally {
          clearInterval(beat);
          if (suspect) suspectHeld = false;
        }
      }
    } finally {
      // A batch claimed ahead and never processed goes back at once.
      if (ahead) {
        const left = await ahead;
        if (left.batch.length > 0) {
          stats.claimed += left.batch.length;
          stats.released += left.batch.length;
          await deps.release?.(left.batch).catch((err) => deps.onError?.(err, n));
        }
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, (_, i) => loop(i)));
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  stats.elapsedMs = now() - started;
  stats.stoppedBy = stopped ?? "drained";
  if (fatal) throw fatal.error;
  return stats;
}
