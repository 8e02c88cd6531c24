/**
 * Claims a batch of events: one statement, `for update skip locked`.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import type { ClaimedEvent } from "./types.ts";

/** Options of {@link claimEvents}. */
export interface ClaimOptions {
  /**
   * Whether this claim may take a suspect (an event whose previous claim
   * expired) when one is at the head of the queue. Default true. A worker
   * holding a batch already claims with `false`, so that a suspect is never in
   * flight beside other events.
   */
  suspects?: boolean;
  /**
   * Payload bytes (of the JSON text) the claim may take: it stops adding
   * events once their running total reaches this; the first event is always
   * taken. Default: no limit.
   */
  maxBytes?: number;
  /**
   * Payload bytes (of the JSON text) above which an event is claimed without its payload,
   * marked {@link ClaimedEvent.oversize}: the worker could not hold it. Default: no limit.
   */
  maxEventBytes?: number;
}

/**
 * Claims up to `limit` events: the oldest claimable (pending and due, or
 * processing with an expired claim), skipping rows other workers hold.
 * Sets them `processing`, adds 1 to `attempts`, and moves `locked_until` and
 * `available_at` to now + visibility, so an abandoned claim becomes claimable
 * again through the same partial index.
 *
 * Suspects — events whose previous claim expired without an outcome, because
 * the worker holding them crashed or stalled — are claimed alone: a claim
 * takes events in queue order and stops before the first suspect; a suspect at
 * the head of the queue is claimed by itself (only when `suspects` allows;
 * else nothing is claimed). So a poison event that kills its worker takes its
 * batch-mates down once, after which each is tried alone and only the poison
 * uses up its attempts. (graphile-worker and River count such an attempt
 * against every job of the batch; with batches written in one transaction
 * that would dead-letter all of them.)
 */
export async function claimEvents(
  sql: Sql,
  limit: number,
  visibilityMs: number,
  options: ClaimOptions = {},
): Promise<ClaimedEvent[]> {
  const suspects = options.suspects ?? true;
  // bigint: a sum of octet lengths; the largest int8 means no limit.
  const maxBytes = String(options.maxBytes ?? "9223372036854775807");
  const maxEventBytes = String(options.maxEventBytes ?? "9223372036854775807");
  const rows = await sql<
    {
      id: bigint;
      event_type: string;
      payload: unknown;
      attempts: number;
      received_at: Date;
      expired: boolean;
      bytes: number | null;
    }[]
  >`
    with candidates as (
      select id, available_at, status = 'processing' as expired,
             octet_length(payload::text) as bytes
      from inbound_events
      where status in ('pending', 'processing') and available_at <= now()
      order by available_at, id
      limit ${limit}
      for update skip locked
    ), ranked as (
      select id, expired, bytes,
             row_number() over w as n,
             count(*) filter (where expired) over w as suspects_so_far,
             coalesce(sum(bytes) over w, 0) - bytes as bytes_before
      from candidates
      window w as (order by available_at, id rows between unbounded preceding and current row)
    ), next as (
      select id, expired, bytes from ranked
      where (suspects_so_far = 0 and (n = 1 or bytes_before < ${maxBytes}::bigint))
         or (${suspects}::boolean and n = 1)
    )
    update inbound_events e
    set status = 'processing',
        attempts = e.attempts + 1,
        locked_until = now() + ${visibilityMs} * interval '1 millisecond',
        available_at = now() + ${visibilityMs} * interval '1 millisecond'
    from next
    where e.id = next.id
    returning e.id, e.event_type,
      case when next.bytes > ${maxEventBytes}::bigint then null else e.payload end as payload,
      e.attempts, e.received_at, next.expired,
      case when next.bytes > ${maxEventBytes}::bigint then next.bytes end as bytes`;
  return rows.map((r): ClaimedEvent => ({
    id: r.id,
    eventType: r.event_type,
    payload: r.payload,
    attempts: r.attempts,
    receivedAt: r.received_at,
    ...(r.expired ? { expired: true } : {}),
    ...(r.bytes !== null ? { oversize: Number(r.bytes) } : {}),
  })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
