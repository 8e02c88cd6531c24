/**
 * Migration files, read the way sqlx reads them. Pure: it takes file names and
 * bytes, never the disk.
 *
 * - A file is `<version>_<description>.sql` (simple, cannot be reverted) or a
 *   pair `<version>_<description>.up.sql` / `.down.sql`.
 * - The description is the name after the first `_`, suffix removed, `_` → space.
 * - The checksum is SHA-384 of the file's exact bytes (sqlx's, so a database
 *   migrated by sqlx-cli from the same files is adopted as is).
 * - A file whose text starts with `-- no-transaction` runs outside a transaction.
 *
 * @module
 */

/** What a file is for. */
export type MigrationKind = "simple" | "up" | "down";

/** One migration file. */
export interface MigrationFile {
  /** The version (sqlx: a signed 64-bit integer). */
  readonly version: bigint;
  /** The version as written in the file name (`0001`, `20261121120000`). */
  readonly versionText: string;
  /** The description (sqlx's rule). */
  readonly description: string;
  /** `simple`, `up` or `down`. */
  readonly kind: MigrationKind;
  /** The file name. */
  readonly fileName: string;
  /** The SQL text. */
  readonly sql: string;
  /** SHA-384 of the exact bytes. */
  readonly checksum: Uint8Array;
  /** Whether it runs outside a transaction (`-- no-transaction` first line). */
  readonly noTransaction: boolean;
}

/** A version the program knows: how to apply it and, maybe, revert it. */
export interface Migration {
  /** The version. */
  readonly version: bigint;
  /** The version as written in the file name. */
  readonly versionText: string;
  /** The description. */
  readonly description: string;
  /** The file that applies it (`.up.sql` or simple `.sql`). */
  readonly up: MigrationFile;
  /** The file that reverts it, if any. */
  readonly down?: MigrationFile;
}

/** A file as an embedded source provides it. */
export interface SourceFile {
  /** The file name, without directories. */
  readonly name: string;
  /** The exact bytes. */
  readonly bytes: Uint8Array;
}

const NAME = /^(\d+)_(.+?)(\.up\.sql|\.down\.sql|\.sql)$/;
const I64_MAX = (1n << 63n) - 1n;

/**
 * Parses a migration file name.
 *
 * @returns `undefined` for names that are not migrations (sqlx ignores them too).
 * @throws {RangeError} for a version that does not fit in a signed 64-bit integer.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMigrationName } from "./parse.ts";
 * const m = parseMigrationName("0002_core_tables.up.sql");
 * assert(m?.version === 2n && m.description === "core tables" && m.kind === "up");
 * assert(parseMigrationName("README.md") === undefined);
 * ```
 */
export function parseMigrationName(
  fileName: string,
): { version: bigint; versionText: string; description: string; kind: MigrationKind } | undefined {
  const m = NAME.exec(fileName);
  if (!m) return undefined;
  const version = BigInt(m[1]);
  if (version > I64_MAX) {
    throw new RangeError(
      `Cannot parse migration version: current value is '${m[1]}' in ${fileName} (over 2^63-1)`,
    );
  }
  const kind: MigrationKind = m[3] === ".up.sql" ? "up" : m[3] === ".down.sql" ? "down" : "simple";
  return { version, versionText: m[1], description: m[2].replaceAll("_", " "), kind };
}

/**
 * SHA-384 of bytes, as sqlx computes a migration's checksum.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { checksum, toHex } from "./parse.ts";
 * const sum = await checksum(new TextEncoder().encode("abc"));
 * assert(toHex(sum).startsWith("cb00753f45a35e8b"));
 * ```
 */
export async function checksum(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-384", bytes as Uint8Array<ArrayBuffer>));
}

/**
 * Lowercase hex of bytes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { toHex } from "./parse.ts";
 * assert(toHex(new Uint8Array([0, 255])) === "00ff");
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Whether a migration runs outside a transaction: its text starts with
 * `-- no-transaction`, as sqlx decides.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { isNoTransaction } from "./parse.ts";
 * assert(isNoTransaction("-- no-transaction\ncreate index concurrently i on t (a);"));
 * assert(!isNoTransaction("create table t (a int);"));
 * ```
 */
