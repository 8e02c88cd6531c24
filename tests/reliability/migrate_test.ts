/**
 * `convo migrate up` under faults: killed at random moments and rerun, killed
 * inside its concurrent index build, a concurrent index build that fails, and
 * eight processes racing on a fresh database (tests/e2e/migrate_cli_test.ts
 * has four; this doubles it and checks the schema as well as the ledger).
 *
 * "No partial schema" is checked against reference snapshots of the catalog
 * taken after each version applied alone: after a kill, the schema must be
 * exactly the snapshot of the versions the ledger records.
 *
 * Deadlines here are generous bounds on a hang, not performance thresholds.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import type { Sql } from "../../src/db/connect.ts";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import type { Migration } from "../../src/migrate/parse.ts";
import { execCli, runCli, spawnCli } from "../_helpers/cli.ts";
import { createTestDatabase, type TestDatabase, withTestDatabase } from "../_helpers/db.ts";
import { mulberry32 } from "../_helpers/prng.ts";
import { until } from "../_helpers/until.ts";

const RUNS = 8;
const OVERVIEW_INDEX = "conversations_last_message_at_id_idx";

/** The migration that builds {@link OVERVIEW_INDEX} concurrently, and the one before it. */
function indexBuild(migrations: readonly Migration[]): { build: Migration; before: Migration } {
  const i = migrations.findIndex((m) => m.up.sql.includes(OVERVIEW_INDEX));
  assert.ok(i > 0, `a migration builds ${OVERVIEW_INDEX}`);
  const build = migrations[i];
  assert.ok(build.up.noTransaction, "it builds the index concurrently, outside a transaction");
  return { build, before: migrations[i - 1] };
}

