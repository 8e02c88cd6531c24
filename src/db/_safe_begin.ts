/**
 * A guard around postgres.js's `sql.begin` for a driver bug that crashed
 * `convo work` when a backend was terminated mid-batch.
 *
 * postgres.js 3.4.9 (connection.js): when the connection of a transaction
 * closes, `closed()` sets its socket to `null`, rejects the query in flight
 * and rejects `begin` (through `connection.onclose`). The rejected query then
 * makes `begin`'s scope write `ROLLBACK` on that same connection; the write is
 * deferred with `setImmediate` and runs `socket.write` on `null`: an uncaught
 * `TypeError: Cannot read properties of null (reading 'write')` that ended the
 * process, and left the slot's write buffer wedged had it been caught
 * (upstream porsager/postgres#1154, fixes proposed in #1168 and #1176).
 * Reproduced by tests/reliability/outage_test.ts (pg_terminate_backend of the
 * worker's connections while its batch waits on a lock).
 *
 * The guard: when the transaction's body fails with a connection-loss error,
 * it waits briefly for the driver to end the transaction itself. If it did,
 * the connection is gone and the body's promise is left unsettled, so no
 * `ROLLBACK` is written to it (the server rolled back when the session ended);
 * `begin` has already rejected with the connection error. Otherwise (the error
 * came from another connection) the body fails as before and rolls back.
 *
 * @module
 */

// Errors after which the transaction's own connection may be gone.
const LOSS_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "57P01",
  "57P02",
  "57P03",
]);

/** How long the body waits for the driver to end the transaction. */
const SETTLE_MS = 2000;

function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (LOSS_CODES.has(code) || code.startsWith("08"));
}

type Begin = (...args: unknown[]) => Promise<unknown>;

/**
 * Replaces `sql.begin` with the guarded version (in place; returns `sql`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { guardBegin } from "./_safe_begin.ts";
 * const calls: string[] = [];
 * const sql = { begin: (fn: (tx: string) => Promise<string>) => fn("tx") };
 * guardBegin(sql);
 * assert.equal(await sql.begin(async (tx) => (calls.push(tx), "ok")), "ok");
 * assert.deepEqual(calls, ["tx"]);
 * ```
 */
export function guardBegin<T extends { begin: unknown }>(sql: T): T {
  const begin = (sql.begin as Begin).bind(sql);
  const guarded = (...args: unknown[]) => {
    const fn = args.pop() as (tx: unknown) => unknown;
    let ended = false;
    const outer = begin(...args, (tx: unknown) =>
      Promise.resolve()
        .then(() => fn(tx))
        .catch(async (err) => {
          if (!isConnectionLoss(err)) throw err;
          const deadline = Date.now() + SETTLE_MS;
          while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          if (ended) return new Promise<never>(() => {});
          throw err;
        }));
    return outer.finally(() => (ended = true));
  };
  Object.assign(sql, { begin: guarded });
  return sql;
}
