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
import { recordOutcomes } from "../queue/outcomes.ts";
import type { BatchResult, ClaimedEvent, Outcome } from "../queue/types.ts";
import type { WriteCache } from "./cache.ts";
import { errorText } from "../db/errors.ts";
import { classifyFailure, KeyConflictError } from "./errors.ts";
import { failureOutcome, logOutcomes, tally } from "./outcome.ts";
import { prepareBatch, type PrepareBatchOptions, type PreparedBatch } from "./prepare.ts";
import { writePlan } from "./write.ts";

/** What {@link processBatch} needs. */
export interface ProcessOptions extends PrepareBatchOptions {
  /** Where failures are logged (addresses masked). */
  logger: Logger;
  /** Rows this worker knows exist (optional; see `cache.ts`). */
  cache?: WriteCache;
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
 * failing batch is retried event by event. A value found under a key that holds
 * another value (a 64-bit collision) has its key resolved, and the batch is
 * prepared and written again, once.
 *
 * @throws only when even recording the outcomes fails (see {@link processBatch}).
 */
export async function writeBatch(
  sql: Sql,
  prepared: PreparedBatch,
  options: ProcessOptions,
  resolved = false,
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
      const [recorded, result] = await Promise.all([
        recordOutcomes(tx as unknown as Sql, all),
        writePlan(tx as unknown as Sql, plan, options.cache),
      ]);
      return { ...result, recorded };
    });
    options.cache?.learn(written.learned);
    const inserted = written.inserted.size;
    // Only what was recorded counts: an event whose claim expired and was taken
    // by another worker is that worker's to count (its message is written once
    // whoever writes it).
    logOutcomes(options.logger, written.recorded, events);
    return tally(written.recorded, inserted);
  } catch (err) {
    // Something under the cache may have changed (a row deleted): forget it.
    options.cache?.clear();
    if (err instanceof KeyConflictError && !resolved) {
      try {
        await options.keys.resolve(err.requests);
      } catch (resolveError) {
        return await giveBack(sql, events, outcomes, resolveError, options);
      }
      return await writeBatch(sql, await prepareBatch(events, options), options, true);
    }
    const kind = classifyFailure(err);
    if (kind === "connection" || writable.length <= 1) {
      if (writable.length === 1 && kind !== "connection") {
        outcomes.push(failureOutcome(events[writable[0]], err, options));
        const recorded = await recordOutcomes(sql, outcomes);
        logOutcomes(options.logger, recorded, events);
        return tally(recorded, 0);
      }
      return await giveBack(sql, events, outcomes, err, options);
    }
    options.logger.info("batch failed; retrying its events one by one", {
      events: writable.length,
      error: maskText(errorText(err)),
    });
    // The pre-write failures are recorded now; each writable event then goes
    // through on its own.
    const recorded = await recordOutcomes(sql, outcomes);
    logOutcomes(options.logger, recorded, events);
    const total = tally(recorded, 0);
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

/**
 * The database failed under the batch: every event not yet decided is retried
 * later. A lost connection is not the events' fault: they go back at once with
 * their attempt not counted, so an outage dead-letters nothing.
 */
async function giveBack(
  sql: Sql,
  events: readonly ClaimedEvent[],
  decided: Outcome[],
  err: unknown,
  options: ProcessOptions,
): Promise<BatchResult> {
  const seen = new Set(decided.map((o) => o.id));
  const all = [...decided];
  const connection = classifyFailure(err) === "connection";
  for (const e of events) {
    if (seen.has(e.id)) continue;
    if (connection) {
      const error = errorText(err);
      all.push({
        id: e.id,
        attempts: e.attempts,
        status: "retry",
        error,
        delayMs: 0,
        refund: true,
      });
      continue;
    }
    const o = failureOutcome(e, err, options);
    // A permanent error from the batch as a whole says nothing about one event.
    all.push(
      o.status === "dead" && classifyFailure(err) === "permanent"
        ? { id: e.id, attempts: e.attempts, status: "retry", error: o.error, delayMs: 0 }
        : o,
    );
  }
  const recorded = await recordOutcomes(sql, all);
  logOutcomes(options.logger, recorded, events);
  return tally(recorded, 0);
}
