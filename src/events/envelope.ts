/**
 * One NDJSON input line of `convo enqueue` → the row to insert into `inbound_events`, or
 * the reason the line is rejected.
 *
 * @module
 */

import { replaceRawNul, sanitizeParsed } from "./_json_hygiene.ts";
import { MAX_IDEMPOTENCY_KEY } from "./_limits.ts";
import { numberExpansion } from "./_number_expansion.ts";
import { EventPayloadError } from "./errors.ts";
import { stripAttachmentContent } from "./postmark.ts";
import { EVENT_TYPES, type EventType, isEventType } from "./types.ts";
import { derivedIdempotencyKey, RESERVED_KEY_PREFIX } from "./idempotency_key.ts";
import { validatePayload, type ValidPayload } from "./validate_payload.ts";
import { stripBom } from "../bom.ts";
import { utf8Length } from "../utf8.ts";

/** Options of {@link parseEventLine}. */
export interface ParseEventLineOptions {
  /** With a type, the whole line is a raw payload of that type; without, it is an envelope. */
  type?: EventType;
  /**
   * Largest event kept, in UTF-8 bytes of the line (with `type`: the payload).
   * Lines over it are rejected without being parsed, except Postmark lines
   * with attachments: their base64 `Content` is dropped first and the cap
   * counts what is kept.
   */
  maxPayloadBytes: number;
}

/** An event ready to be inserted. */
export interface ParsedEvent {
  /** The event's type. */
  eventType: EventType;
  /** The payload as given (unknown fields kept), after U+0000 / lone-surrogate replacement. */
  payload: Record<string, unknown>;
  /** The envelope's `idempotency_key`, else the derived one (`derivedIdempotencyKey`). */
  idempotencyKey: string | null;
}

/** What {@link parseEventLine} makes of one line. */
export type LineResult =
  | {
    ok: true;
    event: ParsedEvent;
    /** U+0000 characters replaced by U+FFFD (JSONB cannot hold U+0000). */
    nulReplaced: number;
    /** Lone UTF-16 surrogates replaced by U+FFFD (PostgreSQL's JSON input rejects `"\ud800"`). */
    loneSurrogatesReplaced: number;
    /**
     * Postmark attachment contents dropped (`Attachments[].Content`): the
     * payload then differs from the line's text. Absent: none.
     */
    attachmentContentDropped?: number;
  }
  | { ok: false; reason: string }
  | { ok: "blank" };

const ENVELOPE_KEYS = ["event_type", "payload", "idempotency_key"];
const BLANK = /^\s*$/;
const NOT_BLANK = /\S/;
/** Deepest nesting of arrays and objects accepted in a line. */
const MAX_DEPTH = 64;

/**
 * Parses one NDJSON line into an event, a rejection reason, or `blank` (an empty or
 * whitespace-only line, skipped and not counted as invalid).
 *
 * - A line over `maxPayloadBytes` UTF-8 bytes is rejected before parsing (the cap is on
 *   the whole line, envelope included), and so is one that would be over it as the
 *   database stores it, numbers written out in full (`1e131071` is 131,072 digits: see
 *   `_number_expansion.ts`). A line nesting arrays/objects deeper than 64 levels is
 *   rejected too.
 * - Without `type`, the line is an envelope `{"event_type", "payload",
 *   "idempotency_key"?}`; unknown envelope keys and unknown event types are rejected.
 *   An `idempotency_key` of `null` means absent. With `type`, the line is the payload.
 * - U+0000 anywhere in a string (values and keys, escaped as `\u0000` or a raw NUL
 *   character inside a string) becomes U+FFFD, and is counted; so do lone surrogates
 *   (`"\uD800"`), which PostgreSQL's JSON input rejects.
 * - The payload is validated with its type's zod schema, the same one `toCanonical` uses,
 *   but the payload returned is the original object (unknown provider fields kept).
 * - Reasons are one short line and never quote payload values.
 *
 * Never throws for any line; only a bug of ours could make it.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEventLine } from "./envelope.ts";
 * const line = JSON.stringify({
 *   event_type: "twilio.message",
 *   payload: { MessageSid: "SM01", From: "+14155550101", To: "+14155550199", Body: "hi\u0000" },
 * });
 * const result = parseEventLine(line, { maxPayloadBytes: 262_144 });
 * assert.equal(result.ok, true);
 * if (result.ok === true) {
 *   assert.match(result.event.idempotencyKey!, /^convo:v1:twilio\.message:[0-9a-f]{16}:SM01$/);
 *   assert.equal(result.event.payload.Body, "hi\uFFFD");
 *   assert.equal(result.nulReplaced, 1);
 * }
 * assert.deepEqual(parseEventLine("   ", { maxPayloadBytes: 1024 }), { ok: "blank" });
 * assert.deepEqual(parseEventLine('{"event_type":"sms"}', { maxPayloadBytes: 1024 }), {
 *   ok: false,
 *   reason: "unknown event_type 'sms' (expected one of message.received, message.sent, " +
 *     "twilio.message, postmark.inbound)",
 * });
 * ```
 */
