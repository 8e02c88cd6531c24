/**
 * The program's own migrations, from the embedded manifest.
 *
 * @module
 */
import { FILES } from "./_files.ts";
import { loadMigrations, type Migration } from "./parse.ts";

let cached: Promise<Migration[]> | undefined;

/** The migrations embedded in this program, in version order. */
export function embeddedMigrations(): Promise<Migration[]> {
  cached ??= loadMigrations(FILES);
  return cached;
}
