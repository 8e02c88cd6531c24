import assert from "node:assert/strict";
import fc from "fast-check";
import { backoffDelay } from "../../src/queue/backoff.ts";

Deno.test("backoffDelay() doubles from the base up to the ceiling, jittered within ±50 %", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.integer({ min: 1, max: 86_400_000 }),
      fc.double({ min: 0, max: 0.999999, noNaN: true }),
      (attempt, baseMs, maxMs, r) => {
        const nominal = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
        const d = backoffDelay(attempt, { baseMs, maxMs, random: () => r });
        assert.ok(
          d >= Math.floor(nominal * 0.5) && d <= Math.ceil(nominal * 1.5),
          `${d} vs ${nominal}`,
        );
        assert.ok(Number.isFinite(d));
      },
    ),
  );
});

Deno.test("backoffDelay() never decreases with attempts at a fixed jitter", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100 }),
      fc.double({ min: 0, max: 0.999, noNaN: true }),
      (n, r) => {
        const opts = { baseMs: 500, maxMs: 3_600_000, random: () => r };
        assert.ok(backoffDelay(n + 1, opts) >= backoffDelay(n, opts));
      },
    ),
  );
});
