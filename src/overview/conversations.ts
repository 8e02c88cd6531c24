/**
 * The conversation overview: a customer's (or every customer's)
 * conversations, most recently active first, a keyset page at a time.
 *
 * @module
 */
import type { Fragment } from "postgres";
import type { Sql } from "../db/connect.ts";
import { UsageError } from "../errors.ts";
import { resolveCustomer } from "../customers/resolve.ts";
import { type ConversationCursor, decodeCursor, encodeCursor } from "./cursor.ts";
import { checkLimit, type Page, resolveTimeBounds } from "./page.ts";
import { normalizeParticipant } from "./participant.ts";

/** A row of {@link listConversations}. */
export interface ConversationRow {
  /** The conversation's id. */
  conversation_id: bigint;
  /** The customer's id. */
  customer_id: bigint;
  /** The customer's name. */
  customer: string;
  /** `sms` (MMS threads with SMS) or `email`. */
  channel: "sms" | "email";
  /** Normalized addresses of everyone on it, ours included, sorted. */
  participants: string[];
  /** Contacts on it (`conversation_participants`). */
  participant_count: bigint;
  /** Messages in it (the counter ingest maintains). */
  message_count: bigint;
  /** Time of its latest message; null before the first. */
  last_message_at: Date | null;
  /** The start of its latest message's body. */
  snippet: string | null;
}

/** Options of {@link listConversations}. */
export interface ListConversationsOptions {
  /** Only this customer's conversations: an id (all digits) or a name. */
  customer?: string;
  /** Only this channel. */
  channel?: "sms" | "email";
  /** Only conversations with this participant, in any spelling. */
  participant?: string;
  /** Region for a national phone number in `participant`; default `US`. */
  region?: string;
  /** Only conversations last active at or after this time (ISO 8601 or a duration ago). */
  since?: string;
  /** Only conversations last active at or before this time (ISO 8601 or a duration ago). */
  until?: string;
  /** Rows per page, 1…1000; default 50 (`MAX_LIMIT`, `DEFAULT_LIMIT` of `page.ts`). */
  limit?: number;
  /** Where the page starts: the `nextCursor` of the previous page. */
  cursor?: string;
  /** The moment durations in `since`/`until` count back from; default now. */
  now?: Date;
}

type Raw = ConversationRow & { sort_at: string | null };

/**
 * One page of conversations, ordered by `last_message_at DESC NULLS LAST,
 * conversation_id DESC`, and the cursor of the next page (null on the last).
 *
 * Keyset paging (no OFFSET): a page starts strictly after the previous page's
 * last row in that order. While messages arrive between pages, a conversation
 * never shows twice and a walk always ends; a conversation whose new message
 * moves it ahead of the cursor is not seen again in that walk (it was either
 * shown already, or is missed). `until` = the time of the first page gives a
 * listing whose order cannot change (see the README).
 *
 * Reads `conversation_overview`; the view is a plain projection of
 * `conversations`, so the planner pushes the filters, order and limit down
 * to the indexes: `(last_message_at desc nulls last, id desc)` unfiltered,
 * `(customer_id, last_message_at desc nulls last, id desc)` for a customer,
 * the GIN index on `participants` (`@>`) for an outside participant (then
 * sorted); for one of our own endpoints, the time index with a filter.
 *
 * @throws {UsageError} for an unknown customer, a participant that cannot be
 * normalized, a bad time, limit or cursor.
 * @example Usage
 * ```ts ignore
 * import { listConversations } from "./conversations.ts";
 * const first = await listConversations(sql, { customer: "acme", limit: 20 });
 * const second = await listConversations(sql, { customer: "acme", limit: 20, cursor: first.nextCursor! });
 * ```
 */
export async function listConversations(
  sql: Sql,
  options: ListConversationsOptions = {},
): Promise<Page<ConversationRow>> {
  const limit = checkLimit(options.limit);
  const { since, until } = resolveTimeBounds(options);
  let cursor: ConversationCursor | undefined;
  if (options.cursor !== undefined) {
    try {
      cursor = decodeCursor(options.cursor, "conversations");
    } catch (err) {
      throw new UsageError(`invalid --cursor: ${(err as Error).message}`, {
        hint: "use the cursor a previous page printed, with the same command",
      });
    }
  }
  let participant: string | undefined;
  if (options.participant !== undefined) {
    try {
      participant = normalizeParticipant(options.participant, {
        channel: options.channel,
        region: options.region,
      });
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new UsageError(`invalid --participant: ${err.message}`, {
        hint: "give a phone number (national ones with --region) or an email address",
      });
    }
  }
  const customer = options.customer === undefined
    ? undefined
    : await resolveCustomer(sql, options.customer);

  const filters: Fragment[] = [];
  if (customer) filters.push(sql`o.customer_id = ${customer.id}`);
  if (options.channel) filters.push(sql`o.channel = ${options.channel}`);
  // `@>` (array contains) is what the GIN index on participants serves.
  if (participant !== undefined) filters.push(sql`o.participants @> array[${participant}]::text[]`);
  if (since !== undefined) filters.push(sql`o.last_message_at >= ${since}::timestamptz`);
  if (until !== undefined) filters.push(sql`o.last_message_at <= ${until}::timestamptz`);
  const where = (more: Fragment[]) =>
    [...filters, ...more].reduce((acc, f) => sql`${acc} and ${f}`, sql`true`);

  const n = limit + 1;
  // participant_count (a subquery per row in the view) is left out here and
  // read for the page's rows only, below: a branch that sorts (a participant
  // filter's bitmap scan) would otherwise count for every matching row.
  const columns = sql`
    o.conversation_id, o.customer_id, o.channel, o.participants,
    o.message_count, o.last_message_at, o.last_snippet as snippet,
    to_char(o.last_message_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sort_at`;
  const order = sql`order by o.last_message_at desc nulls last, o.conversation_id desc`;
  const page = participant === undefined || await isOurEndpoint(sql, participant)
    ? indexOrderedPage(sql, { columns, order, where, cursor, n, timeBound: !!(since || until) })
    : participantPage(sql, { columns, order, where, cursor, n });
  const rows = await sql<Raw[]>`
    select o.*, v.participant_count, cu.name as customer
    from (${page}) o
    join conversation_overview v on v.conversation_id = o.conversation_id
    join customers cu on cu.id = o.customer_id
    ${order}`;

  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  const nextCursor = rows.length > limit && last
    ? encodeCursor({ kind: "conversations", at: last.sort_at, id: last.conversation_id })
    : null;
  return { rows: shown.map(({ sort_at: _, ...r }) => r), nextCursor };
}

