/**
 * `convo work`: drains the inbound queue into conversations.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { withDatabase } from "../db/connect.ts";
import { formatDuration } from "../duration.ts";
import { UsageError } from "../errors.ts";
import { errorText } from "../ingest/errors.ts";
import { prepareBatch, type PreparedBatch, writeBatch } from "../ingest/process.ts";
import { createRouter } from "../ingest/route.ts";
import { WriteCache } from "../ingest/cache.ts";
import { maskText } from "../log/redact.ts";
import { claimEvents, extendClaims, recordOutcomes, releaseEvents } from "../queue/claim.ts";
import { renderMetrics, writeMetricsFile } from "../queue/metrics.ts";
import type { ClaimedEvent, Outcome } from "../queue/types.ts";
import { runWorker, type WorkerStats } from "../queue/worker.ts";
import { parseDurationOption, parseIntOption } from "./_options.ts";
import type { Context } from "./context.ts";

/** The channel the queue's insert trigger notifies. */
export const QUEUE_CHANNEL = "convo_inbound_events";

function summary(s: WorkerStats): string {
  const seconds = s.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(s.claimed / seconds) : 0;
  const released = s.released ? `, released ${s.released}` : "";
  return `claimed ${s.claimed}, done ${s.done}, retried ${s.retried}, dead ${s.dead}${released}; ` +
    `inserted ${s.inserted} message(s) in ${formatDuration(s.elapsedMs)} (${rate} events/s); ` +
    `stopped: ${s.stoppedBy}`;
}

/** Builds `convo work`. */
export function workCommand(ctx: Context): Command {
  return new Command("work")
    .description(
      "Drain the inbound queue into messages and conversations (long-running by default; --drain for cron)",
    )
    .option("--drain", "exit when nothing is claimable (for cron)")
    .option("--batch-size <n>", "events per claim and transaction", "500")
    .option("--concurrency <n>", "parallel batch loops, each on its own connection", "1")
    .option("--max-events <n>", "stop claiming after this many events")
    .option("--max-seconds <duration>", "stop claiming after this long (seconds, or 30s, 5m, …)")
    .option(
      "--visibility-timeout <duration>",
      "claim length; a crashed worker's events return after it",
      "2m",
    )
    .option("--max-attempts <n>", "attempts before a transiently failing event is dead", "10")
    .option(
      "--retry-delay <duration>",
      "backoff after the first failed attempt (doubles each time)",
      "5s",
    )
    .option(
      "--poll-interval <duration>",
      "idle wait between polls when no notification arrives",
      "1s",
    )
    .option("--metrics-file <path>", "write Prometheus text metrics here (node_exporter textfile)")
    .action(async (opts) => {
      const batchSize = parseIntOption("--batch-size", opts.batchSize, { min: 1, max: 10_000 });
      const concurrency = parseIntOption("--concurrency", opts.concurrency, { min: 1, max: 64 });
      const maxEvents = opts.maxEvents === undefined
        ? undefined
        : parseIntOption("--max-events", opts.maxEvents, { min: 1 });
      const maxSeconds = opts.maxSeconds === undefined
        ? undefined
        : parseDurationOption("--max-seconds", opts.maxSeconds) / 1000;
      const visibilityMs = parseDurationOption("--visibility-timeout", opts.visibilityTimeout);
      if (visibilityMs < 1000) {
        throw new UsageError(
          `invalid --visibility-timeout: current value is '${opts.visibilityTimeout}'`,
          { hint: "use at least 1s; a claim must outlive a batch" },
        );
      }
      const maxAttempts = parseIntOption("--max-attempts", opts.maxAttempts, { min: 1, max: 1000 });
      const retryDelayMs = parseDurationOption("--retry-delay", opts.retryDelay);
      const pollMs = parseDurationOption("--poll-interval", opts.pollInterval);
      const config = ctx.config();
      const log = ctx.logger();
      const signal = ctx.shutdownSignal();
      let latest: WorkerStats | undefined;
      const metrics = opts.metricsFile;

      const stats = await withDatabase(
        config,
        log,
        // Per loop: the batch's transaction, and the claim of the next batch
        // with its routing lookup; plus the heartbeat.
        { command: "work", max: concurrency * 2 + 2 },
        async (db) => {
          const sql = db.sql;
          const router = createRouter(sql);
          const cache = new WriteCache();
          const options = {
            region: config.defaultRegion,
            snippetLength: config.snippetLength,
            maxAttempts,
            backoff: { baseMs: retryDelayMs },
            router,
            logger: log,
            cache,
          };
          // Long-running: every idle loop wakes on the insert trigger's notification.
          const waiting = new Set<() => void>();
          const listener = opts.drain
            ? undefined
            : await sql.listen(QUEUE_CHANNEL, () => [...waiting].forEach((w) => w())).catch(
              (err) => {
                log.warn("cannot LISTEN; polling only", { error: errorText(err) });
                return undefined;
              },
            );
          const metricsTimer = metrics && !opts.drain
            ? setInterval(() => {
              if (latest) {
                writeMetricsFile(metrics, renderMetrics(latest, { running: true })).catch((err) =>
                  log.warn("cannot write the metrics file", { error: errorText(err) })
                );
              }
            }, 15_000)
            : undefined;
          log.info("worker started", {
            mode: opts.drain ? "drain" : "long-running",
            batch_size: batchSize,
            concurrency,
            database: db.label,
          });
          try {
            return await runWorker({
              claim: async (limit) => {
                const batch = await claimEvents(sql, limit, visibilityMs);
                // Claimed more often than allowed: a worker died on it each
                // time (crash, OOM, timeout). Dead now, not claimed forever.
                const over = batch.filter((e) => e.attempts > maxAttempts);
                if (over.length === 0) return batch;
                await recordOutcomes(
                  sql,
                  over.map((e): Outcome => ({
                    id: e.id,
                    attempts: e.attempts,
                    status: "dead",
                    error:
                      `claimed ${e.attempts} times without finishing (the worker crashed or timed out on it)`,
                  })),
                );
                for (const e of over) {
                  log.warn("event dead-lettered", { event_id: e.id, attempts: e.attempts });
                }
                return batch.filter((e) => e.attempts <= maxAttempts);
              },
              prepare: (batch) => prepareBatch(batch, options),
              process: async (batch: ClaimedEvent[], _loop, prepared) => {
                const started = performance.now();
                const ready = (prepared as PreparedBatch | undefined) ??
                  await prepareBatch(batch, options);
                const r = await writeBatch(sql, ready, options);
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
              waitForWork: (ms, abort) =>
                new Promise<void>((resolve) => {
                  const done = () => {
                    clearTimeout(timer);
                    abort.removeEventListener("abort", done);
                    waiting.delete(done);
                    resolve();
                  };
                  const timer = setTimeout(done, ms);
                  abort.addEventListener("abort", done, { once: true });
                  waiting.add(done);
                }),
              onBatch: (s) => (latest = s),
              onError: (err) =>
                log.error("database error; retrying", { error: maskText(errorText(err)) }),
            }, {
              batchSize,
              concurrency,
              drain: !!opts.drain,
              maxEvents,
              maxSeconds,
              pollMs,
              heartbeatMs: Math.max(250, Math.floor(visibilityMs / 3)),
              errorBackoffMs: Math.min(5000, pollMs * 2),
            }, signal);
          } finally {
            if (metricsTimer) clearInterval(metricsTimer);
            await listener?.unlisten().catch(() => {});
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
      ctx.io.stdout(summary(stats) + "\n");
    });
}
