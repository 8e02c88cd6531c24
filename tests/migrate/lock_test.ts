import assert from "node:assert/strict";
import { crc32, migrationLockKey } from "../../src/migrate/lock.ts";

Deno.test("crc32() matches the CRC-32/ISO-HDLC check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
});

Deno.test("migrationLockKey() is sqlx's 0x3d32ad9e * crc32(database name)", () => {
  // zlib.crc32(b"postgres") == 359303029 (computed with Python's zlib).
  assert.equal(migrationLockKey("postgres"), 0x3d32ad9en * 359303029n);
  // The product always fits a signed 64-bit integer (pg_advisory_lock(bigint)).
  for (const name of ["", "convo", "a".repeat(63), "データベース"]) {
    const key = migrationLockKey(name);
    assert.ok(key >= 0n && key < 1n << 63n, name);
  }
});
