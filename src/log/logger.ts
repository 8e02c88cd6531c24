/**
 * The logger: JSON lines or pretty text on standard error, filtered by level.
 *
 * Leaf code logs facts with fields; it never prints. Callers mask addresses
 * (see `redact.ts`) before they become fields.
 *
 * @module
 */

/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];
/** The two output formats. */
export const LOG_FORMATS = ["json", "pretty"] as const;
/** One of {@link LOG_FORMATS}. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** A leveled, structured logger. */
export interface Logger {
  /** The lowest level written. */
  readonly level: LogLevel;
  /** Logs at debug level. */
  debug(msg: string, fields?: LogFields): void;
  /** Logs at info level. */
  info(msg: string, fields?: LogFields): void;
  /** Logs at warn level. */
  warn(msg: string, fields?: LogFields): void;
  /** Logs at error level. */
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; default `info`. */
  level?: LogLevel;
  /** `json` (one object per line) or `pretty`; default `pretty`. */
  format?: LogFormat;
  /** Where lines go; default standard error. */
  write?: (line: string) => void;
  /** The clock; default `Date.now`. */
  now?: () => number;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const encoder = new TextEncoder();

function writeStderr(line: string): void {
  const bytes = encoder.encode(line);
  let off = 0;
  while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
}

function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function prettyValue(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value, jsonValue);
}

/**
 * Makes a logger.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger({ format: "json", write: (l) => lines.push(l), now: () => 0 });
 * log.info("batch done", { events: 500 });
 * log.debug("not written at info level");
 * assert(lines.length === 1);
 * assert(JSON.parse(lines[0]).events === 500);
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "pretty";
  const write = options.write ?? writeStderr;
  const now = options.now ?? Date.now;

  function make(base: LogFields): Logger {
    function emit(at: LogLevel, msg: string, fields?: LogFields): void {
      if (RANK[at] < RANK[level]) return;
      const all = fields ? { ...base, ...fields } : base;
      if (format === "json") {
        const time = new Date(now()).toISOString();
        write(JSON.stringify({ time, level: at, msg, ...all }, jsonValue) + "\n");
      } else {
        const pairs = Object.entries(all)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => ` ${k}=${prettyValue(v)}`).join("");
        write(`${at.toUpperCase().padEnd(5)} ${msg}${pairs}\n`);
      }
    }
    return {
      level,
      debug: (msg, fields) => emit("debug", msg, fields),
      info: (msg, fields) => emit("info", msg, fields),
      warn: (msg, fields) => emit("warn", msg, fields),
      error: (msg, fields) => emit("error", msg, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  }
  return make({});
}
