/**
 * `convo queue list`: events matching a selector, newest first (by id), a
 * keyset page at a time.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { decodeOpaque, encodeOpaque } from "../opaque.ts";
import { type EventSelector, type EventStatus, selectorCondition } from "./select.ts";

/** An event as {@link listEvents} returns it (row type; one comment per column). */
export interface EventRow {
  /** inbound_events.id */
  id: bigint;
  /** inbound_events.event_type */
  event_type: string;
  /** inbound_events.status */
  status: EventStatus;
  /** inbound_events.attempts: claims so far */
  attempts: number;
  /** inbound_events.received_at: when it was enqueued */
  received_at: Date;
  /** inbound_events.available_at: when it is (was) claimable; for a dead event, its last claim */
  available_at: Date;
  /** inbound_events.processed_at: when it was done; null otherwise */
  processed_at: Date | null;
  /** inbound_events.last_error, not masked (see `maskText` in src/log/redact.ts) */
  last_error: string | null;
}

/** Options of {@link listEvents}. */
export interface ListEventsOptions {
  /** Which events. */
  selector?: EventSelector;
  /** Rows per page (1…{@link MAX_EVENT_LIMIT}). */
  limit: number;
  /** A cursor printed with the previous page ({@link encodeEventCursor}). */
  cursor?: string;
}

/** A page of events and where the next one starts. */
export interface EventPage {
  /** The rows, newest (highest id) first. */
  rows: EventRow[];
  /** The cursor of the next page; null when this page is the last. */
  nextCursor: string | null;
}

/** The most rows a page holds. */
export const MAX_EVENT_LIMIT = 1000;

const VERSION = 1;
const ID = /^\d{1,19}$/;
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The opaque cursor of the page after the event `id` (the last one shown).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeEventCursor, encodeEventCursor } from "./list.ts";
 * assert.equal(decodeEventCursor(encodeEventCursor(42n)), 42n);
 * assert.throws(() => decodeEventCursor("abc"), /Cannot parse cursor/);
 * ```
 */
export function encodeEventCursor(id: bigint): string {
  return encodeOpaque({ v: VERSION, k: "e", i: id.toString() });
}

/**
 * The last id shown, from a cursor made by {@link encodeEventCursor}.
 *
 * @throws {RangeError} when the text is not an event cursor (a query-overview cursor included).
 */
export function decodeEventCursor(text: string): bigint {
  const shown = text.length > 40 ? text.slice(0, 40) + "…" : text;
  const fail = (reason: string): never => {
    throw new RangeError(`Cannot parse cursor: current value is '${shown}' (${reason})`);
  };
  if (text.length > 200) fail("too long");
  const o = decodeOpaque(text) ?? fail("not a cursor");
  if (o.v !== VERSION || o.k !== "e" || Object.keys(o).length !== 3) {
    fail("not a cursor of convo queue list");
  }
  if (typeof o.i !== "string" || !ID.test(o.i) || BigInt(o.i) > INT64_MAX) fail("bad id");
  return BigInt(o.i as string);
}

/**
 * Lists events matching the selector, highest id first (newest first: ids
 * are drawn in insert order), `limit` at a time. A page starts strictly below
 * the cursor's id, so a walk shows every event that existed when it started
 * and still matches exactly once, however events change state meanwhile
 * (events enqueued during the walk get higher ids and are not shown).
 *
 * Cost: a backward scan of the primary key, filtered; a rare status among
 * many done events (`dead`) is served by `inbound_events_finished_idx`
 * and a sort of the matches instead, at the planner's choice.
 *
 * @throws {RangeError} when the cursor is not one of ours.
 * @example Usage
 * ```ts ignore
 * import { listEvents } from "./list.ts";
 * const page = await listEvents(sql, { selector: { status: "dead" }, limit: 50 });
 * // page.rows: [{ id: 17n, event_type: "twilio.message", status: "dead", … }], page.nextCursor
 * ```
 */
export async function listEvents(sql: Sql, options: ListEventsOptions): Promise<EventPage> {
  const { limit } = options;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_EVENT_LIMIT) {
    throw new RangeError(`Cannot list events: current limit is '${limit}'`);
  }
  const before = options.cursor === undefined ? undefined : decodeEventCursor(options.cursor);
  const rows = await sql<EventRow[]>`
    select id, event_type, status, attempts, received_at, available_at, processed_at, last_error
    from inbound_events
    where ${selectorCondition(sql, options.selector ?? {})}
      ${before === undefined ? sql`` : sql`and id < ${before}`}
    order by id desc
    limit ${limit + 1}`;
  const more = rows.length > limit;
  const page = rows.slice(0, limit).map((r) => ({ ...r }));
  return {
    rows: page,
    nextCursor: more ? encodeEventCursor(page[page.length - 1].id) : null,
  };
}
