/**
 * One conversation's messages, newest first, a keyset page at a time
 * (`convo query-overview --messages ID`).
 *
 * @module
 */
import type { Fragment } from "postgres";
import type { Sql } from "../db/connect.ts";
import { UsageError } from "../errors.ts";
import { decodeCursor, encodeCursor, type MessageCursor } from "./cursor.ts";
import { checkLimit, type Page, resolveTimeBounds } from "./page.ts";

/** A row of {@link listMessages}. */
export interface MessageRow {
  /** The message's id. */
  message_id: bigint;
  /** `inbound` (to us) or `outbound` (from us). */
  direction: "inbound" | "outbound";
  /** `sms`, `mms` or `email`. */
  channel: "sms" | "mms" | "email";
  /** When it was sent. */
  sent_at: Date;
  /** The sender's normalized address (`phone_numbers.e164` or `email_addresses.lowered`). */
  sender: string | null;
  /** The email subject; null for SMS/MMS. */
  subject: string | null;
  /** The body as received (`xms_bodies` or `email_bodies` by channel); null when empty. */
  body: string | null;
  /** Attachments on it. */
  attachments: bigint;
}

/** Options of {@link listMessages}. */
export interface ListMessagesOptions {
  /** Only messages sent at or after this time (ISO 8601 or a duration ago). */
  since?: string;
  /** Only messages sent at or before this time (ISO 8601 or a duration ago). */
  until?: string;
  /** Rows per page, 1…1000; default 50. */
  limit?: number;
  /** Where the page starts: the `nextCursor` of the previous page. */
  cursor?: string;
  /** The moment durations in `since`/`until` count back from; default now. */
  now?: Date;
}

type Raw = MessageRow & { sort_at: string };

const ID = /^\d{1,19}$/;

/**
 * One page of a conversation's messages, ordered by `sent_at DESC,
 * message_id DESC`, and the cursor of the next page (null on the last). The
 * cursor names the conversation: it pages this conversation only.
 *
 * Bodies, attachment counts and subjects come from the `conversation_messages`
 * view (which resolves `body_id` by channel); the sender's address, which the
 * view does not carry, from `messages.from_address_id` joined by primary key.
 * The page is read through `messages (conversation_id, sent_at desc)`.
 *
 * @throws {UsageError} for a conversation id that is not a number or does not
 * exist, a bad time, limit or cursor.
 * @example Usage
 * ```ts ignore
 * import { listMessages } from "./messages.ts";
 * const { rows, nextCursor } = await listMessages(sql, "42", { limit: 20 });
 * ```
 */
export async function listMessages(
  sql: Sql,
  conversation: string,
  options: ListMessagesOptions = {},
): Promise<Page<MessageRow>> {
  const limit = checkLimit(options.limit);
  const { since, until } = resolveTimeBounds(options);
  const text = conversation.trim();
  if (!ID.test(text) || BigInt(text) >= 2n ** 63n) {
    throw new UsageError(`invalid --messages: current value is '${conversation}'`, {
      hint: "give a conversation id, as the overview lists them",
    });
  }
  const conversationId = BigInt(text);
  let cursor: MessageCursor | undefined;
  if (options.cursor !== undefined) {
    try {
      cursor = decodeCursor(options.cursor, "messages");
    } catch (err) {
      throw new UsageError(`invalid --cursor: ${(err as Error).message}`, {
        hint: "use the cursor a previous page printed, with the same command",
      });
    }
    if (cursor.conversationId !== conversationId) {
      throw new UsageError(
        `invalid --cursor: it pages conversation ${cursor.conversationId}, not ${conversationId}`,
        { hint: "use the cursor a previous page printed, with the same command" },
      );
    }
  }
  const [found] = await sql`select 1 from conversations where id = ${conversationId}`;
  if (!found) {
    throw new UsageError(`no conversation with id ${conversationId}`, {
      hint: "convo query-overview lists conversations and their ids",
    });
  }

  const where: Fragment[] = [sql`cm.conversation_id = ${conversationId}`];
  if (since !== undefined) where.push(sql`cm.sent_at >= ${since}::timestamptz`);
  if (until !== undefined) where.push(sql`cm.sent_at <= ${until}::timestamptz`);
  if (cursor) {
    // `<= t` bounds the index scan; ties on the time are told apart by id.
    where.push(sql`cm.sent_at <= ${cursor.at}::timestamptz`);
    where.push(sql`(cm.sent_at < ${cursor.at}::timestamptz or cm.message_id < ${cursor.id})`);
  }
  const rows = await sql<Raw[]>`
    select cm.message_id, cm.direction, cm.channel, cm.sent_at,
           coalesce(pn.e164, ea.lowered) as sender, cm.subject, cm.body_text as body,
           cm.attachments_count as attachments,
           to_char(cm.sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sort_at
    from conversation_messages cm
    join messages m on m.id = cm.message_id
    left join phone_numbers pn on cm.channel <> 'email' and pn.id = m.from_address_id
    left join email_addresses ea on cm.channel = 'email' and ea.id = m.from_address_id
    where ${where.reduce((acc, f) => sql`${acc} and ${f}`)}
    order by cm.sent_at desc, cm.message_id desc
    limit ${limit + 1}`;

  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last
    ? encodeCursor({ kind: "messages", conversationId, at: last.sort_at, id: last.message_id })
    : null;
  return { rows: page.map(({ sort_at: _, ...r }) => r), nextCursor };
}
