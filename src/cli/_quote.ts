/**
 * File names in reports. A name is data the user (or an attacker who chose a
 * file name) controls: one with a newline could otherwise forge a report line
 * (`evil\nother.ndjson:1: …`), one with an escape sequence could drive the
 * terminal.
 *
 * @module
 */

// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f"\\\u2028\u2029]|^\s|\s$/;

/**
 * A file name as reports print it: as is when it is plain, else JSON-quoted
 * (control characters escaped).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { quotePath } from "./_quote.ts";
 * assert.equal(quotePath("events.ndjson"), "events.ndjson");
 * assert.equal(quotePath("evil\nx.ndjson:1: forged"), '"evil\\nx.ndjson:1: forged"');
 * ```
 */
export function quotePath(name: string): string {
  return UNSAFE.test(name) ? JSON.stringify(name) : name;
}
