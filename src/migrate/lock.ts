/**
 * The migration lock key, sqlx's, so that convo and sqlx-cli exclude each other:
 * `0x3d32ad9e * crc32(current_database())` (CRC-32/ISO-HDLC of the UTF-8 name).
 *
 * @module
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (ISO-HDLC, the zlib/PNG one) of bytes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { crc32 } from "./lock.ts";
 * assert(crc32(new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The advisory lock key sqlx uses for migrations of a database.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { migrationLockKey } from "./lock.ts";
 * // 0x3d32ad9e * crc32("postgres") = 1026731422 * 359303029
 * assert(migrationLockKey("postgres") === 368907709894077238n);
 * ```
 */
export function migrationLockKey(databaseName: string): bigint {
  return 0x3d32ad9en * BigInt(crc32(new TextEncoder().encode(databaseName)));
}
