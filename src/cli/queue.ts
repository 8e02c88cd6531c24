/**
 * `convo queue status|retry|prune`: look at the inbound event queue, put dead
 * events back, delete old done ones.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { withDatabase } from "../db/connect.ts";
import { formatDuration } from "../duration.ts";
import { UsageError } from "../errors.ts";
import { pruneDone } from "../queue/prune.ts";
import { retryDead } from "../queue/retry.ts";
import { maskText } from "../log/redact.ts";
import { type DeadEvent, type QueueStatus, queueStatus } from "../queue/status.ts";
import { checkMetricsPath } from "../queue/live_metrics.ts";
import { renderQueueGauges, writeMetricsFile } from "../queue/metrics.ts";
import { type Column, formatRows } from "./_format.ts";
import { parseDurationOption, parseIntOption } from "./_options.ts";
import type { Context } from "./context.ts";

const MAX_BIGINT = (1n << 63n) - 1n;
/** Characters of `last_error` shown by `queue status` (the whole text is in the table). */
const ERROR_SHOWN = 160;

/** Parses `--id` values: positive integers, also comma-separated (`--id 3,4 7`). */
function parseIds(values: readonly string[]): bigint[] {
  const ids: bigint[] = [];
  for (const value of values) {
    for (const part of value.split(",")) {
      const text = part.trim();
      if (!/^\d{1,19}$/.test(text) || BigInt(text) < 1n || BigInt(text) > MAX_BIGINT) {
        throw new UsageError(`invalid --id: current value is '${part}'`, {
          hint: "expected event ids: positive integers",
        });
      }
      ids.push(BigInt(text));
    }
  }
  return ids;
}

function shortError(text: string | null): string | null {
  if (text === null) return null;
  const masked = maskText(text);
  return masked.length > ERROR_SHOWN ? masked.slice(0, ERROR_SHOWN - 1) + "…" : masked;
}

function statusJson(s: QueueStatus) {
  return {
    pending: s.pending,
    scheduled: s.scheduled,
    processing: s.processing,
    expired: s.expired,
    done: s.done,
    dead: s.dead,
    total: s.total,
    oldest_pending_age_seconds: s.oldestPendingAgeSeconds,
    dead_recent: s.deadRecent.map((d) => ({
      id: d.id.toString(),
      event_type: d.event_type,
      attempts: d.attempts,
      last_error: d.last_error === null ? null : maskText(d.last_error),
    })),
  };
}

const DEAD_COLUMNS: readonly Column<DeadEvent>[] = [
  { key: "id", align: "right" },
  { key: "event_type", header: "TYPE" },
  { key: "attempts", align: "right" },
  { key: "last_error" },
];

function statusText(s: QueueStatus): string {
  const age = s.oldestPendingAgeSeconds === null
    ? "none claimable now"
    : `oldest claimable received ${formatDuration(s.oldestPendingAgeSeconds * 1000)} ago`;
  const lines: [string, number, string][] = [
    ["pending", s.pending, `${s.scheduled} scheduled for a retry, ${age}`],
    ["processing", s.processing, `${s.expired} expired (claimable again)`],
    ["done", s.done, ""],
    ["dead", s.dead, s.dead > 0 ? "convo queue retry --dead puts them back" : ""],
    ["total", s.total, ""],
  ];
  const width = Math.max(...lines.map(([, n]) => String(n).length));
  let out = lines.map(([label, n, note]) =>
    `${label.padEnd(10)} ${String(n).padStart(width)}${note ? `  ${note}` : ""}\n`
  ).join("");
  if (s.deadRecent.length > 0) {
    out += "\nmost recent dead events:\n" + formatRows(
      s.deadRecent.map((d) => ({ ...d, last_error: shortError(d.last_error) })),
      DEAD_COLUMNS,
      "table",
    );
  }
  return out;
}

/**
 * Builds `convo queue` with `status`, `retry` and `prune`.
 *
 * @example Usage
 * ```ts ignore
 * import { run } from "./program.ts";
 * await run(["queue", "status", "--json"], io);
 * ```
 */
