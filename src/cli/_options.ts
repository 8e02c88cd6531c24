/**
 * Parsers for command option values: each throws a {@link UsageError} naming the
 * flag and the value.
 *
 * @module
 */
import { parseDuration } from "../duration.ts";
import { UsageError } from "../errors.ts";
import { isPhoneRegion } from "../normalize/phone.ts";

/** Bounds for {@link parseIntOption}. */
export interface IntBounds {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
}

/**
 * Parses an integer flag value.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIntOption } from "./_options.ts";
 * assert(parseIntOption("--batch-size", "500", { min: 1 }) === 500);
 * ```
 */
export function parseIntOption(flag: string, value: string, bounds: IntBounds = {}): number {
  const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = bounds;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `${min}…${max}`;
    throw new UsageError(`invalid ${flag}: current value is '${value}'`, {
      hint: `expected an integer ${range}`,
    });
  }
  return n;
}

/**
 * Parses a duration flag value (`30s`, `5m`, `2h`, `7d`, seconds) into milliseconds.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDurationOption } from "./_options.ts";
 * assert(parseDurationOption("--lock-timeout", "2m") === 120_000);
 * ```
 */
export function parseDurationOption(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw new UsageError(`invalid ${flag}: current value is '${value}'`, {
      hint: "use 250ms, 30s, 5m, 2h, 7d or a number of seconds",
    });
  }
}

/** A duration with a unit: the form {@link parseAgeOption} requires. */
const DURATION_WITH_UNIT = /^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*$/;

/**
 * Parses a duration flag where a bare number would be dangerous (`prune
 * --older-than 7` meaning seven seconds): a unit is required (`7d`, `12h`,
 * `30m`), and values under `min` (milliseconds, shown as `minText`) are refused.
 *
 * @throws {UsageError} naming the flag and the value.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAgeOption } from "./_options.ts";
 * const min = { min: 60_000, minText: "1m" };
 * assert.equal(parseAgeOption("--older-than", "7d", min), 604_800_000);
 * assert.throws(() => parseAgeOption("--older-than", "7", min), /needs a unit/);
 * assert.throws(() => parseAgeOption("--older-than", "30s", min), /under the minimum of 1m/);
 * ```
 */
export function parseAgeOption(
  flag: string,
  value: string,
  bounds: { min: number; minText: string },
): number {
  if (!DURATION_WITH_UNIT.test(value)) {
    const bare = /^\s*\d+(?:\.\d+)?\s*$/.test(value);
    throw new UsageError(
      `invalid ${flag}: current value is '${value}'${bare ? " (a duration needs a unit)" : ""}`,
      { hint: `use a duration with a unit, at least ${bounds.minText}: 30m, 12h, 7d` },
    );
  }
  const ms = parseDurationOption(flag, value);
  if (ms < bounds.min) {
    throw new UsageError(
      `invalid ${flag}: current value is '${value}' (under the minimum of ${bounds.minText})`,
      { hint: `use a duration of at least ${bounds.minText}: 30m, 12h, 7d` },
    );
  }
  return ms;
}

/**
 * Checks a flag value against a fixed set.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseChoice } from "./_options.ts";
 * assert(parseChoice("--format", "json", ["table", "json"]) === "json");
 * ```
 */
export function parseChoice<T extends string>(
  flag: string,
  value: string,
  choices: readonly T[],
): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`invalid ${flag}: current value is '${value}'`, {
    hint: `expected one of ${choices.join(", ")}`,
  });
}

/**
 * A phone region option (`--region`): upper-cased, and refused unless it is a
 * region with a numbering plan.
 *
 * @throws {UsageError} naming the flag and the value.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRegionOption } from "./_options.ts";
 * assert.equal(parseRegionOption("--region", "gb"), "GB");
 * assert.throws(() => parseRegionOption("--region", "XX"), /invalid --region/);
 * ```
 */
export function parseRegionOption(flag: string, value: string): string {
  const region = value.toUpperCase();
  if (!isPhoneRegion(region)) {
    throw new UsageError(`invalid ${flag}: current value is '${value}'`, {
      hint: "expected a two-letter ISO 3166 region with a numbering plan, such as US, GB or DE",
    });
  }
  return region;
}
