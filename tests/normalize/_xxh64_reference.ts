/**
 * A plain BigInt XXH64 written from the xxHash specification
 * (doc/xxhash_spec.md), independent of hash-wasm: the oracle `hash64` is
 * checked against. Slow; tests only.
 *
 * @module
 */

const MASK = (1n << 64n) - 1n;
const P1 = 0x9E3779B185EBCA87n;
const P2 = 0xC2B2AE3D27D4EB4Fn;
const P3 = 0x165667B19E3779F9n;
const P4 = 0x85EBCA77C2B2AE63n;
const P5 = 0x27D4EB2F165667C5n;

const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & MASK;
const mul = (a: bigint, b: bigint) => (a * b) & MASK;
const add = (a: bigint, b: bigint) => (a + b) & MASK;

function readLE(bytes: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
  return v;
}

function round(acc: bigint, lane: bigint): bigint {
  return mul(rotl(add(acc, mul(lane, P2)), 31n), P1);
}

function merge(acc: bigint, v: bigint): bigint {
  return add(mul(acc ^ round(0n, v), P1), P4);
}

/** XXH64 of `bytes` with `seed`, as an unsigned 64-bit bigint. */
export function xxh64Reference(bytes: Uint8Array, seed = 0n): bigint {
  const len = bytes.length;
  let at = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = add(add(seed, P1), P2);
    let v2 = add(seed, P2);
    let v3 = seed;
    let v4 = (seed - P1) & MASK;
    for (; at + 32 <= len; at += 32) {
      v1 = round(v1, readLE(bytes, at, 8));
      v2 = round(v2, readLE(bytes, at + 8, 8));
      v3 = round(v3, readLE(bytes, at + 16, 8));
      v4 = round(v4, readLE(bytes, at + 24, 8));
    }
    h = add(add(rotl(v1, 1n), rotl(v2, 7n)), add(rotl(v3, 12n), rotl(v4, 18n)));
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = add(seed, P5);
  }
  h = add(h, BigInt(len));
  for (; at + 8 <= len; at += 8) {
    h = add(mul(rotl(h ^ round(0n, readLE(bytes, at, 8)), 27n), P1), P4);
  }
  if (at + 4 <= len) {
    h = add(mul(rotl(h ^ mul(readLE(bytes, at, 4), P1), 23n), P2), P3);
    at += 4;
  }
  for (; at < len; at++) {
    h = mul(rotl(h ^ mul(BigInt(bytes[at]), P5), 11n), P1);
  }
  h ^= h >> 33n;
  h = mul(h, P2);
  h ^= h >> 29n;
  h = mul(h, P3);
  h ^= h >> 32n;
  return h;
}

/**
 * xxHash's sanity buffer: byte i is the top 8 bits of a generator that starts at
 * 2654435761 and is multiplied by 11400714785074694797 (mod 2^64) after each byte.
 */
export function sanityBuffer(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let gen = 2654435761n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(gen >> 56n);
    gen = (gen * 11400714785074694797n) & MASK;
  }
  return out;
}
