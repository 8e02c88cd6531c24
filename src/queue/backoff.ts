/**
 * Retry delays: exponential backoff with jitter. Pure; the random source is a
 * parameter so tests can pin it.
 *
 * @module
 */

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay after the first failed attempt, before jitter (default 1 s). */
  baseMs?: number;
  /** Ceiling, before jitter (default 1 h). */
  maxMs?: number;
  /** A number in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/**
 * The delay before attempt `attempt + 1`, after `attempt` attempts failed:
 * `min(max, base · 2^(attempt−1))`, scaled by a jitter factor in [0.5, 1.5) so
 * workers that failed together do not retry together.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay } from "./backoff.ts";
 * const fixed = { baseMs: 1000, random: () => 0.5 }; // jitter factor 1
 * assert.equal(backoffDelay(1, fixed), 1000);
 * assert.equal(backoffDelay(4, fixed), 8000);
 * assert.equal(backoffDelay(40, { ...fixed, maxMs: 60_000 }), 60_000);
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 3_600_000;
  const random = options.random ?? Math.random;
  const exponent = Math.min(Math.max(attempt, 1) - 1, 52);
  const raw = Math.min(max, base * 2 ** exponent);
  return Math.round(raw * (0.5 + random()));
}
