/**
 * How much longer a JSON text becomes once PostgreSQL has stored it: `jsonb` keeps a number
 * as `numeric`, and renders it written out in full, never with an exponent. `1e131071` is
 * 8 bytes in a line, 22 bytes stored, and 131,072 digits every time the payload is read as
 * text (the worker's claim measures and returns it so). An 81 KB line of such numbers
 * stored fine and then made every claim fail with "out of memory (SQLSTATE 54000)": the
 * queue stopped behind it. `parseEventLine` counts what this returns against the cap.
 *
 * @module
 */

/**
 * A number with an exponent as a JSON value: after `:`, `,` or `[`. Text inside a string
 * can match too (`"a:1e5"`); that only costs the exact count below.
 */
const EXPONENT_VALUE = /[:,[]\s*-?\d+(?:\.\d+)?[eE]/;
const EXPONENT = /[eE]([+-]?\d+)$/;

/**
 * Bytes a JSON text gains when PostgreSQL writes its numbers out in full: for each number
 * with an exponent, what its rendering can take beyond the token (never less than what it
 * takes). 0 for a text without such numbers, without parsing it. `text` must be valid JSON.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberExpansion } from "./_number_expansion.ts";
 * assert.equal(numberExpansion('{"a":1,"b":"1e9"}'), 0);
 * assert.equal(numberExpansion('{"a":1e9}'), 7); // "1000000000": 10 bytes for 3
 * assert.equal(numberExpansion("[1e1, 1.5E-3]"), 0); // "10", "0.0015": shorter
 * ```
 */
export function numberExpansion(text: string): number {
  if (!EXPONENT_VALUE.test(text)) return 0;
  let extra = 0;
  // The reviver's third argument holds each primitive's source text (V8 ≥ 11.4).
  JSON.parse(text, function (_key, value, context?: { source?: string }) {
    if (typeof value === "number" && context?.source !== undefined) {
      extra += Math.max(0, renderedLength(context.source) - context.source.length);
    }
    return value;
  });
  return extra;
}

/**
 * At most how long `numeric` writes a JSON number token out: `-`, the integer digits
 * (at most the mantissa's plus the exponent, at least one), and as many decimals as the
 * mantissa's less the exponent, after a point. Exact but for mantissas that start with
 * zeros (`0.01e3` is `10`, counted as 4 digits).
 */
function renderedLength(token: string): number {
  const exponent = EXPONENT.exec(token);
  if (!exponent) return token.length;
  const x = Number(exponent[1]);
  const mantissa = token.slice(token[0] === "-" ? 1 : 0, exponent.index);
  const point = mantissa.indexOf(".");
  const integers = point === -1 ? mantissa.length : point;
  const decimals = point === -1 ? 0 : mantissa.length - point - 1;
  const scale = Math.max(0, decimals - x);
  return (token[0] === "-" ? 1 : 0) + Math.max(1, integers + x) + (scale > 0 ? 1 + scale : 0);
}
