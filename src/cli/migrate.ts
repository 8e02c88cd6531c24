/**
 * `convo migrate up|status|down|new`.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { withDatabase } from "../db/connect.ts";
import { formatDuration } from "../duration.ts";
import { ConvoError, ExitCode, UsageError } from "../errors.ts";
import { embeddedMigrations } from "../migrate/embedded.ts";
import { createMigrationFiles } from "../migrate/new.ts";
import type { Migration } from "../migrate/parse.ts";
import type { StatusEntry } from "../migrate/plan.ts";
import { migrateDown, migrateUp, migrationStatus } from "../migrate/runner.ts";
import { type Column, formatRows } from "./_format.ts";
import { parseDurationOption, parseIntOption } from "./_options.ts";
import type { Context } from "./context.ts";

function parseVersion(flag: string, value: string): bigint {
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > (1n << 63n) - 1n) {
    throw new UsageError(`invalid ${flag}: current value is '${value}'`, {
      hint: "expected a migration version such as 0003 or 20261121120000 (0 for none)",
    });
  }
  return BigInt(value);
}

async function loadProgramMigrations(): Promise<Migration[]> {
  try {
    return await embeddedMigrations();
  } catch (err) {
    throw new ConvoError(`the embedded migrations are broken: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

const label = (m: Migration) => `${m.versionText} ${m.description}`;

function versionLabel(migrations: readonly Migration[], version: bigint): string {
  if (version === 0n) return "0 (empty)";
  return migrations.find((m) => m.version === version)?.versionText ?? version.toString();
}

function formatTime(d: Date | undefined): string {
  return d ? d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

/** The columns of `migrate status`. */
const STATUS_COLUMNS: readonly Column<StatusRow>[] = [
  { key: "version" },
  { key: "description" },
  { key: "state" },
  { key: "installed_on" },
];

type StatusRow = { version: string; description: string; state: string; installed_on: string };

function statusJson(e: StatusEntry) {
  const v = e.version <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(e.version) : e.version.toString();
  return {
    version: v,
    description: e.description,
    state: e.state,
    installed_on: e.installedOn?.toISOString() ?? null,
    execution_ms: e.executionMs ?? null,
    checksum: e.checksum ?? null,
    applied_checksum: e.appliedChecksum ?? null,
  };
}

