/**
 * Parses the `Date` of an email as providers pass it on: RFC 5322 (`Fri, 1 Aug 2014
 * 16:45:32 -0400`), Postmark's variant with a colon in the offset (`-04:00`), the
 * obsolete zone names, and RFC 3339 as a last resort.
 *
 * Why not `Date.parse`: it is implementation-defined outside ISO 8601 and reads a
 * zone-less date as local time, so the same event would land at different instants on
 * different servers.
 *
 * @module
 */

import { isSupportedTime } from "./_time_range.ts";

const RFC5322 = new RegExp(
  "^\\s*(?:[a-z]{3,9}\\s*(?:,\\s*)?)?" + // day of week (not checked: senders get it wrong)
    "(\\d{1,2})\\s+" +
    "(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" +
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\s+" +
    "(\\d{2,4})\\s+" +
    "(\\d{1,2}):(\\d{2})(?::(\\d{2}))?\\s*" +
    "(?:([+-])(\\d{2}):?(\\d{2})|(ut|utc|gmt|z|[ecmp][sd]t))" +
    "\\s*(?:\\([^()]*\\)\\s*)?$",
  "i",
);

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const MAX_LENGTH = 200;

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

/** RFC 5322 section 4.3 obsolete zones, in minutes east of UTC. */
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

/**
 * Parses an email `Date` header value into a `Date`, or `null` when it is missing a
 * zone, is not a date, or names an impossible day.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEmailDate } from "./_email_date.ts";
 * assert.equal(
 *   parseEmailDate("Fri, 1 Aug 2014 16:45:32 -04:00")?.toISOString(),
 *   "2014-08-01T20:45:32.000Z",
 * );
 * assert.equal(
 *   parseEmailDate("Thu, 24 Mar 2011 15:59:30 -0400 (EDT)")?.toISOString(),
 *   "2011-03-24T19:59:30.000Z",
 * );
 * assert.equal(parseEmailDate("1 Aug 2014 16:45:32"), null); // no zone: ambiguous
 * assert.equal(parseEmailDate("Mon, 31 Feb 2014 10:00:00 +0000"), null);
 * ```
 */
export function parseEmailDate(text: string): Date | null {
  // Real dates are ~40 characters; the bound keeps the regexes' work small on junk.
  if (text.length > MAX_LENGTH) return null;
  const m = RFC5322.exec(text);
  if (m) {
    let year = Number(m[3]);
    if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
    else if (m[3].length === 3) year += 1900;
    const month = MONTHS[m[2].slice(0, 3).toLowerCase()];
    const offset = m[7]
      ? (m[7] === "-" ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]))
      : ZONES[m[10].toLowerCase()];
    return build(
      year,
      month,
      Number(m[1]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6] ?? 0),
      0,
      offset,
    );
  }
  const iso = RFC3339.exec(text);
  if (iso) {
    const offset = iso[8]
      ? 0
      : (iso[9] === "-" ? -1 : 1) * (Number(iso[10]) * 60 + Number(iso[11]));
    const ms = iso[7] ? Math.floor(Number(iso[7]) * 1000) : 0;
    return build(
      Number(iso[1]),
      Number(iso[2]) - 1,
      Number(iso[3]),
      Number(iso[4]),
      Number(iso[5]),
      Number(iso[6]),
      ms,
      offset,
    );
  }
  return null;
}

function build(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  offsetMinutes: number,
): Date | null {
  if (year < 1900 || year > 9999 || month < 0 || month > 11) return null;
  if (day < 1 || day > daysIn(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  if (Math.abs(offsetMinutes) >= 24 * 60) return null;
  // A leap second (:60) is read as :59: a JS Date has no leap seconds.
  const utc = Date.UTC(year, month, day, hour, minute, Math.min(second, 59), ms);
  const date = new Date(utc - offsetMinutes * 60_000);
  // 9999-12-31 23:59 -0100 is in year 10000 UTC: unreadable for us, not for the database to refuse.
  return isSupportedTime(date) ? date : null;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}
