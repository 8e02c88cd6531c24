/**
 * `convo work`: drains the inbound queue into conversations.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { formatDuration } from "../duration.ts";
import { ConvoError, UsageError } from "../errors.ts";
import v8 from "node:v8";
import { batchBytesBudget, maxEventBytes } from "../ingest/memory.ts";
import { DEFAULT_DRAIN_MAX_ERRORS, startWork } from "../ingest/work.ts";
import { checkMetricsPath } from "../queue/live_metrics.ts";
import type { WorkerStats } from "../queue/worker.ts";
import { type Progress, startProgress } from "./_progress.ts";
import { parseDurationOption, parseIntOption } from "./_options.ts";
import type { Context } from "./context.ts";

function summary(s: WorkerStats): string {
  const seconds = s.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(s.claimed / seconds) : 0;
  const released = s.released ? `, released ${s.released}` : "";
  const unfinished = s.unfinished ? `, unfinished ${s.unfinished}` : "";
  return `claimed ${s.claimed}, done ${s.done}, retried ${s.retried}, dead ${s.dead}` +
    `${released}${unfinished}; ` +
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
    .option(
      "--batch-bytes <n>",
      "payload bytes per claim (default: what fits the heap, at most 16 MiB)",
    )
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
    .option(
      "--metrics-file <path>",
      "write Prometheus text metrics here (node_exporter textfile): worker counters and queue gauges",
    )
    .option(
      "--max-errors <n>",
      `stop (exit 1) after this many consecutive database errors (default ${DEFAULT_DRAIN_MAX_ERRORS} ` +
        "with --drain, else no limit)",
    )
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
      const heapLimitBytes = v8.getHeapStatistics().heap_size_limit;
      const maxPayloadBytes = ctx.config().maxPayloadBytes;
      const batchBytes = batchBytesBudget({
        heapLimitBytes,
        concurrency,
        maxPayloadBytes,
        requested: opts.batchBytes === undefined
          ? undefined
          : parseIntOption("--batch-bytes", opts.batchBytes, { min: 1024 }),
      });
      const maxEvent = maxEventBytes({ heapLimitBytes, concurrency, batchBytes, maxPayloadBytes });
      const maxErrors = opts.maxErrors === undefined
        ? undefined
        : parseIntOption("--max-errors", opts.maxErrors, { min: 1 });
      if (opts.metricsFile !== undefined) await checkMetricsPath(opts.metricsFile);
      // Drain: a bar on a terminal, else a progress line every few seconds.
      let progress: Progress | undefined;
      const stats = await startWork(ctx.config(), ctx.logger(), {
        drain: !!opts.drain,
        batchSize,
        concurrency,
        maxEvents,
        maxSeconds,
        visibilityMs,
        maxAttempts,
        retryDelayMs,
        pollMs,
        metricsFile: opts.metricsFile,
        maxErrors,
        batchBytes,
        maxEventBytes: maxEvent,
        onProgress: opts.drain
          ? (s, total) => {
            progress ??= startProgress(ctx.io, ctx.logger(), {
              task: "work",
              unit: "events",
              total,
            });
            progress.update(s.claimed, { done: s.done, dead: s.dead });
          }
          : undefined,
      }, ctx.shutdownSignal()).finally(() => progress?.stop());
      ctx.io.stdout(summary(stats) + "\n");
      if (stats.stoppedBy === "errors") {
        throw new ConvoError(
          `gave up after ${maxErrors ?? DEFAULT_DRAIN_MAX_ERRORS} consecutive database errors: ${
            stats.lastError ?? "unknown error"
          }`,
          { hint: "events not processed stay in the queue; run again once the database is back" },
        );
      }
      if (opts.drain && stats.unfinished) {
        throw new ConvoError(
          `${stats.unfinished} claimed event(s) could not be processed: ${
            stats.lastError ?? "unknown error"
          }`,
          { hint: "they return to the queue after --visibility-timeout; run again" },
        );
      }
    });
}
