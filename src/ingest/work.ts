/**
 * `startWork()`: the worker wired up — the queue loop (`queue/worker.ts`, no
 * SQL) handed the queue's statements, ingest's prepare and write, the
 * dead-letter rule for events claimed too often, the LISTEN wake-up and the
 * metrics file. `convo work` parses its options, calls this and prints.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { type Sql, withDatabase } from "../db/connect.ts";
import { ConvoError } from "../errors.ts";
import { KeyRing } from "../dedup/keys.ts";
import { createRouter } from "../endpoints/route.ts";
import type { Logger } from "../log/logger.ts";
import { maskText } from "../log/redact.ts";
import { extendClaims } from "../queue/extend.ts";
import { type QueueGauges, queueGauges } from "../queue/gauges.ts";
import { gaugesOrNothing, startLiveMetrics } from "../queue/live_metrics.ts";
import { renderMetrics, renderQueueGauges, writeMetricsFile } from "../queue/metrics.ts";
import { releaseEvents } from "../queue/release.ts";
import { createWake, listenForWork } from "../queue/wake.ts";
import { emptyStats, runWorker, type WorkerStats } from "../queue/worker.ts";
import { WriteCache } from "./cache.ts";
import { type ClaimStepTally, claimToProcess } from "./claim_step.ts";
import { errorText } from "../db/errors.ts";
import { prepareBatch, type PreparedBatch } from "./prepare.ts";
import { writeBatch } from "./process.ts";

/** What {@link startWork} runs with (the options of `convo work`). */
export interface WorkOptions {
  /** Exit when nothing is claimable (cron); else run until signalled. */
  drain: boolean;
  /** Events per claim and transaction. */
  batchSize: number;
  /** Parallel batch loops, each on its own connection. */
  concurrency: number;
  /** Stop claiming after this many events. */
  maxEvents?: number;
  /** Stop claiming after this many seconds. */
  maxSeconds?: number;
  /** Claim length; a crashed worker's events return after it. */
  visibilityMs: number;
  /** Attempts before a transiently failing event is dead. */
  maxAttempts: number;
  /** Backoff after the first failed attempt (doubles each time). */
  retryDelayMs: number;
  /** Idle wait between polls when no notification arrives. */
  pollMs: number;
  /** Where to write Prometheus text metrics (node_exporter textfile). */
  metricsFile?: string;
  /** Between metrics file writes while running; default 15 s. */
  metricsIntervalMs?: number;
  /** Long-running: between `worker summary` info lines; default 60 s. */
  summaryIntervalMs?: number;
  /**
   * Called after each batch with the statistics so far and, in drain mode,
   * the events claimable when the run started (for a progress display).
   */
  onProgress?(stats: Readonly<WorkerStats>, total: number | undefined): void;
  /** Payload bytes a claim may take (see `memory.ts`); default no limit. */
  batchBytes?: number;
  /**
   * Largest payload the worker takes (see `memory.ts`): a larger one is dead-lettered
   * without being read; default no limit.
   */
  maxEventBytes?: number;
  /**
   * Consecutive database errors after which the worker stops (`stoppedBy:
   * "errors"`); default {@link DEFAULT_DRAIN_MAX_ERRORS} with `drain`, else
   * no limit (a long-running worker waits for the database to come back).
   */
  maxErrors?: number;
}

/**
 * Entries of each kind the worker cache holds (addresses, contacts,
 * conversations). 20 000 rather than the cache's default 100 000: draining
 * 200k generated events (tests/bench/_generate.ts: ~80k distinct
 * conversations), alternated old/new in one sitting, the peak RSS was 194 and
 * 197 MB with 100 000, 179 and 174 MB with 20 000, the worker's CPU the same
 * (48–53 s) and the drain rate the same within the noise (1 806–2 241 against
 * 1 715–1 982 events/s, the machine loaded by other benchmarks): the
 * conversations that recur are the recent ones.
 */
export const WORKER_CACHE_ENTRIES = 20_000;

/** Consecutive database errors a `--drain` run tolerates by default (about 20 s at the defaults). */
export const DEFAULT_DRAIN_MAX_ERRORS = 10;

