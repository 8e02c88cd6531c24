/**
 * JSON-string hygiene for `parseEventLine`: what PostgreSQL cannot store is replaced by
 * U+FFFD (and counted) rather than losing the line.
 *
 * - U+0000: JSONB cannot hold it (`\u0000 cannot be converted to text`), escaped or raw.
 *   A raw NUL inside a string is not valid JSON at all ("Bad control character"), so it is
 *   replaced in the text before parsing; an escaped one, in the parsed value.
 * - Lone UTF-16 surrogates (`"\ud800"`): PostgreSQL's JSON input rejects them.
 *
 * Keys are cleaned as well as values.
 *
 * @module
 */

/** How many characters were replaced, by kind; the functions here add to it. */
export interface HygieneCounts {
  /** U+0000 characters replaced. */
  nul: number;
  /** Lone surrogates replaced. */
  surrogates: number;
}

/** A `\uD800`–`\uDFFF` escape: may decode to a lone surrogate. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const REPLACEMENT = "\uFFFD";

/**
 * Replaces every raw U+0000 of a line's text by U+FFFD before it is parsed, so that a NUL
 * inside a string is read like an escaped one (outside a string it stays invalid JSON).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { replaceRawNul } from "./_json_hygiene.ts";
 * const counts = { nul: 0, surrogates: 0 };
 * assert.equal(replaceRawNul('{"a":"x\0y\0"}', counts), '{"a":"x\uFFFDy\uFFFD"}');
 * assert.deepEqual(counts, { nul: 2, surrogates: 0 });
 * assert.equal(replaceRawNul('{"a":1}', counts), '{"a":1}');
 * ```
 */
export function replaceRawNul(text: string, counts: HygieneCounts): string {
  return text.includes("\0") ? replaceNul(text, counts) : text;
}

/**
 * Replaces U+0000 and lone surrogates in every string of `value`, keys included, in place
 * where it can (the parsed value is the caller's own). `text` is what `value` was parsed
 * from, after {@link replaceRawNul}: the value is walked only when the text shows a reason
 * to (most lines have none). Iterative, so that it cannot overflow the stack whatever it is
 * given.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitizeParsed } from "./_json_hygiene.ts";
 * const text = String.raw`{"body":"a\u0000b","k\ud800":["\udfff 😀"]}`;
 * const counts = { nul: 0, surrogates: 0 };
 * const value = sanitizeParsed(text, JSON.parse(text), counts);
 * assert.deepEqual(value, { body: "a\uFFFDb", "k\uFFFD": ["\uFFFD 😀"] });
 * assert.deepEqual(counts, { nul: 1, surrogates: 2 });
 * ```
 */
export function sanitizeParsed(text: string, value: unknown, counts: HygieneCounts): unknown {
  if (
    counts.nul > 0 || text.includes("\\u0000") || SURROGATE_ESCAPE.test(text) ||
    !text.isWellFormed()
  ) {
    return sanitize(value, counts);
  }
  return value;
}

function replaceNul(text: string, counts: { nul: number }): string {
  let n = 0;
  for (let i = text.indexOf("\0"); i !== -1; i = text.indexOf("\0", i + 1)) n++;
  counts.nul += n;
  return text.replaceAll("\0", REPLACEMENT);
}

function cleanString(text: string, counts: HygieneCounts): string {
  let out = text;
  if (out.includes("\0")) out = replaceNul(out, counts);
  if (!out.isWellFormed()) {
    for (let i = 0; i < out.length; i++) {
      const c = out.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const next = out.charCodeAt(i + 1); // NaN past the end
        if (next >= 0xdc00 && next <= 0xdfff) i++;
        else counts.surrogates++;
      } else if (c >= 0xdc00 && c <= 0xdfff) counts.surrogates++;
    }
    out = out.toWellFormed();
  }
  return out;
}

function needsCleaning(text: string): boolean {
  return text.includes("\0") || !text.isWellFormed();
}

type Container = Record<string, unknown> | unknown[];

/** The walk behind {@link sanitizeParsed}. */
function sanitize(root: unknown, counts: HygieneCounts): unknown {
  if (typeof root === "string") return cleanString(root, counts);
  if (typeof root !== "object" || root === null) return root;
  const holder: unknown[] = [root];
  const stack: Array<{ parent: Container; slot: string | number }> = [{ parent: holder, slot: 0 }];
  while (stack.length > 0) {
    const { parent, slot } = stack.pop()!;
    let node = (parent as Record<string | number, unknown>)[slot] as Container;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v === "string") {
          if (needsCleaning(v)) node[i] = cleanString(v, counts);
        } else if (typeof v === "object" && v !== null) {
          stack.push({ parent: node, slot: i });
        }
      }
      continue;
    }
    let keys = Object.keys(node);
    if (keys.some(needsCleaning)) {
      // Rebuild with clean keys; defineProperty so that a `__proto__` key stays a plain
      // key. Two keys that become equal: the later one wins, as with JSON duplicates.
      const rebuilt: Record<string, unknown> = {};
      for (const key of keys) {
        const clean = needsCleaning(key) ? cleanString(key, counts) : key;
        Object.defineProperty(rebuilt, clean, {
          value: node[key],
          writable: true,
          enumerable: true,
          configurable: true,
        });
      }
      // The slot is an existing own property of `parent`, so assignment cannot reach a
      // prototype setter.
      (parent as Record<string | number, unknown>)[slot] = rebuilt;
      node = rebuilt;
      keys = Object.keys(rebuilt);
    }
    const record = node as Record<string, unknown>;
    for (const key of keys) {
      const v = record[key];
      if (typeof v === "string") {
        if (needsCleaning(v)) record[key] = cleanString(v, counts);
      } else if (typeof v === "object" && v !== null) {
        stack.push({ parent: record, slot: key });
      }
    }
  }
  return holder[0];
}
