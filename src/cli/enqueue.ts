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
  type InvalidLine,
} from "../queue/enqueue.ts";
import { parseChoice, parseIntOption } from "./_options.ts";
import type { Context } from "./context.ts";
import { startProgress } from "./_progress.ts";
import { quotePath } from "./_quote.ts";

const INPUT_HELP = `
Input: one event per line (NDJSON), UTF-8, LF or CRLF line endings.
  envelope (default):  {"event_type": "<type>", "payload": {…}, "idempotency_key": "…"}
  with --type T:       the payload alone, e.g. Twilio's webhook parameters as JSON
Event types: ${EVENT_TYPES.join(", ")}.
The idempotency key defaults to <event_type>:<provider message id>; a key already queued
is counted as a duplicate, not stored twice. Blank lines are skipped. A line over
CONVO_MAX_PAYLOAD_BYTES is rejected. U+0000 in a string becomes U+FFFD (counted).

Each invalid line is reported on stderr as <file>:<line>: <reason> (stdin for -), or,
with --json or --log-format json, as a JSON log line {"msg":"invalid line","file",
"line","reason"}; the summary goes to stdout. Exit code 2 if any line was invalid, valid lines being stored
all the same (with --strict: nothing is stored).`;

const STDIN = "-";

/** Bytes read so far from the file inputs, and their total size when known. */
interface InputMeter {
  read: number;
  total: number | undefined;
}

/** `'name'`, or the JSON-quoted name when it holds control characters or quotes. */
function shown(path: string): string {
  const q = quotePath(path);
  return q === path ? `'${path}'` : q;
}

/**
 * Bytes read at a time from a file: 256 KiB. `file.readable` reads 64 KiB at a time
 * through a byte stream, and for a 49 MB file those 750 reads cost the client more CPU than
 * 48 reads of 1 MiB (about 0.2 s vs 0.05 s in `deno run -A` of a loop over each, same
 * sitting). But each read's lines are decoded and held together until parsed, and at
 * 1 MiB `convo enqueue` of the 60k-line bench file peaked at 139 MB (137–146) against
 * 126–129 MB at 256 KiB and 120–126 MB at 128 KiB, with the same rate at 256 KiB (medians
 * of 4–5 alternating runs, same sitting). Reading into one reused buffer (a BYOB reader)
 * changed neither figure: the decoded lines, not the read buffers, are what is held.
 */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * A file's bytes, counted into `meter`; a read that fails (an I/O error, a
 * file that vanished under a network mount) is the user's input problem,
 * exit 2, not an internal error. The file is closed at its end, on an error,
 * or when the stream is cancelled.
 */
function meteredFile(file: Deno.FsFile, path: string, meter: InputMeter) {
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A fresh buffer each time: the reader may keep what it was given.
      const buffer = new Uint8Array(READ_CHUNK_BYTES);
      let n: number | null;
      try {
        n = await file.read(buffer);
      } catch (error) {
        close();
        throw new UsageError(`cannot read ${shown(path)}: ${describeOpenError(error)}`, {
          hint: "batches sent before it were stored (run again once it reads: duplicates " +
            "are skipped)",
          cause: error,
        });
      }
      if (n === null) {
        close();
        return controller.close();
      }
      meter.read += n;
      controller.enqueue(buffer.subarray(0, n));
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}

async function openSources(
  ctx: Context,
  files: string[],
  meter: InputMeter,
): Promise<EnqueueSource[]> {
  const paths = files.length === 0 ? [STDIN] : files;
  if (paths.filter((p) => p === STDIN).length > 1) {
    throw new UsageError("standard input (-) is given more than once", {
      hint: "name it once; it can be read only once",
    });
  }
  const sources: EnqueueSource[] = [];
  meter.total = 0;
  try {
    for (const path of paths) {
      if (path === STDIN) {
        sources.push({ name: "stdin", stream: ctx.io.stdin() });
        meter.total = undefined;
        continue;
      }
      const full = isAbsolute(path) ? path : join(ctx.io.cwd, path);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(full, { read: true });
      } catch (error) {
        throw new UsageError(`cannot read ${shown(path)}: ${describeOpenError(error)}`, {
          hint: "check the path; nothing was stored",
          cause: error,
        });
      }
      const info = await file.stat();
      if (info.isDirectory) {
        file.close();
        throw new UsageError(`cannot read ${shown(path)}: it is a directory`, {
          hint: "name NDJSON files; nothing was stored",
        });
      }
      if (meter.total !== undefined && info.isFile) meter.total += info.size;
      else meter.total = undefined;
      sources.push({ name: path, stream: meteredFile(file, path, meter) });
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
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\(os error \d+\)$/, "").toLowerCase();
}

/** Releases inputs that were not read to the end (the files close with their streams). */
async function closeSources(sources: EnqueueSource[]): Promise<void> {
  for (const s of sources) {
    if (s.name !== "stdin" && !s.stream.locked) await s.stream.cancel().catch(() => {});
  }
}

/** One invalid line as a JSON log line (level warn), whatever the log format. */
function jsonReport(ctx: Context, fields: { file: string; line: number; reason: string }): void {
  ctx.io.stderr(
    JSON.stringify({
      time: new Date().toISOString(),
      level: "warn",
      msg: "invalid line",
      ...fields,
    }) +
      "\n",
  );
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
    .option(
      "--json",
      "print the summary as one JSON object; invalid lines are reported as JSON lines on stderr",
    )
    .addHelpText("after", INPUT_HELP)
    .action(async (files, opts) => {
      const type: EventType | undefined = opts.type === undefined
        ? undefined
        : parseChoice("--type", opts.type, EVENT_TYPES);
      const batchSize = parseIntOption("--batch-size", opts.batchSize, { min: 1, max: 100_000 });
      const config = ctx.config();
      const logger = ctx.logger();
      const meter: InputMeter = { read: 0, total: undefined };
      const sources = await openSources(ctx, files, meter);
      // JSON reports when the summary is JSON or every other stderr line is.
      const report = opts.json || config.logFormat === "json"
        ? (l: InvalidLine) => jsonReport(ctx, { file: l.source, line: l.lineNo, reason: l.reason })
        : (l: InvalidLine) => ctx.io.stderr(`${quotePath(l.source)}:${l.lineNo}: ${l.reason}\n`);
      if (sources.some((s) => s.name === "stdin") && ctx.io.stdinIsTerminal) {
        // Otherwise a bare `convo enqueue` looks hung.
        logger.info("reading standard input (a terminal): one event per line, Ctrl-D to end");
      }
      const progress = startProgress(ctx.io, logger, {
        task: "enqueue",
        unit: "bytes",
        total: meter.total,
      });
      const ticker = setInterval(() => progress.update(meter.read), 250);
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
              onInvalid: (l) => {
                // The bar's line is rewritten; a report must not land in it.
                if (ctx.io.stderrIsTerminal) ctx.io.stderr("\r\x1b[2K");
                report(l);
              },
            }),
        );
      } finally {
        clearInterval(ticker);
        progress.stop();
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
