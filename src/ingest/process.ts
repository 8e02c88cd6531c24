/**
 * Processes a claimed batch: prepare every event (pure), route it, write the
 * batch set-based in one transaction together with the events' outcomes, so an
 * event is `done` exactly when its message is written.
 *
 * When the batch transaction fails, the batch is retried event by event so one
 * bad event cannot block the others. Permanent failures are dead at once;
 * transient ones go back to pending with a backoff, and die after the last
 * attempt. A database out of reach sends the whole batch back without trying
 * each event.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/logger.ts";
import { maskText } from "../log/redact.ts";
import { backoffDelay, type BackoffOptions } from "../queue/backoff.ts";
import { recordOutcomes } from "../queue/claim.ts";
import type { BatchResult, ClaimedEvent, Outcome } from "../queue/types.ts";
import { classifyFailure, errorText } from "./errors.ts";
import { type BatchPlan, planBatch } from "./plan.ts";
import { type PreparedMessage, prepareEvent } from "./prepare.ts";
import type { Router } from "./route.ts";
import type { WriteCache } from "./cache.ts";
import { writePlan } from "./write.ts";

/** What {@link processBatch} needs. */
export interface ProcessOptions {
  /** Region for national phone numbers. */
  region: string;
  /** Grapheme clusters in a snippet. */
  snippetLength: number;
  /** Attempts after which a transient failure is dead. */
  maxAttempts: number;
  /** Retry delays. */
  backoff?: BackoffOptions;
  /** Endpoint routing. */
  router: Router;
  /** Where failures are logged (addresses masked). */
  logger: Logger;
  /** Rows this worker knows exist (optional; see `cache.ts`). */
  cache?: WriteCache;
}

function tally(outcomes: readonly Outcome[], inserted: number): BatchResult {
  const r: BatchResult = { done: 0, retried: 0, dead: 0, inserted };
  for (const o of outcomes) {
    if (o.status === "done") r.done++;
    else if (o.status === "dead") r.dead++;
    else r.retried++;
  }
  return r;
}

