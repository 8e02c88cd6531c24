/**
 * Server-side limits every session sets, the heartbeat's cap, and URLs that
 * cannot be honoured.
 */
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/connect.ts";
import { UsageError } from "../../src/errors.ts";
import { createLogger } from "../../src/log/logger.ts";
import { runWorker } from "../../src/queue/worker.ts";
import { withTestDatabase } from "../_helpers/db.ts";

const logger = createLogger({ level: "error", write: () => {} });

async function settings(url: string, env: Record<string, string>, command: string) {
  const db = await openDatabase(resolveConfig({ databaseUrl: url }, env), logger, { command });
  try {
    const [r] = await db.sql`
      select current_setting('statement_timeout') as statement,
             current_setting('lock_timeout') as lock,
             current_setting('idle_in_transaction_session_timeout') as idle`;
    return { ...r };
  } finally {
    await db.close();
  }
}

Deno.test("openDatabase() sets statement, lock and idle-in-transaction timeouts; migrate has no statement limit", async () => {
  await withTestDatabase(async ({ url }) => {
    assert.deepEqual(await settings(url, {}, "work"), {
      statement: "1min",
      lock: "30s",
      idle: "1min",
    });
    assert.deepEqual(await settings(url, {}, "migrate"), {
      statement: "0",
      lock: "30s",
      idle: "1min",
    });
    assert.deepEqual(
      await settings(url, {
        CONVO_STATEMENT_TIMEOUT: "5m",
        CONVO_LOCK_TIMEOUT: "0",
        CONVO_IDLE_IN_TRANSACTION_TIMEOUT: "10s",
      }, "queue"),
      { statement: "5min", lock: "0", idle: "10s" },
    );
  });
});

Deno.test("resolveConfig() refuses a multi-host URL and a bad timeout in one line", () => {
  assert.throws(
    () => resolveConfig({ databaseUrl: "postgres://u:secret@db1,db2/app" }, {}),
    // Described, never echoed: no part of the URL, the password least of all.
    (err) =>
      err instanceof UsageError && /one host only/.test(err.message) &&
      !/secret|db1/.test(`${err.message} ${err.hint ?? ""}`),
  );
  assert.throws(
    () => resolveConfig({}, { CONVO_LOCK_TIMEOUT: "soon" }),
    /invalid CONVO_LOCK_TIMEOUT: current value is 'soon'/,
  );
});

Deno.test("runWorker() stops extending a stuck batch's claims after maxHoldMs", async () => {
  const beats: number[] = [];
  let release!: () => void;
  const stuck = new Promise<void>((r) => (release = r));
  const errors: string[] = [];
  const started = performance.now();
  const stats = runWorker({
    claim: () =>
      Promise.resolve([{
        id: 1n,
        eventType: "message.received",
        payload: {},
        attempts: 1,
        receivedAt: new Date(0),
      }]),
    process: async (b) => {
      await stuck;
      return { done: b.length, retried: 0, dead: 0, inserted: 0 };
    },
    heartbeat: () => (beats.push(performance.now() - started), Promise.resolve()),
    waitForWork: () => Promise.resolve(),
    onError: (err) => errors.push((err as Error).message),
  }, {
    batchSize: 1,
    concurrency: 1,
    drain: true,
    maxEvents: 1,
    pollMs: 10,
    heartbeatMs: 10,
    maxHoldMs: 100,
  }, new AbortController().signal);
  // Condition, not timing: wait until the cap has been reported.
  while (errors.length === 0) await new Promise((r) => setTimeout(r, 10));
  const after = beats.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(beats.length, after, "no heartbeat after the cap");
  assert.ok(after >= 1 && after <= 10, `beats: ${after}`);
  assert.match(errors[0], /claims are no longer extended/);
  release();
  assert.equal((await stats).done, 1);
});
