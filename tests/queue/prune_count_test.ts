/**
 * `countPrunable()` (prune --dry-run) counts what `pruneDone()` deletes.
 */
import assert from "node:assert/strict";
import { pruneDone } from "../../src/queue/prune.ts";
import { countPrunable } from "../../src/queue/prune_count.ts";
import { insertEvent, withMigratedDatabase } from "../_helpers/seed.ts";

Deno.test("countPrunable() counts exactly the events pruneDone() then deletes, changing nothing", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    for (const ago of ["8 days", "8 days", "7 days 1 minute", "6 days", "1 minute"]) {
      await insertEvent(sql, { status: "done", processedAgo: ago });
    }
    await insertEvent(sql, { status: "dead", receivedAgo: "30 days" });
    await insertEvent(sql, { status: "pending", receivedAgo: "30 days" });
    const week = 7 * 86_400_000;
    const counted = await countPrunable(sql, { olderThanMs: week });
    assert.equal(counted.count, 3);
    assert.ok(counted.cutoff instanceof Date);
    assert.equal((await sql`select 1 from inbound_events`).length, 7);
    const pruned = await pruneDone(sql, { olderThanMs: week });
    assert.equal(pruned.deleted, counted.count);
    await assert.rejects(() => countPrunable(sql, { olderThanMs: -1 }), RangeError);
  });
});
