import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { claimEvents } from "../../src/queue/claim.ts";
import { extendClaims } from "../../src/queue/extend.ts";
import { recordOutcomes } from "../../src/queue/outcomes.ts";
import { releaseEvents } from "../../src/queue/release.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { migrate } from "../_helpers/seed.ts";

async function addEvents(sql: Sql, n: number, offsetSeconds = 0): Promise<void> {
  await sql`
    insert into inbound_events (event_type, payload, available_at)
    select 'message.received', jsonb_build_object('n', i), now() + ${offsetSeconds} * interval '1 second'
    from generate_series(1, ${n}) i`;
}

const state = (sql: Sql) =>
  sql<{ id: bigint; status: string; attempts: number; error: string | null }[]>`
    select id, status, attempts, last_error as error from inbound_events order by id`;

Deno.test("claimEvents() takes the oldest due events, marks them processing and counts the attempt", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await addEvents(sql, 5);
    await addEvents(sql, 2, 3600); // not due yet
    const batch = await claimEvents(sql, 3, 60_000);
    assert.deepEqual(batch.map((e) => e.id), [1n, 2n, 3n]);
    assert.ok(batch.every((e) => e.attempts === 1 && e.eventType === "message.received"));
    assert.deepEqual(batch[0].payload, { n: 1 });
    const rows = await state(sql);
    assert.deepEqual(rows.map((r) => r.status), [
      "processing",
      "processing",
      "processing",
      "pending",
      "pending",
      "pending",
      "pending",
    ]);
    const rest = await claimEvents(sql, 10, 60_000);
    assert.deepEqual(rest.map((e) => e.id), [4n, 5n], "future events are not claimable");
  });
});

Deno.test("claimEvents() from concurrent sessions never hands out an event twice", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await addEvents(sql, 400);
    const batches = await Promise.all(
      Array.from({ length: 8 }, () => claimEvents(sql, 60, 60_000)),
    );
    const ids = batches.flat().map((e) => e.id.toString());
    assert.equal(ids.length, 400);
    assert.equal(new Set(ids).size, 400);
  });
});

Deno.test("an expired claim is claimable again, and the old claim can no longer complete it", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await addEvents(sql, 2);
    const first = await claimEvents(sql, 2, 1000);
    assert.equal((await claimEvents(sql, 2, 1000)).length, 0, "held while the claim lasts");
    // The worker holding it died: a second later the claim has expired.
    await sql`update inbound_events set locked_until = now() - interval '1 ms', available_at = now() - interval '1 ms'`;
    // Suspects now (their claim expired): claimed one at a time.
    const second = [...await claimEvents(sql, 2, 60_000), ...await claimEvents(sql, 2, 60_000)];
    assert.deepEqual(second.map((e) => [e.id, e.attempts, e.expired]), [[1n, 2, true], [
      2n,
      2,
      true,
    ]]);
    // The first claim wakes up and tries to finish: nothing changes.
    const stale = await recordOutcomes(
      sql,
      first.map((e) => ({ id: e.id, attempts: e.attempts, status: "done" as const })),
    );
    assert.equal(stale.length, 0);
    assert.equal(await extendClaims(sql, first, 60_000), 0);
    const fresh = await recordOutcomes(
      sql,
      second.map((e) => ({ id: e.id, attempts: e.attempts, status: "done" as const })),
    );
    assert.equal(fresh.length, 2);
    assert.deepEqual((await state(sql)).map((r) => r.status), ["done", "done"]);
  });
});

Deno.test("claimEvents() claims a suspect (its claim expired) alone, and none when told not to", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await addEvents(sql, 3);
    await claimEvents(sql, 2, 60_000); // 1 and 2: their worker dies
    await sql`update inbound_events set locked_until = now() - interval '1 hour',
      available_at = now() - interval '1 hour' where id <= 2`;
    await addEvents(sql, 2); // 4 and 5
    assert.deepEqual(
      await claimEvents(sql, 10, 60_000, { suspects: false }),
      [],
      "a suspect heads the queue",
    );
    const [one, ...none] = await claimEvents(sql, 10, 60_000);
    assert.deepEqual([one.id, one.attempts, one.expired, none.length], [1n, 2, true, 0]);
    const [two, ...rest] = await claimEvents(sql, 10, 60_000);
    assert.deepEqual([two.id, two.expired, rest.length], [2n, true, 0]);
    const fresh = await claimEvents(sql, 10, 60_000, { suspects: false });
    assert.deepEqual(fresh.map((e) => [e.id, e.expired]), [[3n, undefined], [4n, undefined], [
      5n,
      undefined,
    ]]);
  });
});

