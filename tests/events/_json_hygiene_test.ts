import assert from "node:assert/strict";
import fc from "fast-check";
import { replaceRawNul, sanitizeParsed } from "../../src/events/_json_hygiene.ts";

const zero = () => ({ nul: 0, surrogates: 0 });

Deno.test("replaceRawNul() replaces raw NULs and counts them, and leaves other text alone", () => {
  const counts = zero();
  assert.equal(replaceRawNul("a\0b\0\0", counts), "a\uFFFDb\uFFFD\uFFFD");
  assert.deepEqual(counts, { nul: 3, surrogates: 0 });
  const text = String.raw`{"a":"\u0000"}`;
  assert.equal(replaceRawNul(text, counts), text);
  assert.equal(counts.nul, 3);
});

Deno.test("sanitizeParsed() returns the value untouched when the text shows no reason to walk it", () => {
  const value = { a: "b" };
  const counts = zero();
  assert.equal(sanitizeParsed('{"a":"b"}', value, counts), value);
  // An escaped backslash before u0000 is not a NUL: walked, nothing replaced.
  const text = String.raw`{"a":"C:\\u0000"}`;
  assert.deepEqual(sanitizeParsed(text, JSON.parse(text), counts), { a: String.raw`C:\u0000` });
  assert.deepEqual(counts, zero());
});

Deno.test("sanitizeParsed() cleans keys and values at every depth, and a bare string", () => {
  const text = String.raw`{"x\u0000y":{"deep":[["\u0000"],"\ud800"]},"ok":"\ud83d\ude00"}`;
  const counts = zero();
  assert.deepEqual(sanitizeParsed(text, JSON.parse(text), counts), {
    "x\uFFFDy": { deep: [["\uFFFD"], "\uFFFD"] },
    ok: "😀",
  });
  assert.deepEqual(counts, { nul: 2, surrogates: 1 });
  assert.equal(sanitizeParsed(String.raw`"\udc00"`, "\udc00", counts), "\uFFFD");
  assert.equal(counts.surrogates, 2);
});

Deno.test("sanitizeParsed() keeps a __proto__ key a plain key when it rebuilds keys", () => {
  const text = String.raw`{"__proto__":{"polluted":true},"k\u0000":1}`;
  const value = sanitizeParsed(text, JSON.parse(text), zero()) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__")?.value, { polluted: true });
  assert.equal(value["k\uFFFD"], 1);
});

Deno.test("sanitizeParsed() leaves no NUL or lone surrogate and counts each one replaced (property)", () => {
  const unit = fc.oneof(
    fc.constantFrom("\0", "\ud800", "\udfff", "😀", "a"),
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  );
  fc.assert(
    fc.property(fc.string({ unit }), (s) => {
      const text = JSON.stringify({ [s]: [s, { s }] });
      const counts = zero();
      const clean = s.replaceAll("\0", "\uFFFD").toWellFormed();
      assert.deepEqual(sanitizeParsed(text, JSON.parse(text), counts), {
        [clean]: [clean, { s: clean }],
      });
      const nul = s.split("\0").length - 1;
      const lone = [...s].filter((ch) => ch.length === 1 && !ch.isWellFormed()).length;
      assert.deepEqual(counts, { nul: 3 * nul, surrogates: 3 * lone });
    }),
  );
});
