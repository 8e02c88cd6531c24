/**
 * Cursors: round trips, and everything that is not a cursor of the listing
 * refused with one line.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Cursor, decodeCursor, encodeCursor } from "../../src/overview/cursor.ts";

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const AT = fc.tuple(
  fc.date({
    min: new Date("1970-01-01T00:00:00Z"),
    max: new Date("9999-12-31T23:59:59Z"),
    noInvalidDate: true,
  }),
  fc.integer({ min: 0, max: 999 }),
).map(([d, us]) => d.toISOString().replace("Z", String(us).padStart(3, "0") + "Z"));

const CURSOR: fc.Arbitrary<Cursor> = fc.oneof(
  fc.record({
    kind: fc.constant("conversations" as const),
    at: fc.option(AT, { nil: null }),
    id: INT64,
  }),
  fc.record({
    kind: fc.constant("messages" as const),
    conversationId: INT64,
    at: AT,
    id: INT64,
  }),
);

Deno.test("encodeCursor() / decodeCursor() round-trip every cursor, as base64url", () => {
  fc.assert(fc.property(CURSOR, (cursor) => {
    const text = encodeCursor(cursor);
    assert.match(text, /^[A-Za-z0-9_-]+$/);
    assert(text.length <= 200);
    assert.deepEqual(decodeCursor(text, cursor.kind), { ...cursor });
  }));
});

Deno.test("decodeCursor() refuses a cursor of the other listing", () => {
  fc.assert(fc.property(CURSOR, (cursor) => {
    const other = cursor.kind === "messages" ? "conversations" : "messages";
    assert.throws(
      () => decodeCursor(encodeCursor(cursor), other),
      /Cannot parse cursor.*a cursor of/,
    );
  }));
});

Deno.test("decodeCursor() refuses text that is not a cursor, with one line naming it", () => {
  const b64 = (s: string) => btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  const bad = [
    "",
    "abc",
    "not a cursor",
    "x".repeat(201),
    b64("{}"),
    b64("[]"),
    b64("null"),
    b64('{"v":2,"k":"c","t":null,"i":"1"}'),
    b64('{"v":1,"k":"c","t":"2024-05-01T00:00:00Z","i":"1"}'),
    b64('{"v":1,"k":"c","t":"2024-13-01T00:00:00.000000Z","i":"1"}'),
    b64('{"v":1,"k":"c","t":null,"i":"1.5"}'),
    b64('{"v":1,"k":"c","t":null,"i":1}'),
    b64('{"v":1,"k":"c","t":null,"i":"9223372036854775808"}'),
    b64('{"v":1,"k":"c","t":null,"i":"1","x":0}'),
    b64('{"v":1,"k":"z","t":null,"i":"1"}'),
  ];
  for (const text of bad) {
    assert.throws(() => decodeCursor(text, "conversations"), (err: unknown) => {
      assert(err instanceof RangeError, text);
      assert.match(err.message, /^Cannot parse cursor: current value is '/);
      assert(!err.message.includes("\n"));
      return true;
    }, text);
  }
  fc.assert(fc.property(fc.string(), (text) => {
    try {
      decodeCursor(text, "conversations");
    } catch (err) {
      assert(err instanceof RangeError);
    }
  }));
});

Deno.test("encodeCursor() refuses a time without microseconds and an id out of range", () => {
  assert.throws(
    () => encodeCursor({ kind: "conversations", at: "2024-05-01T00:00:00Z", id: 1n }),
    RangeError,
  );
  assert.throws(() => encodeCursor({ kind: "conversations", at: null, id: 2n ** 63n }), RangeError);
});
