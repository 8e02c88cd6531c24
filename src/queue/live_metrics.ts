/**
 * The metrics file of a running worker, kept live: written at start, then
 * every `intervalMs` whether batches come or not (an idle worker, and one in
 * a database outage whose error counter climbs, must still be seen), with
 * the queue's gauges when the database answers. And the check, at start, that
 * the file can be written at all.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { UsageError } from "../errors.ts";
import type { QueueGauges } from "./gauges.ts";
import { renderMetrics, renderQueueGauges, writeMetricsFile } from "./metrics.ts";
import type { WorkerStats } from "./worker.ts";

/**
 * Checks that a metrics file can be written at `path`: its directory exists
 * and takes a new file, and the path is not a directory. Run before any work,
 * so a typo is exit 2 at once, not an error after a drain committed.
 *
 * @throws {UsageError} naming the flag, the path and the problem.
 */
export async function checkMetricsPath(path: string, flag = "--metrics-file"): Promise<void> {
  const bad = (problem: string, hint: string) =>
    new UsageError(`invalid ${flag}: '${path}' ${problem}`, { hint });
  if (path.trim() === "" || path.endsWith("/")) {
    throw bad("is not a file name", "name a file, e.g. /var/lib/node_exporter/textfile/convo.prom");
  }
  const dir = dirname(path);
  const info = await Deno.stat(path).catch(() => undefined);
  if (info?.isDirectory) throw bad("is a directory", "name a file inside it, e.g. convo.prom");
  const dirInfo = await Deno.stat(dir).catch(() => undefined);
  if (!dirInfo) throw bad(`is in a directory that does not exist (${dir})`, "create it first");
  if (!dirInfo.isDirectory) throw bad(`is under ${dir}, which is not a directory`, "fix the path");
  // Writability is what the kernel says, for this user: try it.
  const probe = `${dir}/.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.probe`;
  try {
    const f = await Deno.open(probe, { createNew: true, write: true, mode: 0o600 });
    f.close();
  } catch (err) {
    const why = err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (err as Error).message.replace(/\s*\(os error \d+\)$/, "");
    throw bad(`cannot be written in ${dir}: ${why}`, "run as a user who may write there");
  }
  await Deno.remove(probe).catch(() => {});
}

/** Options of {@link startLiveMetrics}. */
export interface LiveMetricsOptions {
  /** The worker's statistics so far. */
  stats(): WorkerStats;
  /** The queue's gauges; a rejection (an outage) writes `convo_queue_gauges_ok 0`. */
  gauges(): Promise<QueueGauges>;
  /** A failed write or gauge read, reported (not fatal). */
  onError(err: unknown): void;
  /** Between writes; default 15 s. */
  intervalMs?: number;
  /** Longest wait for the gauges before writing without them; default 5 s. */
  gaugesTimeoutMs?: number;
}

/** A running metrics writer. */
export interface LiveMetrics {
  /** Stops the timer and waits for a write in progress. */
  stop(): Promise<void>;
}

/**
 * Reads the gauges, giving up after `timeoutMs` (a hung database must not
 * stop the file from being written); `undefined` when they could not be read.
 */
export async function gaugesOrNothing(
  read: () => Promise<QueueGauges>,
  timeoutMs: number,
  onError: (err: unknown) => void = () => {},
): Promise<QueueGauges | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the queue gauges took too long")), timeoutMs);
      }),
    ]);
  } catch (err) {
    onError(err);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes the worker's metrics and the queue's gauges to `path` now, then
 * every `intervalMs`; writes never overlap.
 */
export function startLiveMetrics(path: string, options: LiveMetricsOptions): LiveMetrics {
  let writing: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    writing = (async () => {
      try {
        const gauges = await gaugesOrNothing(
          options.gauges,
          options.gaugesTimeoutMs ?? 5000,
          options.onError,
        );
        await writeMetricsFile(
          path,
          renderMetrics(options.stats(), { running: true }) + renderQueueGauges(gauges),
        );
      } catch (err) {
        options.onError(err);
      } finally {
        busy = false;
      }
    })();
  };
  tick();
  const timer = setInterval(tick, options.intervalMs ?? 15_000);
  return {
    async stop() {
      clearInterval(timer);
      await writing;
    },
  };
}
