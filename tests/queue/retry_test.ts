import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { QUEUE_CHANNEL } from "../../src/queue/channel.ts";
import { retryDead } from "../../src/queue/retry.ts";
import { insertEvent, withMigratedDatabase } from "../_helpers/seed.ts";

/** Every event's state, by id, for before/after comparisons. */
async function snapshot(sql: Sql) {
  return await sql`
    select id, status, attempts, available_at, locked_until, processed_at, last_error
    from inbound_events order by id`;
}

/** One event in each state but dead, and three dead ones. */
async function fixture(sql: Sql) {
  const others = [
    await insertEvent(sql, {
      status: "pending",
      attempts: 2,
      availableIn: "5 minutes",
      lastError: "timeout",
    }),
    await insertEvent(sql, { status: "processing", attempts: 1 }),
    await insertEvent(sql, { status: "done", attempts: 1 }),
  ];
  const dead = [];
  for (let i = 0; i < 3; i++) {
    dead.push(
      await insertEvent(sql, {
        status: "dead",
        attempts: 5,
        availableIn: "-1 hour",
        lastError: `no endpoint mapping (${i})`,
      }),
    );
  }
  return { others, dead };
}

Deno.test("retryDead() puts every dead event back to pending, claimable now, attempts reset", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const { others, dead } = await fixture(sql);
    const before = await snapshot(sql);
    const result = await retryDead(sql);
    assert.deepEqual(result, { retried: 3, notDead: [] });

    const after = await snapshot(sql);
    const [{ now }] = await sql<{ now: Date }[]>`select now()`;
    for (const row of after) {
      if (dead.includes(row.id)) {
        assert.equal(row.status, "pending");
        assert.equal(row.attempts, 0);
        assert.equal(row.locked_until, null);
        assert.equal(row.processed_at, null);
        assert.ok(row.available_at <= now, "claimable at once");
        // Kept as the record of why it died, until the next attempt.
        assert.match(row.last_error, /^no endpoint mapping \(\d\)$/);
      }
    }
    // The others are untouched, to the microsecond.
    const untouched = (rows: typeof before) => rows.filter((r) => others.includes(r.id));
    assert.deepEqual(untouched(after), untouched(before));

    assert.deepEqual(await retryDead(sql), { retried: 0, notDead: [] });
  });
});

Deno.test("retryDead() with ids retries only those dead ones and reports the rest", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const { others, dead } = await fixture(sql);
    const before = await snapshot(sql);
    const missing = 999_999n;
    const result = await retryDead(sql, {
      ids: [dead[1], others[2], missing, dead[1], others[0]],
    });
    assert.equal(result.retried, 1);
    assert.deepEqual(
      result.notDead,
      [others[0], others[2], missing].sort((a, b) => (a < b ? -1 : 1)),
    );

    const after = await snapshot(sql);
    for (let i = 0; i < after.length; i++) {
      if (after[i].id === dead[1]) {
        assert.equal(after[i].status, "pending");
        assert.equal(after[i].attempts, 0);
      } else {
        assert.deepEqual(after[i], before[i], `event ${after[i].id} untouched`);
      }
    }

    assert.deepEqual(await retryDead(sql, { ids: [] }), { retried: 0, notDead: [] });
  });
});

Deno.test("retryDead() notifies the queue's channel once it commits, and only when it retried", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const { dead } = await fixture(sql);
    const heard: string[] = [];
    const waiting = new Map<string, () => void>();
    const listener = await sql.listen(QUEUE_CHANNEL, (payload) => {
      heard.push(payload);
      waiting.get(payload)?.();
    });
    // Notifications arrive in commit order: once a marker sent after a retry is
    // heard, any notification of that retry has been heard before it.
    const mark = async (marker: string) => {
      const heardIt = new Promise<void>((resolve) => waiting.set(marker, resolve));
      await sql`select pg_notify(${QUEUE_CHANNEL}, ${marker})`;
      await heardIt;
    };
    try {
      await retryDead(sql, { ids: [12345n] });
      await mark("after nothing retried");
      assert.deepEqual(heard, ["after nothing retried"]);
      await retryDead(sql, { ids: [dead[0]] });
      await mark("after one retried");
      assert.deepEqual(heard, ["after nothing retried", "", "after one retried"]);
    } finally {
      await listener.unlisten();
    }
  });
});
