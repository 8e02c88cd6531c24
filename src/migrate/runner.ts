/**
 * Applies and reverts migrations against a database, keeping sqlx's ledger
 * `_sqlx_migrations`. Every change runs under sqlx's advisory lock, held on a
 * dedicated connection, so convo and sqlx-cli processes exclude each other; the
 * ledger is re-read once the lock is taken.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { formatDuration } from "../duration.ts";
import { ConvoError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { migrationLockKey } from "./lock.ts";
import type { Migration, MigrationFile } from "./parse.ts";
import {
  type AppliedRow,
  compareLedger,
  planDown,
  type PlanDownOptions,
  planUp,
  type PlanUpOptions,
  type StatusEntry,
} from "./plan.ts";

/** The ledger table, as sqlx creates it. */
export const LEDGER_DDL = `create table if not exists _sqlx_migrations (
  version bigint primary key,
  description text not null,
  installed_on timestamptz not null default now(),
  success boolean not null,
  checksum bytea not null,
  execution_time bigint not null
)`;

/** Reads the ledger; empty when the table does not exist yet. */
export async function readLedger(sql: Sql): Promise<AppliedRow[]> {
  const [{ exists }] = await sql<{ exists: boolean }[]>`
    select to_regclass('_sqlx_migrations') is not null as exists`;
  if (!exists) return [];
  const rows = await sql<
    {
      version: bigint;
      description: string;
      installed_on: Date;
      success: boolean;
      checksum: Uint8Array;
      execution_time: bigint;
    }[]
  >`select version, description, installed_on, success, checksum, execution_time
    from _sqlx_migrations order by version`;
  return rows.map((r) => ({
    version: r.version,
    description: r.description,
    installedOn: r.installed_on,
    success: r.success,
    checksum: new Uint8Array(r.checksum),
    executionTime: r.execution_time,
  }));
}

/** The status of every version, in version order. */
export async function migrationStatus(
  sql: Sql,
  migrations: readonly Migration[],
): Promise<StatusEntry[]> {
  return compareLedger(migrations, await readLedger(sql));
}

/** Options of the lock. */
export interface LockOptions {
  /** Give up after this many milliseconds (default 60 s). */
  lockTimeoutMs?: number;
  /** Poll interval while waiting (default 250 ms). */
  pollMs?: number;
  /** Where waiting is reported. */
  logger: Logger;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` holding sqlx's migration advisory lock, taken with
 * `pg_try_advisory_lock` on a dedicated connection and polled until the
 * timeout. Released in `finally`, also when `fn` throws.
 *
 * @throws {ConvoError} when the lock is not obtained in time.
 */
export async function withMigrationLock<T>(
  sql: Sql,
  options: LockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const timeout = options.lockTimeoutMs ?? 60_000;
  const poll = options.pollMs ?? 250;
  const conn = await sql.reserve();
  try {
    const [{ db }] = await conn<{ db: string }[]>`select current_database() as db`;
    const key = migrationLockKey(db);
    const started = Date.now();
    let reported = false;
    for (;;) {
      const [{ ok }] = await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(${key}) as ok`;
      if (ok) break;
      const holder = await lockHolder(conn as unknown as Sql, key);
      const waited = Date.now() - started;
      if (waited >= timeout) {
        throw new ConvoError(
          `timed out after ${formatDuration(waited)} waiting for the migration lock${holder}`,
          { hint: "another migration is running; wait for it or raise --lock-timeout" },
        );
      }
      if (!reported) {
        options.logger.info(`waiting for the migration lock${holder}`);
        reported = true;
      }
      await sleep(Math.min(poll, timeout - waited));
    }
    try {
      return await fn();
    } finally {
      await conn`select pg_advisory_unlock(${key})`.catch((err) =>
        // The lock dies with the connection, which is closed below anyway.
        options.logger.debug("unlock failed", { error: err })
      );
    }
  } finally {
    conn.release();
  }
}

