import { equal, notEqual, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { hash64, hash64Hex, hashHex } from "../../src/normalize/hash.ts";
import { xxh64Signed } from "../../src/normalize/_xxh64.ts";
import { sanityBuffer, xxh64Reference } from "./_xxh64_reference.ts";

const MIN = -(1n << 63n);
const MAX = (1n << 63n) - 1n;
const encoder = new TextEncoder();

/** What hash64 must return for `text`, computed by the independent reference. */
function expected(text: string): bigint {
  return BigInt.asIntN(64, xxh64Reference(encoder.encode(text.toWellFormed().normalize("NFC"))));
}

Deno.test("hash64() matches the XXH64 test vectors", () => {
  const vectors: [string, string][] = [
    ["", "ef46db3751d8e999"],
    ["a", "d24ec4f1a98c6e5b"],
    ["abc", "44bc2cf5ad770999"],
    ["message digest", "066ed728fceeb3be"],
  ];
  for (const [text, hex] of vectors) {
    equal(hashHex(hash64(text)), hex, `hash64(${JSON.stringify(text)})`);
    equal(hash64(text), BigInt.asIntN(64, BigInt("0x" + hex)));
  }
});

Deno.test("hash64() returns the signed 64-bit value", () => {
  equal(hash64(""), -1205034819632174695n); // 0xef46db3751d8e999: top bit set
  equal(hash64("abc"), 4952883123889572249n); // 0x44bc2cf5ad770999: top bit clear
  equal(hash64("a"), -3292477735350538661n); // 0xd24ec4f1a98c6e5b
});

Deno.test("hash64() keeps every bit: no value passes through Number", () => {
  // These keys are not representable as doubles: had any step gone through
  // Number, the low bits would differ.
  for (const [text, key] of [["", -1205034819632174695n], ["abc", 4952883123889572249n]] as const) {
    notEqual(BigInt(Number(key)), key, "the vector must be one a double cannot hold");
    equal(hash64(text), key);
  }
  // And the implementation has no Number conversion to pass through.
  for (const file of ["hash.ts", "_xxh64.ts"]) {
    const source = Deno.readTextFileSync(new URL(`../../src/normalize/${file}`, import.meta.url));
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    ok(!/\bNumber\s*\(|parseInt|parseFloat|Float64|getUint32|\+\s*digest/.test(code), file);
  }
});

Deno.test("xxh64Signed() matches xxHash's sanity buffer (seed 0)", () => {
  const vectors: [number, string][] = [
    [0, "EF46DB3751D8E999"],
    [1, "E934A84ADB052768"],
    [14, "8282DCC4994E35C8"],
    [222, "B641AE8CB691C174"],
  ];
  for (const [length, hex] of vectors) {
    const bytes = sanityBuffer(length);
    const want = BigInt.asIntN(64, BigInt("0x" + hex));
    equal(xxh64Signed(bytes), want, `length ${length}`);
    equal(BigInt.asIntN(64, xxh64Reference(bytes)), want, `reference, length ${length}`);
    equal(hashHex(want), hex.toLowerCase());
  }
});

Deno.test("hash64() agrees with an independent XXH64 on any string", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
      equal(hash64(text), expected(text));
    }),
    { numRuns: 500 },
  );
});

Deno.test("hash64() hashes text longer than its scratch buffer", () => {
  const long = "€".repeat(30_000) + "x"; // 90 001 UTF-8 bytes
  equal(hash64(long), expected(long));
  notEqual(hash64(long), hash64(long.slice(0, -1)));
});

Deno.test("hash64() is deterministic and within the signed 64-bit range", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 100 }), (text) => {
      const key = hash64(text);
      equal(typeof key, "bigint");
      ok(key >= MIN && key <= MAX);
      equal(hash64(text), key);
    }),
  );
});

Deno.test("hash64() gives canonically equivalent strings one key", () => {
  equal(hash64("caf\u00e9"), hash64("cafe\u0301"));
  equal(hash64("\u00c5"), hash64("A\u030a"));
  notEqual(hash64("café"), hash64("cafe"));
});

Deno.test("hash64() may skip NFC below U+0300: no such text changes under NFC", () => {
  // hash64 hashes text made only of code points < U+0300 without normalizing
  // it. Proof by exhaustion: no such code point changes, and no pair composes.
  const chars = Array.from({ length: 0x300 }, (_, c) => String.fromCharCode(c));
  for (const a of chars) {
    equal(a.normalize("NFC"), a);
    for (const b of chars) {
      const pair = a + b;
      if (pair.normalize("NFC") !== pair) {
        throw new Error(`U+${a.charCodeAt(0)} U+${b.charCodeAt(0)}`);
      }
    }
  }
  // U+0300 is the first combining mark: the fast path must not cover it.
  equal(hash64("e\u0300"), hash64("\u00e8"));
  equal(hash64("e\u0300"), expected("e\u0300"));
});

Deno.test("hash64() hashes a lone surrogate as U+FFFD", () => {
  equal(hash64("a\ud800b"), hash64("a\ufffdb"));
  equal(hash64("\udc00"), hash64("\ufffd"));
});

Deno.test("hashHex() formats signed and unsigned forms alike", () => {
  equal(hashHex(-1n), "ffffffffffffffff");
  equal(hashHex((1n << 64n) - 1n), "ffffffffffffffff");
  equal(hashHex(0n), "0000000000000000");
  equal(hashHex(MIN), "8000000000000000");
  equal(hashHex(MAX), "7fffffffffffffff");
});

Deno.test("hashHex() rejects values outside 64 bits", () => {
  throws(() => hashHex(1n << 64n), RangeError);
  throws(() => hashHex(MIN - 1n), /current value is '-9223372036854775809'/);
});

Deno.test("hash64Hex() is hashHex(hash64()) on any string, long and short", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
      equal(hash64Hex(text), hashHex(hash64(text)));
      equal(hash64Hex(text), BigInt.asUintN(64, expected(text)).toString(16).padStart(16, "0"));
    }),
    { numRuns: 2000 },
  );
  // Digests with leading zero digits keep them.
  let zeros = 0;
  for (let i = 0; zeros < 3; i++) {
    const hex = hash64Hex(`k${i}`);
    if (hex.startsWith("0")) {
      zeros++;
      equal(hex, hashHex(hash64(`k${i}`)));
    }
    equal(hex.length, 16);
  }
  const long = "é".repeat(40_000);
  equal(hash64Hex(long), hashHex(hash64(long)));
});
