/**
 * What to do, decided from the program's migrations and the ledger: the status
 * of every version, and the checks that refuse drift. Pure.
 *
 * @module
 */
import { ConvoError, UsageError } from "../errors.ts";
import { type Migration, toHex } from "./parse.ts";

/** A row of the ledger table `_sqlx_migrations`. */
export interface AppliedRow {
  /** version bigint primary key */
  readonly version: bigint;
  /** description text: sqlx's description of the file */
  readonly description: string;
  /** installed_on timestamptz */
  readonly installedOn: Date;
  /** success boolean: false means a failed, partly applied migration (dirty) */
  readonly success: boolean;
  /** checksum bytea: SHA-384 of the up file */
  readonly checksum: Uint8Array;
  /** execution_time bigint: nanoseconds (sqlx writes -1 until it updates it) */
  readonly executionTime: bigint;
}

/** The state of one version. */
export type MigrationState = "applied" | "pending" | "changed" | "missing" | "failed";

/** One line of `migrate status`. */
export interface StatusEntry {
  /** The version. */
  readonly version: bigint;
  /** As written in the file name, or the number when only the ledger knows it. */
  readonly versionText: string;
  /** The description. */
  readonly description: string;
  /**
   * `applied`; `pending` (in the program, not in the database); `changed` (applied,
   * but the file's checksum differs); `missing` (applied, not in the program);
   * `failed` (the ledger marks it unsuccessful).
   */
  readonly state: MigrationState;
  /** When it was applied. */
  readonly installedOn?: Date;
  /** How long it took, in milliseconds (when recorded). */
  readonly executionMs?: number;
  /** Checksum of the program's file (hex). */
  readonly checksum?: string;
  /** Checksum recorded in the ledger (hex). */
  readonly appliedChecksum?: string;
}

const byVersion = <T extends { version: bigint }>(a: T, b: T) =>
  a.version < b.version ? -1 : a.version > b.version ? 1 : 0;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Compares the program's migrations with the ledger, one entry per version,
 * in version order.
 *
 * @example Usage
 * ```ts ignore
 * const entries = compareLedger(migrations, await readLedger(sql));
 * ```
 */
export function compareLedger(
  migrations: readonly Migration[],
  applied: readonly AppliedRow[],
): StatusEntry[] {
  const rows = new Map(applied.map((r) => [r.version, r]));
  const known = new Set(migrations.map((m) => m.version));
  const out: StatusEntry[] = [];
  for (const m of migrations) {
    const row = rows.get(m.version);
    const checksum = toHex(m.up.checksum);
    if (!row) {
      out.push({ ...pick(m), state: "pending", checksum });
      continue;
    }
    const state: MigrationState = !row.success
      ? "failed"
      : equalBytes(row.checksum, m.up.checksum)
      ? "applied"
      : "changed";
    out.push({ ...pick(m), state, checksum, ...recorded(row) });
  }
  for (const row of applied) {
    if (known.has(row.version)) continue;
    out.push({
      version: row.version,
      versionText: row.version.toString(),
      description: row.description,
      state: row.success ? "missing" : "failed",
      ...recorded(row),
    });
  }
  return out.sort(byVersion);
}

function pick(m: Migration) {
  return { version: m.version, versionText: m.versionText, description: m.description };
}

function recorded(row: AppliedRow) {
  return {
    installedOn: row.installedOn,
    executionMs: row.executionTime >= 0n ? Number(row.executionTime) / 1e6 : undefined,
    appliedChecksum: toHex(row.checksum),
  };
}

/** Options shared by {@link planUp} and {@link planDown}. */
export interface PlanOptions {
  /** Allow applied versions the program does not know. */
  ignoreMissing?: boolean;
}

function refuseDrift(entries: readonly StatusEntry[], options: PlanOptions): void {
  for (const e of entries) {
    const name = `${e.versionText} (${e.description})`;
    if (e.state === "failed") {
      throw new ConvoError(`migration ${name} is marked failed in _sqlx_migrations`, {
        hint: "it may be partly applied: repair the schema by hand, then delete its ledger row",
      });
    }
    if (e.state === "changed") {
      throw new ConvoError(
        `migration ${name} was changed after it was applied: checksum in the database ${e.appliedChecksum}, in this program ${e.checksum}`,
        { hint: "restore the original file and add a new migration for the change" },
      );
    }
    if (e.state === "missing" && !options.ignoreMissing) {
      throw new ConvoError(`migration ${name} is applied but not known to this program`, {
        hint: "run a newer convo, or pass --ignore-missing if that is intended",
      });
    }
  }
}

