import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { claimEvents } from "../../src/queue/claim.ts";
import { recordOutcomes } from "../../src/queue/outcomes.ts";
import { pruneDone } from "../../src/queue/prune.ts";
import { whileEventLocked } from "../_helpers/db.ts";
import { insertEvent, withMigratedDatabase } from "../_helpers/seed.ts";

const DAY = 86_400_000;

/**
 * 25 done events processed 8 days ago and, interleaved by id, events that
 * must stay: done 6 days ago, and old events in every other state.
 */
async function fixture(sql: Sql): Promise<{ old: bigint[]; keep: bigint[] }> {
  const old: bigint[] = [];
  const keep: bigint[] = [];
  for (let i = 0; i < 25; i++) {
    old.push(
      await insertEvent(sql, { status: "done", receivedAgo: "9 days", processedAgo: "8 days" }),
    );
    if (i % 5 === 0) {
      keep.push(
        await insertEvent(sql, { status: "done", receivedAgo: "9 days", processedAgo: "6 days" }),
      );
      keep.push(await insertEvent(sql, { status: "pending", receivedAgo: "9 days" }));
      keep.push(await insertEvent(sql, { status: "dead", receivedAgo: "9 days", attempts: 5 }));
      keep.push(await insertEvent(sql, { status: "processing", receivedAgo: "9 days" }));
    }
  }
  return { old, keep };
}

async function ids(sql: Sql): Promise<bigint[]> {
  return (await sql<{ id: bigint }[]>`select id from inbound_events order by id`).map((r) => r.id);
}

Deno.test("pruneDone() deletes only done events processed before the cutoff", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const { keep } = await fixture(sql);
    const result = await pruneDone(sql, { olderThanMs: 7 * DAY });
    assert.equal(result.deleted, 25);
    assert.equal(result.batches, 1);
    assert.deepEqual(await ids(sql), keep);

    const [{ cutoff }] = await sql<{ cutoff: Date }[]>`select now() - interval '7 days' as cutoff`;
    assert.ok(result.cutoff <= cutoff);

    const again = await pruneDone(sql, { olderThanMs: 7 * DAY });
    assert.deepEqual([again.deleted, again.batches], [0, 1]);
    assert.deepEqual(await ids(sql), keep);
  });
});

Deno.test("pruneDone() works in batches until none are left", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const { keep } = await fixture(sql);
    const progress: number[] = [];
    const result = await pruneDone(sql, {
      olderThanMs: 7 * DAY,
      batchSize: 10,
      onBatch: (n) => progress.push(n),
    });
    // 25 rows in batches of 10: 10, 10, 5.
    assert.equal(result.deleted, 25);
    assert.equal(result.batches, 3);
    assert.deepEqual(progress, [10, 20, 25]);
    assert.deepEqual(await ids(sql), keep);
  });
});

Deno.test("pruneDone() with an exact multiple of the batch size ends with an empty batch", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const { keep } = await fixture(sql);
    const result = await pruneDone(sql, { olderThanMs: 7 * DAY, batchSize: 5 });
    assert.deepEqual([result.deleted, result.batches], [25, 6]);
    assert.deepEqual(await ids(sql), keep);
  });
});

Deno.test("pruneDone() with 0 deletes every done event processed before now", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const { keep } = await fixture(sql);
    const result = await pruneDone(sql, { olderThanMs: 0, batchSize: 7 });
    assert.equal(result.deleted, 30);
    const left = await sql`select status from inbound_events where status = 'done'`;
    assert.equal(left.length, 0);
    assert.equal((await ids(sql)).length, keep.length - 5);
  });
});

Deno.test("pruneDone() leaves rows another transaction holds locked, and does not wait for them", async () => {
  await withMigratedDatabase(async ({ sql, url }) => {
    const { old, keep } = await fixture(sql);
    const held = old[3];
    // Were prune to wait for the lock, the statement timeout would fail the
    // test instead of hanging it.
    await whileEventLocked({ sql, url }, held, async (guarded) => {
      const result = await pruneDone(guarded, { olderThanMs: 7 * DAY, batchSize: 10 });
      assert.equal(result.deleted, 24);
    });
    assert.deepEqual(await ids(sql), [...keep, held].sort((a, b) => (a < b ? -1 : 1)));
  });
});

Deno.test("pruneDone() refuses a negative age and a bad batch size", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await assert.rejects(() => pruneDone(sql, { olderThanMs: -1 }), RangeError);
    await assert.rejects(() => pruneDone(sql, { olderThanMs: 1, batchSize: 0 }), RangeError);
    await assert.rejects(() => pruneDone(sql, { olderThanMs: 1, batchSize: 1.5 }), RangeError);
  });
});

Deno.test("pruneDone() with status dead deletes dead events that died before the cutoff, nothing else", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const { keep } = await fixture(sql);
    const deadOld = [
      await insertEvent(sql, { status: "dead", receivedAgo: "40 days", attempts: 1 }),
      await insertEvent(sql, { status: "dead", receivedAgo: "40 days", attempts: 1 }),
    ];
    await sql`update inbound_events set processed_at = now() - interval '31 days'
      where id = any(${deadOld.map(String)}::bigint[])`;
    await sql`update inbound_events set processed_at = now() - interval '1 day'
      where status = 'dead' and processed_at is null`;
    const before = await ids(sql);
    const result = await pruneDone(sql, { olderThanMs: 30 * DAY, status: "dead", batchSize: 1 });
    assert.equal(result.deleted, 2);
    assert.deepEqual(await ids(sql), before.filter((id) => !deadOld.includes(id)));
    assert.ok(keep.every((id) => before.includes(id)));
  });
});

Deno.test("pruneDone() reads the finished events' index, in order, without sorting", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await sql`set enable_seqscan = off`;
    for (const status of ["done", "dead"]) {
      const plan = await sql.unsafe(
        `explain select id from inbound_events
         where status = '${status}' and processed_at < now()
           and (processed_at, id) > (now() - interval '1 year', 0::bigint)
         order by processed_at, id limit 100`,
      );
      const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
      assert.match(text, /Index (Only )?Scan using inbound_events_finished_idx/, text);
      assert.doesNotMatch(text, /Sort/, text);
    }
  });
});

Deno.test("recordOutcomes() stamps processed_at on dead events: when they died", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const id = await insertEvent(sql, { status: "pending", receivedAgo: "1 day" });
    const [e] = await claimEvents(sql, 1, 60_000);
    await recordOutcomes(sql, [{ id, attempts: e.attempts, status: "dead", error: "x" }]);
    const [r] = await sql`select processed_at > now() - interval '1 minute' as recent
      from inbound_events where id = ${id}`;
    assert.equal(r.recent, true);
  });
});
