/**
 * Turns zod issues into one short, value-free {@link EventPayloadError}.
 *
 * zod's own messages are fine for developers, but ours are read by operators on one
 * line per rejected NDJSON line, and must never quote a payload value. The issue's
 * `input` (present because schemas are run with `reportInput: true`) is used only to
 * *classify* (missing vs wrong type, zone-less timestamp), never printed.
 *
 * @module
 */

import type { z } from "zod";
import { EventPayloadError } from "./errors.ts";
import type { EventType } from "./types.ts";

type Issue = z.core.$ZodIssue;

/** A local date-time without a zone: valid shape, ambiguous instant. */
const ZONELESS = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Formats a path for a reason: `payload.to[1]`, `payload.attachments[0].url`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPath } from "./_issues.ts";
 * assert.equal(formatPath("payload", ["attachments", 0, "url"]), "payload.attachments[0].url");
 * assert.equal(formatPath("payload", []), "payload");
 * ```
 */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "string" && IDENTIFIER.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/**
 * Makes the error for a failed parse from its issues: the first issue, described, plus a
 * count of the others.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { payloadError } from "./_issues.ts";
 * const result = z.object({ to: z.string() }).safeParse({ to: 5 }, { reportInput: true });
 * assert.equal(result.success, false);
 * const err = payloadError("message.sent", result.error!.issues);
 * assert.equal(err.message, "payload.to: expected a string, got number");
 * ```
 */
export function payloadError(eventType: EventType, issues: readonly Issue[]): EventPayloadError {
  if (issues.length === 0) {
    return new EventPayloadError("invalid", { path: "payload", eventType });
  }
  const { path, problem } = describe(issues[0], []);
  const more = issues.length - 1;
  const suffix = more === 0 ? "" : ` (and ${more} more problem${more === 1 ? "" : "s"})`;
  return new EventPayloadError(problem + suffix, {
    path: formatPath("payload", path),
    eventType,
  });
}

function describe(issue: Issue, prefix: PropertyKey[]): { path: PropertyKey[]; problem: string } {
  const path = prefix.length === 0 ? issue.path : [...prefix, ...issue.path];
  switch (issue.code) {
    case "invalid_union": {
      // The branch that got past its own type check says the most: for `to: ["a", 5]`
      // that is the array branch's `[1]: expected a string`.
      for (const branch of issue.errors) {
        const first = branch[0];
        if (first && (first.path.length > 0 || first.code !== "invalid_type")) {
          return describe(first, path);
        }
      }
      return { path, problem: issue.message };
    }
    case "invalid_type":
      if (issue.input === undefined) {
        return { path, problem: `missing (expected ${article(issue.expected)})` };
      }
      return { path, problem: `expected ${article(issue.expected)}, got ${kind(issue.input)}` };
    case "too_small":
      if (issue.origin === "string") {
        return {
          path,
          problem: Number(issue.minimum) <= 1
            ? "must not be empty"
            : `shorter than ${issue.minimum} characters`,
        };
      }
      if (issue.origin === "array") {
        return {
          path,
          problem: `needs at least ${issue.minimum} item${Number(issue.minimum) === 1 ? "" : "s"}`,
        };
      }
      return { path, problem: issue.message };
    case "too_big":
      if (issue.origin === "string") {
        return { path, problem: `over the ${issue.maximum}-character limit` };
      }
      if (issue.origin === "array") {
        return { path, problem: `over the ${issue.maximum}-item limit` };
      }
      return { path, problem: issue.message };
    case "invalid_value": {
      const values = issue.values.map(String).join(", ");
      return {
        path,
        problem: issue.input === undefined
          ? `missing (expected one of ${values})`
          : `expected one of ${values}`,
      };
    }
    case "invalid_format":
      if (issue.format === "datetime") {
        return {
          path,
          problem: typeof issue.input === "string" && ZONELESS.test(issue.input)
            ? "timestamp has no time zone (ambiguous): add Z or an offset like +02:00"
            : "expected an RFC 3339 timestamp with a time zone, like 2024-05-01T12:00:00Z",
        };
      }
      if (issue.format === "url") return { path, problem: "expected an http or https URL" };
      return { path, problem: issue.message };
    default:
      return { path, problem: issue.message };
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