async function lockHolder(sql: Sql, key: bigint): Promise<string> {
  // A bigint advisory key is stored as classid (high 32 bits), objid (low 32).
  const hi = Number(BigInt.asUintN(32, key >> 32n));
  const lo = Number(BigInt.asUintN(32, key));
  const rows = await sql<{ pid: number; app: string | null }[]>`
    select l.pid, a.application_name as app
    from pg_locks l left join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted and l.objsubid = 1
      and l.classid::bigint = ${hi} and l.objid::bigint = ${lo}
    limit 1`.catch(() => []);
  if (rows.length === 0) return "";
  return ` held by pid ${rows[0].pid}${rows[0].app ? ` (${rows[0].app})` : ""}`;
}

/** Turns a failure inside a migration file into one line naming file and line. */
function migrationFailure(file: MigrationFile, err: unknown): ConvoError {
  const e = err as { message?: string; position?: string; code?: string };
  let where = "";
  const pos = Number(e.position);
  if (Number.isInteger(pos) && pos > 0) {
    const line = file.sql.slice(0, pos - 1).split("\n").length;
    where = ` at line ${line}`;
  }
  return new ConvoError(
    `migration ${file.fileName} failed${where}: ${e.message ?? String(err)}${
      e.code ? ` (SQLSTATE ${e.code})` : ""
    }`,
    {
      hint: file.noTransaction
        ? "it ran outside a transaction: check what it left behind before running it again"
        : "nothing of it was applied; fix the migration and run again",
      cause: err,
    },
  );
}

/** What happened to one migration. */
export interface StepResult {
  /** The migration. */
  readonly migration: Migration;
  /** How long it took, in milliseconds (0 for a dry run). */
  readonly ms: number;
}

/** Options of {@link migrateUp}. */
export interface UpOptions extends PlanUpOptions, LockOptions {
  /** Show what would be applied; change nothing. */
  dryRun?: boolean;
  /** Called after each migration, as it happens. */
  onStep?: (step: StepResult) => void;
}

/** The outcome of {@link migrateUp} or {@link migrateDown}. */
export interface RunResult {
  /** What was (or, for a dry run, would be) applied or reverted, in order. */
  readonly steps: StepResult[];
  /** The newest applied version before the run (0: none). */
  readonly before: bigint;
  /** The newest applied version after it (for a dry run: after it would be). */
  readonly after: bigint;
}

const newest = (versions: Iterable<bigint>) => {
  let max = 0n;
  for (const v of versions) if (v > max) max = v;
  return max;
};

/**
 * Applies pending migrations. Each migration and its ledger row commit in one
 * transaction (a `-- no-transaction` file runs alone, then its row is written).
 *
 * @throws {ConvoError} on drift, a failing migration, or the lock timing out.
 */
export async function migrateUp(
  sql: Sql,
  migrations: readonly Migration[],
  options: UpOptions,
): Promise<RunResult> {
  const plan = async () => {
    const p = planUp(migrations, await readLedger(sql), options);
    for (const m of p.outOfOrder) {
      options.logger.warn("applying a migration older than the newest applied one", {
        version: m.versionText,
        newest: p.current.toString(),
      });
    }
    return p;
  };
  if (options.dryRun) {
    const p = await plan();
    const steps = p.apply.map((migration) => ({ migration, ms: 0 }));
    steps.forEach((s) => options.onStep?.(s));
    return {
      steps,
      before: p.current,
      after: newest([p.current, ...p.apply.map((m) => m.version)]),
    };
  }
  return await withMigrationLock(sql, options, async () => {
    await sql.unsafe(LEDGER_DDL);
    const p = await plan();
    const steps: StepResult[] = [];
    for (const migration of p.apply) {
      const step = { migration, ms: await applyOne(sql, migration) };
      steps.push(step);
      options.onStep?.(step);
    }
    return {
      steps,
      before: p.current,
      after: newest([p.current, ...p.apply.map((m) => m.version)]),
    };
  });
}

