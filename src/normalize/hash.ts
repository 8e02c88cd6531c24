/**
 * The 64-bit key of every dedup row and conversation: XXH64 (seed 0) over the
 * UTF-8 bytes of well-formed, NFC text, read as a signed 64-bit integer so it
 * fits PostgreSQL's `bigint`. The value never passes through `Number` (a double
 * holds 53 bits).
 *
 * @module
 */
import { xxh64Hex, xxh64Signed } from "./_xxh64.ts";

// Strings are encoded into this buffer rather than letting hash-wasm allocate
// a Buffer per call (2.0M/s against 1.7M/s on 48-byte strings), and handed
// over through a reused view of the written length: another ~10%.
const encoder = new TextEncoder();
const scratch = new Uint8Array(64 * 1024);
const VIEWS_UP_TO = 1024;
const views: Uint8Array[] = [];

// Text made only of code points below U+0300 is well-formed and already NFC:
// none of them has a canonical decomposition and none is the second half of
// a canonical composition (tests/normalize/hash_test.ts checks all of them).
// Skipping normalize() for it: 1.1M → 1.5M hashes/s on 48-byte strings.
const MAY_NEED_NFC = /[\u0300-\uffff]/;

const MIN_SIGNED = -(1n << 63n);
const MAX_UNSIGNED = (1n << 64n) - 1n;

/**
 * XXH64 (seed 0) of the UTF-8 bytes of `text`, as a signed 64-bit `bigint`.
 * Lone surrogates are replaced by U+FFFD (`toWellFormed`) and the text is put
 * in NFC first, so canonically equivalent strings share a key.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { hash64 } from "./hash.ts";
 * equal(hash64(""), -1205034819632174695n); // 0xef46db3751d8e999
 * equal(hash64("caf\u00e9"), hash64("cafe\u0301"));
 * ```
 */
export function hash64(text: string): bigint {
  return xxh64Signed(hashedBytes(text));
}

/**
 * `hashHex(hash64(text))` without the `bigint` in between: for keys written as text.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { hash64, hash64Hex, hashHex } from "./hash.ts";
 * equal(hash64Hex("abc"), "44bc2cf5ad770999");
 * equal(hash64Hex("caf\u00e9"), hashHex(hash64("cafe\u0301")));
 * ```
 */
export function hash64Hex(text: string): string {
  return xxh64Hex(hashedBytes(text));
}

/**
 * The bytes {@link hash64} hashes: the UTF-8 of `text` made well-formed and NFC. A view of
 * a scratch buffer, valid until the next call.
 */
function hashedBytes(text: string): Uint8Array {
  if (MAY_NEED_NFC.test(text)) {
    if (!text.isWellFormed()) text = text.toWellFormed();
    text = text.normalize("NFC");
  }
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
  if (text.length * 3 <= scratch.length) {
    const { written } = encoder.encodeInto(text, scratch);
    if (written > VIEWS_UP_TO) return scratch.subarray(0, written);
    return views[written] ??= scratch.subarray(0, written);
  }
  return encoder.encode(text);
}

/**
 * A 64-bit key as 16 lowercase hex digits of its unsigned value (the canonical
 * XXH64 form). Accepts the signed or the unsigned representation.
 *
 * @throws {RangeError} when `key` is outside −2^63 … 2^64−1.
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { hash64, hashHex } from "./hash.ts";
 * equal(hashHex(hash64("abc")), "44bc2cf5ad770999");
 * equal(hashHex(-1205034819632174695n), "ef46db3751d8e999");
 * equal(hashHex(1n), "0000000000000001");
 * ```
 */
export function hashHex(key: bigint): string {
  if (key < MIN_SIGNED || key > MAX_UNSIGNED) {
    throw new RangeError(`Cannot format 64-bit key: current value is '${key}' (out of range)`);
  }
  return BigInt.asUintN(64, key).toString(16).padStart(16, "0");
}