/** Every project object in `public` (the ledger apart), with index validity. */
async function snapshot(sql: Sql): Promise<string[]> {
  const rows = await sql<{ o: string }[]>`
    select 'rel ' || c.relkind::text || ' ' || c.relname ||
           case when i.indexrelid is not null and not i.indisvalid then ' INVALID' else '' end as o
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    left join pg_index i on i.indexrelid = c.oid
    where n.nspname = 'public' and c.relname not like '\_sqlx\_migrations%'
    union all
    select 'con ' || conrelid::regclass::text || ' ' || conname from pg_constraint co
    join pg_namespace n on n.oid = co.connamespace
    where n.nspname = 'public' and conrelid::regclass::text <> '_sqlx_migrations'
    union all
    select 'fn ' || proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public'
    union all
    select 'trg ' || tgname from pg_trigger where not tgisinternal
    order by 1`;
  return rows.map((r) => r.o);
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

interface LedgerRow {
  version: bigint;
  success: boolean;
  checksum: Uint8Array;
}

async function ledger(sql: Sql): Promise<LedgerRow[]> {
  const [{ exists }] = await sql<{ exists: boolean }[]>`
    select to_regclass('_sqlx_migrations') is not null as exists`;
  if (!exists) return [];
  return await sql<LedgerRow[]>`
    select version, success, checksum from _sqlx_migrations order by version`;
}

/** The ledger holds the first `rows.length` versions, each once, succeeded, with its checksum. */
function assertLedgerPrefix(rows: LedgerRow[], migrations: readonly Migration[], what: string) {
  assert.deepEqual(
    rows.map((r) => [r.version, r.success, hex(r.checksum)]),
    migrations.slice(0, rows.length).map((m) => [
      m.version,
      true,
      hex(m.up.checksum),
    ]),
    `${what}: the ledger is a prefix of the versions, each once, with its checksum`,
  );
}

let references: Promise<string[][]> | undefined;

/** Snapshots of the schema after 0, 1, … n versions (taken once). */
function referenceSnapshots(migrations: readonly Migration[]): Promise<string[][]> {
  return references ??= takeSnapshots(migrations);
}

async function takeSnapshots(migrations: readonly Migration[]): Promise<string[][]> {
  const snaps: string[][] = [];
  await withTestDatabase(async ({ sql, url }) => {
    snaps.push(await snapshot(sql));
    for (const m of migrations) {
      const r = await runCli(["migrate", "up", "--target", m.versionText], {
        env: { DATABASE_URL: url },
      });
      assert.equal(r.code, 0, r.stderr);
      snaps.push(await snapshot(sql));
    }
  });
  return snaps;
}

/** Waits until no session but this test's own is left in the database (orphans finished). */
async function noOtherSessions(db: TestDatabase): Promise<void> {
  await until("the killed process's sessions have ended", async () => {
    const [r] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name <> 'convo tests'`;
    return r.n === 0;
  }, 60_000);
}

/** Reruns `migrate up`, then checks status, ledger and schema are complete. */
async function assertRerunCompletes(
  db: TestDatabase,
  migrations: readonly Migration[],
  complete: string[],
  what: string,
): Promise<void> {
  const env = { DATABASE_URL: db.url };
  const up = await runCli(["migrate", "up"], { env });
  assert.equal(up.code, 0, `${what}: rerun: ${up.stderr}`);
  const status = await runCli(["migrate", "status"], { env });
  assert.equal(status.code, 0, `${what}: status after the rerun: ${status.stdout}${status.stderr}`);
  const rows = await ledger(db.sql);
  assert.equal(rows.length, migrations.length, `${what}: every version in the ledger`);
  assertLedgerPrefix(rows, migrations, what);
  assert.deepEqual(
    await snapshot(db.sql),
    complete,
    `${what}: the complete schema, every index valid`,
  );
}

Deno.test("convo migrate up: SIGKILLed at random moments, then rerun: no partial schema, ledger exact, status clean", async () => {
  const migrations = await embeddedMigrations();
  const snaps = await referenceSnapshots(migrations);
  const rand = mulberry32(20_241_203);
  const reached: string[] = [];
  let midRun = 0;
  for (let run = 0; run < RUNS; run++) {
    const db = await createTestDatabase();
    try {
      const [{ oid }] = await db.sql<{ oid: number }[]>`
        select oid::int from pg_database where datname = current_database()`;
      const child = spawnCli(["migrate", "up"], { env: { DATABASE_URL: db.url } });
      let exited = false;
      const status = child.status.then((s) => (exited = true, s));
      const delayMs = Math.round(rand() * 200);
      try {
        // From the moment the migrator holds its lock, a random delay: the
        // kill lands before, inside or between migrations (or after the end).
        await until(
          "the migrator holds its lock (or has finished)",
          async () => {
            const [r] = await db.sql<{ n: number }[]>`
            select count(*)::int as n from pg_locks
            where locktype = 'advisory' and database = ${oid} and granted`;
            return r.n > 0 || exited;
          },
          60_000,
          5,
        );
        await new Promise((r) => setTimeout(r, delayMs));
      } finally {
        if (!exited) child.kill("SIGKILL");
        await child.output();
      }
      const killed = (await status).signal === "SIGKILL";
      await noOtherSessions(db);
      const what = `run ${run} (killed ${delayMs} ms after the lock)`;
      const rows = await ledger(db.sql);
      assertLedgerPrefix(rows, migrations, what);
      const schema = await snapshot(db.sql);
      const k = rows.length;
      // A no-transaction migration (the concurrent index) can be done without
      // its ledger row: a killed client does not stop a server-side build.
      const ok = [snaps[k]];
      if (k < migrations.length && migrations[k].up.noTransaction) ok.push(snaps[k + 1]);
      assert.ok(
        ok.some((s) => JSON.stringify(s) === JSON.stringify(schema)),
        `${what}: the schema is exactly that of the ${k} version(s) in the ledger:\n` +
          `${JSON.stringify(schema)}\nexpected ${JSON.stringify(snaps[k])}`,
      );
      reached.push(`${delayMs}ms→${killed ? k : "finished"}`);
      if (killed && k < migrations.length) midRun++;
      await assertRerunCompletes(db, migrations, snaps.at(-1)!, what);
    } finally {
      await db.drop();
    }
  }
  assert.ok(midRun > 0, `no kill landed before the end (${reached}): the fault never happened`);
  console.log(
    `migrate_test: ${RUNS} runs, ${midRun} killed mid-run; delay→versions in the ledger: ${reached}`,
  );
});

/** Holds a ROW EXCLUSIVE lock on conversations: a concurrent index build waits for it. */
async function holdConversations(url: string) {
  const holder = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const conn = await holder.reserve();
  await conn`begin`;
  await conn`lock table conversations in row exclusive mode`;
  return { release: () => holder.end({ timeout: 0 }) };
}

Deno.test("convo migrate up: SIGKILLed while its concurrent index build waits, then rerun: the index is valid", async () => {
  const migrations = await embeddedMigrations();
  const before = indexBuild(migrations).before.versionText;
  await withTestDatabase(async (db) => {
    const env = { DATABASE_URL: db.url };
    assert.equal((await runCli(["migrate", "up", "--target", before], { env })).code, 0);
    const holder = await holdConversations(db.url);
    try {
      const child = spawnCli(["migrate", "up"], { env });
      try {
        await until("the index build waits for the open transaction", async () => {
          const [r] = await db.sql<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and query ilike '%create index concurrently%'`;
          return r.n > 0;
        }, 60_000);
      } finally {
        child.kill("SIGKILL");
        await child.output();
      }
    } finally {
      await holder.release();
    }
    await noOtherSessions(db);
    const complete = (await referenceSnapshots(migrations)).at(-1)!;
    await assertRerunCompletes(db, migrations, complete, "killed inside the index build");
  });
});

