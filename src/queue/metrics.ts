/**
 * Worker metrics in Prometheus text format, for node_exporter's textfile
 * collector: written atomically (temporary file, then rename) so the collector
 * never reads half a file.
 *
 * @module
 */
import type { QueueGauges } from "./gauges.ts";
import type { WorkerStats } from "./worker.ts";

/**
 * Renders worker statistics as Prometheus text exposition format.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderMetrics } from "./metrics.ts";
 * const text = renderMetrics({
 *   claimed: 3, done: 2, retried: 0, dead: 1, inserted: 2, batches: 1, errors: 0, released: 0,
 *   elapsedMs: 1500, stoppedBy: "drained",
 * }, { running: false, now: 1700000000000 });
 * assert.match(text, /^convo_work_events_total\{outcome="dead"\} 1$/m);
 * assert.match(text, /^convo_work_events_per_second 2$/m);
 * ```
 */
export function renderMetrics(
  stats: WorkerStats,
  options: { running: boolean; now?: number },
): string {
  const now = options.now ?? Date.now();
  const seconds = stats.elapsedMs / 1000;
  const rate = seconds > 0 ? stats.claimed / seconds : 0;
  const lines = [
    "# HELP convo_work_events_total Events handled by convo work since it started, by outcome.",
    "# TYPE convo_work_events_total counter",
    ...(["claimed", "done", "retried", "dead", "released"] as const).map((o) =>
      `convo_work_events_total{outcome="${o}"} ${stats[o]}`
    ),
    "# HELP convo_work_messages_inserted_total Messages written (replays excluded).",
    "# TYPE convo_work_messages_inserted_total counter",
    `convo_work_messages_inserted_total ${stats.inserted}`,
    "# HELP convo_work_batches_total Batches processed.",
    "# TYPE convo_work_batches_total counter",
    `convo_work_batches_total ${stats.batches}`,
    "# HELP convo_work_errors_total Claims or batches that failed on the database.",
    "# TYPE convo_work_errors_total counter",
    `convo_work_errors_total ${stats.errors}`,
    "# HELP convo_work_run_seconds How long the worker has run (or ran).",
    "# TYPE convo_work_run_seconds gauge",
    `convo_work_run_seconds ${Number(seconds.toFixed(3))}`,
    "# HELP convo_work_events_per_second Events claimed per second over the run.",
    "# TYPE convo_work_events_per_second gauge",
    `convo_work_events_per_second ${Number(rate.toFixed(1))}`,
    "# HELP convo_work_running 1 while the worker runs, 0 once it has exited.",
    "# TYPE convo_work_running gauge",
    `convo_work_running ${options.running ? 1 : 0}`,
    "# HELP convo_work_last_update_timestamp_seconds When this file was written.",
    "# TYPE convo_work_last_update_timestamp_seconds gauge",
    `convo_work_last_update_timestamp_seconds ${Math.floor(now / 1000)}`,
  ];
  return lines.join("\n") + "\n";
}

/**
 * Writes the metrics file atomically, mode 0644 (node_exporter runs as another
 * user). The temporary file next to it has an unpredictable name and is
 * created exclusively: the old `<path>.<pid>.tmp` followed a symlink planted
 * there, so anyone who could write the directory could make convo overwrite a
 * file of their choosing.
 */
export async function writeMetricsFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
  try {
    try {
      const bytes = new TextEncoder().encode(text);
      for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n));
    } finally {
      file.close();
    }
    // The umask may have taken bits away from `mode`.
    if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o644);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Rewrites the metrics file every `intervalMs` (default 15 s) from the latest
 * statistics, while the worker runs; a failed write is reported, not fatal.
 *
 * @returns a function that stops the timer.
 */
export function startMetricsTimer(
  path: string,
  latest: () => WorkerStats | undefined,
  options: { onError: (err: unknown) => void; intervalMs?: number },
): () => void {
  const timer = setInterval(() => {
    const stats = latest();
    if (stats) {
      writeMetricsFile(path, renderMetrics(stats, { running: true })).catch(options.onError);
    }
  }, options.intervalMs ?? 15_000);
  return () => clearInterval(timer);
}

/**
 * Renders the queue's gauges (`queue/gauges.ts`) in Prometheus text format;
 * `undefined` (the database could not be asked) renders only
 * `convo_queue_gauges_ok 0`, so an alert can tell "no data" from "empty".
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderQueueGauges } from "./metrics.ts";
 * const text = renderQueueGauges({
 *   pending: 5, scheduled: 1, processing: 2, expired: 0, dead: 3, oldestPendingAgeSeconds: 42.5,
 * }, { now: 1700000000000 });
 * assert.match(text, /^convo_queue_events\{state="dead"\} 3$/m);
 * assert.match(text, /^convo_queue_oldest_pending_age_seconds 42\.5$/m);
 * assert.match(text, /^convo_queue_gauges_ok 1$/m);
 * ```
 */
export function renderQueueGauges(
  gauges: QueueGauges | undefined,
  options: { now?: number } = {},
): string {
  const now = options.now ?? Date.now();
  const lines = [
    "# HELP convo_queue_gauges_ok 1 if the queue gauges below were read, 0 if the database could not be asked.",
    "# TYPE convo_queue_gauges_ok gauge",
    `convo_queue_gauges_ok ${gauges ? 1 : 0}`,
  ];
  if (gauges) {
    lines.push(
      "# HELP convo_queue_events Events in the queue by state (scheduled: pending, backing off; expired: processing, claim timed out).",
      "# TYPE convo_queue_events gauge",
      ...(["pending", "scheduled", "processing", "expired", "dead"] as const).map((s) =>
        `convo_queue_events{state="${s}"} ${gauges[s]}`
      ),
      "# HELP convo_queue_oldest_pending_age_seconds Age of the oldest pending event claimable now (0: none).",
      "# TYPE convo_queue_oldest_pending_age_seconds gauge",
      `convo_queue_oldest_pending_age_seconds ${
        Number((gauges.oldestPendingAgeSeconds ?? 0).toFixed(3))
      }`,
    );
  }
  lines.push(
    "# HELP convo_queue_last_update_timestamp_seconds When the queue gauges were written.",
    "# TYPE convo_queue_last_update_timestamp_seconds gauge",
    `convo_queue_last_update_timestamp_seconds ${Math.floor(now / 1000)}`,
  );
  return lines.join("\n") + "\n";
}
