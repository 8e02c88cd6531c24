/**
 * `convo query-overview`: conversations by recent activity, or one
 * conversation's messages (`--messages ID`), a keyset page at a time.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { withDatabase } from "../db/connect.ts";
import { UsageError } from "../errors.ts";
import { snippet } from "../normalize/snippet.ts";
import { type ConversationRow, listConversations } from "../overview/conversations.ts";
import { listMessages, type MessageRow } from "../overview/messages.ts";
import { MAX_LIMIT, type Page } from "../overview/page.ts";
import { type Column, formatRows, OUTPUT_FORMATS, type OutputFormat } from "./_format.ts";
import { parseIntOption } from "./_options.ts";
import { nextPageLine, type PageFlags } from "./_page.ts";
import type { Context } from "./context.ts";

/** Grapheme clusters of a snippet or body in a table cell. */
const TABLE_TEXT = 48;
/** Grapheme clusters of the participant list in a table cell. */
const TABLE_PARTICIPANTS = 60;

/** The conversation columns of the machine formats (json, ndjson, csv). */
const CONVERSATION_COLUMNS: readonly Column<ConversationRow>[] = [
  { key: "conversation_id" },
  { key: "customer_id" },
  { key: "customer" },
  { key: "channel" },
  { key: "participants" },
  { key: "participant_count" },
  { key: "message_count" },
  { key: "last_message_at" },
  { key: "snippet" },
];

/** A conversation as a table shows it. */
type ConversationCells = Record<
  "id" | "customer" | "channel" | "participants" | "count" | "messages" | "last" | "snippet",
  string | bigint | null
>;

const CONVERSATION_TABLE: readonly Column<ConversationCells>[] = [
  { key: "id", align: "right" },
  { key: "customer" },
  { key: "channel" },
  { key: "participants" },
  { key: "count", header: "CONTACTS", align: "right" },
  { key: "messages", align: "right" },
  { key: "last", header: "LAST MESSAGE" },
  { key: "snippet" },
];

/** The message columns of the machine formats (json, ndjson, csv). */
const MESSAGE_COLUMNS: readonly Column<MessageRow>[] = [
  { key: "message_id" },
  { key: "direction" },
  { key: "channel" },
  { key: "sent_at" },
  { key: "sender" },
  { key: "subject" },
  { key: "body" },
  { key: "attachments" },
];

/** A message as a table shows it. */
type MessageCells = Record<
  "id" | "direction" | "channel" | "sent" | "sender" | "subject" | "body" | "attachments",
  string | bigint | null
>;

const MESSAGE_TABLE: readonly Column<MessageCells>[] = [
  { key: "id", align: "right" },
  { key: "direction", header: "DIR" },
  { key: "channel" },
  { key: "sent", header: "SENT AT" },
  { key: "sender" },
  { key: "subject" },
  { key: "body" },
  { key: "attachments", header: "ATT", align: "right" },
];

/** `2024-05-01 16:00:03` (UTC, as every connection's TimeZone), for tables. */
function tableTime(d: Date | null): string | null {
  return d === null ? null : d.toISOString().slice(0, 19).replace("T", " ");
}

function cut(text: string | null, length: number): string | null {
  return text === null ? null : snippet(text, { length });
}

function conversationCells(r: ConversationRow): ConversationCells {
  return {
    id: r.conversation_id,
    customer: r.customer,
    channel: r.channel,
    participants: cut(r.participants.join(" "), TABLE_PARTICIPANTS),
    count: r.participant_count,
    messages: r.message_count,
    last: tableTime(r.last_message_at),
    snippet: cut(r.snippet, TABLE_TEXT),
  };
}

function messageCells(r: MessageRow): MessageCells {
  return {
    id: r.message_id,
    direction: r.direction === "inbound" ? "in" : "out",
    channel: r.channel,
    sent: tableTime(r.sent_at),
    sender: r.sender,
    subject: cut(r.subject, TABLE_TEXT / 2),
    body: cut(r.body, TABLE_TEXT),
    attachments: r.attachments,
  };
}

/**
 * Prints a page: a table or rows on stdout, the next page's command line on
 * stderr; JSON as one object `{"<name>": [...], "next_cursor": ...}`.
 */