Deno.test("convo migrate up: a concurrent index build that fails is not recorded as applied by the rerun", async () => {
  const migrations = await embeddedMigrations();
  const { build, before: previous } = indexBuild(migrations);
  await withTestDatabase(async (db) => {
    const env = { DATABASE_URL: db.url };
    const before = previous.versionText;
    assert.equal((await runCli(["migrate", "up", "--target", before], { env })).code, 0);
    // A transaction open longer than the lock timeout (a slow batch, a report)
    // makes the build give up half way: the server leaves an INVALID index.
    const holder = await holdConversations(db.url);
    let failed;
    try {
      failed = await runCli(["migrate", "up"], { env: { ...env, CONVO_LOCK_TIMEOUT: "1s" } });
    } finally {
      await holder.release();
    }
    assert.equal(failed.code, 1, failed.stdout);
    assert.match(failed.stderr, /lock timeout.*ran outside a transaction/);
    const rerun = await runCli(["migrate", "up"], { env });
    const [index] = await db.sql<{ valid: boolean }[]>`
      select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
      where c.relname = ${OVERVIEW_INDEX}`;
    const rows = await ledger(db.sql);
    const recorded = rows.some((r) => r.version === build.version);
    // Either the rerun builds a valid index, or it refuses and says so; never
    // a ledger row over an index the planner cannot use.
    assert.ok(
      !recorded || index?.valid === true,
      `the rerun (exit ${rerun.code}) recorded ${build.versionText} as applied ` +
        `while ${OVERVIEW_INDEX} is ${
          index ? "INVALID" : "missing"
        }:\n${rerun.stdout}${rerun.stderr}`,
    );
    if (recorded) {
      const status = await runCli(["migrate", "status"], { env });
      assert.equal(status.code, 0, status.stdout);
    } else {
      assert.notEqual(rerun.code, 0, "a refused rerun fails");
      assert.match(rerun.stderr, new RegExp(`${OVERVIEW_INDEX} INVALID.*drop index concurrently`));
      // Doing what it says mends it.
      await db.sql.unsafe(`drop index concurrently ${OVERVIEW_INDEX}`);
      const mended = await runCli(["migrate", "up"], { env });
      assert.equal(mended.code, 0, mended.stderr);
      const [again] = await db.sql<{ valid: boolean }[]>`
        select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
        where c.relname = ${OVERVIEW_INDEX}`;
      assert.equal(again?.valid, true);
    }
  });
});

Deno.test("convo migrate: eight `up` processes at once on a fresh database apply each version once", async () => {
  const migrations = await embeddedMigrations();
  const complete = (await referenceSnapshots(migrations)).at(-1)!;
  await withTestDatabase(async ({ url, sql }) => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => execCli(["migrate", "up"], { env: { DATABASE_URL: url } })),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    for (const m of migrations) {
      const appliedBy = runs.filter((r) =>
        r.stdout.includes(`applied ${m.versionText} ${m.description} (`)
      );
      assert.equal(appliedBy.length, 1, `${m.versionText} applied by exactly one process`);
    }
    const rows = await ledger(sql);
    assert.equal(rows.length, migrations.length);
    assertLedgerPrefix(rows, migrations, "eight processes");
    assert.deepEqual(await snapshot(sql), complete);
  });
});
