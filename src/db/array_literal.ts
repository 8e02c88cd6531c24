/**
 * PostgreSQL array literals built in one pass, for the set-based statements that send a
 * batch as parallel arrays (`unnest($1::bigint[], $2::text[], …)`).
 *
 * Handed a JavaScript array, postgres.js quotes and escapes every element of it in
 * JavaScript (`arraySerializer`, two regex replaces and a concatenation per element),
 * then measures and copies the joined string: in a drain that was a tenth of everything
 * the worker allocated. Numbers, ids and timestamps need no quoting at all, and text
 * needs escaping only where it holds `"` or `\`. A literal is a string parameter, which
 * postgres.js passes as it is; the statement's cast (`::bigint[]`) makes the server
 * parse it with the element type's own input function.
 *
 * Each function takes the rows and a field (of a row and its index), so no intermediate
 * array is built.
 *
 * @module
 */

/** What may go unquoted in an array literal: numbers, bigints, ISO timestamps. */
type Bare = bigint | number | Date;

function bare(v: Bare): string {
  return v instanceof Date ? v.toISOString() : String(v);
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

function quoted(v: string): string {
  return NEEDS_ESCAPE.test(v) ? `"${v.replace(ESCAPED, "\\$&")}"` : `"${v}"`;
}

/** The literal of `rows`' fields, each element written by `element` (`NULL` for null). */
function literal<R, V>(
  rows: readonly R[],
  field: (row: R, index: number) => V | null,
  element: (v: V) => string,
): string {
  const n = rows.length;
  if (n === 0) return "{}";
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const v = field(rows[i], i);
    parts[i] = v === null ? "NULL" : element(v);
  }
  return "{" + parts.join(",") + "}";
}

/**
 * An array literal of numbers, bigints or timestamps (`NULL` for null), e.g.
 * `{1,-2,NULL}`; a timestamp as its ISO 8601 text.
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { bareArray } from "./array_literal.ts";
 * equal(bareArray([{ id: 1n }, { id: -2n }], (r) => r.id), "{1,-2}");
 * equal(bareArray([3, null], (v) => v), "{3,NULL}");
 * equal(bareArray([], (v: number) => v), "{}");
 * ```
 */
export function bareArray<R>(
  rows: readonly R[],
  field: (row: R, index: number) => Bare | null,
): string {
  return literal(rows, field, bare);
}

/**
 * An array literal of text (`NULL` for null): every element quoted, `"` and `\`
 * escaped, so an element may hold anything (commas, braces, spaces, the word NULL).
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { textArray } from "./array_literal.ts";
 * equal(textArray(["a", 'say "hi"', null, "NULL"], (v) => v), '{"a","say \\"hi\\"",NULL,"NULL"}');
 * ```
 */
export function textArray<R>(
  rows: readonly R[],
  field: (row: R, index: number) => string | null,
): string {
  return literal(rows, field, quoted);
}
