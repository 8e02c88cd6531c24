/**
 * `dropDead()` against a real PostgreSQL: only dead events, also when one
 * changes state between the count and the delete.
 */
import assert from "node:assert/strict";
import { dropDead } from "../../src/queue/drop.ts";
import { whileEventLocked } from "../_helpers/db.ts";
import { insertEvent, withMigratedDatabase } from "../_helpers/seed.ts";

Deno.test("dropDead() leaves an event retried between the count and the delete", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const dead: bigint[] = [];
    for (let i = 0; i < 4; i++) dead.push(await insertEvent(sql, { status: "dead" }));
    const result = await dropDead(sql, {
      allDead: true,
      batchSize: 2,
      // Another session puts one back to pending, and another claims one, after the count.
      onCounted: async (matched) => {
        assert.equal(matched, 4);
        await sql`update inbound_events set status = 'pending' where id = ${dead[1]}`;
        await sql`update inbound_events set status = 'processing' where id = ${dead[2]}`;
      },
    });
    assert.deepEqual(result, { matched: 4, dropped: 2 });
    const left = await sql<{ id: bigint; status: string }[]>`
      select id, status from inbound_events order by id`;
    assert.deepEqual(left.map((r) => [r.id, r.status]), [
      [dead[1], "pending"],
      [dead[2], "processing"],
    ]);
  });
});

Deno.test("dropDead() skips a dead event another transaction holds locked, and does not wait", async () => {
  await withMigratedDatabase(async ({ sql, url }) => {
    const held = await insertEvent(sql, { status: "dead" });
    await insertEvent(sql, { status: "dead" });
    // Were drop to wait for the lock, the statement timeout would fail the test.
    await whileEventLocked({ sql, url }, held, async (guarded) => {
      assert.deepEqual(await dropDead(guarded, { allDead: true }), { matched: 2, dropped: 1 });
    });
    const left = await sql<{ id: bigint }[]>`select id from inbound_events`;
    assert.deepEqual(left.map((r) => r.id), [held]);
  });
});

Deno.test("dropDead() refuses an empty selector unless allDead, and never counts live events", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await assert.rejects(() => dropDead(sql, {}), RangeError);
    await assert.rejects(() => dropDead(sql, { selector: { status: "dead" } }), RangeError);
    const pending = await insertEvent(sql, { status: "pending" });
    const done = await insertEvent(sql, { status: "done" });
    // A selector asking for another status still drops only dead events.
    const r = await dropDead(sql, { selector: { status: "pending", ids: [pending, done] } });
    assert.deepEqual(r, { matched: 0, dropped: 0 });
    assert.equal((await sql`select 1 from inbound_events`).length, 2);
  });
});
