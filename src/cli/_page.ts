/**
 * The `next page:` line the paged listings (`query-overview`, `queue list`)
 * print on stderr after a page that is not the last: the same command with
 * the same flags and the cursor, ready to paste.
 *
 * @module
 */

/** Flags of a run, as they are to be repeated (`undefined`: not given, left out). */
export type PageFlags = Record<string, string | undefined>;

/**
 * A value for a shell command line: quoted unless plainly safe.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { shellWord } from "./_page.ts";
 * assert.equal(shellWord("+14155550100"), "+14155550100");
 * assert.equal(shellWord("it's"), "'it'\\''s'");
 * ```
 */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,.\/-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The line for the next page of `command` (`"convo queue list"`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextPageLine } from "./_page.ts";
 * assert.equal(
 *   nextPageLine("convo queue list", { "--status": "dead", "--type": undefined }, "eyJ2"),
 *   "next page: convo queue list --status dead --cursor eyJ2\n",
 * );
 * ```
 */
export function nextPageLine(command: string, flags: PageFlags, cursor: string): string {
  const words = [command];
  for (const [flag, value] of Object.entries(flags)) {
    if (value !== undefined) words.push(flag, shellWord(value));
  }
  words.push("--cursor", cursor);
  return `next page: ${words.join(" ")}\n`;
}
