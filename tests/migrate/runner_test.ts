import assert from "node:assert/strict";
import { ConvoError } from "../../src/errors.ts";
import { createLogger } from "../../src/log/logger.ts";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import { migrationLockKey } from "../../src/migrate/lock.ts";
import { loadMigrations, type Migration } from "../../src/migrate/parse.ts";
import {
  LEDGER_DDL,
  migrateDown,
  migrateUp,
  migrationStatus,
  readLedger,
  withMigrationLock,
} from "../../src/migrate/runner.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import type { Sql } from "../../src/db/connect.ts";
import { until } from "../_helpers/until.ts";

const enc = new TextEncoder();
const logs: string[] = [];
const logger = createLogger({ level: "debug", format: "json", write: (l) => logs.push(l) });

async function projectObjects(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select c.relkind::text || ':' || c.relname as name from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname not like '_sqlx_migrations%'
    union all
    select 'f:' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public'
    union all
    select 't:' || t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = 'public' and t.typrelid = 0 and t.typelem = 0
    order by 1`;
  return rows.map((r) => r.name);
}

async function lockIsFree(sql: Sql): Promise<boolean> {
  const [{ db }] = await sql<{ db: string }[]>`select current_database() as db`;
  const key = migrationLockKey(db);
  return await sql.begin(async (tx) => {
    const [{ ok }] = await tx<{ ok: boolean }[]>`select pg_try_advisory_xact_lock(${key}) as ok`;
    return ok;
  });
}

Deno.test("migrateUp() applies every embedded migration on a fresh database, then nothing", async () => {
  await withTestDatabase(async ({ sql }) => {
    const migrations = await embeddedMigrations();
    const first = await migrateUp(sql, migrations, { logger });
    assert.equal(first.steps.length, migrations.length);
    assert.equal(first.before, 0n);
    assert.equal(first.after, migrations.at(-1)!.version);
    const ledger = await readLedger(sql);
    assert.deepEqual(ledger.map((r) => r.version), migrations.map((m) => m.version));
    assert.ok(ledger.every((r) => r.success && r.executionTime >= 0n));

    const second = await migrateUp(sql, migrations, { logger });
    assert.equal(second.steps.length, 0);
    assert.deepEqual(
      (await readLedger(sql)).map((r) => r.installedOn),
      ledger.map((r) => r.installedOn),
    );
    const status = await migrationStatus(sql, migrations);
    assert.ok(status.every((e) => e.state === "applied"));
    assert.ok(await lockIsFree(sql));
  });
});

Deno.test("migrateUp() adopts a database migrated by sqlx-cli from the same files", async () => {
  await withTestDatabase(async ({ sql }) => {
    const migrations = await embeddedMigrations();
    // What sqlx's Migrator::run does for each file (sqlx-core postgres/migrate.rs):
    // create the ledger, run the file and insert its row with execution_time -1
    // in one transaction, then update execution_time (nanoseconds).
    await sql.unsafe(`CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)`);
    for (const m of migrations) {
      const insert = (q: typeof sql) =>
        q`INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time )
          VALUES ( ${m.version}, ${m.description}, TRUE, ${m.up.checksum}, -1 )`;
      if (m.up.noTransaction) {
        // sqlx runs a `-- no-transaction` file alone, then inserts its row.
        await sql.unsafe(m.up.sql);
        await insert(sql);
      } else {
        await sql.begin(async (tx) => {
          await tx.unsafe(m.up.sql);
          await insert(tx as unknown as typeof sql);
        });
      }
      await sql`UPDATE _sqlx_migrations SET execution_time = ${1234567n} WHERE version = ${m.version}`;
    }
    const status = await migrationStatus(sql, migrations);
    assert.deepEqual(new Set(status.map((e) => e.state)), new Set(["applied"]));
    const up = await migrateUp(sql, migrations, { logger });
    assert.equal(up.steps.length, 0);
  });
});

Deno.test("migrateUp() refuses drift: a changed checksum names the version and both sums", async () => {
  await withTestDatabase(async ({ sql }) => {
    const migrations = await embeddedMigrations();
    await migrateUp(sql, migrations, { logger });
    await sql`update _sqlx_migrations set checksum = ${
      new Uint8Array(48).fill(1)
    } where version = 2`;
    await assert.rejects(
      () => migrateUp(sql, migrations, { logger }),
      (err: ConvoError) =>
        err instanceof ConvoError && err.message.includes("0002") &&
        err.message.includes("01".repeat(48)),
    );
    assert.ok(await lockIsFree(sql), "the lock is released after a refusal");
  });
});

async function failingSet(): Promise<Migration[]> {
  return await loadMigrations([
    { name: "0001_ok.up.sql", bytes: enc.encode("create table t_ok (x int);") },
    { name: "0001_ok.down.sql", bytes: enc.encode("drop table t_ok;") },
    {
      name: "0002_broken.up.sql",
      bytes: enc.encode(
        "create table t_partial (x int);\ncreate index t_partial_x on t_partial (x);\ninsert into t_partial values ('not a number');\n",
      ),
    },
    { name: "0002_broken.down.sql", bytes: enc.encode("drop table t_partial;") },
  ]);
}

Deno.test("a failing migration leaves no ledger row, no partial schema, and the lock released", async () => {
  await withTestDatabase(async ({ sql }) => {
    const migrations = await failingSet();
    await assert.rejects(
      () => migrateUp(sql, migrations, { logger }),
      (err: ConvoError) =>
        err instanceof ConvoError && err.message.includes("0002_broken.up.sql") &&
        err.message.includes("at line 3") && err.message.includes("22P02"),
    );
    assert.deepEqual((await readLedger(sql)).map((r) => r.version), [1n]);
    assert.deepEqual(await projectObjects(sql), ["r:t_ok"]);
    assert.ok(await lockIsFree(sql));
  });
});

Deno.test("a -- no-transaction migration runs outside a transaction (create index concurrently)", async () => {
  await withTestDatabase(async ({ sql }) => {
    const migrations = await loadMigrations([
      { name: "1_t.up.sql", bytes: enc.encode("create table t (x int);") },
      { name: "1_t.down.sql", bytes: enc.encode("drop table t;") },
      {
        name: "2_idx.up.sql",
        bytes: enc.encode("-- no-transaction\ncreate index concurrently t_x on t (x);\n"),
      },
      {
        name: "2_idx.down.sql",
        bytes: enc.encode("-- no-transaction\ndrop index concurrently t_x;\n"),
      },
    ]);
    await migrateUp(sql, migrations, { logger });
    assert.deepEqual(await projectObjects(sql), ["i:t_x", "r:t"]);
    await migrateDown(sql, migrations, { logger, steps: 1 });
    assert.deepEqual(await projectObjects(sql), ["r:t"]);
    assert.deepEqual((await readLedger(sql)).map((r) => r.version), [1n]);
  });
});

Deno.test("migrateDown() to zero leaves no project objects", async () => {
  await withTestDatabase(async ({ sql }) => {
    const migrations = await embeddedMigrations();
    const before = await projectObjects(sql);
    await migrateUp(sql, migrations, { logger });
    assert.ok((await projectObjects(sql)).length > 30);
    const down = await migrateDown(sql, migrations, { logger, target: 0n });
    assert.equal(down.steps.length, migrations.length);
    assert.equal(down.after, 0n);
    assert.deepEqual(await projectObjects(sql), before);
    assert.equal((await readLedger(sql)).length, 0);
    // And back up again: downs really undo their ups.
    assert.equal((await migrateUp(sql, migrations, { logger })).steps.length, migrations.length);
  });
});

Deno.test("migrateUp() --dry-run changes nothing, not even the ledger table", async () => {
  await withTestDatabase(async ({ sql }) => {
    const migrations = await embeddedMigrations();
    const r = await migrateUp(sql, migrations, { logger, dryRun: true });
    assert.equal(r.steps.length, migrations.length);
    assert.deepEqual(await projectObjects(sql), []);
    const [{ exists }] = await sql<{ exists: boolean }[]>`
      select to_regclass('_sqlx_migrations') is not null as exists`;
    assert.equal(exists, false);
  });
});

Deno.test("withMigrationLock() waits for a holder and times out naming its pid", async () => {
  await withTestDatabase(async ({ sql }) => {
    const holder = await sql.reserve();
    try {
      const [{ db, pid }] = await holder<{ db: string; pid: number }[]>`
        select current_database() as db, pg_backend_pid() as pid`;
      await holder`select pg_advisory_lock(${migrationLockKey(db)})`;
      await assert.rejects(
        () => withMigrationLock(sql, { logger, lockTimeoutMs: 300, pollMs: 50 }, async () => {}),
        (err: ConvoError) =>
          err.message.includes("waiting for the migration lock") &&
          err.message.includes(`pid ${pid}`),
      );
      // Released while waiting: the waiter gets it.
      const waiting = withMigrationLock(
        sql,
        { logger, lockTimeoutMs: 10_000, pollMs: 20 },
        () => Promise.resolve("ran"),
      );
      await holder`select pg_advisory_unlock(${migrationLockKey(db)})`;
      assert.equal(await waiting, "ran");
    } finally {
      holder.release();
    }
    assert.ok(await lockIsFree(sql));
  });
});

Deno.test("migrateUp() re-reads the ledger after taking the lock", async () => {
  await withTestDatabase(async ({ sql }) => {
    const migrations = await embeddedMigrations();
    const holder = await sql.reserve();
    const [{ db }] = await holder<{ db: string }[]>`select current_database() as db`;
    await holder`select pg_advisory_lock(${migrationLockKey(db)})`;
    const waiting = migrateUp(sql, migrations, { logger, pollMs: 20 });
    // While it waits (it has tried the lock), "another migrator" applies everything.
    await until("the migrator waits for the lock", async () => {
      const [r] = await holder<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and query ilike '%pg_try_advisory_lock%'`;
      return r.n > 0;
    });
    await holder.unsafe(LEDGER_DDL);
    const other = await migrateUp(sql, migrations, { logger, lockTimeoutMs: 0 }).catch((e) => e);
    assert.ok(other instanceof ConvoError, "the lock is held");
    for (const m of migrations) {
      await holder.unsafe(m.up.sql);
      await holder`insert into _sqlx_migrations (version, description, success, checksum, execution_time)
        values (${m.version}, ${m.description}, true, ${m.up.checksum}, 0)`;
    }
    await holder`select pg_advisory_unlock(${migrationLockKey(db)})`;
    holder.release();
    const result = await waiting;
    assert.equal(result.steps.length, 0);
  });
});
