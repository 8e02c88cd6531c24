/**
 * UTF-8 sizes without encoding.
 *
 * @module
 */

/**
 * The number of bytes `TextEncoder` would write for `text` (a lone surrogate
 * as U+FFFD, 3 bytes), without allocating them.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8Length } from "./utf8.ts";
 * for (const s of ["", "abc", "é", "€", "😀", "\ud800x", "a\udc00"]) {
 *   assert.equal(utf8Length(s), new TextEncoder().encode(s).length);
 * }
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
