/**
 * `writeDedupRows()` against a real PostgreSQL: the primary key (id = hash) is the one
 * arbiter of `on conflict do nothing` since migration 20261203160000_dedup_hash_key dropped the
 * duplicate unique (hash) constraints; a repeated value is stored once and a key held
 * with another value is reported as a collision, in each of the five tables.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { writeDedupRows } from "../../src/dedup/write.ts";
import { withMigratedDatabase } from "../_helpers/seed.ts";

const TABLES = [
  "phone_numbers",
  "email_addresses",
  "xms_bodies",
  "email_bodies",
  "attachment_urls",
];

async function counts(sql: Sql): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) {
    const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${t}`);
    out[t] = n;
  }
  return out;
}

Deno.test("writeDedupRows() stores a value once under its key, through the primary key alone", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const unique = await sql<{ table: string; n: number }[]>`
      select c.relname as table, count(*)::int as n
      from pg_index i join pg_class c on c.oid = i.indrelid
      where i.indisunique and c.relname = any(${TABLES})
      group by c.relname order by c.relname`;
    assert.deepEqual(
      [...unique].map((r) => [r.table, r.n]),
      [...TABLES].sort().map((t) => [t, 1]),
      "the primary key is each dedup table's only unique index",
    );
    const rows = {
      phones: [[11n, { raw: "(415) 555-0100", value: "+14155550100" }]] as const,
      emails: [[12n, { raw: "A@x.org", value: "a@x.org" }]] as const,
      xms: [[13n, { raw: "hi  there", normalized: "hi there" }]] as const,
      mails: [[14n, { raw: "hello\n", normalized: "hello" }]] as const,
      urls: [[15n, "https://media.example.com/1.jpg"]] as const,
    };
    assert.deepEqual(await writeDedupRows(sql, rows), []);
    assert.deepEqual(await writeDedupRows(sql, rows), []);
    // Two transactions writing the same new rows at once: one waits, neither fails.
    await Promise.all([1, 2].map(() =>
      sql.begin((tx) =>
        writeDedupRows(tx as unknown as Sql, {
          phones: [[21n, { raw: "+14155550101", value: "+14155550101" }]],
          urls: [[25n, "https://media.example.com/2.jpg"]],
        })
      )
    ));
    assert.deepEqual(await counts(sql), {
      phone_numbers: 2,
      email_addresses: 1,
      xms_bodies: 1,
      email_bodies: 1,
      attachment_urls: 2,
    });
  });
});

Deno.test("writeDedupRows() reports a key held with another value, in every dedup table", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await writeDedupRows(sql, {
      phones: [[11n, { raw: "+14155550100", value: "+14155550100" }]],
      emails: [[12n, { raw: "a@x.org", value: "a@x.org" }]],
      xms: [[13n, { raw: "one", normalized: "one" }]],
      mails: [[14n, { raw: "one", normalized: "one" }]],
      urls: [[15n, "https://media.example.com/1.jpg"]],
    });
    const found = await writeDedupRows(sql, {
      phones: [[11n, { raw: "+14155550199", value: "+14155550199" }]],
      emails: [[12n, { raw: "b@x.org", value: "b@x.org" }]],
      xms: [[13n, { raw: "two", normalized: "two" }]],
      mails: [[14n, { raw: "two", normalized: "two" }]],
      urls: [[15n, "https://media.example.com/9.jpg"]],
    });
    assert.deepEqual(
      found.map((c) => [c.table, c.id, c.stored]).sort(),
      [
        ["attachment_urls", 15n, "https://media.example.com/1.jpg"],
        ["email_addresses", 12n, "a@x.org"],
        ["email_bodies", 14n, "one"],
        ["phone_numbers", 11n, "+14155550100"],
        ["xms_bodies", 13n, "one"],
      ],
    );
    assert.deepEqual(await counts(sql), {
      phone_numbers: 1,
      email_addresses: 1,
      xms_bodies: 1,
      email_bodies: 1,
      attachment_urls: 1,
    });
  });
});
