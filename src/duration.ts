/**
 * Durations as operators type them: `250ms`, `30s`, `5m`, `2h`, `7d`, or a bare
 * number of seconds.
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a duration into milliseconds.
 *
 * @throws {RangeError} when the text is not a duration.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./duration.ts";
 * assert(parseDuration("30s") === 30_000);
 * assert(parseDuration("7d") === 604_800_000);
 * assert(parseDuration("1.5") === 1_500);
 * assert(parseDuration("250ms") === 250);
 * ```
 */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) {
    throw new RangeError(
      `Cannot parse duration: current value is '${text}'; use 30s, 5m, 2h, 7d or a number of seconds`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? "s"];
  if (!Number.isFinite(ms) || ms > 10 * 365 * 86_400_000) {
    throw new RangeError(`Cannot parse duration: current value is '${text}' (too long)`);
  }
  return Math.round(ms);
}

/**
 * Formats milliseconds for people: `850ms`, `12.3s`, `4m05s`, `2h10m`, `3d4h`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./duration.ts";
 * assert(formatDuration(850) === "850ms");
 * assert(formatDuration(12_340) === "12.3s");
 * assert(formatDuration(245_000) === "4m05s");
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86_400) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  return `${Math.floor(s / 86_400)}d${Math.floor(s / 3600) % 24}h`;
}
