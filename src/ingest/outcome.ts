/**
 * When an event dies, is retried, or is done: the outcome rules of ingest, in
 * one place. A permanent failure is dead at once; a transient one goes back to
 * pending with a backoff and dies after the last attempt; an event claimed more
 * often than allowed (a worker died on it each time) is dead without another
 * try.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { maskText } from "../log/redact.ts";
import { backoffDelay, type BackoffOptions } from "../queue/backoff.ts";
import type { BatchResult, ClaimedEvent, Outcome } from "../queue/types.ts";
import { errorText } from "../db/errors.ts";
import { classifyFailure } from "./errors.ts";

/** What the outcome rules need. */
export interface OutcomeOptions {
  /** Attempts after which a transient failure is dead. */
  maxAttempts: number;
  /** Retry delays. */
  backoff?: BackoffOptions;
}

/**
 * The outcome of an event that failed with `err`: dead when the failure is
 * permanent or the attempts are used up, else a retry after a backoff.
 */
export function failureOutcome(
  event: ClaimedEvent,
  err: unknown,
  options: OutcomeOptions,
): Outcome {
  const error = errorText(err);
  const kind = classifyFailure(err);
  if (kind === "permanent") {
    return { id: event.id, attempts: event.attempts, status: "dead", error };
  }
  if (event.attempts >= options.maxAttempts) {
    return {
      id: event.id,
      attempts: event.attempts,
      status: "dead",
      error: `gave up after ${event.attempts} attempts: ${error}`,
    };
  }
  return {
    id: event.id,
    attempts: event.attempts,
    status: "retry",
    error,
    delayMs: backoffDelay(event.attempts, options.backoff),
  };
}

/**
 * Splits a claimed batch into the events to process and the dead outcomes of those that
 * cannot be: claimed more than `maxAttempts` times (a worker died on them each time: crash,
 * OOM, timeout), so dead now rather than claimed forever; or claimed without their payload
 * because it is over `maxEventBytes` ({@link ClaimedEvent.oversize}), which the worker
 * could not hold.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { overClaimed } from "./outcome.ts";
 * const e = (id: bigint, attempts: number) =>
 *   ({ id, eventType: "message.received", payload: {}, attempts, receivedAt: new Date(0) });
 * const big = { ...e(3n, 1), payload: null, oversize: 200_000_000 };
 * const { keep, dead } = overClaimed([e(1n, 3), e(2n, 4), big], 3, 93_000_000);
 * assert.deepEqual(keep.map((x) => x.id), [1n]);
 * assert.deepEqual(dead.map((x) => [x.id, x.status]), [[2n, "dead"], [3n, "dead"]]);
 * ```
 */
export function overClaimed(
  batch: readonly ClaimedEvent[],
  maxAttempts: number,
  maxEventBytes?: number,
): { keep: ClaimedEvent[]; dead: Outcome[] } {
  const keep: ClaimedEvent[] = [];
  const dead: Outcome[] = [];
  for (const e of batch) {
    if (e.attempts > maxAttempts) {
      dead.push({
        id: e.id,
        attempts: e.attempts,
        status: "dead",
        error:
          `claimed ${e.attempts} times without finishing (the worker crashed or timed out on it)`,
      });
    } else if (e.oversize !== undefined) {
      dead.push({
        id: e.id,
        attempts: e.attempts,
        status: "dead",
        error:
          `payload is ${e.oversize} bytes as JSON text, over ${
            maxEventBytes === undefined ? "what" : `the ${maxEventBytes} bytes`
          } the worker can hold; raise its heap (--max-old-space-size) or lower ` +
          `--concurrency or --batch-bytes, then convo queue retry --dead`,
      });
    } else keep.push(e);
  }
  return { keep, dead };
}

/** Counts outcomes into a batch result. */
export function tally(outcomes: readonly Outcome[], inserted: number): BatchResult {
  const r: BatchResult = { done: 0, retried: 0, dead: 0, inserted };
  for (const o of outcomes) {
    if (o.status === "done") r.done++;
    else if (o.status === "dead") r.dead++;
    else r.retried++;
  }
  return r;
}

/** Logs the events that did not end done (addresses masked). */
export function logOutcomes(
  logger: Logger,
  outcomes: readonly Outcome[],
  events: readonly ClaimedEvent[],
): void {
  const types = new Map(events.map((e) => [e.id, e.eventType]));
  for (const o of outcomes) {
    if (o.status === "done") continue;
    const fields = {
      event_id: o.id,
      event_type: types.get(o.id),
      attempts: o.attempts,
      error: maskText(o.error),
    };
    if (o.status === "dead") logger.warn("event dead-lettered", fields);
    else logger.info("event will be retried", { ...fields, retry_in_ms: o.delayMs });
  }
}
