/**
 * Progress of long work (`enqueue` of a large file, `work --drain`): a bar
 * with rate and ETA on a terminal (cli-progress, on standard error), else a
 * plain `progress` log line every few seconds. Silent below `info`
 * (`--log-level warn`).
 *
 * The terminal check is the context's `Io.stderrIsTerminal`, so tests drive
 * both paths with a fake.
 *
 * @module
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import { formatDuration } from "../duration.ts";
import type { Logger } from "../log/logger.ts";
import type { Io } from "./context.ts";

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  /** What is counted: `bytes`, `events`. */
  unit: "bytes" | "events";
  /** What the work is, for the log line (`enqueue`, `work`). */
  task: string;
  /** The total when known (bytes of the input files; events claimable at start). */
  total?: number;
  /** Milliseconds between plain log lines; default 5000. */
  intervalMs?: number;
  /** Milliseconds now; default `performance.now`. */
  now?: () => number;
}

/** A running progress display. */
export interface Progress {
  /** Sets how much is done so far; `extra` fields go into the log line. */
  update(done: number, extra?: Record<string, number>): void;
  /** Ends the display (clears the bar's line). */
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

function amount(n: number, unit: ProgressOptions["unit"]): string {
  if (unit === "events") return String(Math.round(n));
  if (n >= 1048576) return `${(n / 1048576).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** A Node-style writable cli-progress can drive, over `Io.stderr`. */
function terminalStream(io: Io) {
  return {
    isTTY: true,
    columns: io.columns ?? 80,
    write(text: string): boolean {
      io.stderr(text);
      return true;
    },
    cursorTo(x: number): boolean {
      io.stderr(`\x1b[${x + 1}G`);
      return true;
    },
    clearLine(): boolean {
      io.stderr("\x1b[2K");
      return true;
    },
    moveCursor(): boolean {
      return true;
    },
    on() {},
    removeListener() {},
  };
}

/**
 * Starts a progress display for `io`: a bar when standard error is a
 * terminal, else a `progress` info log line every `intervalMs`; nothing when
 * the logger is quieter than `info`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "../log/logger.ts";
 * import { startProgress } from "./_progress.ts";
 * const lines: string[] = [];
 * const logger = createLogger({ format: "json", write: (l) => lines.push(l) });
 * let t = 0;
 * const io = { stderrIsTerminal: false, stderr: () => {} } as never;
 * const p = startProgress(io, logger, { unit: "events", task: "work", now: () => t });
 * t = 6000;
 * p.update(600);
 * p.stop();
 * assert.equal(JSON.parse(lines[0]).done, 600);
 * assert.equal(JSON.parse(lines[0]).rate, 100);
 * ```
 */
export function startProgress(io: Io, logger: Logger, options: ProgressOptions): Progress {
  if (logger.level !== "debug" && logger.level !== "info") return NONE;
  const now = options.now ?? (() => performance.now());
  const started = now();
  const interval = options.intervalMs ?? 5000;
  const { unit, total } = options;

  if (!io.stderrIsTerminal) {
    let last = started;
    return {
      update(done, extra) {
        const t = now();
        if (t - last < interval) return;
        last = t;
        const seconds = (t - started) / 1000;
        const rate = seconds > 0 ? done / seconds : 0;
        const left = total !== undefined && rate > 0 ? Math.max(0, total - done) / rate : undefined;
        logger.info(`${options.task} progress`, {
          done: Math.round(done),
          ...(total !== undefined && { total, percent: Math.floor((done / total) * 100) }),
          unit,
          rate: Math.round(rate),
          ...(left !== undefined && { eta_s: Math.round(left) }),
          ...extra,
        });
      },
      stop() {},
    };
  }

  const bar = new cliProgress.SingleBar({
    stream: terminalStream(io) as unknown as NodeJS.WritableStream,
    format: total !== undefined
      ? `${options.task} {bar} {percentage}% | {shown} | {speed}/s | ETA {left}`
      : `${options.task} {shown} | {speed}/s`,
    hideCursor: false,
    clearOnComplete: true,
    stopOnComplete: false,
    fps: 5,
    barsize: 24,
    // Updates come from our own timer or work, not cli-progress's.
    synchronousUpdate: false,
    noTTYOutput: false,
  }, cliProgress.Presets.shades_classic);
  const payload = (done: number) => {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = total !== undefined && rate > 0 ? Math.max(0, total - done) / rate : undefined;
    return {
      shown: amount(done, unit) + (total !== undefined ? `/${amount(total, unit)}` : ""),
      speed: amount(Math.round(rate), unit),
      left: left === undefined ? "?" : formatDuration(left * 1000),
    };
  };
  bar.start(total ?? 0, 0, payload(0));
  return {
    update(done) {
      bar.update(Math.min(done, total ?? done), payload(done));
    },
    stop() {
      bar.stop();
    },
  };
}