/** Builds `convo migrate`. */
export function migrateCommand(ctx: Context): Command {
  const cmd = new Command("migrate")
    .description(
      "Apply, inspect, revert and create schema migrations (sqlx-compatible ledger " +
        "_sqlx_migrations; the migration files are embedded in the program)",
    );

  const lockTimeout = () =>
    new Option("--lock-timeout <duration>", "give up waiting for the migration lock after this")
      .default("60s");

  cmd.command("up")
    .description("Apply pending migrations, each in its own transaction with its ledger row")
    .option("--target <version>", "apply up to and including this version")
    .option("--dry-run", "print what would be applied; change nothing")
    .option("--ignore-missing", "allow applied versions this program does not know")
    .option("--strict", "refuse pending versions older than the newest applied one")
    .addOption(lockTimeout())
    .action(async (opts) => {
      const target = opts.target === undefined ? undefined : parseVersion("--target", opts.target);
      const lockTimeoutMs = parseDurationOption("--lock-timeout", opts.lockTimeout);
      const migrations = await loadProgramMigrations();
      const log = ctx.logger();
      const started = performance.now();
      const verb = opts.dryRun ? "would apply" : "applied";
      const result = await withDatabase(
        ctx.config(),
        log,
        { command: "migrate", max: 2 },
        (db) =>
          migrateUp(db.sql, migrations, {
            target,
            dryRun: opts.dryRun,
            ignoreMissing: opts.ignoreMissing,
            strict: opts.strict,
            lockTimeoutMs,
            logger: log,
            onStep: ({ migration, ms }) =>
              ctx.io.stdout(
                `${verb} ${label(migration)}${opts.dryRun ? "" : ` (${formatDuration(ms)})`}\n`,
              ),
          }),
      );
      const total = formatDuration(performance.now() - started);
      const at = versionLabel(migrations, result.after);
      if (result.steps.length === 0) {
        ctx.io.stdout(`nothing to apply; database at version ${at}\n`);
      } else if (opts.dryRun) {
        ctx.io.stdout(`${verb} ${result.steps.length} migration(s); nothing was changed\n`);
      } else {
        ctx.io.stdout(
          `applied ${result.steps.length} migration(s) in ${total}; database at version ${at}\n`,
        );
      }
    });

  cmd.command("status")
    .description(
      "Show every version and its state (applied, pending, changed, missing, failed); " +
        "exit 3 when migrations are pending, 1 on drift",
    )
    .option("--json", "print one JSON document")
    .action(async (opts) => {
      const migrations = await loadProgramMigrations();
      const config = ctx.config();
      const entries = await withDatabase(
        config,
        ctx.logger(),
        { command: "migrate", max: 1 },
        (db) => migrationStatus(db.sql, migrations),
      );
      const count = (s: string) => entries.filter((e) => e.state === s).length;
      const pending = count("pending");
      const drift = entries.filter((e) => ["changed", "missing", "failed"].includes(e.state));
      if (opts.json) {
        ctx.io.stdout(
          JSON.stringify({
            database: config.databaseLabel,
            applied: count("applied"),
            pending,
            drift: drift.length,
            migrations: entries.map(statusJson),
          }) + "\n",
        );
      } else {
        const rows = entries.map((e): StatusRow => ({
          version: e.versionText,
          description: e.description,
          state: e.state,
          installed_on: formatTime(e.installedOn),
        }));
        ctx.io.stdout(formatRows(rows, STATUS_COLUMNS, "table"));
        ctx.io.stdout(
          `${count("applied")} applied, ${pending} pending` +
            (drift.length ? `, ${drift.length} drifted` : "") + "\n",
        );
      }
      if (drift.length > 0) {
        const e = drift[0];
        throw new ConvoError(
          `migration ${e.versionText} (${e.description}) is ${e.state}` +
            (drift.length > 1 ? ` (and ${drift.length - 1} more)` : ""),
          { hint: "convo migrate up refuses to run until this is resolved" },
        );
      }
      if (pending > 0) ctx.exitCode = ExitCode.Pending;
    });

  cmd.command("down")
    .description("Revert applied migrations, newest first (each needs a .down.sql)")
    .option("--target <version>", "revert every version newer than this one (0: all)")
    .option("--steps <n>", "revert the N newest versions (default 1)")
    .option("--dry-run", "print what would be reverted; change nothing")
    .option("--ignore-missing", "allow applied versions this program does not know")
    .addOption(lockTimeout())
    .action(async (opts) => {
      const target = opts.target === undefined ? undefined : parseVersion("--target", opts.target);
      const steps = opts.steps === undefined
        ? undefined
        : parseIntOption("--steps", opts.steps, { min: 1 });
      const lockTimeoutMs = parseDurationOption("--lock-timeout", opts.lockTimeout);
      const migrations = await loadProgramMigrations();
      const log = ctx.logger();
      const started = performance.now();
      const verb = opts.dryRun ? "would revert" : "reverted";
      const result = await withDatabase(
        ctx.config(),
        log,
        { command: "migrate", max: 2 },
        (db) =>
          migrateDown(db.sql, migrations, {
            target,
            steps,
            dryRun: opts.dryRun,
            ignoreMissing: opts.ignoreMissing,
            lockTimeoutMs,
            logger: log,
            onStep: ({ migration, ms }) =>
              ctx.io.stdout(
                `${verb} ${label(migration)}${opts.dryRun ? "" : ` (${formatDuration(ms)})`}\n`,
              ),
          }),
      );
      if (result.steps.length === 0) {
        ctx.io.stdout(
          `nothing to revert; database at version ${versionLabel(migrations, result.before)}\n`,
        );
        return;
      }
      const at = result.after;
      if (opts.dryRun) {
        ctx.io.stdout(`${verb} ${result.steps.length} migration(s); nothing was changed\n`);
      } else {
        ctx.io.stdout(
          `reverted ${result.steps.length} migration(s) in ${
            formatDuration(performance.now() - started)
          }; database at version ${versionLabel(migrations, at)}\n`,
        );
      }
    });

  cmd.command("new")
    .description("Write the files of a new migration: <UTC timestamp>_<name>.up.sql and .down.sql")
    .argument("<name>", "what the migration does, e.g. add_contacts_index")
    .option("--simple", "write one irreversible <timestamp>_<name>.sql instead of up/down")
    .option("--dir <dir>", "where to write", "migrations")
    .action(async (name, opts) => {
      const paths = await createMigrationFiles(opts.dir, name, { simple: opts.simple });
      for (const p of paths) ctx.io.stdout(`${p}\n`);
      ctx.logger().info(
        "migration files written; run `deno task embed` to embed them in the program",
      );
    });

  return cmd;
}
