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
 * with an exponent, at most the exponent's magnitude and 3 (a leading `0.`, a sign), and
 * at least what the rendering adds. 0 for a text without such numbers, without parsing it.
 * `text` must be valid JSON.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberExpansion } from "./_number_expansion.ts";
 * assert.equal(numberExpansion('{"a":1,"b":"1e9"}'), 0);
 * assert.equal(numberExpansion('{"a":1e9}'), 12);
 * assert.equal(numberExpansion('[1.5E-3, 2e+2]'), 6 + 5);
 * ```
 */
export function numberExpansion(text: string): number {
  if (!EXPONENT_VALUE.test(text)) return 0;
  let extra = 0;
  // The reviver's third argument holds each primitive's source text (V8 ≥ 11.4).
  JSON.parse(text, function (_key, value, context?: { source?: string }) {
    if (typeof value === "number" && context?.source !== undefined) {
      const exponent = EXPONENT.exec(context.source);
      if (exponent) extra += Math.abs(Number(exponent[1])) + 3;
    }
    return value;
  });
  return extra;
}
