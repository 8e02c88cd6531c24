/**
 * How ingest classifies a failure: permanent (the same event always fails the
 * same way: dead at once) or transient (the database or network: retry later).
 *
 * @module
 */
import { type KeyRequest, KeysExhaustedError } from "../dedup/keys.ts";
import { EventPayloadError } from "../events/errors.ts";

/** A failure that retrying cannot fix: the event is dead-lettered at once. */
export class PermanentEventError extends Error {
  /** Always true. */
  readonly permanent = true as const;
  /** Makes the error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentEventError";
  }
}

/**
 * Two different normalized values under one 64-bit key, in the batch or against
 * a stored row: their keys are resolved (`dedup/keys.ts`: the value that came
 * second moves to a fallback key) and the events written again. Transient: if
 * it is still there when the event's attempts run out, the event is dead, but
 * no value is ever merged with another or refused for good.
 */
export class KeyConflictError extends Error {
  /** The values to resolve (never shown: they are addresses and bodies). */
  readonly requests: readonly KeyRequest[];
  /** Makes the error; `what` names the table and key. */
  constructor(what: string, requests: readonly KeyRequest[]) {
    super(`64-bit key collision: ${what} holds another value; the key is resolved and retried`);
    this.name = "KeyConflictError";
    this.requests = requests;
  }
}

// SQLSTATE classes that mean "try again later": connection exceptions (08),
// transaction rollback (40: serialization failure, deadlock), insufficient
// resources (53), operator intervention (57: shutdown, cancel), system error (58),
// lock not available (55P03).
const TRANSIENT_CLASSES = new Set(["08", "40", "53", "57", "58"]);
// SQLSTATE classes that mean "this data is wrong": data exception (22),
// integrity constraint violation (23).
const PERMANENT_CLASSES = new Set(["22", "23"]);
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/** What kind of failure an error is. */
export type FailureKind = "permanent" | "transient" | "connection";

/**
 * Classifies an error. `connection` is transient and also means the database is
 * out of reach, so retrying event by event is pointless.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyFailure } from "./errors.ts";
 * assert.equal(classifyFailure(Object.assign(new Error("x"), { code: "23514" })), "permanent");
 * assert.equal(classifyFailure(Object.assign(new Error("x"), { code: "40P01" })), "transient");
 * assert.equal(classifyFailure(Object.assign(new Error("x"), { code: "ECONNRESET" })), "connection");
 * ```
 */
export function classifyFailure(err: unknown): FailureKind {
  if (
    err instanceof PermanentEventError || err instanceof EventPayloadError ||
    err instanceof KeysExhaustedError
  ) return "permanent";
  // Normalizers throw RangeError for a value they cannot read ("Cannot parse
  // email address: …"): the payload's fault. A TypeError ("Cannot read
  // properties of undefined") is most likely our bug: it falls through to
  // transient below, retried with a backoff and dead after the last attempt,
  // so a fixed deploy can still process the event.
  if (err instanceof RangeError) return "permanent";
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code) || code.startsWith("08")) return "connection";
    if (code === "57P01" || code === "57P02" || code === "57P03") return "connection";
    if (code === "55P03" || TRANSIENT_CLASSES.has(code.slice(0, 2))) return "transient";
    if (PERMANENT_CLASSES.has(code.slice(0, 2))) return "permanent";
  }
  // Anything else (a bug, an unexpected server error) is retried with backoff
  // and dead-lettered after the last attempt, so a fixed deploy can recover it.
  return "transient";
}
