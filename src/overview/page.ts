/**
 * What the two listings of the overview share: the page shape, the limit and
 * the time bounds.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { parseTimeBound } from "./time_bound.ts";

/** A page of rows and where the next one starts. */
export interface Page<R> {
  /** The rows, in the listing's order. */
  rows: R[];
  /** The cursor of the next page; null when this page is the last. */
  nextCursor: string | null;
}

/** Rows per page when no limit is given. */
export const DEFAULT_LIMIT = 50;
/** The most rows a page holds. */
export const MAX_LIMIT = 1000;

/**
 * The page size: {@link DEFAULT_LIMIT} when absent.
 *
 * @throws {UsageError} when not an integer 1…{@link MAX_LIMIT}.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLimit } from "./page.ts";
 * assert.equal(checkLimit(undefined), 50);
 * assert.throws(() => checkLimit(0), /invalid --limit/);
 * ```
 */
export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new UsageError(`invalid --limit: current value is '${limit}'`, {
      hint: `expected an integer 1…${MAX_LIMIT}`,
    });
  }
  return limit;
}

/**
 * `since` and `until` as `timestamptz` texts.
 *
 * @throws {UsageError} naming the flag when a value is not a time or when since > until.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTimeBounds } from "./page.ts";
 * const now = new Date("2024-05-08T00:00:00Z");
 * assert.deepEqual(resolveTimeBounds({ since: "7d", now }), {
 *   since: "2024-05-01T00:00:00.000Z",
 *   until: undefined,
 * });
 * assert.throws(() => resolveTimeBounds({ until: "soon" }), /invalid --until/);
 * ```
 */
export function resolveTimeBounds(
  options: { since?: string; until?: string; now?: Date },
): { since?: string; until?: string } {
  const now = options.now ?? new Date();
  const parse = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    try {
      return parseTimeBound(value, { now });
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new UsageError(`invalid ${flag}: current value is '${value}'`, {
        hint:
          "use an ISO 8601 time (2024-05-01, 2024-05-01T16:00:00Z) or a duration ago (30m, 12h, 7d)",
      });
    }
  };
  const since = parse("--since", options.since);
  const until = parse("--until", options.until);
  if (since !== undefined && until !== undefined && Date.parse(since) > Date.parse(until)) {
    throw new UsageError(`--since ${options.since} is after --until ${options.until}`, {
      hint: "give --since earlier than --until",
    });
  }
  return { since, until };
}
