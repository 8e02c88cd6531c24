/**
 * The bulk insert behind `convo enqueue`: one statement per batch, and the isolation of
 * a row the database refuses.
 *
 * The batch goes as one JSON array of `[event_type, idempotency_key, line]` triples, the
 * lines' own text inside (no re-serialization):
 *
 * ```sql
 * insert into inbound_events (event_type, payload, idempotency_key)
 * select r ->> 0, r -> 2 -> 'payload', r ->> 1
 * from jsonb_array_elements($1::text::jsonb) as r
 * on conflict (idempotency_key) do nothing
 * ```
 *
 * (Until issue 10 the types and keys went as two `text[]` parameters zipped by
 * `rows from (…)`; postgres.js escapes every array element in JavaScript. Same batches of
 * 5000, one connection, 60k events, median of 5: client CPU 530 → 470 ms, server the same.)
 *
 * Measured on the 2-core machine of the brief (200k generated events, one batch of 5000
 * at a time on one connection, median of 3; CPU from /proc;
 * `deno run -A tests/bench/enqueue_bench.ts --forms --runs 3`):
 *
 * | form                                         | events/s | client CPU | server CPU |
 * | -------------------------------------------- | -------: | ---------: | ---------: |
 * | `unnest($2::text[]::jsonb[])`, stringified   |   23,503 |    5,890ms |    4,290ms |
 * | `jsonb_to_recordset($1)`, stringified        |   38,319 |    1,520ms |    4,050ms |
 * | `jsonb_array_elements($1)`, lines as is      |   44,725 |      550ms |    3,890ms |
 * | COPY into a temp table, then insert … select |   33,898 |      900ms |    3,790ms |
 *
 * Every form costs the server about the same, ~19 µs of backend CPU a row (the JSON parse,
 * then four indexes, ON CONFLICT's speculative insertion, TOAST compression); the forms
 * differ in what they cost the client, and this one costs least: no re-serialization, no
 * array escaping, no temporary table, one round trip, and a batch commits on its own.
 * (`unnest($2::text[]::jsonb[])` pays postgres.js's escaping of every array element.)
 *
 * `$1::text::jsonb`, not `$1::jsonb`: postgres.js would serialize a parameter the server
 * describes as jsonb with JSON.stringify, turning our array into one JSON string.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import type { EventType } from "../events/types.ts";

/** Attempts of a statement the server aborted as a deadlock victim. */
const DEADLOCK_RETRIES = 3;

/** Rows of one batch, as parallel arrays. */
export interface BatchRows {
  /** JSON text of each row: the envelope line (`wrapped`) or the payload itself. */
  elements: string[];
  /** Event type of each row. */
  types: EventType[];
  /** Idempotency key of each row (`null`: none, never a duplicate). */
  keys: (string | null)[];
  /** Where each row came from: index of its source. */
  sources: number[];
  /** Where each row came from: its line number. */
  lineNos: number[];
}

/** A row the database refused (a value PostgreSQL cannot hold, such as `1e200000`). */
export interface RejectedRow {
  /** Index of its source. */
  source: number;
  /** Its line number. */
  lineNo: number;
  /** Why, without the value. */
  reason: string;
}

/**
 * An empty {@link BatchRows}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyRows } from "./_enqueue_insert.ts";
 * const rows = emptyRows();
 * rows.elements.push('{"payload":{}}');
 * assert.equal(rows.elements.length, 1);
 * assert.equal(emptyRows().elements.length, 0);
 * ```
 */
export function emptyRows(): BatchRows {
  return { elements: [], types: [], keys: [], sources: [], lineNos: [] };
}

function slice(rows: BatchRows, start: number, end: number): BatchRows {
  return {
    elements: rows.elements.slice(start, end),
    types: rows.types.slice(start, end),
    keys: rows.keys.slice(start, end),
    sources: rows.sources.slice(start, end),
    lineNos: rows.lineNos.slice(start, end),
  };
}

/** Runs the insert statement; resolves to the number of rows inserted. */
async function insertStatement(sql: Sql, rows: BatchRows, wrapped: boolean): Promise<number> {
  const json = batchJson(rows);
  const result = wrapped
    ? await sql`
        insert into inbound_events (event_type, payload, idempotency_key)
        select r ->> 0, r -> 2 -> 'payload', r ->> 1
        from jsonb_array_elements(${json}::text::jsonb) as r
        on conflict (idempotency_key) do nothing`
    : await sql`
        insert into inbound_events (event_type, payload, idempotency_key)
        select r ->> 0, r -> 2, r ->> 1
        from jsonb_array_elements(${json}::text::jsonb) as r
        on conflict (idempotency_key) do nothing`;
  return result.count;
}

