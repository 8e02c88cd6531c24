/**
 * The error an invalid event payload raises.
 *
 * @module
 */

import type { EventType } from "./types.ts";

/** Options of {@link EventPayloadError}. */
export interface EventPayloadErrorOptions {
  /** Where the problem is, as a path from the envelope: `payload.to[1]`, `payload.MediaUrl1`. */
  path: string;
  /** The event type the payload was read as. */
  eventType: EventType;
}

/**
 * A payload that does not fit its event type's schema. A *permanent* error: retrying
 * the same payload gives the same answer, so the worker dead-letters the event at once,
 * and `convo enqueue` reports the line as invalid.
 *
 * The message is one line, `<path>: <problem>`, and never quotes a payload value
 * (payloads carry phone numbers and email addresses); it names the field and what was
 * expected.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventPayloadError } from "./errors.ts";
 * const err = new EventPayloadError("expected a string or an array of strings", {
 *   path: "payload.to",
 *   eventType: "message.received",
 * });
 * assert.equal(err.message, "payload.to: expected a string or an array of strings");
 * assert.equal(err.permanent, true);
 * ```
 */
export class EventPayloadError extends Error {
  /** Where the problem is: `payload`, `payload.to[1]`, … */
  readonly path: string;
  /** What is wrong there, without the path. */
  readonly problem: string;
  /** The event type the payload was read as. */
  readonly eventType: EventType;
  /** Always `true`: the same payload always fails the same way. */
  readonly permanent = true as const;

  /** Makes the error; the message is `${path}: ${problem}`. */
  constructor(problem: string, options: EventPayloadErrorOptions) {
    super(`${options.path}: ${problem}`);
    this.name = "EventPayloadError";
    this.path = options.path;
    this.problem = problem;
    this.eventType = options.eventType;
  }
}