async function applyOne(sql: Sql, m: Migration): Promise<number> {
  const started = performance.now();
  const record = async (tx: Sql, ns: bigint) => {
    await tx`
      insert into _sqlx_migrations (version, description, success, checksum, execution_time)
      values (${m.version}, ${m.description}, true, ${m.up.checksum}, ${ns})`;
  };
  const elapsedNs = () => BigInt(Math.round((performance.now() - started) * 1e6));
  try {
    if (m.up.noTransaction) {
      await sql.unsafe(m.up.sql);
      await refuseInvalidIndexes(sql, m);
      await record(sql, elapsedNs());
    } else {
      await sql.begin(async (tx) => {
        await tx.unsafe(m.up.sql);
        await record(tx as unknown as Sql, elapsedNs());
      });
    }
  } catch (err) {
    if (err instanceof ConvoError) throw err;
    throw migrationFailure(m.up, err);
  }
  return performance.now() - started;
}

/**
 * A `create index concurrently` that fails (a lock timeout, a cancel, a
 * duplicate) leaves an INVALID index behind, and a rerun's `if not exists` then
 * skips it: the migration would be recorded over an index the planner never
 * uses. So after a no-transaction migration, an invalid index it names is an
 * error, and the ledger row is not written.
 */
async function refuseInvalidIndexes(sql: Sql, m: Migration): Promise<void> {
  const rows = await sql<{ name: string }[]>`
    select c.relname as name from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_namespace n on n.oid = c.relnamespace
    where not i.indisvalid and n.nspname = current_schema()`;
  const text = m.up.sql.toLowerCase();
  const invalid = rows.map((r) => r.name).filter((name) => text.includes(name.toLowerCase()));
  if (invalid.length === 0) return;
  throw new ConvoError(
    `migration ${m.versionText} (${m.up.fileName}) left index ${
      invalid.join(", ")
    } INVALID: a concurrent index build failed (now or in an earlier run) and was not recorded`,
    {
      hint: `drop it (drop index concurrently ${invalid[0]}) and run convo migrate up again`,
    },
  );
}

/** Options of {@link migrateDown}. */
export interface DownOptions extends PlanDownOptions, LockOptions {
  /** Show what would be reverted; change nothing. */
  dryRun?: boolean;
  /** Called after each migration, as it happens. */
  onStep?: (step: StepResult) => void;
}

/**
 * Reverts applied migrations, newest first; each down file and the removal of
 * its ledger row commit in one transaction.
 *
 * @throws {ConvoError} on drift, a version without a down file, a failing
 * migration, or the lock timing out.
 */
export async function migrateDown(
  sql: Sql,
  migrations: readonly Migration[],
  options: DownOptions,
): Promise<RunResult> {
  const outcome = (rows: AppliedRow[], steps: StepResult[]): RunResult => {
    const reverted = new Set(steps.map((s) => s.migration.version));
    return {
      steps,
      before: newest(rows.map((r) => r.version)),
      after: newest(rows.map((r) => r.version).filter((v) => !reverted.has(v))),
    };
  };
  if (options.dryRun) {
    const rows = await readLedger(sql);
    const steps = planDown(migrations, rows, options).map((migration) => ({ migration, ms: 0 }));
    steps.forEach((s) => options.onStep?.(s));
    return outcome(rows, steps);
  }
  return await withMigrationLock(sql, options, async () => {
    const rows = await readLedger(sql);
    const plan = planDown(migrations, rows, options);
    const steps: StepResult[] = [];
    for (const migration of plan) {
      const step = { migration, ms: await revertOne(sql, migration) };
      steps.push(step);
      options.onStep?.(step);
    }
    return outcome(rows, steps);
  });
}

async function revertOne(sql: Sql, m: Migration): Promise<number> {
  const down = m.down!;
  const started = performance.now();
  try {
    if (down.noTransaction) {
      await sql.unsafe(down.sql);
      await sql`delete from _sqlx_migrations where version = ${m.version}`;
    } else {
      await sql.begin(async (tx) => {
        await tx.unsafe(down.sql);
        await tx`delete from _sqlx_migrations where version = ${m.version}`;
      });
    }
  } catch (err) {
    throw migrationFailure(down, err);
  }
  return performance.now() - started;
}
