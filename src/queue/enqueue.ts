/**
 * `enqueue`: NDJSON events from byte streams into the `inbound_events` queue, validated,
 * in bulk, in constant memory.
 *
 * Terminology: a **line** is one NDJSON line of a source; a **valid** line is one
 * `parseEventLine` accepts; it is **stored** when its row is inserted, or a **duplicate**
 * when its idempotency key is already in the queue (from an earlier run, or earlier in
 * this one). A **batch** is the valid lines sent in one statement.
 *
 * @module
 */
import { hasBom } from "../bom.ts";
import type { Sql } from "../db/connect.ts";
import { type ParsedEvent, parseEventLine } from "../events/envelope.ts";
import type { EventType } from "../events/types.ts";
import type { Logger } from "../log/logger.ts";
import { type BatchRows, emptyRows, insertRows } from "./_enqueue_insert.ts";
import { InFlight } from "./_inflight.ts";
import { readLineBatches } from "./lines.ts";

/** One input: a name for reports and its bytes. */
export interface EnqueueSource {
  /** How lines of this source are reported: `<name>:<lineNo>: <reason>` (e.g. `stdin`). */
  name: string;
  /** The bytes: NDJSON, one event per line. */
  stream: ReadableStream<Uint8Array>;
}

/** A line that was not stored because it is invalid. */
export interface InvalidLine {
  /** The source's name. */
  source: string;
  /** The line's number in its source, from 1. */
  lineNo: number;
  /** Why, in one line, never quoting the line's values. */
  reason: string;
}

/** Longest line read (Postmark's inbound limit is 35 MB of mail, base64 included). */
export const MAX_LINE_BYTES = 48 * 1024 * 1024;

/** Default rows per batch. */
export const DEFAULT_BATCH_SIZE = 5000;
/**
 * Default cap on the JSON text of one batch, in UTF-16 units (about bytes): 512 KiB, about
 * 650 realistic events. Peak memory follows the batch, held several times over while it
 * is in flight (the lines, the statement's text, its encoded bytes; two in flight and one
 * filling): `convo enqueue` of 60k realistic events (49 MB) peaked at 222 MB with 8 MiB
 * and at 152 MB with 1 MiB (medians of 3, alternating, same sitting), then 149–153 MB with
 * 512 KiB against 152–168 MB with 1 MiB (4 runs each, same sitting), of which ~83 MB is
 * the runtime and the program loaded; the rate did not move beyond the noise (statements
 * of hundreds of rows still amortize their round trip).
 */
export const DEFAULT_BATCH_BYTES = 512 * 1024;

/**
 * Default batches in the database at once. Two, on the two connections the CLI opens: the
 * server backend is the bottleneck (~19 µs of CPU a row, see _enqueue_insert.ts), and a
 * second one puts the second core to work: 60.0k vs 45.8k events/s (medians of 5, 200k
 * events) on the 2-core machine of the brief
 * (`deno run -A tests/bench/enqueue_bench.ts --in-flight 1,2`). The
 * price: the ids of two batches in flight at once interleave (each batch's rows are in line
 * order, and its `available_at` is its start).
 */
export const DEFAULT_MAX_IN_FLIGHT = 2;

/** Options of {@link enqueue}. */
export interface EnqueueOptions {
  /** Largest line (with `type`: payload) accepted, in UTF-8 bytes; `Config.maxPayloadBytes`. */
  maxPayloadBytes: number;
  /** Every line is a raw payload of this type (no envelope). */
  type?: EventType;
  /** All or nothing: one transaction, rolled back if any line is invalid. */
  strict?: boolean;
  /** Most rows per batch; default {@link DEFAULT_BATCH_SIZE}. */
  batchSize?: number;
  /** Most JSON text per batch; default {@link DEFAULT_BATCH_BYTES}. */
  batchBytes?: number;
  /**
   * Most batches in the database at once, on as many connections of `sql`'s pool (not in
   * `strict`, which is one transaction); default {@link DEFAULT_MAX_IN_FLIGHT}.
   */
  maxInFlight?: number;
  /** Called once for each invalid line, as soon as it is known. */
  onInvalid?: (line: InvalidLine) => void;
  /** Debug logs per batch. */
  logger?: Logger;
}

/** What {@link enqueue} did. */
export interface EnqueueSummary {
  /** Lines read (blank and invalid included). */
  read: number;
  /** Lines that held a valid event. */
  valid: number;
  /** Events inserted (0 when rolled back). */
  stored: number;
  /** Valid events not inserted because their idempotency key was already there. */
  duplicates: number;
  /** Invalid lines, each reported through `onInvalid`. */
  invalid: number;
  /** Empty or whitespace-only lines, skipped. */
  blank: number;
  /** U+0000 characters replaced by U+FFFD. */
  nulReplaced: number;
  /** Lone UTF-16 surrogates replaced by U+FFFD. */
  loneSurrogatesReplaced: number;
  /** `strict` and something was invalid: nothing was stored. */
  rolledBack: boolean;
  /** Wall time, in milliseconds. */
  elapsedMs: number;
}

