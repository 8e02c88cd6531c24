/**
 * The SQL function `convo_enqueue(event_type, payload, idempotency_key)` (migration
 * 20261203150000), the producer contract for producers other than `convo enqueue`,
 * against a real PostgreSQL: its return value, the one idempotency rule it shares with
 * `convo enqueue`, its refusals, its wake-up, and a worker draining what it stored.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { resolveConfig } from "../../src/config.ts";
import { EVENT_TYPES } from "../../src/events/types.ts";
import { startWork } from "../../src/ingest/work.ts";
import { createLogger } from "../../src/log/logger.ts";
import { QUEUE_CHANNEL } from "../../src/queue/channel.ts";
import { enqueue, type EnqueueSummary } from "../../src/queue/enqueue.ts";
import { FIXTURE_ENDPOINTS, seedEndpoints, withMigratedDatabase } from "../_helpers/seed.ts";
import { until } from "../_helpers/until.ts";

const quiet = createLogger({ level: "error", write: () => {} });

const payload = (id: string) => ({
  channel: "sms",
  provider_message_id: id,
  from: "+14155550142",
  to: "+14155550100",
  body: `message ${id}`,
  sent_at: "2024-05-01T16:00:03Z",
});

async function viaFunction(
  sql: Sql,
  type: string,
  body: unknown,
  key: string | null = null,
): Promise<boolean> {
  const [{ stored }] = await sql<{ stored: boolean }[]>`
    select convo_enqueue(${type}, ${JSON.stringify(body)}::text::jsonb, ${key}) as stored`;
  return stored;
}

function viaCli(sql: Sql, line: string): Promise<EnqueueSummary> {
  return enqueue(sql, [{
    name: "stdin",
    stream: ReadableStream.from([new TextEncoder().encode(line + "\n")]),
  }], { maxPayloadBytes: 262_144 });
}

async function queued(sql: Sql): Promise<{ event_type: string; idempotency_key: string | null }[]> {
  return [
    ...await sql<{ event_type: string; idempotency_key: string | null }[]>`
      select event_type, idempotency_key from inbound_events order by id`,
  ];
}

async function refusal(sql: Sql, type: string, body: unknown, key: string | null) {
  try {
    await viaFunction(sql, type, body, key);
  } catch (error) {
    return error as Error & { code?: string; hint?: string };
  }
  assert.fail(`convo_enqueue(${type}, …, ${key}) was accepted`);
}

Deno.test("convo_enqueue() returns true for a new event and false for its duplicate key", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    assert.equal(await viaFunction(sql, "message.received", payload("SM1"), "acme:SM1"), true);
    assert.equal(await viaFunction(sql, "message.received", payload("SM1"), "acme:SM1"), false);
    assert.equal(await viaFunction(sql, "message.received", payload("SM2"), "acme:SM2"), true);
    assert.deepEqual(await queued(sql), [
      { event_type: "message.received", idempotency_key: "acme:SM1" },
      { event_type: "message.received", idempotency_key: "acme:SM2" },
    ]);
  });
});

Deno.test("convo_enqueue() without a key stores every call (no queue-level dedup)", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    assert.equal(await viaFunction(sql, "message.received", payload("SM1")), true);
    assert.equal(await viaFunction(sql, "message.received", payload("SM1")), true);
    assert.equal((await queued(sql)).length, 2);
  });
});

Deno.test("convo_enqueue() and convo enqueue agree: the same key through either is one event", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    // convo enqueue first, then the function.
    const line = JSON.stringify({
      event_type: "message.received",
      payload: payload("SM1"),
      idempotency_key: "acme:SM1",
    });
    const first = await viaCli(sql, line);
    assert.equal(first.stored, 1);
    assert.equal(await viaFunction(sql, "message.received", payload("SM1"), "acme:SM1"), false);

    // The function first, then convo enqueue.
    assert.equal(await viaFunction(sql, "message.received", payload("SM2"), "acme:SM2"), true);
    const second = await viaCli(
      sql,
      JSON.stringify({
        event_type: "message.received",
        payload: payload("SM2"),
        idempotency_key: "acme:SM2",
      }),
    );
    assert.equal(second.stored, 0);
    assert.equal(second.duplicates, 1);

    assert.deepEqual((await queued(sql)).map((r) => r.idempotency_key), ["acme:SM1", "acme:SM2"]);
  });
});

Deno.test("convo_enqueue() refuses a key with the reserved convo: prefix, as convo enqueue does", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const error = await refusal(sql, "message.received", payload("SM1"), "convo:v1:x:SM1");
    assert.equal(error.code, "22023");
    assert.match(
      error.message,
      /convo_enqueue: idempotency_key: the prefix 'convo:' is reserved for derived keys/,
    );
    assert.match(error.hint ?? "", /send your own key/);

    const cli = await viaCli(
      sql,
      JSON.stringify({
        event_type: "message.received",
        payload: payload("SM1"),
        idempotency_key: "convo:v1:x:SM1",
      }),
    );
    assert.equal(cli.invalid, 1);
    assert.deepEqual(await queued(sql), []);
  });
});

Deno.test("convo_enqueue() refuses an unknown event type, a blank key, a non-object payload", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const unknown = await refusal(sql, "sms", payload("SM1"), "k1");
    assert.match(unknown.message, /convo_enqueue: unknown event_type 'sms'/);
    assert.equal(unknown.hint, `expected one of ${EVENT_TYPES.join(", ")}`);
    assert.match((await refusal(sql, "message.received", payload("SM1"), "  ")).message, /blank/);
    assert.match(
      (await refusal(sql, "message.received", payload("SM1"), "k".repeat(201))).message,
      /over the 200-character limit/,
    );
    assert.match(
      (await refusal(sql, "message.received", [1], "k1")).message,
      /payload: expected a JSON object, got array/,
    );
    assert.deepEqual(await queued(sql), []);
  });
});

Deno.test("convo_enqueue() accepts every event type convo enqueue knows", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    for (const type of EVENT_TYPES) {
      assert.equal(await viaFunction(sql, type, {}, `key:${type}`), true, type);
    }
  });
});

Deno.test("convo_enqueue() wakes listening workers (the insert trigger notifies)", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    let woken = 0;
    const listener = await sql.listen(QUEUE_CHANNEL, () => woken++);
    try {
      assert.equal(await viaFunction(sql, "message.received", payload("SM1"), "acme:SM1"), true);
      await until("the notification arrives", () => Promise.resolve(woken > 0));
    } finally {
      await listener.unlisten();
    }
  });
});

Deno.test("convo_enqueue() events are processed by convo work into messages", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    assert.equal(await viaFunction(sql, "message.received", payload("SM1"), "acme:SM1"), true);
    assert.equal(await viaFunction(sql, "message.received", payload("SM2")), true);
    assert.equal(await viaFunction(sql, "message.received", payload("SM2")), true); // a replay
    const result = await startWork(resolveConfig({}, { DATABASE_URL: url }), quiet, {
      drain: true,
      batchSize: 10,
      concurrency: 1,
      visibilityMs: 60_000,
      maxAttempts: 3,
      retryDelayMs: 1000,
      pollMs: 50,
    }, new AbortController().signal);
    assert.equal(result.done, 3);
    assert.equal(result.dead, 0);
    const messages = await sql<{ provider_message_id: string }[]>`
      select provider_message_id from messages order by provider_message_id`;
    assert.deepEqual(messages.map((m) => m.provider_message_id), ["SM1", "SM2"]);
  });
});

Deno.test("convo_enqueue() refuses a payload over the cap as text, numbers written out in full", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    // 35 bytes as JSON, 393,229 as the text the worker reads (migration 20261204180000).
    const text = `{"x":[1e131071,1e131071,1e131071]}`;
    const call = (s: Sql) =>
      s`select convo_enqueue('message.received', ${text}::text::jsonb, 'k-1')`;
    try {
      await call(sql);
      assert.fail("a payload of 393,229 bytes as text was accepted");
    } catch (error) {
      const e = error as Error & { code?: string; hint?: string };
      assert.equal(e.code, "22023");
      assert.equal(
        e.message,
        "convo_enqueue: payload is 393229 bytes as text, over the 262144-byte cap",
      );
      assert.match(e.hint ?? "", /send such numbers as strings/);
    }
    assert.deepEqual(await queued(sql), []);
    // The cap is a setting, as CONVO_MAX_PAYLOAD_BYTES is for convo enqueue.
    await sql.begin(async (tx) => {
      await tx`set local convo.max_payload_bytes = 500000`;
      await call(tx as unknown as Sql);
    });
    assert.deepEqual(await queued(sql), [{
      event_type: "message.received",
      idempotency_key: "k-1",
    }]);
  });
});