Deno.test("claimEvents() with maxBytes stops once the payloads reach it; the first is always taken", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await sql`
      insert into inbound_events (event_type, payload)
      select 'message.received', jsonb_build_object('pad', repeat('x', 990))
      from generate_series(1, 6)`;
    const [{ bytes }] =
      await sql`select octet_length(payload::text) as bytes from inbound_events limit 1`;
    const first = await claimEvents(sql, 10, 60_000, { maxBytes: 2 * bytes + 1 });
    assert.deepEqual(
      first.map((e) => e.id),
      [1n, 2n, 3n],
      "stops after the one crossing the budget",
    );
    const one = await claimEvents(sql, 10, 60_000, { maxBytes: 10 });
    assert.deepEqual(one.map((e) => e.id), [4n], "one event over the budget still comes");
    assert.equal((await claimEvents(sql, 10, 60_000)).length, 2);
  });
});

Deno.test("claimEvents() with maxEventBytes leaves a larger payload in the database and says its size", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await sql`
      insert into inbound_events (event_type, payload)
      select 'message.received', jsonb_build_object('pad', repeat('x', n))
      from unnest(array[10, 5000, 20, 4000]) n`;
    const sizes = await sql<{ bytes: number }[]>`
      select octet_length(payload::text) as bytes from inbound_events order by id`;
    const batch = await claimEvents(sql, 10, 60_000, { maxEventBytes: 3000 });
    assert.deepEqual(
      batch.map((e) => [e.id, e.oversize, e.payload === null]),
      [[1n, undefined, false], [2n, sizes[1].bytes, true], [3n, undefined, false], [
        4n,
        sizes[3].bytes,
        true,
      ]],
    );
    assert.deepEqual(batch[0].payload, { pad: "x".repeat(10) });
    // Claimed like the others: the worker records their outcome.
    assert.ok((await state(sql)).every((r) => r.status === "processing" && r.attempts === 1));
  });
});

Deno.test("recordOutcomes() sets done, dead with the error, or pending after the delay", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await addEvents(sql, 3);
    const [a, b, c] = await claimEvents(sql, 3, 60_000);
    await recordOutcomes(sql, [
      { id: a.id, attempts: a.attempts, status: "done" },
      { id: b.id, attempts: b.attempts, status: "dead", error: "bad payload" },
      { id: c.id, attempts: c.attempts, status: "retry", error: "deadlock", delayMs: 30_000 },
    ]);
    const rows = await sql`
      select status, last_error, processed_at is not null as processed, locked_until,
             round(extract(epoch from available_at - now())) as due_in
      from inbound_events order by id`;
    assert.deepEqual(rows.map((r) => [r.status, r.last_error, r.processed, r.locked_until]), [
      ["done", null, true, null],
      ["dead", "bad payload", true, null], // processed_at: when it died
      ["pending", "deadlock", false, null],
    ]);
    assert.ok(Math.abs(Number(rows[2].due_in) - 30) <= 1);
    assert.equal((await claimEvents(sql, 3, 60_000)).length, 0, "the retry waits for its backoff");
  });
});

Deno.test("releaseEvents() gives a batch back without counting the attempt", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await addEvents(sql, 2);
    const batch = await claimEvents(sql, 2, 60_000);
    assert.equal(await releaseEvents(sql, batch), 2);
    assert.deepEqual((await state(sql)).map((r) => [r.status, r.attempts]), [["pending", 0], [
      "pending",
      0,
    ]]);
    assert.equal((await claimEvents(sql, 5, 60_000)).length, 2);
  });
});

Deno.test("extendClaims() moves locked_until forward and skips rows locked by a committing batch", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await addEvents(sql, 2);
    const batch = await claimEvents(sql, 2, 1000);
    assert.equal(await extendClaims(sql, batch, 600_000), 2);
    const [{ secs }] = await sql`
      select min(extract(epoch from locked_until - now()))::int as secs from inbound_events`;
    assert.ok(secs > 500);
    const held = await sql.reserve();
    try {
      await held`begin`;
      await held`select 1 from inbound_events where id = 1 for update`;
      assert.equal(
        await extendClaims(sql, batch, 600_000),
        1,
        "the locked row is skipped, not waited for",
      );
      await held`rollback`;
    } finally {
      held.release();
    }
  });
});
