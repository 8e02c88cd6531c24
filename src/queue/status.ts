/**
 * `convo queue status`: how many events are in each state of the queue, how
 * old the oldest waiting one is, and the most recent dead ones.
 *
 * Terms (see migrations/0003_inbound_events.up.sql): an event is `pending`
 * (waiting; `scheduled` when its `available_at` is still in the future, i.e.
 * backing off after a failure), `processing` (claimed by a worker; `expired`
 * once its `locked_until` has passed, and claimable again), `done` or `dead`
 * (failed permanently or out of attempts; `last_error` says why).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { gaugeColumns } from "./gauges.ts";

/** A dead event, as {@link queueStatus} lists it. */
export interface DeadEvent {
  /** The event's id. */
  id: bigint;
  /** Its type (`twilio.message`, …). */
  event_type: string;
  /** Attempts made. */
  attempts: number;
  /** Why it died, as the worker recorded it; not masked (see `maskText` in src/log/redact.ts). */
  last_error: string | null;
}

/** What {@link queueStatus} returns. */
export interface QueueStatus {
  /** Pending events, scheduled ones included. */
  pending: number;
  /** Pending events whose `available_at` is in the future (backing off before a retry). */
  scheduled: number;
  /** Claimed events, expired ones included. */
  processing: number;
  /** Claimed events whose `locked_until` has passed: their worker died or stalled. */
  expired: number;
  /** Done events (until pruned). */
  done: number;
  /** Dead events. */
  dead: number;
  /** All events. */
  total: number;
  /**
   * Seconds since the oldest pending event claimable now (`available_at` ≤ now)
   * was received; `null` when there is none. A growing value means the
   * workers do not keep up (or none runs).
   */
  oldestPendingAgeSeconds: number | null;
  /**
   * The 5 most recently failed dead events, newest first. "Most recently" is
   * by `available_at`, which for a dead event is its last claim (claim time +
   * visibility timeout): the queue has no `dead_at` column.
   */
  deadRecent: DeadEvent[];
}

/** How many dead events {@link queueStatus} lists. */
export const DEAD_RECENT_LIMIT = 5;

/**
 * Counts the queue's events by state, in one snapshot.
 *
 * Cost: each count is its own subquery on one status, so pending and
 * processing are counted through `inbound_events_claim_idx` (open events only)
 * and dead through `inbound_events_finished_idx`, reading only those rows,
 * never the done ones (tests/queue/status_test.ts checks the plan). `done` is an
 * exact count as well, which costs what the done rows cost: measured on
 * PostgreSQL 15 with 2M done, 10k pending, 100 processing and 50 dead rows
 * (241 MB heap, vacuumed), the whole status took 145 ms, of which the done
 * count (a parallel seq scan, which the planner rightly prefers to the index
 * when nearly every row is done) 100–140 ms warm and 230 ms without parallel
 * workers; everything else under 5 ms. That is fast enough not to trade
 * exactness for a `reltuples` estimate; `convo queue prune` keeps the done
 * rows, and so this count, bounded.
 *
 * @example Usage
 * ```ts ignore
 * import { queueStatus } from "./status.ts";
 * const s = await queueStatus(sql);
 * // { pending: 12, scheduled: 2, processing: 4, expired: 0, done: 1200, dead: 1, total: 1217,
 * //   oldestPendingAgeSeconds: 3.2, deadRecent: [{ id: 17n, event_type: "twilio.message", … }] }
 * ```
 */
export async function queueStatus(sql: Sql): Promise<QueueStatus> {
  // One read-only snapshot, so the counts and the dead list agree.
  const [counts, deadRecent] = await sql.begin(
    "isolation level repeatable read read only",
    async (tx) => {
      const [row] = await tx<{
        pending: bigint;
        scheduled: bigint;
        processing: bigint;
        expired: bigint;
        done: bigint;
        dead: bigint;
        oldest: number | null;
      }[]>`
        select ${gaugeColumns(tx as unknown as Sql)},
          (select count(*) from inbound_events where status = 'done') as done`;
      const dead = await tx<DeadEvent[]>`
        select id, event_type, attempts, last_error from inbound_events
        where status = 'dead'
        order by available_at desc, id desc
        limit ${DEAD_RECENT_LIMIT}`;
      return [row, dead] as const;
    },
  );
  const n = (v: bigint) => Number(v);
  const status = {
    pending: n(counts.pending),
    scheduled: n(counts.scheduled),
    processing: n(counts.processing),
    expired: n(counts.expired),
    done: n(counts.done),
    dead: n(counts.dead),
  };
  return {
    ...status,
    total: status.pending + status.processing + status.done + status.dead,
    // A clock step can make received_at later than now(): no negative ages.
    oldestPendingAgeSeconds: counts.oldest === null ? null : Math.max(0, counts.oldest),
    deadRecent: deadRecent.map((d) => ({ ...d })),
  };
}
