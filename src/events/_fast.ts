/**
 * The fast path of the payload schemas: plain checks for the shapes real payloads have,
 * tried before zod by `validatePayload`. A fast path may only **decline** (return
 * `undefined`, and zod decides, with its reasons) or **accept with exactly the output zod
 * would give** (known keys copied, unknown keys left out, `null` kept for `.nullish()`
 * fields, the refinement passed). It never rejects: every reason a payload is refused still
 * comes from zod.
 *
 * Why: zod was ~15 µs an event in `convo work`'s preparation and ~6 µs in `convo enqueue`'s
 * parse, where these checks take ~1 µs. The schemas stay the definition; the differential
 * property test (`tests/events/fast_test.ts`) holds every fast path to its schema's result
 * on generated payloads, valid and not, and requires the realistic ones to take it.
 *
 * @module
 */

/** What a field check returns when the fast path cannot decide. */
export const DECLINE: unique symbol = Symbol("decline");

/** A field check: the field's output, or {@link DECLINE}. */
export type FieldCheck = (value: unknown) => unknown;

/** A field of an object: its check, and whether it may be absent or `null`. */
export interface Field {
  check: FieldCheck;
  /** `.optional()` or `.nullish()`: may be absent. */
  optional?: boolean;
  /** `.nullish()`: may be `null` (kept as `null`). */
  nullable?: boolean;
}

const NOT_BLANK = /\S/;
/** An http(s) URL with no whitespace anywhere: zod's trim and tab/newline strip are no-ops. */
const PLAIN_HTTP_URL = /^https?:\/\/\S+$/;

/**
 * A plain object of JSON (not an array, not a class instance).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlainObject } from "./_fast.ts";
 * assert.equal(isPlainObject({ a: 1 }), true);
 * assert.equal(isPlainObject([]), false);
 * assert.equal(isPlainObject(new Date(0)), false);
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `z.object(shape)` for the fields given: the object of known keys, or {@link DECLINE}.
 * A key present with the value `undefined` (not JSON) declines.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DECLINE, fastObject, text } from "./_fast.ts";
 * const fields = { a: { check: text(3) }, b: { check: text(3), optional: true, nullable: true } };
 * assert.deepEqual(fastObject({ a: "x", b: null, c: 1 }, fields), { a: "x", b: null });
 * assert.equal(fastObject({ b: "x" }, fields), DECLINE);
 * assert.equal(fastObject({ a: "long" }, fields), DECLINE);
 * ```
 */
export function fastObject(
  input: unknown,
  fields: Readonly<Record<string, Field>>,
): Record<string, unknown> | typeof DECLINE {
  if (!isPlainObject(input)) return DECLINE;
  const out: Record<string, unknown> = {};
  for (const key in fields) {
    const field = fields[key];
    const value = input[key];
    if (value === undefined) {
      if (!field.optional || Object.hasOwn(input, key)) return DECLINE;
      continue;
    }
    if (value === null) {
      if (!field.nullable) return DECLINE;
      out[key] = null;
      continue;
    }
    const checked = field.check(value);
    if (checked === DECLINE) return DECLINE;
    out[key] = checked;
  }
  return out;
}

/**
 * `z.string().max(max)`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DECLINE, text } from "./_fast.ts";
 * assert.equal(text(2)("ab"), "ab");
 * assert.equal(text(2)("abc"), DECLINE);
 * assert.equal(text(2)(1), DECLINE);
 * ```
 */
export function text(max = Infinity): FieldCheck {
  return (value) => typeof value === "string" && value.length <= max ? value : DECLINE;
}

/**
 * `z.string().max(max).regex(/\S/)`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DECLINE, nonBlankText } from "./_fast.ts";
 * assert.equal(nonBlankText(5)(" a "), " a ");
 * assert.equal(nonBlankText(5)("  "), DECLINE);
 * ```
 */
export function nonBlankText(max: number): FieldCheck {
  return (value) =>
    typeof value === "string" && value.length <= max && NOT_BLANK.test(value) ? value : DECLINE;
}

/**
 * `z.string().regex(re)` or `z.enum([...])`: a string `accept` takes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DECLINE, matching } from "./_fast.ts";
 * assert.equal(matching((s) => s === "sms")("sms"), "sms");
 * assert.equal(matching((s) => s === "sms")("fax"), DECLINE);
 * ```
 */
export function matching(accept: (value: string) => boolean): FieldCheck {
  return (value) => typeof value === "string" && accept(value) ? value : DECLINE;
}

/**
 * `z.url({ protocol: /^https?$/ }).max(max)`, for URLs with no whitespace (the output is
 * then the input; anything else declines).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { DECLINE, httpUrl } from "./_fast.ts";
 * assert.equal(httpUrl(100)("https://example.com/a.jpg"), "https://example.com/a.jpg");
 * assert.equal(httpUrl(100)(" https://example.com/a.jpg"), DECLINE);
 * assert.equal(httpUrl(100)("ftp://example.com/a.jpg"), DECLINE);
 * assert.equal(httpUrl(100)("http://example.com:99999/"), DECLINE);
 * ```
 */
export function httpUrl(max: number): FieldCheck {
  return (value) =>
    typeof value === "string" && value.length <= max && PLAIN_HTTP_URL.test(value) &&
      URL.canParse(value)
      ? value
      : DECLINE;
}

/**
 * `z.array(item).min(min).max(max)`: a new array of the items' outputs.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, DECLINE, text } from "./_fast.ts";
 * assert.deepEqual(array(text(1), 1, 2)(["a"]), ["a"]);
 * assert.equal(array(text(1), 1, 2)([]), DECLINE);
 * assert.equal(array(text(1), 0, 2)(["a", "bb"]), DECLINE);
 * ```
 */
export function array(item: FieldCheck, min: number, max: number): FieldCheck {
  return (value) => {
    if (!Array.isArray(value) || value.length < min || value.length > max) return DECLINE;
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const checked = item(value[i]);
      if (checked === DECLINE) return DECLINE;
      out[i] = checked;
    }
    return out;
  };
}

/**
 * `z.object(fields)` as a field.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { object, text } from "./_fast.ts";
 * assert.deepEqual(object({ a: { check: text() } })({ a: "x", b: 1 }), { a: "x" });
 * ```
 */
export function object(fields: Readonly<Record<string, Field>>): FieldCheck {
  return (value) => fastObject(value, fields);
}

/**
 * `z.union([a, b])` for two checks that no value passes both of (a string and an array,
 * say): the first that accepts.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, either, text } from "./_fast.ts";
 * const list = either(text(5), array(text(5), 1, 3));
 * assert.equal(list("a"), "a");
 * assert.deepEqual(list(["a"]), ["a"]);
 * ```
 */
export function either(a: FieldCheck, b: FieldCheck): FieldCheck {
  return (value) => {
    const first = a(value);
    return first === DECLINE ? b(value) : first;
  };
}

/** The part of zod's refinement context a schema's refinement uses. */
export interface IssueSink {
  addIssue(issue: { code: "custom"; path: (string | number)[]; message: string }): void;
}

/**
 * Runs a schema's refinement on a fast path's output: whether it adds no issue.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { passes } from "./_fast.ts";
 * assert.equal(passes({ n: 1 }, () => {}), true);
 * assert.equal(passes({ n: 1 }, (_p, ctx) => ctx.addIssue({ code: "custom", path: [], message: "no" })), false);
 * ```
 */
export function passes<T>(value: T, refine: (value: T, ctx: IssueSink) => void): boolean {
  let ok = true;
  refine(value, { addIssue: () => ok = false });
  return ok;
}