/** What {@link startWork} did: the loop's statistics and the last database error. */
export interface WorkResult extends WorkerStats {
  /** The last error met (masked), when there was one. */
  lastError?: string;
}

// SQLSTATEs that mean the schema is missing or older than this program:
// undefined_table, undefined_column, undefined_function.
const NO_SCHEMA = new Set(["42P01", "42703", "42883"]);

/** The error of a database without (this version of) convo's schema. */
export function noSchemaError(cause?: unknown): ConvoError {
  return new ConvoError("the database has no convo schema (or an older one)", {
    hint: "run convo migrate up",
    cause,
  });
}

/** Whether `err` says the schema is missing: trying again cannot help. */
export function isNoSchema(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && NO_SCHEMA.has(code);
}

async function checkSchema(sql: Sql): Promise<void> {
  const [row] = await sql<{ ok: boolean }[]>`
    select to_regclass('inbound_events') is not null as ok`;
  if (!row.ok) throw noSchemaError();
}

/**
 * Logs a `worker summary` line every `intervalMs` with what happened since
 * the last one (claimed, done, retried, dead, errors, events/s): a
 * long-running worker says it is alive and how it is doing.
 */
function startSummaries(
  log: Logger,
  current: () => WorkerStats,
  intervalMs: number,
): () => void {
  let last = current();
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = current();
    const at = performance.now();
    const seconds = (at - lastAt) / 1000;
    log.info("worker summary", {
      since_s: Math.round(seconds),
      claimed: now.claimed - last.claimed,
      done: now.done - last.done,
      retried: now.retried - last.retried,
      dead: now.dead - last.dead,
      errors: now.errors - last.errors,
      events_per_s: seconds > 0 ? Math.round((now.claimed - last.claimed) / seconds) : 0,
    });
    last = now;
    lastAt = at;
  }, intervalMs);
  return () => clearInterval(timer);
}

/**
 * Drains the queue into messages and conversations until drained, a limit is
 * reached, or `signal` aborts; writes the final metrics file and logs the stop.
 *
 * @example Usage
 * ```ts ignore
 * const stats = await startWork(config, logger, { drain: true, batchSize: 500, … }, signal);
 * ```
 */
