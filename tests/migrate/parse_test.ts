import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checksum,
  isNoTransaction,
  loadMigrations,
  parseMigrationName,
  splitStatements,
  toHex,
} from "../../src/migrate/parse.ts";

const enc = new TextEncoder();
const file = (name: string, text: string) => ({ name, bytes: enc.encode(text) });

Deno.test("parseMigrationName() follows sqlx's description rule", () => {
  assert.deepEqual(parseMigrationName("0001_dedup_tables.up.sql"), {
    version: 1n,
    versionText: "0001",
    description: "dedup tables",
    kind: "up",
  });
  assert.equal(parseMigrationName("0001_dedup_tables.down.sql")?.kind, "down");
  const simple = parseMigrationName("20261121120000_add_x_y.sql");
  assert.equal(simple?.kind, "simple");
  assert.equal(simple?.version, 20261121120000n);
  assert.equal(simple?.description, "add x y");
  // Only the first '_' separates the version.
  assert.equal(parseMigrationName("7_a_b_c.up.sql")?.description, "a b c");
});

Deno.test("parseMigrationName() ignores files that are not migrations", () => {
  for (const n of ["README.md", "0001.sql", "abc_x.sql", "0001_x.txt", "_x.sql"]) {
    assert.equal(parseMigrationName(n), undefined, n);
  }
});

Deno.test("parseMigrationName() rejects a version over 2^63-1", () => {
  assert.throws(() => parseMigrationName("9223372036854775808_x.sql"), RangeError);
  assert.equal(parseMigrationName("9223372036854775807_x.sql")?.version, (1n << 63n) - 1n);
});

Deno.test("checksum() is SHA-384 of the exact bytes", async () => {
  // FIPS 180-2 test vector for SHA-384("abc").
  assert.equal(
    toHex(await checksum(enc.encode("abc"))),
    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed" +
      "8086072ba1e7cc2358baeca134c825a7",
  );
  // A trailing newline or CRLF is a different checksum: bytes, not text.
  const a = await checksum(enc.encode("select 1;\n"));
  const b = await checksum(enc.encode("select 1;\r\n"));
  assert.notEqual(toHex(a), toHex(b));
});

Deno.test("isNoTransaction() needs the marker at the very start, as sqlx does", () => {
  assert.ok(isNoTransaction("-- no-transaction\ncreate index concurrently i on t (a);"));
  assert.ok(!isNoTransaction("\n-- no-transaction\nselect 1;"));
  assert.ok(!isNoTransaction("select 1; -- no-transaction"));
});

Deno.test("splitStatements() honours quotes, comments and dollar quoting", () => {
  const cases: [string, number][] = [
    ["select 1; select 2;", 2],
    ["select 1", 1],
    ["-- only a comment; here\n", 0],
    ["/* a; /* nested; */ still; */ select 1;", 1],
    ["select ';'; select 'it''s;';", 2],
    ['create table "a;b" (x int);', 1],
    ["select E'\\';' ; select 2;", 2],
    ["create function f() returns int language sql as $$ select 1; select 2; $$;", 1],
    ["do $body$ begin perform 1; end $body$; select 1;", 2],
    ["select $1::int; select 2", 2],
    ["select 1;;;", 1],
  ];
  for (const [sql, n] of cases) assert.equal(splitStatements(sql).length, n, sql);
});

Deno.test("splitStatements() never loses code: joined statements keep every word", () => {
  fc.assert(
    fc.property(
      fc.array(fc.stringMatching(/^[a-z]{1,8}( [a-z0-9]{1,8}){0,3}$/), { maxLength: 6 }),
      (stmts) => {
        const sql = stmts.map((s) => s + ";").join("\n");
        assert.deepEqual(splitStatements(sql), stmts);
      },
    ),
  );
});

Deno.test("loadMigrations() pairs up and down files in version order", async () => {
  const ms = await loadMigrations([
    file("0002_b.up.sql", "select 2;"),
    file("0001_a.sql", "select 1;"),
    file("0002_b.down.sql", "select -2;"),
    file("notes.txt", "ignored"),
  ]);
  assert.deepEqual(ms.map((m) => m.versionText), ["0001", "0002"]);
  assert.equal(ms[0].down, undefined);
  assert.equal(ms[1].down?.sql, "select -2;");
});

Deno.test("loadMigrations() refuses a no-transaction file with two statements, naming it", async () => {
  await assert.rejects(
    () =>
      loadMigrations([
        file(
          "0003_idx.up.sql",
          "-- no-transaction\ncreate index concurrently a on t (x);\nselect 1;",
        ),
      ]),
    (err: Error) => err.message.includes("0003_idx.up.sql") && err.message.includes("2 statements"),
  );
  const ok = await loadMigrations([
    file("0003_idx.up.sql", "-- no-transaction\ncreate index concurrently a on t (x);\n"),
  ]);
  assert.equal(ok[0].up.noTransaction, true);
});

Deno.test("loadMigrations() refuses duplicate versions and orphan down files", async () => {
  await assert.rejects(
    () => loadMigrations([file("1_a.sql", "x"), file("01_b.sql", "y")]),
    /Duplicate migration version/,
  );
  await assert.rejects(() => loadMigrations([file("1_a.down.sql", "x")]), /no matching \.up\.sql/);
  await assert.rejects(
    () => loadMigrations([file("1_a.sql", "x"), file("1_a.down.sql", "y")]),
    /is simple/,
  );
});

Deno.test("loadMigrations() refuses a file that is not UTF-8", async () => {
  await assert.rejects(
    () => loadMigrations([{ name: "1_a.sql", bytes: new Uint8Array([0xff, 0xfe, 0x41]) }]),
    /not valid UTF-8/,
  );
});