export function parseEventLine(line: string, options: ParseEventLineOptions): LineResult {
  if (BLANK.test(line)) return { ok: "blank" };

  // Each UTF-16 unit is 1 to 3 UTF-8 bytes (a pair is 4 for 2 units): count only when
  // the cheap bound cannot decide.
  let oversized = 0;
  if (line.length * 3 > options.maxPayloadBytes) {
    const bytes = utf8Length(line);
    if (bytes > options.maxPayloadBytes) {
      // Only attachment content can be dropped to fit: anything else is refused unread.
      if (!line.includes('"Attachments"')) return tooBig(bytes, options);
      oversized = bytes;
    }
  }

  const counts = { nul: 0, surrogates: 0 };
  let text = stripBom(line);
  // JSON forbids raw control characters in strings ("Bad control character"); a raw NUL
  // is read as an escaped one, so the line is not lost to a producer's encoding slip.
  text = replaceRawNul(text, counts);

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(`invalid JSON: ${describeJsonError(error)}`);
  }
  // The payload is serialized again (JSON.stringify, recursive) and parsed by PostgreSQL
  // (recursive, stack-limited) at insert time: a 256 KiB line of `[[[[…` could fail the
  // whole batch there (JSON.stringify threw at 50,000 levels under `deno test`; the
  // embedded PGlite 0.5.14 hung on `'[[…]]'::jsonb` at 50,000). Real payloads nest 2-4.
  if (mayNestDeeperThan(text, MAX_DEPTH) && depthOf(value) > MAX_DEPTH) {
    return fail(`${options.type ? "payload" : "line"} nests deeper than ${MAX_DEPTH} levels`);
  }

  value = sanitizeParsed(text, value, counts);

  let eventType: EventType;
  let payload: unknown;
  let explicitKey: string | null = null;
  if (options.type) {
    eventType = options.type;
    payload = value;
  } else {
    if (!isRecord(value)) return fail(`envelope: expected a JSON object, got ${kind(value)}`);
    for (const key of Object.keys(value)) {
      if (!ENVELOPE_KEYS.includes(key)) {
        return fail(`unknown envelope key ${quote(key)} (expected ${ENVELOPE_KEYS.join(", ")})`);
      }
    }
    const type = value.event_type;
    if (type === undefined) return fail(`event_type: missing (expected one of ${known()})`);
    if (typeof type !== "string") return fail(`event_type: expected a string, got ${kind(type)}`);
    if (!isEventType(type)) {
      return fail(`unknown event_type ${quote(type)} (expected one of ${known()})`);
    }
    eventType = type;
    payload = value.payload;
    if (payload === undefined) return fail("payload: missing (expected an object)");
    const key = value.idempotency_key;
    if (key !== undefined && key !== null) {
      if (typeof key !== "string") {
        return fail(`idempotency_key: expected a string, got ${kind(key)}`);
      }
      if (!NOT_BLANK.test(key)) return fail("idempotency_key: must not be empty or blank");
      if (key.length > MAX_IDEMPOTENCY_KEY) {
        return fail(`idempotency_key: over the ${MAX_IDEMPOTENCY_KEY}-character limit`);
      }
      if (key.startsWith(RESERVED_KEY_PREFIX)) {
        return fail(
          `idempotency_key: the prefix '${RESERVED_KEY_PREFIX}' is reserved for derived keys`,
        );
      }
      explicitKey = key;
    }
  }
  if (!isRecord(payload)) return fail(`payload: expected an object, got ${kind(payload)}`);

  let valid: ValidPayload;
  try {
    valid = validatePayload(eventType, payload);
  } catch (error) {
    if (error instanceof EventPayloadError) return fail(error.message);
    throw error; // a bug of ours, not the line's
  }
  const dropped = eventType === "postmark.inbound" ? stripAttachmentContent(payload) : 0;
  let kept: number | undefined;
  if (dropped > 0) {
    // What is stored: the payload re-serialized (with the envelope's keys, about).
    kept = utf8Length(JSON.stringify(payload)) + (options.type ? 0 : 80);
    if (kept > options.maxPayloadBytes) return tooBig(kept, options, " without attachment content");
  } else if (oversized > 0) {
    return tooBig(oversized, options);
  }
  // The cap bounds what the worker reads, and the database writes numbers out in full.
  const expansion = numberExpansion(text);
  if (expansion > 0) {
    const stored = (kept ?? utf8Length(text)) + expansion;
    if (stored > options.maxPayloadBytes) {
      return fail(
        `${options.type ? "payload" : "line"} is up to ${stored} bytes as stored: the database ` +
          `writes numbers out in full (1e6 as 1000000), over the ${options.maxPayloadBytes}-byte ` +
          `cap; send such numbers as strings`,
      );
    }
  }
  return {
    ok: true,
    event: {
      eventType,
      payload,
      idempotencyKey: explicitKey ?? derivedIdempotencyKey(valid, payload),
    },
    nulReplaced: counts.nul,
    loneSurrogatesReplaced: counts.surrogates,
    ...(dropped > 0 ? { attachmentContentDropped: dropped } : {}),
  };
}

