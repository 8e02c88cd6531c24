/**
 * `migrate new`: writes the files of a new migration.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { parseMigrationName } from "./parse.ts";

/**
 * The UTC timestamp version `YYYYMMDDHHMMSS` of a moment.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { timestampVersion } from "./new.ts";
 * assert(timestampVersion(new Date("2026-11-21T09:05:03Z")) === "20261121090503");
 * ```
 */
export function timestampVersion(at: Date): string {
  return at.toISOString().replace(/\.\d+Z$/, "").replace(/\D/g, "");
}

/**
 * The file names of a new migration, choosing a version after every existing
 * one (a timestamp, moved forward a second at a time if taken).
 *
 * @throws {UsageError} for a name that would not make a valid file name.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { newMigrationNames } from "./new.ts";
 * const names = newMigrationNames("add Index", new Date("2026-11-21T09:05:03Z"), [], false);
 * assert(names[0] === "20261121090503_add_Index.up.sql");
 * assert(names[1] === "20261121090503_add_Index.down.sql");
 * ```
 */
export function newMigrationNames(
  name: string,
  now: Date,
  existing: readonly string[],
  simple: boolean,
): string[] {
  const slug = name.trim().replace(/\s+/g, "_");
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(slug)) {
    throw new UsageError(`invalid migration name: current value is '${name}'`, {
      hint: "use letters, digits, spaces, _ and - (for example: add_contacts_index)",
    });
  }
  const taken = new Set<bigint>();
  for (const f of existing) {
    const parsed = parseMigrationName(f);
    if (parsed) taken.add(parsed.version);
  }
  let at = now.getTime();
  let version = timestampVersion(new Date(at));
  while (taken.has(BigInt(version))) {
    at += 1000;
    version = timestampVersion(new Date(at));
  }
  return simple
    ? [`${version}_${slug}.sql`]
    : [`${version}_${slug}.up.sql`, `${version}_${slug}.down.sql`];
}

/**
 * Writes a new migration's files into `dir` (created if absent) and returns
 * their paths. Never overwrites a file.
 */
export async function createMigrationFiles(
  dir: string,
  name: string,
  options: { simple?: boolean; now?: Date } = {},
): Promise<string[]> {
  const info = await Deno.stat(dir).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  });
  if (info && !info.isDirectory) {
    throw new UsageError(`invalid --dir: '${dir}' is a file, not a directory`, {
      hint: "name the directory that holds the migrations (default: migrations)",
    });
  }
  await Deno.mkdir(dir, { recursive: true });
  const existing: string[] = [];
  for await (const e of Deno.readDir(dir)) existing.push(e.name);
  const names = newMigrationNames(name, options.now ?? new Date(), existing, !!options.simple);
  const paths: string[] = [];
  for (const file of names) {
    const path = `${dir.replace(/\/+$/, "")}/${file}`;
    const body = file.endsWith(".down.sql")
      ? `-- Revert ${file.replace(/\.down\.sql$/, ".up.sql")}\n`
      : "-- Add migration script here\n";
    await Deno.writeTextFile(path, body, { createNew: true });
    paths.push(path);
  }
  return paths;
}
