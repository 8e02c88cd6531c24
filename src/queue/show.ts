/**
 * `convo queue show`: one event whole, and the messages (and conversations)
 * it produced.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { mayBeUnreadablePayload, unreadableReason } from "./unreadable.ts";
import { toCanonical } from "../events/to_canonical.ts";
import { isEventType } from "../events/types.ts";
import type { EventRow } from "./list.ts";

/** Every column of an event (row type). */
export interface FullEventRow extends EventRow {
  /** inbound_events.idempotency_key: repeated keys are duplicates */
  idempotency_key: string | null;
  /** inbound_events.locked_until: end of the current claim (processing only) */
  locked_until: Date | null;
  /** inbound_events.payload: the provider's payload as enqueued, not masked */
  payload: unknown;
}

/** A message an event produced (row type). */
export interface ProducedMessage {
  /** messages.id */
  message_id: bigint;
  /** customers.id */
  customer_id: bigint;
  /** customers.name */
  customer: string;
  /** providers.id */
  provider_id: bigint;
  /** providers.name */
  provider: string;
  /** messages.direction: inbound or outbound */
  direction: string;
  /** messages.channel: sms, mms or email */
  channel: string;
  /** messages.sent_at */
  sent_at: Date;
  /** messages.conversation_id; null for a legacy row awaiting backfill */
  conversation_id: bigint | null;
}

/** What {@link showEvent} finds. */
export interface EventDetail {
  /** The event's row. */
  event: FullEventRow;
  /**
   * The provider message id, read from the payload with ingest's own adapter
   * (`toCanonical`); null when the payload cannot be read (then `readError`).
   */
  providerMessageId: string | null;
  /** Why the payload could not be read (not masked); null when it could. */
  readError: string | null;
  /**
   * Messages with that provider message id, whichever provider: a message is
   * unique per provider, so the same id under two providers (of two
   * customers) lists both; the routed one has the event's direction and
   * channel family. Empty until the event is done, and for dead ones.
   */
  messages: ProducedMessage[];
}

/**
 * One event with every column, its provider message id and the messages
 * carrying that id; `undefined` when there is no event `id`.
 *
 * The lookup joins providers to messages on `(provider_id,
 * provider_message_id)`, the unique index ingest writes through, so it costs
 * one index probe per provider rather than a scan of the messages.
 *
 * @example Usage
 * ```ts ignore
 * import { showEvent } from "./show.ts";
 * const detail = await showEvent(sql, 17n);
 * // { event: { id: 17n, status: "done", payload: {…}, … }, providerMessageId: "SM…",
 * //   readError: null, messages: [{ message_id: 5n, conversation_id: 2n, … }] }
 * ```
 */
export async function showEvent(sql: Sql, id: bigint): Promise<EventDetail | undefined> {
  const read = async (withPayload: boolean) =>
    (await sql<FullEventRow[]>`
      select id, event_type, status, attempts, idempotency_key, received_at, available_at,
             locked_until, processed_at, last_error,
             ${withPayload ? sql`payload` : sql`null as payload`}
      from inbound_events where id = ${id}`)[0] as FullEventRow | undefined;
  let event: FullEventRow | undefined;
  let readError: string | null = null;
  try {
    event = await read(true);
  } catch (err) {
    // A payload too large to render (`unreadable.ts`): the event without it.
    if (!mayBeUnreadablePayload(err)) throw err;
    readError = unreadableReason(err);
    event = await read(false);
  }
  if (event === undefined) return undefined;
  let providerMessageId: string | null = null;
  // An unreadable payload (readError set above) has no message id to look for.
  if (readError === null) {
    if (!isEventType(event.event_type)) {
      readError = `unknown event_type '${event.event_type}'`;
    } else {
      try {
        providerMessageId = toCanonical(event.event_type, event.payload, {
          receivedAt: event.received_at,
        }).providerMessageId;
      } catch (err) {
        readError = (err as Error).message;
      }
    }
  }
  const messages = providerMessageId === null ? [] : await sql<ProducedMessage[]>`
    select m.id as message_id, c.id as customer_id, c.name as customer,
           p.id as provider_id, p.name as provider, m.direction, m.channel, m.sent_at,
           m.conversation_id
    from providers p
    join messages m on m.provider_id = p.id and m.provider_message_id = ${providerMessageId}
    join customers c on c.id = m.customer_id
    order by m.id`;
  return { event: { ...event }, providerMessageId, readError, messages: [...messages] };
}
