/**
 * `convo work` as operators run it: real processes against one queue.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { execCli, runCli, spawnCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import {
  contendedLines,
  countersExact,
  FIXTURE_ENDPOINTS,
  migrate,
  seedEndpoints,
  seedManyEvents,
} from "../_helpers/seed.ts";
import { until, untilWorkerWaitsOnLock } from "../_helpers/until.ts";

async function statuses(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from inbound_events group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function setup(sql: Sql, n: number): Promise<void> {
  await migrate(sql);
  await seedEndpoints(sql, FIXTURE_ENDPOINTS);
  await seedManyEvents(sql, contendedLines(n));
}

Deno.test("convo work: four processes on one queue process each event once, no deadlock, exact counters", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await setup(sql, 3000);
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() =>
        execCli(["work", "--drain", "--batch-size", "100"], { env: { DATABASE_URL: url } })
      ),
    );
    let claimed = 0;
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /deadlock|database error|will be retried|one by one/i);
      const m = /claimed (\d+), done (\d+), retried 0, dead 0/.exec(r.stdout);
      assert.ok(m, r.stdout);
      claimed += Number(m[1]);
    }
    assert.equal(claimed, 3000, "every event claimed by exactly one process");
    assert.deepEqual(await statuses(sql), { done: 3000 });
    const [{ again }] =
      await sql`select count(*)::int as again from inbound_events where attempts <> 1`;
    assert.equal(again, 0, "no event was processed twice");
    assert.deepEqual(await countersExact(sql), { wrong: 0, messages: 3000 });
    const [{ dupContacts }] = await sql`
      select count(*)::int as "dupContacts" from (select customer_id, kind, address_id from contact_addresses
      group by 1, 2, 3 having count(*) > 1) d`;
    assert.equal(dupContacts, 0);
  });
});

Deno.test("convo work: a worker killed with SIGKILL mid-batch loses and doubles nothing", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await setup(sql, 300);
    // Hold the customer row so the worker's first write blocks: it is then
    // certainly mid-batch when it is killed.
    const blocker = await sql.reserve();
    await blocker`begin`;
    await blocker`select id from customers for update`;
    const victim = spawnCli(
      ["work", "--drain", "--batch-size", "300", "--visibility-timeout", "2s"],
      { env: { DATABASE_URL: url } },
    );
    await untilWorkerWaitsOnLock(sql, "the worker waits inside its batch");
    assert.equal((await statuses(sql)).processing, 300);
    victim.kill("SIGKILL");
    const killed = await victim.output();
    assert.equal(killed.signal, "SIGKILL");
    await blocker`rollback`;
    blocker.release();

    await until("the dead worker's claims expire", async () => {
      const [r] = await sql`
        select count(*)::int as n from inbound_events where status = 'processing' and locked_until > now()`;
      return r.n === 0;
    });
    const rescue = await execCli(["work", "--drain"], { env: { DATABASE_URL: url } });
    assert.equal(rescue.code, 0, rescue.stderr);
    assert.match(rescue.stdout, /claimed 300, done 300, retried 0, dead 0; inserted 300 message/);
    assert.deepEqual(await statuses(sql), { done: 300 });
    const [{ attempts }] =
      await sql`select array_agg(distinct attempts) as attempts from inbound_events`;
    assert.deepEqual(attempts, [2], "each event: one killed attempt, one that finished");
    assert.deepEqual(await countersExact(sql), { wrong: 0, messages: 300 });
  });
});

Deno.test("convo work: SIGTERM mid-batch finishes the batch, claims no more, exits 0", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await setup(sql, 250);
    const blocker = await sql.reserve();
    await blocker`begin`;
    await blocker`select id from customers for update`;
    const worker = spawnCli(["work", "--batch-size", "100"], { env: { DATABASE_URL: url } });
    await untilWorkerWaitsOnLock(sql, "the worker is inside its first batch");
    worker.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200)); // the signal is handled while the batch waits
    await blocker`rollback`;
    blocker.release();
    const out = await worker.output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    // The batch claimed ahead (lookahead) goes back to pending unprocessed.
    assert.match(
      stdout,
      /claimed 200, done 100, retried 0, dead 0, released 100; .*stopped: signal/,
    );
    assert.deepEqual(await statuses(sql), { done: 100, pending: 150 });
  });
});

Deno.test("convo work: a long-running worker wakes on NOTIFY, not on its poll interval", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await setup(sql, 0);
    const worker = spawnCli(["work", "--poll-interval", "10m"], { env: { DATABASE_URL: url } });
    try {
      await until("the worker listens", async () => {
        const [r] = await sql`
          select count(*)::int as n from pg_stat_activity
          where application_name = 'convo work' and query ilike 'listen%'
            and datname = current_database()`;
        return r.n > 0;
      });
      // Once it has claimed and found nothing, it sleeps up to 10 minutes: only
      // a notification can wake it in time.
      await until("the worker has claimed and found nothing", async () => {
        const [r] = await sql`
          select count(*)::int as n from pg_stat_activity
          where application_name = 'convo work' and state = 'idle'
            and query ilike '%for update skip locked%' and datname = current_database()`;
        return r.n > 0;
      });
      await seedManyEvents(sql, contendedLines(20));
      await until("the events are done", async () => (await statuses(sql)).done === 20, 20_000);
    } finally {
      worker.kill("SIGTERM");
      const out = await worker.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.match(new TextDecoder().decode(out.stdout), /claimed 20, done 20/, stderr);
    }
  });
});

Deno.test("convo work: SIGTERM while an idle claim waits in the database is answered at once", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await setup(sql, 0);
    // The queue is empty and locked: the worker's first claim waits on the lock.
    const blocker = await sql.reserve();
    await blocker`begin`;
    await blocker`lock table inbound_events in access exclusive mode`;
    const worker = spawnCli(["work", "--poll-interval", "10m"], {
      // Without the fix the worker waited out the poll interval after a claim that
      // found nothing, and this grace ended it instead: exit 1, no clean stop.
      env: { DATABASE_URL: url, CONVO_SHUTDOWN_GRACE: "5s" },
    });
    try {
      await untilWorkerWaitsOnLock(sql, "the worker's claim waits on the lock");
      worker.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 200)); // the signal is handled while it waits
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    const out = await worker.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(new TextDecoder().decode(out.stdout), /claimed 0, .*stopped: signal/, stderr);
  });
});

Deno.test("convo work --metrics-file writes Prometheus text; --max-events stops early", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await setup(sql, 120);
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/convo.prom`;
      const r = await runCli(
        ["work", "--drain", "--max-events", "50", "--batch-size", "20", "--metrics-file", path],
        { env: { DATABASE_URL: url } },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /claimed 50, done 50, .*stopped: max-events/);
      const text = await Deno.readTextFile(path);
      assert.match(text, /^convo_work_events_total\{outcome="done"\} 50$/m);
      assert.match(text, /^convo_work_messages_inserted_total 50$/m);
      assert.match(text, /^convo_work_running 0$/m);
      assert.deepEqual(await statuses(sql), { done: 50, pending: 70 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("convo work: bad flags are one line and exit 2", async () => {
  for (
    const [args, pattern] of [
      [["work", "--batch-size", "0"], /invalid --batch-size: current value is '0'/],
      [["work", "--visibility-timeout", "10ms"], /invalid --visibility-timeout/],
      [["work", "--max-seconds", "soon"], /invalid --max-seconds/],
    ] as const
  ) {
    const r = await runCli([...args], { env: { DATABASE_URL: "postgres://127.0.0.1:1/x" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, pattern);
  }
});

Deno.test("convo work on a database without the schema: one line, exit 1 at once (drain and long-running)", async () => {
  await withTestDatabase(async ({ url }) => {
    for (const args of [["work", "--drain"], ["work", "--poll-interval", "100ms"]]) {
      const r = await runCli(args, { env: { DATABASE_URL: url } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^error: the database has no convo schema \(or an older one\); run convo migrate up$/m,
      );
      assert.doesNotMatch(r.stderr, /retrying/);
    }
  });
});

Deno.test("convo work: --batch-bytes that cannot fit the heap is refused, one line, exit 2", async () => {
  const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
  for (
    const [args, message] of [
      [
        ["--concurrency", "64", "--batch-bytes", "100000000"],
        /^error: invalid --batch-bytes: current value is '100000000' \(2 batches × concurrency 64 do not fit the \d+ MiB heap\); /m,
      ],
      [["--batch-bytes", "12k"], /^error: invalid --batch-bytes: current value is '12k'/m],
    ] as const
  ) {
    const r = await runCli(["work", "--drain", ...args], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});