export function queueCommand(ctx: Context): Command {
  const cmd = new Command("queue")
    .summary("Inspect the inbound event queue, retry dead events, prune done ones")
    .description(
      "The inbound event queue: pending → processing (claimed by `convo work`) → done, " +
        "or back to pending with a backoff, or dead (permanent error or out of attempts).",
    );

  cmd.command("status")
    .summary("Count events by state; the oldest waiting; the recent dead")
    .description(
      "Count events by state (pending, of which scheduled for a retry; processing, of " +
        "which expired; done; dead), the age of the oldest claimable pending event, and " +
        "the 5 most recent dead events (addresses in their errors masked).",
    )
    .option("--json", "print one JSON object (ids as strings, ages in seconds)")
    .option(
      "--metrics-file <path>",
      "also write the queue gauges there, Prometheus text (node_exporter textfile; for cron)",
    )
    .action(async (opts) => {
      if (opts.metricsFile !== undefined) await checkMetricsPath(opts.metricsFile);
      const status = await withDatabase(
        ctx.config(),
        ctx.logger(),
        { command: "queue", max: 1 },
        (db) => queueStatus(db.sql),
      );
      ctx.io.stdout(
        opts.json ? JSON.stringify(statusJson(status)) + "\n" : statusText(status),
      );
      if (opts.metricsFile !== undefined) {
        await writeMetricsFile(opts.metricsFile, renderQueueGauges(status));
      }
    });

  cmd.command("retry")
    .summary("Put dead events back to pending")
    .description(
      "Put dead events back to pending (attempts reset, claimable at once; last_error is " +
        "kept until the next attempt) and wake the workers. Given ids that do not exist or " +
        "are not dead are reported and left alone.",
    )
    .option("--dead", "every dead event")
    .option("--id <ids...>", "only these events (ids, space- or comma-separated)")
    .action(async (opts) => {
      if (opts.dead && opts.id) {
        throw new UsageError("--dead and --id cannot be used together", {
          hint: "--dead retries every dead event; --id only the given ones",
        });
      }
      if (!opts.dead && !opts.id) {
        throw new UsageError("nothing to retry: give --dead or --id", {
          hint: "convo queue retry --dead, or convo queue retry --id 17 18",
        });
      }
      const ids = opts.id ? parseIds(opts.id) : undefined;
      const result = await withDatabase(
        ctx.config(),
        ctx.logger(),
        { command: "queue", max: 1 },
        (db) => retryDead(db.sql, { ids }),
      );
      ctx.io.stdout(`retried ${result.retried} dead event(s)\n`);
      if (result.notDead.length > 0) {
        ctx.io.stdout(
          `left alone ${result.notDead.length} not dead or missing: ${result.notDead.join(", ")}\n`,
        );
      }
    });

  cmd.command("prune")
    .summary("Delete old done events")
    .description(
      "Delete done events processed longer ago than --older-than, in batches (each its " +
        "own transaction; safe to interrupt and to run from cron).",
    )
    .requiredOption("--older-than <duration>", "age of done events to delete: 7d, 12h, 30m, …")
    .option("--batch-size <n>", "events deleted per statement", "10000")
    .action(async (opts) => {
      const olderThanMs = parseDurationOption("--older-than", opts.olderThan);
      const batchSize = parseIntOption("--batch-size", opts.batchSize, { min: 1, max: 1_000_000 });
      const log = ctx.logger();
      const result = await withDatabase(
        ctx.config(),
        log,
        { command: "queue", max: 1 },
        (db) =>
          pruneDone(db.sql, {
            olderThanMs,
            batchSize,
            onBatch: (deleted) => log.debug("prune batch", { deleted }),
          }),
      );
      ctx.io.stdout(
        `deleted ${result.deleted} done event(s) processed before ${result.cutoff.toISOString()}` +
          ` (${result.batches} batch${result.batches === 1 ? "" : "es"})\n`,
      );
    });

  return cmd;
}
