/**
 * `--since` / `--until` values: an ISO 8601 time, or a duration meaning "that
 * long ago".
 *
 * @module
 */
import { parseDuration } from "../duration.ts";

// A unit is required: a bare number (`7`) could mean days, hours or seconds.
const DURATION = /^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*$/;
// Dates and date-times the JavaScript and PostgreSQL parsers read alike.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Options of {@link parseTimeBound}. */
export interface TimeBoundOptions {
  /** The moment durations count back from; default now. */
  now?: Date;
}

/**
 * Parses a time bound into an ISO 8601 text PostgreSQL reads as `timestamptz`
 * to the microsecond: a duration (`30s`, `5m`, `2h`, `7d`, a unit required)
 * is that long before `now`; a date (`2024-05-01`) is its midnight UTC; a
 * date-time without an offset is UTC.
 *
 * @throws {RangeError} when the text is neither.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTimeBound } from "./time_bound.ts";
 * const now = new Date("2024-05-08T12:00:00Z");
 * assert.equal(parseTimeBound("7d", { now }), "2024-05-01T12:00:00.000Z");
 * assert.equal(parseTimeBound("2024-05-01", { now }), "2024-05-01T00:00:00Z");
 * assert.equal(parseTimeBound("2024-05-01T16:00:03.123456", { now }), "2024-05-01T16:00:03.123456Z");
 * assert.equal(parseTimeBound("2024-05-01T16:00:03+02:00", { now }), "2024-05-01T16:00:03+02:00");
 * assert.throws(() => parseTimeBound("yesterday", { now }), /Cannot parse time/);
 * assert.throws(() => parseTimeBound("7", { now }), /Cannot parse time/);
 * ```
 */
export function parseTimeBound(text: string, options: TimeBoundOptions = {}): string {
  const fail = (): never => {
    throw new RangeError(
      `Cannot parse time: current value is '${text}'; use an ISO 8601 time ` +
        "(2024-05-01, 2024-05-01T16:00:00Z) or a duration ago (30m, 12h, 7d)",
    );
  };
  if (DURATION.test(text)) {
    const now = options.now ?? new Date();
    return new Date(now.getTime() - parseDuration(text)).toISOString();
  }
  const m = ISO.exec(text.trim());
  if (!m) return fail();
  const [, y, mo, d, h, mi, s, zone] = m;
  const month = Number(mo), day = Number(d);
  const valid = month >= 1 && month <= 12 && day >= 1 &&
    day <= new Date(Date.UTC(Number(y), month, 0)).getUTCDate() &&
    (h === undefined || Number(h) <= 23) && (mi === undefined || Number(mi) <= 59) &&
    (s === undefined || Number(s) <= 59);
  if (!valid) return fail();
  const iso = text.trim().replace(" ", "T").toUpperCase();
  if (h === undefined) return `${iso}T00:00:00Z`;
  return zone === undefined ? `${iso}Z` : iso;
}
