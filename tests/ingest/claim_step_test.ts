/**
 * The worker's claim step hands on only what can be processed: events claimed too often
 * and events too large to hold are dead-lettered, logged and tallied first, and a claim
 * that was all such events is followed by another rather than read as a drained queue.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { claimToProcess } from "../../src/ingest/claim_step.ts";
import { createLogger } from "../../src/log/logger.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { migrate } from "../_helpers/seed.ts";

async function addEvent(sql: Sql, pad: number, attempts = 0): Promise<bigint> {
  const [{ id }] = await sql<{ id: bigint }[]>`
    insert into inbound_events (event_type, payload, attempts)
    values ('message.received', jsonb_build_object('pad', repeat('x', ${pad}::int)), ${attempts})
    returning id`;
  return id;
}

function logger() {
  const lines: string[] = [];
  return {
    lines,
    log: createLogger({ level: "info", format: "json", write: (l) => lines.push(l) }),
  };
}

Deno.test("claimToProcess() dead-letters what was claimed too often or is too large, and tallies it", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    const tired = await addEvent(sql, 10, 2); // its third claim, with 2 allowed
    const big = await addEvent(sql, 5000);
    const fine = await addEvent(sql, 10);
    const { lines, log } = logger();
    const tally = { claimed: 0, dead: 0 };
    const batch = await claimToProcess(sql, 10, {
      visibilityMs: 60_000,
      suspects: true,
      maxAttempts: 2,
      maxEventBytes: 1000,
      logger: log,
      tally,
    });
    assert.deepEqual(batch.map((e) => e.id), [fine]);
    assert.deepEqual(tally, { claimed: 2, dead: 2 });
    const rows = await sql<{ id: bigint; status: string; error: string | null }[]>`
      select id, status, last_error as error from inbound_events order by id`;
    assert.deepEqual(rows.map((r) => [r.id, r.status]), [
      [tired, "dead"],
      [big, "dead"],
      [fine, "processing"],
    ]);
    assert.match(rows[0].error ?? "", /^claimed 3 times without finishing/);
    assert.match(rows[1].error ?? "", /^payload is \d+ bytes as JSON text, over the 1000 bytes/);
    assert.equal(lines.filter((l) => l.includes('"event dead-lettered"')).length, 2);
  });
});

Deno.test("claimToProcess() claims again after a claim that was all dead-lettered", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await addEvent(sql, 5000);
    await addEvent(sql, 5000);
    const fine = await addEvent(sql, 10);
    const tally = { claimed: 0, dead: 0 };
    const options = {
      visibilityMs: 60_000,
      suspects: true,
      maxAttempts: 5,
      maxEventBytes: 1000,
      logger: logger().log,
      tally,
    };
    // Two at a time: the first claim takes the two large ones only.
    assert.deepEqual((await claimToProcess(sql, 2, options)).map((e) => e.id), [fine]);
    assert.deepEqual(tally, { claimed: 2, dead: 2 });
    // Nothing claimable: an empty batch, the drained queue.
    assert.deepEqual(await claimToProcess(sql, 2, options), []);
  });
});
