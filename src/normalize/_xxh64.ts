/**
 * The process's one XXH64 hasher (hash-wasm, seed 0) and the step from its
 * digest to a signed 64-bit `bigint`. Internal: `hash.ts` is the public face.
 *
 * @module
 */
import { createXXHash64 } from "hash-wasm";

// Created once; `init/update/digest` are synchronous, so calls cannot interleave.
const hasher = await createXXHash64(0, 0);

/**
 * XXH64 (seed 0) of `bytes` as a signed 64-bit `bigint`. The digest is read as
 * hex, most significant byte first (the canonical XXH64 form), and parsed by
 * `BigInt`: it never passes through `Number`.
 *
 * Measured on 48-byte inputs (Deno 2.9, 1M calls): digest("hex") +
 * BigInt("0x…") ≈ 2.0M/s; digest("binary") + DataView.getBigInt64 ≈ 1.5M/s;
 * binary + two 32-bit halves ≈ 1.7M/s.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { xxh64Signed } from "./_xxh64.ts";
 * equal(xxh64Signed(new TextEncoder().encode("abc")), 0x44bc2cf5ad770999n);
 * equal(xxh64Signed(new Uint8Array()), -1205034819632174695n); // 0xef46db3751d8e999
 * ```
 */
export function xxh64Signed(bytes: Uint8Array): bigint {
  return BigInt.asIntN(64, BigInt("0x" + xxh64Hex(bytes)));
}

/**
 * XXH64 (seed 0) of `bytes` as 16 lowercase hex digits, most significant first.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { xxh64Hex } from "./_xxh64.ts";
 * equal(xxh64Hex(new TextEncoder().encode("abc")), "44bc2cf5ad770999");
 * ```
 */
export function xxh64Hex(bytes: Uint8Array): string {
  hasher.init();
  hasher.update(bytes);
  return hasher.digest("hex");
}