function printPage<R extends object, C extends object>(
  ctx: Context,
  page: Page<R>,
  how: {
    name: "conversations" | "messages";
    format: OutputFormat;
    columns: readonly Column<R>[];
    table: readonly Column<C>[];
    cells: (r: R) => C;
    flags: PageFlags;
    hasCursor: boolean;
  },
): void {
  const { format, name } = how;
  if (format === "json") {
    const rows = formatRows(page.rows, how.columns, "json").trimEnd();
    ctx.io.stdout(`{"${name}":${rows},"next_cursor":${JSON.stringify(page.nextCursor)}}\n`);
    return;
  }
  if (format === "table") {
    if (page.rows.length === 0) {
      ctx.io.stdout(how.hasCursor ? `no more ${name}\n` : `no ${name}\n`);
    } else {
      ctx.io.stdout(formatRows(page.rows.map(how.cells), how.table, "table"));
    }
  } else {
    ctx.io.stdout(formatRows(page.rows, how.columns, format));
  }
  if (page.nextCursor !== null) {
    ctx.io.stderr(nextPageLine("convo query-overview", how.flags, page.nextCursor));
  }
}

/**
 * Builds `convo query-overview`.
 *
 * @example Usage
 * ```ts ignore
 * import { run } from "./program.ts";
 * await run(["query-overview", "--customer", "acme", "--limit", "20"], io);
 * ```
 */
export function queryOverviewCommand(ctx: Context): Command {
  return new Command("query-overview")
    .summary("List conversations by recent activity, or one conversation's messages")
    .description(
      "List conversations, most recently active first (last message time, then id, both " +
        "descending; conversations without messages last), with their participants, counts " +
        "and the latest snippet; or, with --messages, one conversation's messages, newest " +
        "first. A page ends with the command for the next one (on stderr; in JSON the " +
        "next_cursor field). Paging never shows a conversation twice, but one that becomes " +
        "active after the first page moves ahead of the cursor and is not shown by later " +
        "pages: pass --until with the time of the first page for a listing that cannot " +
        "move, then --since that time for what arrived meanwhile.",
    )
    .option("--customer <id|name>", "only this customer's conversations (all digits: an id)")
    .addOption(new Option("--channel <channel>", "only this channel").choices(["sms", "email"]))
    .option(
      "--participant <address>",
      "only conversations with this phone number or email address, in any spelling",
    )
    .option(
      "--region <region>",
      "region for a national --participant number (default: CONVO_DEFAULT_REGION or US)",
    )
    .option("--since <time>", "last activity at or after: ISO 8601 time, or 30m, 12h, 7d ago")
    .option("--until <time>", "last activity at or before: ISO 8601 time, or 30m, 12h, 7d ago")
    .option("--limit <n>", `rows per page, 1…${MAX_LIMIT}`, "50")
    .option("--cursor <cursor>", "continue after the page that printed this cursor")
    .option("--messages <conversation-id>", "list this conversation's messages instead")
    .addOption(
      new Option("--format <format>", "output format").choices(OUTPUT_FORMATS).default(
        "table" as const,
      ),
    )
    .action(async (opts) => {
      const limit = parseIntOption("--limit", opts.limit, { min: 1, max: MAX_LIMIT });
      const format = opts.format;
      if (opts.messages !== undefined) {
        const extra = (["customer", "channel", "participant"] as const).find((k) =>
          opts[k] !== undefined
        );
        if (extra) {
          throw new UsageError(`--${extra} does not apply to --messages`, {
            hint: "--messages lists one conversation; filter it with --since and --until",
          });
        }
      }
      const flags: PageFlags = {
        "--messages": opts.messages,
        "--customer": opts.customer,
        "--channel": opts.channel,
        "--participant": opts.participant,
        "--region": opts.region,
        "--since": opts.since,
        "--until": opts.until,
        "--limit": opts.limit === "50" ? undefined : opts.limit,
        "--format": format === "table" ? undefined : format,
      };
      const common = { since: opts.since, until: opts.until, limit, cursor: opts.cursor };
      await withDatabase(
        ctx.config(),
        ctx.logger(),
        { command: "query-overview", max: 1 },
        async (db) => {
          if (opts.messages !== undefined) {
            const page = await listMessages(db.sql, opts.messages, common);
            printPage(ctx, page, {
              name: "messages",
              format,
              columns: MESSAGE_COLUMNS,
              table: MESSAGE_TABLE,
              cells: messageCells,
              flags,
              hasCursor: opts.cursor !== undefined,
            });
            return;
          }
          const page = await listConversations(db.sql, {
            ...common,
            customer: opts.customer,
            channel: opts.channel as "sms" | "email" | undefined,
            participant: opts.participant,
            region: (opts.region ?? ctx.config().defaultRegion).toUpperCase(),
          });
          printPage(ctx, page, {
            name: "conversations",
            format,
            columns: CONVERSATION_COLUMNS,
            table: CONVERSATION_TABLE,
            cells: conversationCells,
            flags,
            hasCursor: opts.cursor !== undefined,
          });
        },
      );
    });
}
