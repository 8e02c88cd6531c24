/**
 * The byte order mark (U+FEFF) that "UTF-8 with BOM" editors and exports put first: the
 * one home of how `enqueue` input skips it. Two places meet one, and the rule differs
 * between them on purpose:
 *
 * - **A stream** (a file, stdin): the bytes `EF BB BF` at its very start are skipped
 *   before it is split into lines ({@link LeadingBomSkipper}, in `queue/lines.ts`), even
 *   when they arrive split across chunks. Anywhere else they are data, and the line
 *   reader hands them on as U+FEFF.
 * - **A line**: U+FEFF as a line's first character is not part of its JSON
 *   ({@link stripBom}, in `events/envelope.ts`): that is the first line of a second file
 *   concatenated onto the first (`cat a.ndjson b.ndjson | convo enqueue`), or a line given
 *   to `parseEventLine` by some other reader. Such a line's own text cannot go to
 *   PostgreSQL as it is, whose JSON input refuses a BOM, so `enqueue` asks
 *   {@link hasBom} and sends the parsed payload instead.
 *
 * @module
 */

/** The byte order mark in UTF-8. */
const UTF8_BOM: readonly number[] = [0xef, 0xbb, 0xbf];

/**
 * Whether a line starts with a byte order mark.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasBom } from "./bom.ts";
 * assert.equal(hasBom('\uFEFF{"a":1}'), true);
 * assert.equal(hasBom('{"a":1}\uFEFF'), false);
 * assert.equal(hasBom(""), false);
 * ```
 */
export function hasBom(text: string): boolean {
  return text.charCodeAt(0) === 0xfeff;
}

/**
 * A line without its leading byte order mark (one; a second is data).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripBom } from "./bom.ts";
 * assert.equal(stripBom('\uFEFF{"a":1}'), '{"a":1}');
 * assert.equal(stripBom("\uFEFF\uFEFFx"), "\uFEFFx");
 * assert.equal(stripBom("x\uFEFF"), "x\uFEFF");
 * ```
 */
export function stripBom(text: string): string {
  return hasBom(text) ? text.slice(1) : text;
}

/**
 * Skips the UTF-8 byte order mark at the very start of a byte stream fed chunk by chunk,
 * holding back at most its first two bytes while a chunk boundary leaves it undecided.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { LeadingBomSkipper } from "./bom.ts";
 * const skipper = new LeadingBomSkipper();
 * assert.equal(skipper.push(new Uint8Array([0xef, 0xbb])), undefined); // undecided
 * assert.deepEqual(skipper.push(new Uint8Array([0xbf, 0x61])), new Uint8Array([0x61]));
 * assert.deepEqual(skipper.push(new Uint8Array([0xef, 0xbb, 0xbf])), new Uint8Array([0xef, 0xbb, 0xbf]));
 *
 * const short = new LeadingBomSkipper();
 * assert.equal(short.push(new Uint8Array([0xef])), undefined);
 * assert.deepEqual(short.end(), new Uint8Array([0xef])); // not a BOM after all: data
 * ```
 */
export class LeadingBomSkipper {
  /** Bytes of the stream's start matched against the mark, until decided. */
  #seen: number[] | undefined = [];

  /**
   * The bytes of `chunk` to read on: after a leading mark, or with the bytes held back
   * before it once they turn out not to be one; `undefined` while every byte so far
   * matches the start of a mark.
   */
  push(chunk: Uint8Array): Uint8Array | undefined {
    const seen = this.#seen;
    if (seen === undefined) return chunk;
    let i = 0;
    while (
      i < chunk.length && seen.length < UTF8_BOM.length && chunk[i] === UTF8_BOM[seen.length]
    ) {
      seen.push(chunk[i]);
      i++;
    }
    if (seen.length === UTF8_BOM.length) {
      this.#seen = undefined;
      return chunk.subarray(i);
    }
    if (i === chunk.length) return undefined; // undecided; wait for more bytes
    // Not a byte order mark: what matched so far is ordinary data.
    this.#seen = undefined;
    if (seen.length === 0) return chunk;
    const joined = new Uint8Array(seen.length + chunk.length - i);
    joined.set(seen);
    joined.set(chunk.subarray(i), seen.length);
    return joined;
  }

  /**
   * At the end of the stream: the bytes held back (a stream shorter than a mark whose
   * bytes all matched one), which are data. Every later {@link push} passes its chunk on.
   */
  end(): Uint8Array {
    const rest = Uint8Array.from(this.#seen ?? []);
    this.#seen = undefined;
    return rest;
  }
}
