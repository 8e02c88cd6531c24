/**
 * `convo queue status|list|show|retry|drop|prune`: look at the inbound event
 * queue, one event whole, put dead events back or drop them, delete old done
 * ones.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { withDatabase } from "../db/connect.ts";
import { formatDuration } from "../duration.ts";
import { UsageError } from "../errors.ts";
import { EVENT_TYPES } from "../events/types.ts";
import { maskJson, maskText } from "../log/redact.ts";
import { resolveTimeBounds } from "../overview/page.ts";
import { dropDead } from "../queue/drop.ts";
import { decodeEventCursor, type EventRow, listEvents, MAX_EVENT_LIMIT } from "../queue/list.ts";
import { pruneDone } from "../queue/prune.ts";
import { countPrunable } from "../queue/prune_count.ts";
import { retryDead } from "../queue/retry.ts";
import { EVENT_STATUSES, type EventSelector, type EventStatus } from "../queue/select.ts";
import { type EventDetail, type ProducedMessage, showEvent } from "../queue/show.ts";
import { type DeadEvent, type QueueStatus, queueStatus } from "../queue/status.ts";
import { checkMetricsPath } from "../queue/live_metrics.ts";
import { renderQueueGauges, writeMetricsFile } from "../queue/metrics.ts";
import { type Column, formatRows, OUTPUT_FORMATS } from "./_format.ts";
import { parseAgeOption, parseChoice, parseIntOption } from "./_options.ts";
import { nextPageLine, type PageFlags } from "./_page.ts";
import type { Context } from "./context.ts";

const MAX_BIGINT = (1n << 63n) - 1n;
/** Characters of `last_error` shown by `queue status` (the whole text is in the table). */
const ERROR_SHOWN = 160;

/** The smallest `prune --older-than`: anything shorter is a mistake, not a policy. */
const PRUNE_MIN_MS = 60_000;
/** Characters of `last_error` in a `queue list` table cell (machine formats have it whole). */
const LIST_ERROR_SHOWN = 80;

/** One event id (`queue show ID`, `--id`): a positive 64-bit integer. */
function parseId(flag: string, text: string): bigint {
  const t = text.trim();
  if (!/^\d{1,19}$/.test(t) || BigInt(t) < 1n || BigInt(t) > MAX_BIGINT) {
    throw new UsageError(`invalid ${flag}: current value is '${text}'`, {
      hint: "expected event ids: positive integers",
    });
  }
  return BigInt(t);
}

/** Parses `--id` values: positive integers, also comma-separated (`--id 3,4 7`). */
function parseIds(values: readonly string[]): bigint[] {
  return values.flatMap((value) => value.split(",").map((part) => parseId("--id", part)));
}

/** The filter flags `list`, `retry` and `drop` share, as given. */
interface FilterFlags {
  type?: string;
  errorLike?: string;
  since?: string;
  id?: string[];
}

/** Adds the shared filter flags to a subcommand. */
function withFilters<C extends Command<[], Record<string, unknown>>>(cmd: C, what: string): C {
  cmd.option("--type <type>", `only ${what} of this event type (${EVENT_TYPES.join(", ")})`)
    .option("--error-like <text>", `only ${what} whose last error contains this text (any case)`)
    .option("--since <time>", `only ${what} received since: 30m, 12h, 7d ago, or an ISO 8601 time`);
  return cmd;
}

