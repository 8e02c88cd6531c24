import assert from "node:assert/strict";
import fc from "fast-check";
import { formatDuration, parseDuration } from "../src/duration.ts";

Deno.test("parseDuration() reads units and bare seconds", () => {
  const cases: [string, number][] = [
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["7d", 604_800_000],
    ["90", 90_000],
    ["0.5", 500],
    ["250ms", 250],
    [" 10s ", 10_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("parseDuration() refuses what is not a duration, naming it", () => {
  for (const text of ["", "s", "-5s", "5 minutes", "1e3", "5w", "99999999d"]) {
    assert.throws(
      () => parseDuration(text),
      (e: Error) => e instanceof RangeError && e.message.includes(`'${text}'`),
    );
  }
});

Deno.test("parseDuration() inverts whole-unit formatting", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 3_000 }),
      fc.constantFrom("ms", "s", "m", "h", "d"),
      (n, unit) => {
        const ms = parseDuration(`${n}${unit}`);
        assert.equal(ms, n * { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[unit]!);
      },
    ),
  );
  assert.equal(formatDuration(61_000), "1m01s");
  assert.equal(formatDuration(3 * 86_400_000 + 4 * 3_600_000), "3d4h");
});
