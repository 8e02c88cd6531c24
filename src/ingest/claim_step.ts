/**
 * The worker's claim step: a claim, and the dead-lettering of what was claimed but cannot
 * be processed, before any batch sees it.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/logger.ts";
import { claimEvents } from "../queue/claim.ts";
import { recordOutcomes } from "../queue/outcomes.ts";
import type { ClaimedEvent } from "../queue/types.ts";
import { deadLetterUnreadable, mayBeUnreadablePayload } from "../queue/unreadable.ts";
import { overClaimed } from "./outcome.ts";

/** Events the claim step dead-lettered; the worker's own statistics count only batches. */
export interface ClaimStepTally {
  /** Claimed, then dead-lettered: claimed too often, or too large to hold. */
  claimed: number;
  /** Dead-lettered: those, and the unreadable ones (never claimed). */
  dead: number;
}

/** Options of {@link claimToProcess}. */
export interface ClaimStepOptions {
  /** How long a claim holds its events. */
  visibilityMs: number;
  /** Whether a suspect may be taken (see `claimEvents`). */
  suspects: boolean;
  /** Claims after which an unfinished event is dead. */
  maxAttempts: number;
  /** Payload bytes per claim (see `memory.ts`); default no limit. */
  maxBytes?: number;
  /** Largest payload the worker takes (see `memory.ts`); default no limit. */
  maxEventBytes?: number;
  /** Where each dead-lettered event is logged. */
  logger: Logger;
  /** Added to as events are dead-lettered. */
  tally: ClaimStepTally;
}

/**
 * Claims up to `limit` events and returns those to process. On the way it dead-letters,
 * logs and tallies:
 * - events claimed more than `maxAttempts` times (a worker died on them each time);
 * - events whose payload is over `maxEventBytes`, claimed without it;
 * - when the claim itself fails because a payload cannot be rendered as text, the events
 *   at the head of the queue that cannot be read (then it claims again).
 *
 * Returns an empty batch only when nothing is claimable: one whose every event was
 * dead-lettered would read as a drained queue, so it claims again.
 *
 * @example Usage
 * ```ts ignore
 * const tally = { claimed: 0, dead: 0 };
 * const batch = await claimToProcess(sql, 500, {
 *   visibilityMs: 60_000, suspects: true, maxAttempts: 5, logger, tally,
 * });
 * ```
 */
export async function claimToProcess(
  sql: Sql,
  limit: number,
  options: ClaimStepOptions,
): Promise<ClaimedEvent[]> {
  const { logger: log, tally } = options;
  while (true) {
    let claimed: ClaimedEvent[];
    try {
      claimed = await claimEvents(sql, limit, options.visibilityMs, {
        suspects: options.suspects,
        maxBytes: options.maxBytes,
        maxEventBytes: options.maxEventBytes,
      });
    } catch (err) {
      // A payload the database cannot render fails every claim that reaches it.
      if (!mayBeUnreadablePayload(err)) throw err;
      const unreadable = await deadLetterUnreadable(sql, limit);
      if (unreadable.length === 0) throw err;
      tally.dead += unreadable.length;
      for (const e of unreadable) {
        log.warn("event dead-lettered", { event_id: e.id, error: e.error });
      }
      continue;
    }
    const { keep, dead } = overClaimed(claimed, options.maxAttempts, options.maxEventBytes);
    if (dead.length === 0) return keep;
    const recorded = await recordOutcomes(sql, dead);
    tally.claimed += recorded.length;
    tally.dead += recorded.filter((e) => e.status === "dead").length;
    for (const e of recorded) {
      log.warn("event dead-lettered", {
        event_id: e.id,
        attempts: e.attempts,
        error: e.status === "done" ? undefined : e.error,
      });
    }
    if (keep.length > 0) return keep;
  }
}
