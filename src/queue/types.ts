/**
 * Shared types of the queue.
 *
 * Terminology:
 * - **event**: one row of `inbound_events`, a provider webhook payload waiting to
 *   become a message.
 * - **claim**: a worker takes events (`pending`, or `processing` with an expired
 *   lock) with `FOR UPDATE SKIP LOCKED`, sets them `processing`, adds 1 to
 *   `attempts` and sets `locked_until`. The `(id, attempts)` pair identifies the
 *   claim: a worker only completes events whose attempts still match, so a claim
 *   that expired and was taken by another worker is not clobbered.
 * - **batch**: the events of one claim, written in one transaction.
 * - **attempt**: one claim of an event; `attempts` counts them.
 * - **done**: written (or found already written: a replay) — `processed_at` set.
 * - **retry**: a transient failure; back to `pending` with `available_at` moved
 *   by an exponential backoff with jitter.
 * - **suspect**: an event whose previous claim expired without an outcome; it
 *   may be a poison (an event that crashes or stalls the worker), so it is
 *   claimed and processed alone, and only it dies of its expired claims.
 * - **dead**: a permanent failure (invalid payload, unmapped endpoint, key
 *   collision) or out of attempts; kept with `last_error` until `queue retry`.
 *
 * @module
 */

/** A claimed event (row type of the claim query). */
export interface ClaimedEvent {
  /** inbound_events.id */
  readonly id: bigint;
  /** inbound_events.event_type */
  readonly eventType: string;
  /** inbound_events.payload (parsed JSON) */
  readonly payload: unknown;
  /** inbound_events.attempts after this claim's increment: the claim token */
  readonly attempts: number;
  /** inbound_events.received_at: when the event was enqueued */
  readonly receivedAt: Date;
  /**
   * A suspect: its previous claim expired without an outcome (the worker
   * holding it died or stalled), so it may be what killed that worker. A
   * suspect is claimed alone. Absent: false.
   */
  readonly expired?: boolean;
  /**
   * The payload's size as JSON text, when it is over the claim's `maxEventBytes`: the
   * payload was left in the database (`payload` is null). Absent: within the limit.
   */
  readonly oversize?: number;
}

/** What became of one event. */
export type Outcome =
  | { readonly id: bigint; readonly attempts: number; readonly status: "done" }
  | {
    readonly id: bigint;
    readonly attempts: number;
    readonly status: "dead";
    readonly error: string;
  }
  | {
    readonly id: bigint;
    readonly attempts: number;
    readonly status: "retry";
    readonly error: string;
    /** Delay before the event is claimable again. */
    readonly delayMs: number;
    /**
     * The attempt is not counted (`attempts - 1`): the database, not the
     * event, failed (a lost connection), so an outage uses up no attempts.
     */
    readonly refund?: boolean;
  };

/** Counts of what happened to a batch's events. */
export interface BatchResult {
  /** Events done (messages written, or replays found already written). */
  done: number;
  /** Events back to pending with a backoff. */
  retried: number;
  /** Events dead-lettered. */
  dead: number;
  /** Messages actually inserted (replays and duplicates excluded). */
  inserted: number;
}
