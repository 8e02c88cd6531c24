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
import { createRouter } from "../endpoints/route.ts";
import type { Logger } from "../log/logger.ts";
import { maskText } from "../log/redact.ts";
import { claimEvents } from "../queue/claim.ts";
import { extendClaims } from "../queue/extend.ts";
import { renderMetrics, startMetricsTimer, writeMetricsFile } from "../queue/metrics.ts";
import { recordOutcomes } from "../queue/outcomes.ts";
import { releaseEvents } from "../queue/release.ts";
import { createWake, listenForWork } from "../queue/wake.ts";
import { runWorker, type WorkerStats } from "../queue/worker.ts";
import { WriteCache } from "./cache.ts";
import { errorText } from "./errors.ts";
import { overClaimed } from "./outcome.ts";
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
  /** Payload bytes a claim may take (see `memory.ts`); default no limit. */
  batchBytes?: number;
  /**
   * Consecutive database errors after which the worker stops (`stoppedBy:
   * "errors"`); default {@link DEFAULT_DRAIN_MAX_ERRORS} with `drain`, else
   * no limit (a long-running worker waits for the database to come back).
   */
  maxErrors?: number;
}

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
        logger: log,
        cache: new WriteCache(),
      };
      // Long-running: every idle loop wakes on the insert trigger's notification.
      const wake = drain ? createWake() : await listenForWork(
        sql,
        (err) => log.warn("cannot LISTEN; polling only", { error: errorText(err) }),
      );
      const stopMetrics = metrics && !drain
        ? startMetricsTimer(metrics, () => latest, {
          onError: (err) => log.warn("cannot write the metrics file", { error: errorText(err) }),
        })
        : undefined;
      log.info("worker started", {
        mode: drain ? "drain" : "long-running",
        batch_size: batchSize,
        batch_bytes: options.batchBytes,
        concurrency,
        database: db.label,
      });
      try {
        return await runWorker<PreparedBatch>({
          claim: async (limit, _loop, { suspects }) => {
            while (true) {
              const { keep, dead } = overClaimed(
                await claimEvents(sql, limit, visibilityMs, {
                  suspects,
                  maxBytes: options.batchBytes,
                }),
                maxAttempts,
              );
              if (dead.length === 0) return keep;
              for (const e of await recordOutcomes(sql, dead)) {
                log.warn("event dead-lettered", {
                  event_id: e.id,
                  attempts: e.attempts,
                  error: e.status === "done" ? undefined : e.error,
                });
              }
              // An empty batch would read as a drained queue: claim again.
              if (keep.length > 0) return keep;
            }
          },
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
          onBatch: (s) => (latest = s),
          onError: (err) => {
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
        }, signal).catch((err) => {
          throw isNoSchema(err) ? noSchemaError(err) : err;
        });
      } finally {
        stopMetrics?.();
        await wake.close();
      }
    },
  );
  if (metrics) await writeMetricsFile(metrics, renderMetrics(stats, { running: false }));
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