export function isNoTransaction(sql: string): boolean {
  return sql.startsWith("-- no-transaction");
}

/**
 * Splits SQL into its statements, honouring quotes, quoted identifiers,
 * dollar quoting, `E''` escapes and both comment styles. Statements are trimmed;
 * empty ones (only comments or whitespace) are dropped.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitStatements } from "./parse.ts";
 * const sql = "create function f() returns int language sql as $$ select 1; $$;\n-- x;\nselect ';';";
 * assert(splitStatements(sql).length === 2);
 * ```
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  let hasCode = false;
  const n = sql.length;
  const push = (end: number) => {
    if (hasCode) out.push(sql.slice(start, end).trim());
    start = end + 1;
    hasCode = false;
  };
  while (i < n) {
    const c = sql[i];
    if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i);
      i = nl === -1 ? n : nl + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") (depth++, i += 2);
        else if (sql[i] === "*" && sql[i + 1] === "/") (depth--, i += 2);
        else i++;
      }
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? "") && !/\w/.test(sql[i - 2] ?? "");
      hasCode = true;
      i++;
      while (i < n) {
        if (escapes && sql[i] === "\\") i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) {
          i++;
          break;
        } else i++;
      }
    } else if (c === "$" && !/[\w$]/.test(sql[i - 1] ?? "")) {
      const tag = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i, i + 64));
      hasCode = true;
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? n : close + tag[0].length;
      } else i++;
    } else if (c === ";") {
      push(i);
      i++;
    } else {
      if (!/\s/.test(c)) hasCode = true;
      i++;
    }
  }
  push(n);
  return out;
}

/**
 * Reads a file into a {@link MigrationFile}.
 *
 * @throws {RangeError} when the name is not a migration or the bytes are not UTF-8.
 */
export async function parseMigrationFile(file: SourceFile): Promise<MigrationFile> {
  const parsed = parseMigrationName(file.name);
  if (!parsed) {
    throw new RangeError(`Cannot parse migration file name: current value is '${file.name}'`);
  }
  let sql: string;
  try {
    sql = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(file.bytes);
  } catch {
    throw new RangeError(`Cannot read migration ${file.name}: it is not valid UTF-8`);
  }
  return {
    ...parsed,
    fileName: file.name,
    sql,
    checksum: await checksum(file.bytes),
    noTransaction: isNoTransaction(sql),
  };
}

/**
 * Builds the program's migrations from files: pairs up and down, rejects
 * duplicate versions, and checks `-- no-transaction` files hold one statement.
 *
 * @throws {RangeError} naming the file when the set is inconsistent.
 */
export async function loadMigrations(files: readonly SourceFile[]): Promise<Migration[]> {
  const byVersion = new Map<bigint, { up?: MigrationFile; down?: MigrationFile }>();
  for (const f of files) {
    if (!parseMigrationName(f.name)) continue;
    const file = await parseMigrationFile(f);
    const slot = byVersion.get(file.version) ?? {};
    const key = file.kind === "down" ? "down" : "up";
    const other = slot[key];
    if (other) {
      throw new RangeError(
        `Duplicate migration version ${file.versionText}: ${other.fileName} and ${file.fileName}`,
      );
    }
    if (file.noTransaction && splitStatements(file.sql).length !== 1) {
      throw new RangeError(
        `Migration ${file.fileName} is marked -- no-transaction but holds ${
          splitStatements(file.sql).length
        } statements; a no-transaction migration must hold exactly one (split it into several files)`,
      );
    }
    slot[key] = file;
    byVersion.set(file.version, slot);
  }
  const out: Migration[] = [];
  for (const [version, { up, down }] of byVersion) {
    if (!up) throw new RangeError(`Migration ${down!.fileName} has no matching .up.sql`);
    if (up.kind === "simple" && down) {
      throw new RangeError(`Migration ${up.fileName} is simple but ${down.fileName} exists`);
    }
    if (up.kind === "up" && down && up.description !== down.description) {
      throw new RangeError(
        `Migration ${up.fileName} and ${down.fileName} have different descriptions`,
      );
    }
    out.push({ version, versionText: up.versionText, description: up.description, up, down });
  }
  return out.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}
