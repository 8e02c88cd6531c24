/**
 * `convo enqueue [FILE…|-] [--type T] [--strict] [--batch-size N] [--json]`: NDJSON events
 * from files or stdin into the inbound queue.
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import { Command } from "@commander-js/extra-typings";
import { withDatabase } from "../db/connect.ts";
import { formatDuration } from "../duration.ts";
import { UsageError } from "../errors.ts";
import { EVENT_TYPES, type EventType } from "../events/types.ts";
import {
  DEFAULT_BATCH_SIZE,
  enqueue,
  type EnqueueSource,
  type EnqueueSummary,
} from "../queue/enqueue.ts";
import { parseChoice, parseIntOption } from "./_options.ts";
import type { Context } from "./context.ts";

const INPUT_HELP = `
Input: one event per line (NDJSON), UTF-8, LF or CRLF line endings.
  envelope (default):  {"event_type": "<type>", "payload": {…}, "idempotency_key": "…"}
  with --type T:       the payload alone, e.g. Twilio's webhook parameters as JSON
Event types: ${EVENT_TYPES.join(", ")}.
The idempotency key defaults to <event_type>:<provider message id>; a key already queued
is counted as a duplicate, not stored twice. Blank lines are skipped. A line over
CONVO_MAX_PAYLOAD_BYTES is rejected. U+0000 in a string becomes U+FFFD (counted).

Each invalid line is reported on stderr as <file>:<line>: <reason> (stdin for -); the
summary goes to stdout. Exit code 2 if any line was invalid, valid lines being stored
all the same (with --strict: nothing is stored).`;

const STDIN = "-";

async function openSources(ctx: Context, files: string[]): Promise<EnqueueSource[]> {
  const paths = files.length === 0 ? [STDIN] : files;
  if (paths.filter((p) => p === STDIN).length > 1) {
    throw new UsageError("standard input (-) is given more than once", {
      hint: "name it once; it can be read only once",
    });
  }
  const sources: EnqueueSource[] = [];
  try {
    for (const path of paths) {
      if (path === STDIN) {
        sources.push({ name: "stdin", stream: ctx.io.stdin() });
        continue;
      }
      const full = isAbsolute(path) ? path : join(ctx.io.cwd, path);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(full, { read: true });
      } catch (error) {
        throw new UsageError(`cannot read '${path}': ${describeOpenError(error)}`, {
          hint: "check the path; nothing was stored",
          cause: error,
        });
      }
      const info = await file.stat();
      if (info.isDirectory) {
        file.close();
        throw new UsageError(`cannot read '${path}': it is a directory`, {
          hint: "name NDJSON files; nothing was stored",
        });
      }
      sources.push({ name: path, stream: file.readable });
    }
  } catch (error) {
    await closeSources(sources);
    throw error;
  }
  return sources;
}

function describeOpenError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return error instanceof Error ? error.message : String(error);
}

/** Releases inputs that were not read to the end (the files close with their streams). */
async function closeSources(sources: EnqueueSource[]): Promise<void> {
  for (const s of sources) {
    if (s.name !== "stdin" && !s.stream.locked) await s.stream.cancel().catch(() => {});
  }
}

function summaryLine(s: EnqueueSummary): string {
  const counts = s.rolledBack
    ? `nothing stored (--strict); valid ${s.valid}, invalid ${s.invalid}, blank ${s.blank}`
    : `stored ${s.stored}, duplicates ${s.duplicates}, invalid ${s.invalid}, blank ${s.blank}`;
  const replaced = [
    s.nulReplaced ? `${s.nulReplaced} U+0000` : "",
    s.loneSurrogatesReplaced ? `${s.loneSurrogatesReplaced} lone surrogate(s)` : "",
  ].filter(Boolean).join(", ");
  const rate = s.elapsedMs > 0 ? Math.round(s.read / (s.elapsedMs / 1000)) : 0;
  return `read ${s.read} line${s.read === 1 ? "" : "s"}: ${counts}` +
    (replaced ? `; replaced ${replaced}` : "") +
    ` (${formatDuration(s.elapsedMs)}, ${rate} lines/s)\n`;
}

function summaryJson(s: EnqueueSummary): string {
  return JSON.stringify({
    read: s.read,
    valid: s.valid,
    stored: s.stored,
    duplicates: s.duplicates,
    invalid: s.invalid,
    blank: s.blank,
    nul_replaced: s.nulReplaced,
    lone_surrogates_replaced: s.loneSurrogatesReplaced,
    rolled_back: s.rolledBack,
    elapsed_ms: Math.round(s.elapsedMs * 10) / 10,
  }) + "\n";
}

/**
 * Builds `convo enqueue`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Context } from "./context.ts";
 * import { enqueueCommand } from "./enqueue.ts";
 * // The context is used only when the command runs.
 * const cmd = enqueueCommand({} as Context);
 * assert.equal(cmd.name(), "enqueue");
 * assert.ok(cmd.options.some((o) => o.long === "--strict"));
 * ```
 */
export function enqueueCommand(ctx: Context): Command {
  const cmd = new Command("enqueue");
  cmd
    .description(
      "Validate NDJSON events from files or stdin and add them to the inbound queue " +
        "(inbound_events), in bulk; repeated idempotency keys are counted as duplicates",
    )
    .argument("[files...]", "NDJSON files, read in order; - or none: standard input")
    .option("--type <type>", `every line is a raw payload of this type: ${EVENT_TYPES.join(", ")}`)
    .option("--strict", "all or nothing: one transaction, nothing stored if any line is invalid")
    .option("--batch-size <n>", "events per insert statement", String(DEFAULT_BATCH_SIZE))
    .option("--json", "print the summary as one JSON object")
    .addHelpText("after", INPUT_HELP)
    .action(async (files, opts) => {
      const type: EventType | undefined = opts.type === undefined
        ? undefined
        : parseChoice("--type", opts.type, EVENT_TYPES);
      const batchSize = parseIntOption("--batch-size", opts.batchSize, { min: 1, max: 100_000 });
      const config = ctx.config();
      const logger = ctx.logger();
      const sources = await openSources(ctx, files);
      let summary: EnqueueSummary;
      try {
        summary = await withDatabase(
          config,
          logger,
          { command: "enqueue", max: 2 },
          (db) =>
            enqueue(db.sql, sources, {
              type,
              strict: opts.strict,
              batchSize,
              maxPayloadBytes: config.maxPayloadBytes,
              logger,
              onInvalid: (l) => ctx.io.stderr(`${l.source}:${l.lineNo}: ${l.reason}\n`),
            }),
        );
      } finally {
        await closeSources(sources);
      }
      ctx.io.stdout(opts.json ? summaryJson(summary) : summaryLine(summary));
      if (summary.invalid > 0) {
        throw new UsageError(`${summary.invalid} invalid line(s)`, {
          hint: summary.rolledBack
            ? "nothing was stored (--strict); fix the lines reported above and run again"
            : "the lines reported above were not stored; fix them and enqueue them again",
        });
      }
    });
  return cmd;
}