/**
 * The batch as one JSON array of `[event_type, idempotency_key, line]` triples, the line's
 * own text inside. Types and keys ride in the same parameter: as `text[]` parameters,
 * postgres.js escaped every element in JavaScript (`arrayEscape`, ~3 % of the client's
 * CPU), where `JSON.stringify` of a key is native.
 */
function batchJson(rows: BatchRows): string {
  const n = rows.elements.length;
  if (n === 0) return "[]";
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const key = rows.keys[i];
    parts[i] = `["${rows.types[i]}",${key === null ? "null" : JSON.stringify(key)},${
      rows.elements[i]
    }]`;
  }
  // The brackets ride on the first and last part, so that the join builds the one flat
  // string postgres.js sends: `"[" + joined + "]"` made a rope that was copied whole
  // again when it was sent (5 % of what enqueue allocated).
  parts[0] = "[" + parts[0];
  parts[n - 1] += "]";
  return parts.join(",");
}

/**
 * A value of a row that PostgreSQL refuses while the client accepted it: class 22 (data
 * exception: a number beyond `numeric`, a character the database encoding lacks) or 54
 * (program limit exceeded).
 */
function isDataError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("54"));
}

/** The server's message without anything quoted (it may quote the value). */
function describe(error: Error & { code: string }): string {
  const message = error.message.replace(/"[^"]*"/g, "…").replace(/\s+/g, " ").slice(0, 160);
  return `rejected by the database: ${message} (SQLSTATE ${error.code})`;
}

/** Options of {@link insertRows}. */
export interface InsertRowsOptions {
  /** Whether elements are envelopes (payload under `payload`) or payloads. */
  wrapped: boolean;
  /**
   * Inside a transaction: run each attempt in a savepoint so that a refused row does
   * not abort the transaction.
   */
  savepoint?: (fn: (sql: Sql) => Promise<number>) => Promise<number>;
}

/**
 * Inserts a batch; when the database refuses it for a value, splits it in halves until
 * the refused rows are found (the others are inserted), and reports those.
 *
 * @returns rows inserted and rows refused.
 * @example Usage
 * ```ts ignore
 * import { emptyRows, insertRows } from "./_enqueue_insert.ts";
 * const rows = emptyRows();
 * rows.elements.push('{"event_type":"twilio.message","payload":{"MessageSid":"SM1"}}');
 * rows.types.push("twilio.message");
 * rows.keys.push("twilio.message:SM1");
 * rows.sources.push(0);
 * rows.lineNos.push(1);
 * const { inserted, rejected } = await insertRows(sql, rows, { wrapped: true });
 * // inserted: 1 (0 if the key was already queued), rejected: []
 * ```
 */
export async function insertRows(
  sql: Sql,
  rows: BatchRows,
  options: InsertRowsOptions,
): Promise<{ inserted: number; rejected: RejectedRow[] }> {
  const rejected: RejectedRow[] = [];
  const once = (part: BatchRows) =>
    options.savepoint
      ? options.savepoint((sp) => insertStatement(sp, part, options.wrapped))
      : insertStatement(sql, part, options.wrapped);
  // Another producer inserting the same keys in another order can deadlock with us; the
  // server aborts one of the two statements (40P01), which is then safe to run again.
  const attempt = async (part: BatchRows): Promise<number> => {
    for (let tries = 1;; tries++) {
      try {
        return await once(part);
      } catch (error) {
        if ((error as { code?: unknown })?.code !== "40P01" || tries >= DEADLOCK_RETRIES) {
          throw error;
        }
      }
    }
  };
  const run = async (part: BatchRows): Promise<number> => {
    try {
      return await attempt(part);
    } catch (error) {
      if (!isDataError(error)) throw error;
      const n = part.elements.length;
      if (n === 1) {
        rejected.push({
          source: part.sources[0],
          lineNo: part.lineNos[0],
          reason: describe(error),
        });
        return 0;
      }
      const mid = n >> 1;
      return await run(slice(part, 0, mid)) + await run(slice(part, mid, n));
    }
  };
  const inserted = rows.elements.length === 0 ? 0 : await run(rows);
  return { inserted, rejected };
}
