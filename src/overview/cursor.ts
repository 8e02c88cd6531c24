/**
 * Keyset cursors of `convo query-overview`: where the next page starts.
 *
 * A cursor is opaque to users: base64url (no padding) of a small JSON object
 * holding the sort key of the last row shown. It is bound to its listing:
 *
 * - `conversations`: sorted by `last_message_at DESC NULLS LAST, id DESC`; the
 *   time is `null` for a conversation without messages (they sort last);
 * - `messages`: one conversation's messages, sorted by `sent_at DESC, id DESC`;
 *   the cursor names the conversation, so it cannot page another one.
 *
 * Times are kept to the microsecond as PostgreSQL stores them (an ISO 8601
 * text with six fractional digits, read back with `::timestamptz`): a cursor
 * cut to milliseconds would skip rows whose time lies inside the cut
 * millisecond. Ids are decimal strings (bigint).
 *
 * @module
 */
import { decodeOpaque, encodeOpaque } from "../opaque.ts";

/** The sort key of a conversation row (the last one of a page). */
export interface ConversationCursor {
  /** The listing this cursor pages. */
  kind: "conversations";
  /** `last_message_at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or null (no messages yet). */
  at: string | null;
  /** The conversation's id. */
  id: bigint;
}

/** The sort key of a message row (the last one of a page). */
export interface MessageCursor {
  /** The listing this cursor pages. */
  kind: "messages";
  /** The conversation whose messages are paged. */
  conversationId: bigint;
  /** `sent_at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
  at: string;
  /** The message's id. */
  id: bigint;
}

/** Either cursor. */
export type Cursor = ConversationCursor | MessageCursor;

/** Version of the encoded form; a cursor of another version is refused. */
const VERSION = 1;
const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID = /^-?\d{1,19}$/;
/** Cursors are small; anything longer is not one of ours. */
const MAX_LENGTH = 200;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkAt(at: string): void {
  if (!AT.test(at) || Number.isNaN(Date.parse(at))) {
    throw new RangeError(`Cannot encode cursor: current time is '${at}'`);
  }
}

function checkId(id: bigint): void {
  if (id < INT64_MIN || id > INT64_MAX) {
    throw new RangeError(`Cannot encode cursor: current id is '${id}'`);
  }
}

/**
 * Encodes a cursor as an opaque base64url text.
 *
 * @throws {RangeError} when the time is not `YYYY-MM-DDTHH:MM:SS.ffffffZ` or an id is out of range.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCursor, encodeCursor } from "./cursor.ts";
 * const text = encodeCursor({ kind: "conversations", at: "2024-05-01T16:00:03.000000Z", id: 42n });
 * assert.match(text, /^[A-Za-z0-9_-]+$/);
 * assert.deepEqual(decodeCursor(text, "conversations"), {
 *   kind: "conversations",
 *   at: "2024-05-01T16:00:03.000000Z",
 *   id: 42n,
 * });
 * ```
 */
export function encodeCursor(cursor: Cursor): string {
  checkId(cursor.id);
  if (cursor.kind === "conversations") {
    if (cursor.at !== null) checkAt(cursor.at);
    return encodeOpaque({ v: VERSION, k: "c", t: cursor.at, i: cursor.id.toString() });
  }
  checkAt(cursor.at);
  checkId(cursor.conversationId);
  return encodeOpaque({
    v: VERSION,
    k: "m",
    c: cursor.conversationId.toString(),
    t: cursor.at,
    i: cursor.id.toString(),
  });
}

function parseId(value: unknown): bigint | undefined {
  if (typeof value !== "string" || !ID.test(value)) return undefined;
  const id = BigInt(value);
  return id < INT64_MIN || id > INT64_MAX ? undefined : id;
}

function parseAt(value: unknown): string | undefined {
  return typeof value === "string" && AT.test(value) && !Number.isNaN(Date.parse(value))
    ? value
    : undefined;
}

function shown(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + "…" : text;
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the listing `kind`.
 *
 * @throws {RangeError} when the text is not a cursor, or is a cursor of the other listing.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCursor, encodeCursor } from "./cursor.ts";
 * const text = encodeCursor({
 *   kind: "messages", conversationId: 7n, at: "2024-05-01T16:00:03.123456Z", id: 9n,
 * });
 * assert.equal(decodeCursor(text, "messages").id, 9n);
 * assert.throws(() => decodeCursor(text, "conversations"), /a cursor of --messages/);
 * assert.throws(() => decodeCursor("nope!", "conversations"), /Cannot parse cursor/);
 * ```
 */
export function decodeCursor<K extends Cursor["kind"]>(
  text: string,
  kind: K,
): Extract<Cursor, { kind: K }> {
  const fail = (reason: string): never => {
    throw new RangeError(`Cannot parse cursor: current value is '${shown(text)}' (${reason})`);
  };
  if (text.length > MAX_LENGTH) fail("too long");
  const o = decodeOpaque(text) ?? fail("not a cursor");
  if (o.v !== VERSION) fail("not a cursor of this version");
  const id = parseId(o.i) ?? fail("bad id");
  if (o.k === "c") {
    if (kind !== "conversations") fail("a cursor of the conversation list, not of --messages");
    const at = o.t === null ? null : parseAt(o.t) ?? fail("bad time");
    if (Object.keys(o).length !== 4) fail("not a cursor");
    return { kind: "conversations", at, id } as Extract<Cursor, { kind: K }>;
  }
  if (o.k === "m") {
    if (kind !== "messages") fail("a cursor of --messages, not of the conversation list");
    const conversationId = parseId(o.c) ?? fail("bad conversation id");
    const at = parseAt(o.t) ?? fail("bad time");
    if (Object.keys(o).length !== 5) fail("not a cursor");
    return { kind: "messages", conversationId, at, id } as Extract<Cursor, { kind: K }>;
  }
  return fail("not a cursor");
}
