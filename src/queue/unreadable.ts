/**
 * Events whose payload the database cannot hand out. PostgreSQL stores a JSON number as
 * `numeric` and renders it written out in full: `1e131071` is 22 bytes stored and 131,072
 * digits as text, so an 81 KB payload of such numbers is over a gigabyte read back. Every
 * claim that reached it failed ("out of memory", SQLSTATE 54000), before any attempt was
 * counted, so it was never dead-lettered and the queue stopped behind it.
 *
 * `convo enqueue` and `convo_enqueue()` refuse such payloads now; this is for those stored
 * before, or by a direct insert: when a claim fails so, the worker finds the events at the
 * head of the queue that cannot be read and dead-letters them, with the reason, and claims
 * again.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { errorText } from "../db/errors.ts";

/** program_limit_exceeded, statement_too_complex, out_of_memory. */
const UNREADABLE_CODES = new Set(["54000", "54001", "53200"]);

/** The reason a payload cannot be read, from the error reading it. */
export function unreadableReason(err: unknown): string {
  return `payload cannot be read as text (${errorText(err)}): the database writes its ` +
    `numbers out in full (1e131071 is 131,072 digits)`;
}

/**
 * Whether a failed claim may have met a payload too large to render as text.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { mayBeUnreadablePayload } from "./unreadable.ts";
 * assert.equal(mayBeUnreadablePayload(Object.assign(new Error("out of memory"), { code: "54000" })), true);
 * assert.equal(mayBeUnreadablePayload(Object.assign(new Error("gone"), { code: "57P01" })), false);
 * ```
 */
export function mayBeUnreadablePayload(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && UNREADABLE_CODES.has(code);
}

/** An event dead-lettered by {@link deadLetterUnreadable}. */
export interface UnreadableEvent {
  /** inbound_events.id */
  id: bigint;
  /** The error reading its payload (SQLSTATE included). */
  error: string;
}

/**
 * Reads the payload of each of the first `limit` claimable events, one statement each (a
 * failure is that statement's alone), and dead-letters those that cannot be read. Meant
 * for after a claim failed with {@link mayBeUnreadablePayload}: it costs a round trip per
 * event.
 *
 * @returns the events dead-lettered; empty when every payload could be read (the claim
 * failed for another reason).
 * @example Usage
 * ```ts ignore
 * try {
 *   return await claimEvents(sql, 500, visibilityMs);
 * } catch (err) {
 *   if (!mayBeUnreadablePayload(err) || (await deadLetterUnreadable(sql, 500)).length === 0) throw err;
 * }
 * ```
 */
export async function deadLetterUnreadable(sql: Sql, limit: number): Promise<UnreadableEvent[]> {
  const candidates = await sql<{ id: bigint }[]>`
    select id from inbound_events
    where status in ('pending', 'processing') and available_at <= now()
    order by available_at, id
    limit ${limit}`;
  const dead: UnreadableEvent[] = [];
  for (const { id } of candidates) {
    try {
      await sql`select octet_length(payload::text) from inbound_events where id = ${id}`;
      continue;
    } catch (err) {
      if (!mayBeUnreadablePayload(err)) throw err;
      const error = unreadableReason(err);
      const rows = await sql<{ id: bigint }[]>`
        update inbound_events
        set status = 'dead', processed_at = now(), locked_until = null, last_error = ${error}
        where id = ${id} and status in ('pending', 'processing')
        returning id`;
      if (rows.length > 0) dead.push({ id, error });
    }
  }
  return dead;
}