/** Thrown inside the strict transaction to roll it back. */
class Rollback extends Error {}

/**
 * Reads NDJSON events from the sources, in order, validates every line, and inserts the
 * valid ones into `inbound_events` in bulk; repeated idempotency keys are counted as
 * duplicates (`on conflict do nothing`), not stored twice.
 *
 * - Streaming: memory stays bounded by one batch in flight, one being filled and one line
 *   of at most `maxPayloadBytes`, whatever the size of the input.
 * - Parsing overlaps inserting: the next batch is parsed while the previous one is in the
 *   database.
 * - Not `strict`: each batch commits on its own, so an interrupted run keeps what it stored
 *   and running it again stores only the rest. `strict`: one transaction, rolled back at
 *   the end if any line was invalid (every line is still read and reported).
 * - A value the database refuses although the line is valid JSON for us (a number beyond
 *   `numeric`, say) makes that line invalid, not the batch.
 *
 * @example Usage
 * ```ts ignore
 * import { enqueue } from "./enqueue.ts";
 * const summary = await enqueue(sql, [{ name: "events.ndjson", stream: file.readable }], {
 *   maxPayloadBytes: 262_144,
 *   onInvalid: (l) => console.error(`${l.source}:${l.lineNo}: ${l.reason}`),
 * });
 * // { read: 16, valid: 12, stored: 10, duplicates: 2, invalid: 3, blank: 1, … }
 * ```
 */
export async function enqueue(
  sql: Sql,
  sources: readonly EnqueueSource[],
  options: EnqueueOptions,
): Promise<EnqueueSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
  if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) {
    throw new RangeError(`Cannot enqueue: batchSize must be ≥ 1, current value is '${batchSize}'`);
  }
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!(Number.isSafeInteger(maxInFlight) && maxInFlight >= 1)) {
    throw new RangeError(
      `Cannot enqueue: maxInFlight must be ≥ 1, current value is '${maxInFlight}'`,
    );
  }
  const counts = {
    read: 0,
    valid: 0,
    stored: 0,
    invalid: 0,
    blank: 0,
    nulReplaced: 0,
    loneSurrogatesReplaced: 0,
  };
  const summary = (rolledBack: boolean): EnqueueSummary => ({
    ...counts,
    stored: rolledBack ? 0 : counts.stored,
    duplicates: rolledBack ? 0 : counts.valid - counts.stored,
    rolledBack,
    elapsedMs: performance.now() - started,
  });

  if (!options.strict) {
    await run(sql, sources, options, counts, { batchSize, batchBytes, maxInFlight });
    return summary(false);
  }
  try {
    await sql.begin(async (tx) => {
      const t = tx as unknown as Sql;
      await run(t, sources, options, counts, {
        batchSize,
        batchBytes,
        // One transaction is one connection.
        maxInFlight: 1,
        savepoint: (fn) => tx.savepoint((sp) => fn(sp as unknown as Sql)),
      });
      if (counts.invalid > 0) throw new Rollback();
    });
  } catch (error) {
    if (error instanceof Rollback) return summary(true);
    throw error;
  }
  return summary(false);
}

interface Counts {
  read: number;
  valid: number;
  stored: number;
  invalid: number;
  blank: number;
  nulReplaced: number;
  loneSurrogatesReplaced: number;
}

interface RunSettings {
  batchSize: number;
  batchBytes: number;
  maxInFlight: number;
  savepoint?: (fn: (sql: Sql) => Promise<number>) => Promise<number>;
}

/**
 * One pass over the sources: read each line, parse it, gather the valid ones into batches
 * and send them ({@link Sender}); then wait for every batch.
 */