function failure(event: ClaimedEvent, err: unknown, options: ProcessOptions): Outcome {
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

function logOutcomes(
  logger: Logger,
  outcomes: readonly Outcome[],
  events: readonly ClaimedEvent[],
) {
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

/**
 * A batch made ready to write: every event parsed, normalized and routed. Pure
 * work plus the routing lookup, so it can run while the previous batch's
 * transaction is in the database.
 */
export interface PreparedBatch {
  /** The claimed events. */
  readonly events: readonly ClaimedEvent[];
  /** Outcomes decided without writing (permanent failures). */
  readonly outcomes: Outcome[];
  /** The rows to write. */
  readonly plan: BatchPlan;
  /** Batch indexes of the events the plan writes (messages and in-batch replays). */
  readonly writable: number[];
  /** Set when routing could not be looked up: the batch goes back to the queue. */
  readonly routingError?: unknown;
}

/** Parses, normalizes and routes a claimed batch (no writes). */
export async function prepareBatch(
  events: readonly ClaimedEvent[],
  options: ProcessOptions,
): Promise<PreparedBatch> {
  const outcomes: Outcome[] = [];
  const ready: { index: number; prepared: PreparedMessage }[] = [];
  events.forEach((event, index) => {
    try {
      ready.push({ index, prepared: prepareEvent(event, options) });
    } catch (err) {
      outcomes.push(failure(event, err, options));
    }
  });
  const addresses = new Map<bigint, string>();
  for (const { prepared } of ready) {
    for (const a of prepared.participants) addresses.set(a.key, a.value);
  }
  try {
    await options.router.load(addresses);
  } catch (routingError) {
    return { events, outcomes, plan: planBatch([], () => []).plan, writable: [], routingError };
  }
  const { plan, failures } = planBatch(
    ready,
    (a) => options.router.routes(a.key, a.value),
  );
  for (const f of failures) outcomes.push(failure(events[f.index], f.error, options));
  const writable = [...plan.messages.map((m) => m.index), ...plan.replays];
  return { events, outcomes, plan, writable };
}

/**
 * Processes one claimed batch and records every event's outcome.
 *
 * @returns what became of the events.
 * @throws only when even recording the outcomes fails (the database is gone):
 * the claims then expire and the events are claimed again later.
 */
export async function processBatch(
  sql: Sql,
  events: readonly ClaimedEvent[],
  options: ProcessOptions,
): Promise<BatchResult> {
  return await writeBatch(sql, await prepareBatch(events, options), options);
}

/**
 * Writes a prepared batch in one transaction with its events' outcomes; a
 * failing batch is retried event by event.
 *
 * @throws only when even recording the outcomes fails (see {@link processBatch}).
 */
export async function writeBatch(
  sql: Sql,
  prepared: PreparedBatch,
  options: ProcessOptions,
): Promise<BatchResult> {
  const { events, outcomes, plan, writable } = prepared;
  if (prepared.routingError !== undefined) {
    return await giveBack(sql, events, outcomes, prepared.routingError, options);
  }
  try {
    const written = await sql.begin(async (tx) => {
      const all = [
        ...outcomes,
        ...writable.map((i): Outcome => ({
          id: events[i].id,
          attempts: events[i].attempts,
          status: "done",
        })),
      ];
      // Sent first and pipelined with the writes: the events are this
      // worker's own rows, so marking them takes no contended lock.
      const [, result] = await Promise.all([
        recordOutcomes(tx as unknown as Sql, all),
        writePlan(tx as unknown as Sql, plan, options.cache),
      ]);
      return result;
    });
    options.cache?.learn(written.learned);
    const inserted = written.inserted.size;
    const done = writable.map((i): Outcome => ({
      id: events[i].id,
      attempts: events[i].attempts,
      status: "done",
    }));
    logOutcomes(options.logger, outcomes, events);
    return tally([...outcomes, ...done], inserted);
  } catch (err) {
    // Something under the cache may have changed (a row deleted): forget it.
    options.cache?.clear();
    const kind = classifyFailure(err);
    if (kind === "connection" || writable.length <= 1) {
      if (writable.length === 1 && kind !== "connection") {
        outcomes.push(failure(events[writable[0]], err, options));
        await recordOutcomes(sql, outcomes);
        logOutcomes(options.logger, outcomes, events);
        return tally(outcomes, 0);
      }
      return await giveBack(sql, events, outcomes, err, options);
    }
    options.logger.info("batch failed; retrying its events one by one", {
      events: writable.length,
      error: maskText(errorText(err)),
    });
    // The pre-write failures are recorded now; each writable event then goes
    // through on its own.
    await recordOutcomes(sql, outcomes);
    logOutcomes(options.logger, outcomes, events);
    const total = tally(outcomes, 0);
    for (const i of writable) {
      const r = await processBatch(sql, [events[i]], options);
      total.done += r.done;
      total.retried += r.retried;
      total.dead += r.dead;
      total.inserted += r.inserted;
    }
    return total;
  }
}

/** The database failed under the batch: every event not yet decided is retried later. */
async function giveBack(
  sql: Sql,
  events: readonly ClaimedEvent[],
  decided: Outcome[],
  err: unknown,
  options: ProcessOptions,
): Promise<BatchResult> {
  const seen = new Set(decided.map((o) => o.id));
  const all = [...decided];
  for (const e of events) {
    if (seen.has(e.id)) continue;
    const o = failure(e, err, options);
    // A permanent error from the batch as a whole says nothing about one event.
    all.push(
      o.status === "dead" && classifyFailure(err) === "permanent"
        ? { id: e.id, attempts: e.attempts, status: "retry", error: o.error, delayMs: 0 }
        : o,
    );
  }
  await recordOutcomes(sql, all);
  logOutcomes(options.logger, all, events);
  return tally(all, 0);
}
