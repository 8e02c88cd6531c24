/**
 * The queue's gauges for alerting: how many events wait, back off, are held,
 * have expired claims or are dead, and how old the oldest claimable one is.
 * What `convo queue status --metrics-file` and a long-running worker's
 * metrics file publish (rendered by `renderQueueGauges` in metrics.ts).
 *
 * The same terms as `status.ts`; unlike it, no done count (which costs what
 * the done rows cost), so it is cheap enough for every metrics tick: pending
 * and processing are counted through `inbound_events_claim_idx` (open events
 * only), dead through `inbound_events_finished_idx`.
 *
 * @module
 */
import type { Fragment } from "postgres";
import type { Sql } from "../db/connect.ts";

/** The queue's state, as gauges. */
export interface QueueGauges {
  /** Pending events, scheduled ones included. */
  pending: number;
  /** Pending events whose `available_at` is in the future (backing off). */
  scheduled: number;
  /** Claimed events, expired ones included. */
  processing: number;
  /** Claimed events whose `locked_until` has passed (their worker died or stalled). */
  expired: number;
  /** Dead events. */
  dead: number;
  /** Seconds since the oldest pending event claimable now was received; null: none. */
  oldestPendingAgeSeconds: number | null;
}

/**
 * The gauges as the select list of one statement (`pending`, `scheduled`,
 * `processing`, `expired`, `dead`, `oldest` in seconds): shared with
 * `queueStatus`, which adds the done count to the same statement.
 */
export function gaugeColumns(sql: Sql): Fragment {
  return sql`
      (select count(*) from inbound_events where status = 'pending') as pending,
      (select count(*) from inbound_events
        where status = 'pending' and available_at > now()) as scheduled,
      (select count(*) from inbound_events where status = 'processing') as processing,
      (select count(*) from inbound_events
        where status = 'processing' and locked_until < now()) as expired,
      (select count(*) from inbound_events where status = 'dead') as dead,
      (select extract(epoch from now() - min(received_at))::float8 from inbound_events
        where status = 'pending' and available_at <= now()) as oldest`;
}

/**
 * Reads the queue's gauges in one statement (one snapshot).
 *
 * @example Usage
 * ```ts ignore
 * import { queueGauges } from "./gauges.ts";
 * const g = await queueGauges(sql);
 * // { pending: 12, scheduled: 2, processing: 4, expired: 0, dead: 1, oldestPendingAgeSeconds: 3.2 }
 * ```
 */
export async function queueGauges(sql: Sql): Promise<QueueGauges> {
  const [row] = await sql<{
    pending: bigint;
    scheduled: bigint;
    processing: bigint;
    expired: bigint;
    dead: bigint;
    oldest: number | null;
  }[]>`
    select ${gaugeColumns(sql)}`;
  return {
    pending: Number(row.pending),
    scheduled: Number(row.scheduled),
    processing: Number(row.processing),
    expired: Number(row.expired),
    dead: Number(row.dead),
    // A clock step can make received_at later than now(): no negative ages.
    oldestPendingAgeSeconds: row.oldest === null ? null : Math.max(0, row.oldest),
  };
}
