/** parseTimeBound(): ISO 8601 times and durations ago. */
import assert from "node:assert/strict";
import { parseTimeBound } from "../../src/overview/time_bound.ts";

const now = new Date("2024-05-08T12:00:00Z");

Deno.test("parseTimeBound() reads a duration as that long before now", () => {
  assert.equal(parseTimeBound("7d", { now }), "2024-05-01T12:00:00.000Z");
  assert.equal(parseTimeBound("90m", { now }), "2024-05-08T10:30:00.000Z");
  assert.equal(parseTimeBound(" 30s ", { now }), "2024-05-08T11:59:30.000Z");
});

Deno.test("parseTimeBound() keeps ISO times (microseconds, offsets) and reads a bare one as UTC", () => {
  assert.equal(parseTimeBound("2024-05-01", { now }), "2024-05-01T00:00:00Z");
  assert.equal(parseTimeBound("2024-05-01 16:00", { now }), "2024-05-01T16:00Z");
  assert.equal(
    parseTimeBound("2024-05-01T16:00:00.123456Z", { now }),
    "2024-05-01T16:00:00.123456Z",
  );
  assert.equal(parseTimeBound("2024-05-01T16:00:00-07:00", { now }), "2024-05-01T16:00:00-07:00");
});

Deno.test("parseTimeBound() refuses anything else, naming the value", () => {
  for (
    const bad of ["", "7", "yesterday", "2024-02-30", "2024-05-01T25:00", "5x", "2024/05/01", "-1d"]
  ) {
    assert.throws(
      () => parseTimeBound(bad, { now }),
      /^RangeError: Cannot parse time: current value is/,
      bad,
    );
  }
});
