/**
 * `convo check`: one answer for deploys, readiness probes and alerts — is the
 * database reachable, is its schema at this program's version, are endpoints
 * mapped, and is the queue keeping up (the oldest claimable pending event, the
 * dead count) under the given limits. Each check is one {@link CheckResult};
 * the CLI prints them and exits 1 when any failed.
 *
 * The schema check is the migrator's own comparison (`migrationStatus`), so
 * `check` and `migrate status` cannot disagree.
 *
 * @module
 */
import type { Config } from "../config.ts";
import { type Database, openDatabase } from "../db/connect.ts";
import { formatDuration } from "../duration.ts";
import type { Logger } from "../log/logger.ts";
import type { Migration } from "../migrate/parse.ts";
import { migrationStatus } from "../migrate/runner.ts";
import { queueGauges } from "../queue/gauges.ts";

/** The checks, in the order they run and print. */
export const CHECKS = ["database", "schema", "endpoints", "queue-age", "dead"] as const;
/** One of {@link CHECKS}. */
export type CheckName = typeof CHECKS[number];

/** What one check found. */
export interface CheckResult {
  /** Which check. */
  name: CheckName;
  /** `ok`, `fail`, or `skip` (it could not run: the database is out of reach). */
  status: "ok" | "fail" | "skip";
  /** One line: what was found, and for a failure what to do. */
  detail: string;
  /** The measured value, when there is one (ms, seconds, a count). */
  value?: number;
  /** The limit it was held to, when there is one. */
  limit?: number;
}

/** Options of {@link runChecks}. */
export interface CheckOptions {
  /** The program's migrations (the version the schema must be at). */
  migrations: readonly Migration[];
  /** Fail when the oldest claimable pending event is older (ms); undefined: no limit. */
  maxQueueAgeMs?: number;
  /** Fail when more events than this are dead; undefined: no limit. */
  maxDead?: number;
}

const skip = (name: CheckName, why: string): CheckResult => ({ name, status: "skip", detail: why });

async function tableExists(db: Database, table: string): Promise<boolean> {
  const [{ exists }] = await db.sql<{ exists: boolean }[]>`
    select to_regclass(${table}) is not null as exists`;
  return exists;
}

async function schemaCheck(db: Database, migrations: readonly Migration[]): Promise<CheckResult> {
  const entries = await migrationStatus(db.sql, migrations);
  const drift = entries.filter((e) => ["changed", "missing", "failed"].includes(e.state));
  const pending = entries.filter((e) => e.state === "pending");
  if (drift.length > 0) {
    const e = drift[0];
    return {
      name: "schema",
      status: "fail",
      detail: `drift: migration ${e.versionText} (${e.description}) is ${e.state}` +
        (drift.length > 1 ? ` (and ${drift.length - 1} more)` : "") + "; see convo migrate status",
      value: drift.length,
    };
  }
  if (pending.length > 0) {
    return {
      name: "schema",
      status: "fail",
      detail: `${pending.length} migration(s) pending, first ${pending[0].versionText} ` +
        `(${pending[0].description}); run convo migrate up`,
      value: pending.length,
    };
  }
  const last = entries.at(-1);
  return {
    name: "schema",
    status: "ok",
    detail: last ? `at version ${last.versionText} (${entries.length} applied)` : "no migrations",
  };
}

/**
 * Runs every check against the configured database. Never throws for what
 * it finds: an unreachable database is a failed `database` check (and the
 * others are skipped).
 *
 * @example Usage
 * ```ts ignore
 * const results = await runChecks(config, logger, { migrations, maxQueueAgeMs: 900_000 });
 * // [{ name: "database", status: "ok", detail: "reachable (PostgreSQL 15.8, 3 ms)", value: 3 }, …]
 * ```
 */
export async function runChecks(
  config: Config,
  logger: Logger,
  options: CheckOptions,
): Promise<CheckResult[]> {
  const started = performance.now();
  let db: Database;
  try {
    db = await openDatabase(config, logger, { command: "check", max: 1 });
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    return [
      {
        name: "database",
        status: "fail",
        detail: `${e.message ?? String(err)}${e.hint ? `; ${e.hint}` : ""}`,
      },
      ...CHECKS.slice(1).map((n) => skip(n, "database unreachable")),
    ];
  }
  try {
    const [{ version }] = await db.sql<{ version: string }[]>`
      select split_part(current_setting('server_version'), ' ', 1) as version`;
    const ms = Math.round(performance.now() - started);
    const results: CheckResult[] = [{
      name: "database",
      status: "ok",
      detail: `reachable (PostgreSQL ${version}, ${ms} ms)`,
      value: ms,
    }];
    results.push(await schemaCheck(db, options.migrations));

    if (await tableExists(db, "endpoint_mappings")) {
      const [{ n }] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from endpoint_mappings`;
      results.push(
        n > 0 ? { name: "endpoints", status: "ok", detail: `${n} mapping(s)`, value: n } : {
          name: "endpoints",
          status: "fail",
          detail: "no endpoint mappings: every event would be dead; add one with " +
            "convo endpoint add",
          value: 0,
        },
      );
    } else {
      results.push(skip("endpoints", "no endpoint_mappings table (schema not migrated)"));
    }

    if (!(await tableExists(db, "inbound_events"))) {
      results.push(skip("queue-age", "no inbound_events table (schema not migrated)"));
      results.push(skip("dead", "no inbound_events table (schema not migrated)"));
      return results;
    }
    const g = await queueGauges(db.sql);
    const limitAge = options.maxQueueAgeMs;
    const ageMs = g.oldestPendingAgeSeconds === null ? null : g.oldestPendingAgeSeconds * 1000;
    if (ageMs === null) {
      results.push({ name: "queue-age", status: "ok", detail: "nothing pending", value: 0 });
    } else {
      const shown = `oldest pending ${formatDuration(ageMs)}`;
      const over = limitAge !== undefined && ageMs > limitAge;
      results.push({
        name: "queue-age",
        status: over ? "fail" : "ok",
        detail: limitAge === undefined
          ? `${shown} (no limit)`
          : `${shown} ${over ? ">" : "≤"} ${formatDuration(limitAge)}` +
            (over ? "; is a worker running and keeping up?" : ""),
        value: Math.round(ageMs / 100) / 10,
        ...(limitAge !== undefined && { limit: limitAge / 1000 }),
      });
    }
    const maxDead = options.maxDead;
    const overDead = maxDead !== undefined && g.dead > maxDead;
    results.push({
      name: "dead",
      status: overDead ? "fail" : "ok",
      detail: maxDead === undefined
        ? `${g.dead} dead (no limit; --max-dead N sets one)`
        : `${g.dead} dead ${overDead ? ">" : "≤"} ${maxDead}` +
          (overDead ? "; see convo queue status, then convo queue retry --dead" : ""),
      value: g.dead,
      ...(maxDead !== undefined && { limit: maxDead }),
    });
    return results;
  } finally {
    await db.close().catch((err) => logger.debug("close failed", { error: err }));
  }
}