function findVersion(migrations: readonly Migration[], target: bigint, flag: string): void {
  if (target !== 0n && !migrations.some((m) => m.version === target)) {
    throw new UsageError(`invalid ${flag}: current value is '${target}'`, {
      hint: "it must be a version of this program; see convo migrate status",
    });
  }
}

/** Options of {@link planUp}. */
export interface PlanUpOptions extends PlanOptions {
  /** Apply up to and including this version. */
  target?: bigint;
  /** Refuse pending versions older than the newest applied one. */
  strict?: boolean;
}

/** What `migrate up` will do. */
export interface UpPlan {
  /** Migrations to apply, in order. */
  readonly apply: Migration[];
  /** Pending versions older than the newest applied (applied anyway, unless strict). */
  readonly outOfOrder: Migration[];
  /** The newest applied version before, 0 when none. */
  readonly current: bigint;
}

/**
 * Decides which migrations `up` applies, refusing drift.
 *
 * @throws {ConvoError} on drift (changed, failed or missing versions) and, with
 * `strict`, on out-of-order pending versions.
 */
export function planUp(
  migrations: readonly Migration[],
  applied: readonly AppliedRow[],
  options: PlanUpOptions = {},
): UpPlan {
  const entries = compareLedger(migrations, applied);
  refuseDrift(entries, options);
  if (options.target !== undefined) findVersion(migrations, options.target, "--target");
  const done = new Set(applied.map((r) => r.version));
  const current = applied.reduce((max, r) => (r.version > max ? r.version : max), 0n);
  const apply = migrations.filter((m) =>
    !done.has(m.version) && (options.target === undefined || m.version <= options.target)
  );
  const outOfOrder = apply.filter((m) => m.version < current);
  if (options.strict && outOfOrder.length > 0) {
    const list = outOfOrder.map((m) => m.versionText).join(", ");
    throw new ConvoError(
      `pending migration ${list} is older than the newest applied version ${current}`,
      { hint: "--strict refuses out-of-order migrations; drop --strict to apply them" },
    );
  }
  return { apply, outOfOrder, current };
}

/** Options of {@link planDown}. */
export interface PlanDownOptions extends PlanOptions {
  /** Revert every applied version newer than this one (0: all). */
  target?: bigint;
  /** Revert this many of the newest applied versions (default 1). */
  steps?: number;
}

/**
 * Decides which migrations `down` reverts, newest first, refusing drift and
 * versions that cannot be reverted.
 *
 * @throws {UsageError} for both `target` and `steps`, or an unknown target.
 * @throws {ConvoError} on drift or when a version to revert has no down file.
 */
export function planDown(
  migrations: readonly Migration[],
  applied: readonly AppliedRow[],
  options: PlanDownOptions = {},
): Migration[] {
  if (options.target !== undefined && options.steps !== undefined) {
    throw new UsageError("--target and --steps cannot be used together", {
      hint: "pick one: --target V reverts down to V, --steps N reverts the N newest",
    });
  }
  const entries = compareLedger(migrations, applied);
  refuseDrift(entries, options);
  if (options.target !== undefined) findVersion(migrations, options.target, "--target");
  const byV = new Map(migrations.map((m) => [m.version, m]));
  const newestFirst = [...applied].sort(byVersion).reverse();
  const chosen = options.target !== undefined
    ? newestFirst.filter((r) => r.version > options.target!)
    : newestFirst.slice(0, options.steps ?? 1);
  const out: Migration[] = [];
  for (const row of chosen) {
    const m = byV.get(row.version);
    if (!m) {
      throw new ConvoError(
        `cannot revert ${row.version} (${row.description}): this program does not know it`,
        { hint: "revert it with the program that applied it" },
      );
    }
    if (!m.down) {
      throw new ConvoError(
        `cannot revert ${m.versionText} (${m.description}): it has no .down.sql`,
        { hint: "nothing was reverted; write a down migration or restore from a backup" },
      );
    }
    out.push(m);
  }
  return out;
}