/** The filter flags as a selector; every bad value is a usage error naming its flag. */
function selectorOf(opts: FilterFlags): EventSelector {
  const selector: EventSelector = {};
  if (opts.type !== undefined) selector.eventType = parseChoice("--type", opts.type, EVENT_TYPES);
  if (opts.errorLike !== undefined) {
    if (opts.errorLike.trim() === "") {
      throw new UsageError("invalid --error-like: current value is ''", {
        hint: "give a part of the error text, e.g. --error-like 'no endpoint mapping'",
      });
    }
    selector.errorLike = opts.errorLike;
  }
  if (opts.since !== undefined) selector.since = resolveTimeBounds({ since: opts.since }).since;
  if (opts.id !== undefined) selector.ids = parseIds(opts.id);
  return selector;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function shortError(text: string | null): string | null {
  if (text === null) return null;
  const masked = maskText(text);
  return masked.length > ERROR_SHOWN ? masked.slice(0, ERROR_SHOWN - 1) + "…" : masked;
}

function statusJson(s: QueueStatus) {
  return {
    pending: s.pending,
    scheduled: s.scheduled,
    processing: s.processing,
    expired: s.expired,
    done: s.done,
    dead: s.dead,
    total: s.total,
    oldest_pending_age_seconds: s.oldestPendingAgeSeconds,
    dead_recent: s.deadRecent.map((d) => ({
      id: d.id.toString(),
      event_type: d.event_type,
      attempts: d.attempts,
      last_error: d.last_error === null ? null : maskText(d.last_error),
    })),
  };
}

const DEAD_COLUMNS: readonly Column<DeadEvent>[] = [
  { key: "id", align: "right" },
  { key: "event_type", header: "TYPE" },
  { key: "attempts", align: "right" },
  { key: "last_error" },
];

function statusText(s: QueueStatus): string {
  const age = s.oldestPendingAgeSeconds === null
    ? "none claimable now"
    : `oldest claimable received ${formatDuration(s.oldestPendingAgeSeconds * 1000)} ago`;
  const lines: [string, number, string][] = [
    ["pending", s.pending, `${s.scheduled} scheduled for a retry, ${age}`],
    ["processing", s.processing, `${s.expired} expired (claimable again)`],
    ["done", s.done, ""],
    ["dead", s.dead, s.dead > 0 ? "convo queue retry --dead puts them back" : ""],
    ["total", s.total, ""],
  ];
  const width = Math.max(...lines.map(([, n]) => String(n).length));
  let out = lines.map(([label, n, note]) =>
    `${label.padEnd(10)} ${String(n).padStart(width)}${note ? `  ${note}` : ""}\n`
  ).join("");
  if (s.deadRecent.length > 0) {
    out += "\nmost recent dead events:\n" + formatRows(
      s.deadRecent.map((d) => ({ ...d, last_error: shortError(d.last_error) })),
      DEAD_COLUMNS,
      "table",
    );
  }
  return out;
}

/** `2024-05-01 16:00:03` (UTC), for tables. */
function tableTime(d: Date | null): string | null {
  return d === null ? null : d.toISOString().slice(0, 19).replace("T", " ");
}

/** The columns of `queue list` in the machine formats (json, ndjson, csv). */
const LIST_COLUMNS: readonly Column<EventRow>[] = [
  { key: "id" },
  { key: "event_type" },
  { key: "status" },
  { key: "attempts" },
  { key: "received_at" },
  { key: "available_at" },
  { key: "processed_at" },
  { key: "last_error" },
];

/** An event as the `queue list` table shows it. */
type ListCells = Record<
  "id" | "type" | "status" | "attempts" | "received" | "available" | "processed" | "error",
  string | number | bigint | null
>;

const LIST_TABLE: readonly Column<ListCells>[] = [
  { key: "id", align: "right" },
  { key: "type" },
  { key: "status" },
  { key: "attempts", align: "right" },
  { key: "received" },
  { key: "available" },
  { key: "processed" },
  { key: "error", header: "LAST ERROR" },
];

function listCells(r: EventRow): ListCells {
  const error = r.last_error === null ? null : maskText(r.last_error);
  return {
    id: r.id,
    type: r.event_type,
    status: r.status,
    attempts: r.attempts,
    received: tableTime(r.received_at),
    available: tableTime(r.available_at),
    processed: tableTime(r.processed_at),
    error: error !== null && error.length > LIST_ERROR_SHOWN
      ? error.slice(0, LIST_ERROR_SHOWN - 1) + "…"
      : error,
  };
}

/** The columns of the messages an event produced, in every format. */
const PRODUCED_COLUMNS: readonly Column<ProducedMessage>[] = [
  { key: "message_id", header: "MESSAGE", align: "right" },
  { key: "customer" },
  { key: "provider" },
  { key: "direction" },
  { key: "channel" },
  { key: "sent_at", header: "SENT AT" },
  { key: "conversation_id", header: "CONVERSATION", align: "right" },
];

/** `queue show` as one JSON object: ids as strings, times ISO 8601, the payload as JSON. */
function showJson(d: EventDetail, reveal: boolean): string {
  const e = d.event;
  const mask = (t: string | null) => t === null || reveal ? t : maskText(t);
  const doc = {
    id: e.id,
    event_type: e.event_type,
    status: e.status,
    attempts: e.attempts,
    idempotency_key: mask(e.idempotency_key),
    received_at: e.received_at,
    available_at: e.available_at,
    locked_until: e.locked_until,
    processed_at: e.processed_at,
    last_error: mask(e.last_error),
    provider_message_id: d.providerMessageId,
    payload_error: mask(d.readError),
    payload: reveal ? e.payload : maskJson(e.payload),
    messages: JSON.parse(formatRows(d.messages, PRODUCED_COLUMNS, "json")),
  };
  return JSON.stringify(doc, (_k, v) => typeof v === "bigint" ? v.toString() : v) + "\n";
}

/** `queue show` for people: the columns, the payload indented, the messages it produced. */
function showText(d: EventDetail, reveal: boolean): string {
  const e = d.event;
  const mask = (t: string | null) => t === null || reveal ? t : maskText(t);
  const iso = (t: Date | null) => t === null ? "-" : t.toISOString();
  const fields: [string, string][] = [
    ["id", String(e.id)],
    ["event_type", e.event_type],
    ["status", e.status],
    ["attempts", String(e.attempts)],
    ["idempotency_key", mask(e.idempotency_key) ?? "-"],
    ["received_at", iso(e.received_at)],
    ["available_at", iso(e.available_at)],
    ["locked_until", iso(e.locked_until)],
    ["processed_at", iso(e.processed_at)],
    ["last_error", mask(e.last_error) ?? "-"],
    [
      "provider_message_id",
      d.providerMessageId ?? `- (payload not readable: ${mask(d.readError)})`,
    ],
  ];
  // A table without its header row: control characters in values are shown escaped.
  let out = formatRows(
    fields.map(([k, v]) => ({ k, v })),
    [{ key: "k" }, { key: "v" }],
    "table",
  ).split("\n").slice(1).join("\n");
  out += `\npayload${reveal ? "" : " (addresses masked; --reveal shows them)"}:\n`;
  out += JSON.stringify(reveal ? e.payload : maskJson(e.payload), null, 2) + "\n";
  if (d.messages.length === 0) {
    out += e.status === "done"
      ? "\nno message carries its provider message id\n"
      : `\nno message yet (the event is ${e.status})\n`;
  } else {
    out += "\nmessages:\n" + formatRows(d.messages, PRODUCED_COLUMNS, "table");
  }
  return out;
}

/**
 * Builds `convo queue` with `status`, `list`, `show`, `retry`, `drop` and `prune`.
 *
 * @example Usage
 * ```ts ignore
 * import { run } from "./program.ts";
 * await run(["queue", "status", "--json"], io);
 * ```
 */
export function queueCommand(ctx: Context): Command {
  const cmd = new Command("queue")
    .summary("Inspect the inbound event queue, retry dead events, prune done ones")
    .description(
      "The inbound event queue: pending → processing (claimed by `convo work`) → done, " +
        "or back to pending with a backoff, or dead (permanent error or out of attempts).",
    );

  cmd.command("status")
    .summary("Count events by state; the oldest waiting; the recent dead")
    .description(
      "Count events by state (pending, of which scheduled for a retry; processing, of " +
        "which expired; done; dead), the age of the oldest claimable pending event, and " +
        "the 5 most recent dead events (addresses in their errors masked).",
    )
    .option("--json", "print one JSON object (ids as strings, ages in seconds)")
    .option(
      "--metrics-file <path>",
      "also write the queue gauges there, Prometheus text (node_exporter textfile; for cron)",
    )
    .action(async (opts) => {
      if (opts.metricsFile !== undefined) await checkMetricsPath(opts.metricsFile);
      const status = await withDatabase(
        ctx.config(),
        ctx.logger(),
        { command: "queue", max: 1 },
        (db) => queueStatus(db.sql),
      );
      ctx.io.stdout(
        opts.json ? JSON.stringify(statusJson(status)) + "\n" : statusText(status),
      );
      if (opts.metricsFile !== undefined) {
        await writeMetricsFile(opts.metricsFile, renderQueueGauges(status));
      }
    });

  cmd.command("list")
    .summary("List events, newest first, with filters; a page at a time")
    .description(
      "List events newest first (by id) with their type, state, attempts, times and last " +
        "error (addresses masked). A page that is not the last ends with the command for " +
        "the next one (on stderr; in JSON the next_cursor field); a walk shows every event " +
        "that matched when it started once, however their states change meanwhile.",
    )
    .addOption(new Option("--status <status>", "only events in this state").choices(EVENT_STATUSES))
    .option("--type <type>", `only events of this type (${EVENT_TYPES.join(", ")})`)
    .option("--error-like <text>", "only events whose last error contains this text (any case)")
    .option("--since <time>", "only events received since: 30m, 12h, 7d ago, or an ISO 8601 time")
    .option("--limit <n>", `rows per page, 1…${MAX_EVENT_LIMIT}`, "50")
    .option("--cursor <cursor>", "continue after the page that printed this cursor")
    .addOption(
      new Option("--format <format>", "output format").choices(OUTPUT_FORMATS).default(
        "table" as const,
      ),
    )
    .action(async (opts) => {
      const limit = parseIntOption("--limit", opts.limit, { min: 1, max: MAX_EVENT_LIMIT });
      const selector = selectorOf(opts);
      if (opts.status !== undefined) selector.status = opts.status as EventStatus;
      if (opts.cursor !== undefined) {
        try {
          decodeEventCursor(opts.cursor);
        } catch (err) {
          throw new UsageError(`invalid --cursor: ${(err as Error).message}`, {
            hint: "use the cursor a previous page printed, with the same command",
          });
        }
      }
      const page = await withDatabase(
        ctx.config(),
        ctx.logger(),
        { command: "queue", max: 1 },
        (db) => listEvents(db.sql, { selector, limit, cursor: opts.cursor }),
      );
      const rows = page.rows.map((r) => ({
        ...r,
        last_error: r.last_error === null ? null : maskText(r.last_error),
      }));
      const format = opts.format;
      if (format === "json") {
        const list = formatRows(rows, LIST_COLUMNS, "json").trimEnd();
        ctx.io.stdout(`{"events":${list},"next_cursor":${JSON.stringify(page.nextCursor)}}\n`);
        return;
      }
      if (format === "table") {
        ctx.io.stdout(
          rows.length === 0
            ? (opts.cursor === undefined ? "no events\n" : "no more events\n")
            : formatRows(page.rows.map(listCells), LIST_TABLE, "table"),
        );
      } else {
        ctx.io.stdout(formatRows(rows, LIST_COLUMNS, format));
      }
      if (page.nextCursor !== null) {
        const flags: PageFlags = {
          "--status": opts.status,
          "--type": opts.type,
          "--error-like": opts.errorLike,
          "--since": opts.since,
          "--limit": opts.limit === "50" ? undefined : opts.limit,
          "--format": format === "table" ? undefined : format,
        };
        ctx.io.stderr(nextPageLine("convo queue list", flags, page.nextCursor));
      }
    });

  cmd.command("show")
    .summary("Show one event whole, and the message and conversation it produced")
    .description(
      "Show every column of one event, its payload (email addresses and phone numbers " +
        "masked unless --reveal), its provider message id as ingest reads it, and the " +
        "messages carrying that id with their conversations.",
    )
    .argument("<id>", "the event's id")
    .option("--reveal", "show addresses in the payload and errors unmasked")
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "json"] as const)
        .default("table" as const),
    )
    .action(async (idText, opts) => {
      const id = parseId("event id", idText);
      const detail = await withDatabase(
        ctx.config(),
        ctx.logger(),
        { command: "queue", max: 1 },
        (db) => showEvent(db.sql, id),
      );
      if (detail === undefined) {
        throw new UsageError(`no event with id ${id}`, {
          hint: "convo queue list shows the events there are",
        });
      }
      const reveal = opts.reveal === true;
      ctx.io.stdout(opts.format === "json" ? showJson(detail, reveal) : showText(detail, reveal));
    });

  withFilters(
    cmd.command("retry")
      .summary("Put dead events back to pending")
      .description(
        "Put dead events back to pending (attempts reset, claimable at once; last_error is " +
          "kept until the next attempt) and wake the workers: every dead event (--dead), or " +
          "those the filters pick (--id, --type, --error-like, --since; given together, an " +
          "event must match all). Given ids that do not exist or are not dead are reported " +
          "and left alone.",
      )
      .option("--dead", "every dead event (with filters: every dead event they match)")
      .option("--id <ids...>", "only these events (ids, space- or comma-separated)")
      .option("--dry-run", "say how many would be retried; change nothing"),
    "dead events",
  ).action(async (opts) => {
    const flags = opts as typeof opts & FilterFlags;
    if (opts.dead && opts.id) {
      throw new UsageError("--dead and --id cannot be used together", {
        hint: "--dead retries every dead event; --id only the given ones",
      });
    }
    const selector = selectorOf(flags);
    if (!opts.dead && Object.keys(selector).length === 0) {
      throw new UsageError("nothing to retry: give --dead or --id", {
        hint: "convo queue retry --dead, convo queue retry --id 17 18, or filter with " +
          "--type, --error-like, --since",
      });
    }
    const { ids, ...rest } = selector;
    const result = await withDatabase(
      ctx.config(),
      ctx.logger(),
      { command: "queue", max: 1 },
      (db) => retryDead(db.sql, { ids, selector: rest, dryRun: opts.dryRun === true }),
    );
    ctx.io.stdout(
      opts.dryRun
        ? `would retry ${result.retried} dead event(s); nothing was changed\n`
        : `retried ${result.retried} dead event(s)\n`,
    );
    if (result.notDead.length > 0) {
      const why = Object.keys(rest).length > 0
        ? "not dead, missing or not matching"
        : "not dead or missing";
      ctx.io.stdout(
        `left alone ${result.notDead.length} ${why}: ${result.notDead.join(", ")}\n`,
      );
    }
  });

  withFilters(
    cmd.command("drop")
      .summary("Delete chosen dead events (never pending, processing or done ones)")
      .description(
        "Delete dead events the filters pick (--id, --type, --error-like, --since; given " +
          "together, an event must match all), or every dead event with --all-dead. Only " +
          "dead events are ever deleted: one retried or claimed meanwhile is left alone. " +
          "Says how many it matched and deleted; --dry-run only counts.",
      )
      .option("--id <ids...>", "only these events (ids, space- or comma-separated)")
      .option("--all-dead", "every dead event (required when no filter is given)")
      .option("--dry-run", "say how many would be dropped; change nothing"),
    "dead events",
  ).action(async (opts) => {
    const selector = selectorOf(opts as typeof opts & FilterFlags);
    const filtered = Object.keys(selector).length > 0;
    if (!filtered && !opts.allDead) {
      throw new UsageError("nothing to drop: give --id, --type, --error-like or --since", {
        hint: "or --all-dead to drop every dead event; --dry-run shows how many first",
      });
    }
    if (filtered && opts.allDead) {
      throw new UsageError("--all-dead cannot be used with filters", {
        hint: "--all-dead drops every dead event; the filters only some",
      });
    }
    const result = await withDatabase(
      ctx.config(),
      ctx.logger(),
      { command: "queue", max: 1 },
      (db) =>
        dropDead(db.sql, {
          selector,
          allDead: opts.allDead === true,
          dryRun: opts.dryRun === true,
        }),
    );
    if (opts.dryRun) {
      ctx.io.stdout(`would drop ${result.matched} dead event(s); nothing was changed\n`);
      return;
    }
    const left = result.matched - result.dropped;
    ctx.io.stdout(
      `dropped ${result.dropped} dead event(s)` +
        (left > 0
          ? `; ${plural(left, "event")} no longer dead (retried or claimed meanwhile) left alone`
          : "") +
        "\n",
    );
  });

  cmd.command("prune")
    .summary("Delete old done (and dead) events")
    .description(
      "Delete done events processed longer ago than --older-than, and dead events that died " +
        "longer ago than --dead-older-than (durations with a unit, at least 1m), in batches " +
        "(each its own transaction; safe to interrupt and to run from cron). At least one of " +
        "the two is required; --dry-run only counts.",
    )
    .option("--older-than <duration>", "age of done events to delete: 7d, 12h, 30m, …")
    .option("--dead-older-than <duration>", "age of dead events to delete (since they died)")
    .option("--batch-size <n>", "events deleted per statement", "10000")
    .option("--dry-run", "say how many would be deleted; change nothing")
    .action(async (opts) => {
      if (opts.olderThan === undefined && opts.deadOlderThan === undefined) {
        throw new UsageError("nothing to prune: give --older-than or --dead-older-than", {
          hint: "convo queue prune --older-than 7d, or --dead-older-than 30d for dead events",
        });
      }
      const age = (flag: string, value: string) =>
        parseAgeOption(flag, value, { min: PRUNE_MIN_MS, minText: "1m" });
      const targets: { status: "done" | "dead"; olderThanMs: number }[] = [];
      if (opts.olderThan !== undefined) {
        targets.push({ status: "done", olderThanMs: age("--older-than", opts.olderThan) });
      }
      if (opts.deadOlderThan !== undefined) {
        targets.push({
          status: "dead",
          olderThanMs: age("--dead-older-than", opts.deadOlderThan),
        });
      }
      const batchSize = parseIntOption("--batch-size", opts.batchSize, { min: 1, max: 1_000_000 });
      const log = ctx.logger();
      const when = (status: "done" | "dead") => status === "done" ? "processed" : "dead since";
      if (opts.dryRun) {
        await withDatabase(ctx.config(), log, { command: "queue", max: 1 }, async (db) => {
          for (const { status, olderThanMs } of targets) {
            const count = await countPrunable(db.sql, { olderThanMs, status });
            ctx.io.stdout(
              `would delete ${count.count} ${status} event(s) ${when(status)} before ` +
                `${count.cutoff.toISOString()}; nothing was changed\n`,
            );
          }
        });
        return;
      }
      await withDatabase(
        ctx.config(),
        log,
        { command: "queue", max: 1 },
        async (db) => {
          for (const { status, olderThanMs } of targets) {
            const result = await pruneDone(db.sql, {
              olderThanMs,
              status,
              batchSize,
              onBatch: (deleted) => log.debug("prune batch", { status, deleted }),
            });
            ctx.io.stdout(
              `deleted ${result.deleted} ${status} event(s) ${when(status)} before ` +
                `${result.cutoff.toISOString()} (${result.batches} batch${
                  result.batches === 1 ? "" : "es"
                })\n`,
            );
          }
        },
      );
    });

  return cmd;
}
