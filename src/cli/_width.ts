/**
 * The width of text in terminal columns, for aligned tables: East Asian wide
 * and fullwidth characters and emoji take two columns, combining marks and
 * zero-width characters none, everything else one (as `wcwidth` and the
 * common terminals count).
 *
 * @module
 */

const ASCII = /^[\x20-\x7e]*$/;
const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
// A cluster shown as an emoji: one with emoji presentation by default, an
// emoji with VS16 (U+FE0F), a keycap, or a flag (two regional indicators).
const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\u20E3|\p{RI}{2}/u;
// Clusters that take no column: format characters and marks alone.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\u1160-\u11FF]+$/u;

/**
 * East Asian Wide (W) and Fullwidth (F) ranges of Unicode 15's
 * EastAsianWidth.txt, condensed to the blocks that matter (CJK, Hangul, kana,
 * fullwidth forms), as [first, last] code points.
 */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x2e80, 0x303e], // CJK radicals, Kangxi, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility, CJK compatibility
  [0x3400, 0x4dbf], // CJK Extension A
  [0x4e00, 0x9fff], // CJK Unified Ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo Extended-A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff], // Tangut
  [0x1b000, 0x1b2ff], // Kana supplement, extended
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK Extensions B–F
  [0x30000, 0x3fffd], // CJK Extension G
];

function isWide(codePoint: number): boolean {
  let lo = 0;
  let hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last] = WIDE[mid];
    if (codePoint < first) hi = mid - 1;
    else if (codePoint > last) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Columns a text takes on a terminal, counted per grapheme cluster.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { displayWidth } from "./_width.ts";
 * assert.equal(displayWidth("hello"), 5);
 * assert.equal(displayWidth("日本語"), 6);
 * assert.equal(displayWidth("👍"), 2);
 * assert.equal(displayWidth("👨‍👩‍👧"), 2);
 * assert.equal(displayWidth("e\u0301"), 1);
 * ```
 */
export function displayWidth(text: string): number {
  if (ASCII.test(text)) return text.length;
  let n = 0;
  for (const { segment } of segmenter.segment(text)) {
    if (EMOJI.test(segment)) n += 2;
    else if (isWide(segment.codePointAt(0)!)) n += 2;
    else if (!ZERO_WIDTH.test(segment)) n += 1;
  }
  return n;
}