/**
 * Whether an address is one of our own endpoints. Ours are on every
 * conversation they carry (thousands), where an outside address is on a few:
 * for ours, walking the time index and filtering finds a page at once, where
 * gathering every match through the GIN index first would not (300k
 * conversations, an endpoint on 15k of them: 7 ms against 38 ms).
 */
async function isOurEndpoint(sql: Sql, address: string): Promise<boolean> {
  const rows = await sql`
    select 1 from endpoint_mappings
    where kind in ('sms', 'mms', 'email') and normalized = ${address} limit 1`;
  return rows.length > 0;
}

/** What the two page queries share. */
interface PageQuery {
  /** The columns a page row needs, from `conversation_overview o`. */
  columns: Fragment;
  /** The listing's order. */
  order: Fragment;
  /** The filters (and more conditions) as one condition. */
  where: (more: Fragment[]) => Fragment;
  /** Where the page starts. */
  cursor: ConversationCursor | undefined;
  /** Rows to read: the page and one more (is there a next page?). */
  n: number;
}

/**
 * The page read in index order, stopped by the limit: without a participant
 * filter the order is one of an index's, `(last_message_at desc nulls last,
 * id desc)` or the customer's `(customer_id, last_message_at desc nulls last,
 * id desc)`. Conversations with messages and those without (NULL time, last)
 * are two branches, each an index range, merged in order: one condition over
 * both would need an OR the index cannot bound the scan with.
 */
function indexOrderedPage(
  sql: Sql,
  q: PageQuery & { timeBound: boolean },
): Fragment {
  const { columns, order, where, cursor, n } = q;
  const branches: Fragment[] = [];
  // Active conversations after the cursor. `<= t and (< t or id < i)` rather
  // than a row comparison: the index bounds the scan by the time, ties are
  // filtered.
  if (cursor?.at !== null) {
    const after = cursor === undefined ? [] : [
      sql`o.last_message_at <= ${cursor.at}::timestamptz`,
      sql`(o.last_message_at < ${cursor.at}::timestamptz or o.conversation_id < ${cursor.id})`,
    ];
    branches.push(sql`(
      select ${columns} from conversation_overview o
      where ${where([sql`o.last_message_at is not null`, ...after])}
      ${order} limit ${n})`);
  }
  // Conversations without messages come last; a time bound excludes them.
  if (!q.timeBound) {
    const after = cursor?.at === null ? [sql`o.conversation_id < ${cursor.id}`] : [];
    branches.push(sql`(
      select ${columns} from conversation_overview o
      where ${where([sql`o.last_message_at is null`, ...after])}
      ${order} limit ${n})`);
  }
  const union = branches.reduce((acc, b) => sql`${acc} union all ${b}`);
  return sql`select * from (${union}) o ${order} limit ${n}`;
}

/**
 * The page of a participant filter: every conversation holding the address,
 * found through the GIN index on `participants` (`@>`), then sorted. Left to
 * itself the planner often walks the time index instead and filters: its
 * estimate for an address missing from the column statistics is far too
 * high, and on 300k conversations a participant in 3 of them took 366 ms that
 * way against 1 ms through the GIN index. The materialized CTE makes the GIN
 * lookup happen first; the cost is then the number of conversations the
 * address is in, which is why our own endpoints take the index-ordered
 * path instead (see {@link isOurEndpoint}).
 */
function participantPage(sql: Sql, q: PageQuery): Fragment {
  const { columns, order, where, cursor, n } = q;
  const after = cursor === undefined
    ? sql`true`
    : cursor.at === null
    ? sql`o.last_message_at is null and o.conversation_id < ${cursor.id}`
    : sql`(o.last_message_at <= ${cursor.at}::timestamptz
           and (o.last_message_at < ${cursor.at}::timestamptz or o.conversation_id < ${cursor.id})
           or o.last_message_at is null)`;
  return sql`
    with matching as materialized (
      select ${columns} from conversation_overview o where ${where([])}
    )
    select * from matching o where ${after} ${order} limit ${n}`;
}