function tooBig(
  bytes: number,
  options: ParseEventLineOptions,
  note = "",
): { ok: false; reason: string } {
  const what = options.type ? "payload" : "line";
  return fail(`${what} is ${bytes} bytes${note}, over the ${options.maxPayloadBytes}-byte cap`);
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function known(): string {
  return EVENT_TYPES.join(", ");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** A short, one-line, quoted rendering of a key or type name the user wrote. */
function quote(text: string): string {
  // deno-lint-ignore no-control-regex
  const clean = text.slice(0, 40).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029']/g, "?");
  return `'${clean}${text.length > 40 ? "…" : ""}'`;
}

/**
 * V8's JSON errors quote the input (`Unexpected token 'x', "+1415555…" is not valid
 * JSON`): keep what is wrong and where, drop the quote.
 */
function describeJsonError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const token = /^(Unexpected token '.{1,2}'), .* is not valid JSON$/s.exec(message);
  if (token) return token[1];
  if (message.includes(" is not valid JSON")) return "not valid JSON";
  const short = message.replace(/ \(line \d+ column \d+\)$/, "");
  return short.includes('"') || short.length > 120 ? "not valid JSON" : short;
}

/** Cheap bound: depth cannot exceed the number of `[` and `{` in the text. */
function mayNestDeeperThan(text: string, limit: number): boolean {
  let count = 0;
  for (let i = text.indexOf("{"); i !== -1 && count <= limit; i = text.indexOf("{", i + 1)) {
    count++;
  }
  for (let i = text.indexOf("["); i !== -1 && count <= limit; i = text.indexOf("[", i + 1)) {
    count++;
  }
  return count > limit;
}

/** Nesting depth of a parsed value (a scalar is 0), iteratively. */
function depthOf(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth + 1 > max) max = depth + 1;
    if (max > MAX_DEPTH) return max;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return max;
}