export async function startWork(
  config: Config,
  logger: Logger,
  options: WorkOptions,
  signal: AbortSignal,
): Promise<WorkResult> {
  const { drain, batchSize, concurrency, visibilityMs, maxAttempts, pollMs } = options;
  const log = logger;
  const metrics = options.metricsFile;
  let latest: WorkerStats | undefined;
  let lastError: string | undefined;
  // Every database error the worker meets (claims, batches, heartbeats), counted
  // here as they happen: the worker's own statistics arrive only with a batch,
  // and in an outage no batch comes while this counter is what an alert watches.
  let errorsSeen = 0;
  // Events dead-lettered by the claim step, before any batch: claimed too often or too
  // large to hold (both claimed), or unreadable (never claimed). The loop's statistics
  // count only what its batches did.
  const atClaim: ClaimStepTally = { claimed: 0, dead: 0 };
  const withDeadAtClaim = (s: WorkerStats): WorkerStats => ({
    ...s,
    claimed: s.claimed + atClaim.claimed,
    dead: s.dead + atClaim.dead,
  });
  const started = performance.now();
  const current = (): WorkerStats => ({
    ...withDeadAtClaim(latest ?? emptyStats()),
    errors: Math.max(errorsSeen, latest?.errors ?? 0),
    elapsedMs: performance.now() - started,
  });
  let finalGauges: QueueGauges | undefined;

  const stats = await withDatabase(
    config,
    log,
    // Per loop: the batch's transaction, and the claim of the next batch
    // with its routing lookup; plus the heartbeat.
    { command: "work", max: concurrency * 2 + 2 },
    async (db) => {
      const sql = db.sql;
      // A missing schema is one clear line at once, not endless retries.
      await checkSchema(sql);
      const ingest = {
        region: config.defaultRegion,
        snippetLength: config.snippetLength,
        maxAttempts,
        backoff: { baseMs: options.retryDelayMs },
        router: createRouter(sql),
        keys: new KeyRing(sql),
        logger: log,
        cache: new WriteCache(WORKER_CACHE_ENTRIES),
      };
      // Long-running: every idle loop wakes on the insert trigger's notification.
      const wake = drain ? createWake() : await listenForWork(
        sql,
        (err) => log.warn("cannot LISTEN; polling only", { error: errorText(err) }),
      );
      const readGauges = () => queueGauges(sql);
      const live = metrics && !drain
        ? startLiveMetrics(metrics, {
          stats: current,
          gauges: readGauges,
          intervalMs: options.metricsIntervalMs,
          onError: (err) => log.warn("cannot write the metrics file", { error: errorText(err) }),
        })
        : undefined;
      const stopSummaries = drain
        ? undefined
        : startSummaries(log, current, options.summaryIntervalMs ?? 60_000);
      // Drain: how much there is, for the progress display.
      const total = drain && options.onProgress
        ? await gaugesOrNothing(readGauges, 5000).then((g) =>
          g ? g.pending - g.scheduled + g.expired : undefined
        )
        : undefined;
      log.info("worker started", {
        mode: drain ? "drain" : "long-running",
        batch_size: batchSize,
        batch_bytes: options.batchBytes,
        max_event_bytes: options.maxEventBytes,
        concurrency,
        database: db.label,
      });
      try {
        return await runWorker<PreparedBatch>({
          claim: (limit, _loop, { suspects }) =>
            claimToProcess(sql, limit, {
              visibilityMs,
              suspects,
              maxAttempts,
              maxBytes: options.batchBytes,
              maxEventBytes: options.maxEventBytes,
              logger: log,
              tally: atClaim,
            }),
          prepare: (batch) => prepareBatch(batch, ingest),
          process: async (batch, _loop, prepared) => {
            const started = performance.now();
            const ready = prepared ?? await prepareBatch(batch, ingest);
            const r = await writeBatch(sql, ready, ingest);
            log.debug("batch done", {
              events: batch.length,
              ...r,
              ms: Math.round(performance.now() - started),
            });
            return r;
          },
          release: async (batch) => {
            await releaseEvents(sql, batch);
          },
          heartbeat: async (batch) => {
            await extendClaims(sql, batch, visibilityMs);
          },
          waitForWork: wake.waitForWork,
          onBatch: (s) => {
            latest = s;
            options.onProgress?.(withDeadAtClaim(s), total);
          },
          onError: (err) => {
            errorsSeen++;
            lastError = maskText(errorText(err));
            if (!isNoSchema(err)) log.error("database error; retrying", { error: lastError });
          },
          isFatal: isNoSchema,
        }, {
          batchSize,
          concurrency,
          drain,
          maxEvents: options.maxEvents,
          maxSeconds: options.maxSeconds,
          pollMs,
          heartbeatMs: Math.max(250, Math.floor(visibilityMs / 3)),
          errorBackoffMs: Math.min(5000, pollMs * 2),
          maxErrors: options.maxErrors ?? (drain ? DEFAULT_DRAIN_MAX_ERRORS : undefined),
        }, signal).then(withDeadAtClaim, (err) => {
          throw isNoSchema(err) ? noSchemaError(err) : err;
        });
      } finally {
        stopSummaries?.();
        await live?.stop();
        if (metrics) finalGauges = await gaugesOrNothing(readGauges, 5000);
        await wake.close();
      }
    },
  );
  if (metrics) {
    await writeMetricsFile(
      metrics,
      renderMetrics({ ...stats, errors: Math.max(stats.errors, errorsSeen) }, { running: false }) +
        renderQueueGauges(finalGauges),
    );
  }
  const memory = Deno.memoryUsage();
  log.info("worker stopped", {
    ...stats,
    elapsedMs: Math.round(stats.elapsedMs),
    rss_mb: Math.round(memory.rss / 1048576),
    heap_used_mb: Math.round(memory.heapUsed / 1048576),
    heap_total_mb: Math.round(memory.heapTotal / 1048576),
  });
  return lastError === undefined ? stats : { ...stats, lastError };
}
