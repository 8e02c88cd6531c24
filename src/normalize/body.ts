/**
 * Message body normalization: the form that is hashed for dedup. The raw text
 * is kept by the caller; this is never shown to anyone.
 *
 * @module
 */

const NUL = /\0/g;
// JS `\s`: ASCII whitespace, NBSP, the Unicode space separators, U+2028/2029
// and U+FEFF. It includes CR and LF, so CRLF/CR → LF needs no pass of its own:
// every line ending is folded into the run that becomes one space.
const WHITESPACE_RUN = /\s+/g;
// A run the fold changes: whitespace other than U+0020, or two in a row. Most
// bodies have none, and then the fold would rebuild the same string (a copy
// of every body the worker hashes, ~4 % of its allocation).
const FOLDABLE = /[^\S ]|\s\s/;

/**
 * Normalizes a message body: U+0000 removed, lone surrogates replaced by U+FFFD,
 * NFC, every run of whitespace (line endings included) collapsed to one space,
 * trimmed. May return `""` (callers store no body row for it).
 *
 * The result has no CR, LF or tab, no two consecutive spaces and no leading or
 * trailing space: the database CHECK on normalized bodies.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { normalizeBody } from "./body.ts";
 * equal(normalizeBody("  Hello,\r\n\r\n  world\t!\0 "), "Hello, world !");
 * equal(normalizeBody("cafe\u0301"), "caf\u00e9");
 * equal(normalizeBody(" \n\t "), "");
 * ```
 */
export function normalizeBody(text: string): string {
  // NUL goes first: removing it later could leave a base and a combining mark
  // side by side in a string that is no longer NFC.
  if (text.includes("\0")) text = text.replace(NUL, "");
  if (!text.isWellFormed()) text = text.toWellFormed();
  text = text.normalize("NFC");
  return (FOLDABLE.test(text) ? text.replace(WHITESPACE_RUN, " ") : text).trim();
}