async function run(
  sql: Sql,
  sources: readonly EnqueueSource[],
  options: EnqueueOptions,
  counts: Counts,
  settings: RunSettings,
): Promise<void> {
  const { type, maxPayloadBytes } = options;
  const wrapped = type === undefined;
  const what = wrapped ? "line" : "payload";
  const parseOptions = { type, maxPayloadBytes };
  // Postmark lines may carry attachment content beyond the cap, dropped before
  // the cap is counted (envelope.ts): read lines up to what Postmark sends.
  const maxLineBytes = Math.max(maxPayloadBytes, MAX_LINE_BYTES);
  const report = (source: number, lineNo: number, reason: string) => {
    counts.invalid++;
    options.onInvalid?.({ source: sources[source].name, lineNo, reason });
  };
  const sender = new Sender(sql, options, counts, settings, report);

  let pending = emptyRows();
  let bytes = 0;
  try {
    for (let s = 0; s < sources.length; s++) {
      const stream = sources[s].stream;
      for await (const lines of readLineBatches(stream, { maxLineBytes })) {
        for (const line of lines) {
          counts.read++;
          if ("tooLong" in line) {
            report(
              s,
              line.lineNo,
              `${what} is ${line.tooLong} bytes, over the ${maxPayloadBytes}-byte cap`,
            );
            continue;
          }
          if ("invalid" in line) {
            report(s, line.lineNo, line.invalid);
            continue;
          }
          const result = parseEventLine(line.text, parseOptions);
          if (result.ok === "blank") {
            counts.blank++;
            continue;
          }
          if (result.ok === false) {
            report(s, line.lineNo, result.reason);
            continue;
          }
          counts.valid++;
          counts.nulReplaced += result.nulReplaced;
          counts.loneSurrogatesReplaced += result.loneSurrogatesReplaced;
          const element = rowText(line.text, result, wrapped);
          const { event } = result;
          pending.elements.push(element);
          pending.types.push(event.eventType);
          pending.keys.push(event.idempotencyKey);
          pending.sources.push(s);
          pending.lineNos.push(line.lineNo);
          bytes += element.length;
          if (pending.elements.length >= settings.batchSize || bytes >= settings.batchBytes) {
            pending = await sender.submit(pending);
            bytes = byteCount(pending);
          }
        }
      }
    }
  } catch (error) {
    // A source failed: let the batches already sent settle (each commits on its own),
    // so that what was stored is stored when this returns.
    await sender.inFlight.waitForAll();
    throw error;
  }
  while (pending.elements.length > 0) {
    pending = await sender.submit(pending);
    // Held rows wait for the batches holding their keys.
    if (pending.elements.length > 0) await sender.inFlight.waitForAll();
  }
  await sender.inFlight.waitForAll();
  sender.rethrow();
}

/**
 * The JSON text a valid line is stored as: the line's own text, unless parsing changed
 * something PostgreSQL would read differently (replaced characters, a leading BOM); then
 * the parsed payload, serialized again.
 */
function rowText(
  text: string,
  result: {
    event: ParsedEvent;
    nulReplaced: number;
    loneSurrogatesReplaced: number;
    attachmentContentDropped?: number;
  },
  wrapped: boolean,
): string {
  // The line's own text goes to the database unless parsing changed something:
  // replaced characters, a leading BOM, attachment content dropped.
  const asIs = result.nulReplaced === 0 && result.loneSurrogatesReplaced === 0 &&
    !result.attachmentContentDropped && !hasBom(text);
  if (asIs) return text;
  const payload = JSON.stringify(result.event.payload);
  return wrapped ? `{"payload":${payload}}` : payload;
}

/**
 * Sends batches: at most `maxInFlight` at once ({@link InFlight}), holding back rows whose
 * key is in a batch not yet committed; counts what each batch stored and reports the rows
 * the database refused. A batch's failure is kept and thrown at the next call.
 */
class Sender {
  readonly inFlight: InFlight;
  #batchNo = 0;
  #failure: { error: unknown } | undefined;

  constructor(
    readonly sql: Sql,
    readonly options: EnqueueOptions,
    readonly counts: Counts,
    readonly settings: RunSettings,
    readonly report: (source: number, lineNo: number, reason: string) => void,
  ) {
    this.inFlight = new InFlight(settings.maxInFlight);
  }

  /** Throws the first failure of a batch, if any. */
  rethrow(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Sends what can be sent of `pending` once a slot is free, and returns the rest: rows
   * whose idempotency key is in a batch still in flight. Those wait for it to commit, so
   * that our own two transactions never wait on each other (nor deadlock) and the first
   * occurrence of a key is the one stored.
   */
  async submit(pending: BatchRows): Promise<BatchRows> {
    await this.inFlight.freeSlot();
    this.rethrow();
    // In strict mode nothing is kept once a line is invalid, but the rows are still
    // sent (and rolled back at the end): only the database can tell which of them it
    // refuses, and --strict reports every invalid line.
    let { send, hold } = this.inFlight.split(pending);
    if (send.elements.length === 0) {
      // Every row waits on a batch in flight (a file of one key, say): wait for those
      // rather than partition again at every line until they commit.
      await this.inFlight.waitForBusy();
      this.rethrow();
      send = pending;
      hold = emptyRows();
    }
    this.#send(send);
    return hold;
  }

  #send(rows: BatchRows): void {
    const { counts, report } = this;
    const n = ++this.#batchNo;
    const t0 = performance.now();
    const wrapped = this.options.type === undefined;
    this.inFlight.track(
      rows.keys,
      (settled) =>
        insertRows(this.sql, rows, { wrapped, savepoint: this.settings.savepoint }).then(
          ({ inserted, rejected }) => {
            settled();
            counts.stored += inserted;
            for (const r of rejected) {
              counts.valid--;
              report(r.source, r.lineNo, r.reason);
            }
            this.options.logger?.debug("batch inserted", {
              batch: n,
              rows: rows.elements.length,
              inserted,
              ms: Math.round(performance.now() - t0),
            });
          },
          // Kept, not thrown: nobody awaits this promise until a later submit.
          (error) => {
            settled();
            this.#failure ??= { error };
          },
        ),
    );
  }
}

function byteCount(rows: BatchRows): number {
  let n = 0;
  for (const e of rows.elements) n += e.length;
  return n;
}
