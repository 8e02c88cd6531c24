/**
 * Progress of a long run on stderr: a bar with rate and ETA redrawn in place
 * on a terminal, a plain info log line every few seconds otherwise, nothing
 * when the log level is above info.
 *
 * @module
 */
import { formatDuration } from "../duration.ts";
import type { Logger } from "../log/logger.ts";

/** Where a run is. */
export interface Progress {
  /** Work at the start (an estimate). */
  readonly total: number;
  /** Done so far. */
  readonly scanned: number;
  /** Milliseconds since the start. */
  readonly elapsedMs: number;
}

/**
 * One progress line: bar, percentage, counts, rate and ETA.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderProgress } from "./progress.ts";
 * assert.equal(
 *   renderProgress({ total: 1000, scanned: 250, elapsedMs: 2000 }, { width: 8, unit: "msg" }),
 *   "[##······]  25% 250/1000 125 msg/s ETA 6.0s",
 * );
 * ```
 */
export function renderProgress(
  p: Progress,
  options: { width?: number; unit?: string } = {},
): string {
  const width = options.width ?? 30;
  const fraction = p.total > 0 ? Math.min(1, p.scanned / p.total) : 1;
  const full = Math.round(fraction * width);
  const bar = "#".repeat(full) + "·".repeat(width - full);
  const rate = p.elapsedMs > 0 ? p.scanned / (p.elapsedMs / 1000) : 0;
  const left = Math.max(0, p.total - p.scanned);
  const eta = rate > 0 ? formatDuration(Math.round((left / rate) * 1000)) : "?";
  const pct = String(Math.floor(fraction * 100)).padStart(3);
  return `[${bar}] ${pct}% ${p.scanned}/${p.total} ${Math.round(rate)} ${
    options.unit ?? "msg"
  }/s ETA ${eta}`;
}

/** Shows progress; call `done()` at the end. */
export interface ProgressReporter {
  update(p: Progress): void;
  done(): void;
}

/** Options of {@link createProgressReporter}. */
export interface ReporterOptions {
  /** Whether stderr is a terminal (bar) or not (log lines). */
  terminal: boolean;
  /** Writes to stderr (the bar). */
  write: (text: string) => void;
  /** Logs the plain lines; its level decides whether anything is shown. */
  logger: Logger;
  /** What is counted (`msg`, `conv`). */
  unit?: string;
  /** Log line interval off a terminal. Default 5 s. */
  intervalMs?: number;
  /** The clock. */
  now?: () => number;
}

/**
 * Makes a reporter: quiet when the logger's level is above info.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../log/logger.ts";
 * import { createProgressReporter } from "./progress.ts";
 * const out: string[] = [];
 * const logger = createLogger({ level: "warn", write: (l) => out.push(l) });
 * const r = createProgressReporter({ terminal: true, write: (t) => out.push(t), logger });
 * r.update({ total: 10, scanned: 5, elapsedMs: 10 });
 * r.done();
 * assert.deepEqual(out, []);
 * ```
 */
export function createProgressReporter(options: ReporterOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const quiet = options.logger.level === "warn" || options.logger.level === "error";
  const interval = options.terminal ? 100 : options.intervalMs ?? 5000;
  let last = -Infinity;
  let drawn = false;
  return {
    update(p) {
      if (quiet) return;
      const t = now();
      if (t - last < interval) return;
      last = t;
      if (options.terminal) {
        options.write(`\r${renderProgress(p, { unit: options.unit })}\x1b[K`);
        drawn = true;
      } else {
        const rate = p.elapsedMs > 0 ? Math.round(p.scanned / (p.elapsedMs / 1000)) : 0;
        options.logger.info("progress", { done: p.scanned, total: p.total, per_second: rate });
      }
    },
    done() {
      if (drawn) options.write("\n");
      drawn = false;
    },
  };
}
