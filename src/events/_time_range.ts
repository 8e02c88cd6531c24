/**
 * The instants an event may carry: those PostgreSQL's `timestamptz` takes from us and
 * RFC 3339 can write, years 0001 to 9999 in UTC. JavaScript dates reach ±275,760 years,
 * and `toISOString()` writes a year beyond 9999 as `+010000-…`, which PostgreSQL misreads
 * ("time zone displacement out of range"): such a time is refused at enqueue (canonical
 * payloads) or treated as unreadable (an email's `Date`), never sent to the database.
 *
 * @module
 */

/** The earliest instant accepted: 0001-01-01T00:00:00Z. */
const MIN = -62_135_596_800_000; // Date.UTC(1, …) would read year 1 as 1901
/** The latest instant accepted: 9999-12-31T23:59:59.999Z. */
const MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Why a time is refused, for reasons. */
export const TIME_RANGE_PROBLEM =
  "outside the supported range: the instant must fall in the years 0001 to 9999 (UTC)";

/**
 * Whether an instant is one the database can hold as we write it (years 0001–9999, UTC).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSupportedTime } from "./_time_range.ts";
 * assert.equal(isSupportedTime(new Date("2024-05-01T12:00:00Z")), true);
 * assert.equal(isSupportedTime(new Date("9999-12-31T23:59:59-01:00")), false);
 * assert.equal(isSupportedTime(new Date("0000-06-01T00:00:00Z")), false);
 * ```
 */
export function isSupportedTime(date: Date): boolean {
  const t = date.getTime();
  return Number.isFinite(t) && t >= MIN && t <= MAX;
}
