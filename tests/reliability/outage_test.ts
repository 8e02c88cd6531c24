/**
 * `convo work` while PostgreSQL goes away: stopped for seconds, restarted,
 * its backends terminated mid-batch. Each test has a throwaway cluster of its
 * own (tests/reliability/_cluster.ts), never the shared server.
 *
 * Deadlines here are generous bounds on a hang, not performance thresholds.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { execCli } from "../_helpers/cli.ts";
import { countersExact, seedManyEvents, smsLine } from "../_helpers/seed.ts";
import { withCluster } from "./_cluster.ts";
import { untilWorkerWaitsOnLock } from "../_helpers/until.ts";
import { holdCustomers, prepareDatabase, statuses, until, withSql, withWorker } from "./_worker.ts";

const lines = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => smsLine(`${prefix}-${i}`));

const count = (text: string, pattern: RegExp) =>
  text.split("\n").filter((l) => pattern.test(l)).length;

/** Every message written once, every conversation's counters exact. */
async function assertExactlyOnce(sql: Sql, events: number): Promise<void> {
  assert.deepEqual(await statuses(sql), { done: events });
  assert.deepEqual(await countersExact(sql), { wrong: 0, messages: events });
}

// A short poll interval makes the worker retry every 500 ms during an outage,
// so it meets a dead server many times over (the old socket factory lost a
// pool slot each time: four, and it hung).
const FAST = ["--poll-interval", "250ms"];

Deno.test("convo work: a long-running worker survives PostgreSQL stopped for 10 s; later events done once", async () => {
  await withCluster(async (cluster) => {
    const url = cluster.url();
    await prepareDatabase(url);
    await withSql(url, (sql) => seedManyEvents(sql, lines("before", 30)));
    await withWorker(url, [...FAST, "--batch-size", "20"], async (w) => {
      await withSql(
        url,
        (sql) =>
          until("the first events are done", async () => (await statuses(sql)).done === 30, 30_000),
      );
      await cluster.stop("fast");
      // The fault itself: the server stays down this long.
      await new Promise((r) => setTimeout(r, 10_000));
      await cluster.start();
      await withSql(url, async (sql) => {
        await seedManyEvents(sql, lines("after", 70));
        await until(
          "the events enqueued after the outage are done",
          async () => (await statuses(sql)).done === 100,
          60_000,
        ).catch((err) => {
          throw new Error(`${err.message}; worker stderr:\n${w.stderr()}`);
        });
        await assertExactlyOnce(sql, 100);
      });
      w.kill("SIGTERM");
      const status = await w.wait(15_000, "after SIGTERM");
      assert.equal(status.code, 0, w.stderr());
      assert.match(w.stdout(), /claimed 100, done 100, retried 0, dead 0; .*stopped: signal/);
      assert.match(w.stderr(), /database error; retrying/, "the outage was seen");
    });
  });
});

Deno.test("convo work: SIGTERM during an outage ends the worker with exit 0", async () => {
  await withCluster(async (cluster) => {
    const url = cluster.url();
    await prepareDatabase(url);
    await withSql(url, (sql) => seedManyEvents(sql, lines("e", 10)));
    await withWorker(url, FAST, async (w) => {
      await withSql(
        url,
        (sql) =>
          until("the events are done", async () => (await statuses(sql)).done === 10, 30_000),
      );
      await cluster.stop("fast");
      await until(
        "the worker has met the dead server 6 times (it keeps retrying)",
        () => count(w.stderr(), /database error; retrying/) >= 6,
        20_000,
      ).catch((err) => {
        throw new Error(`${err.message}; worker stderr:\n${w.stderr()}`);
      });
      w.kill("SIGTERM");
      const status = await w.wait(15_000, "after SIGTERM during the outage");
      assert.equal(status.code, 0, w.stderr());
      assert.match(w.stdout(), /claimed 10, done 10, .*stopped: signal/);
      assert.doesNotMatch(w.stderr(), /^\s+at /m, "no stack trace");
    });
  });
});

Deno.test("convo work --drain: started during an outage, it ends at once with one error line", async () => {
  await withCluster(async (cluster) => {
    const url = cluster.url();
    await prepareDatabase(url);
    await cluster.stop("fast");
    const r = await execCli(["work", "--drain"], { env: { DATABASE_URL: url } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: cannot connect to 127\.0\.0\.1:\d+: connection refused; /m);
    assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  });
});

Deno.test("convo work --drain: an outage in the middle of a batch ends the run; nothing lost or doubled", async () => {
  await withCluster(async (cluster) => {
    const url = cluster.url();
    await prepareDatabase(url);
    await withSql(url, (sql) => seedManyEvents(sql, lines("e", 40)));
    // Hold the customer row so the first batch blocks: the outage then
    // certainly hits the drain mid-batch.
    const blocker = await holdCustomers(url);
    await withWorker(url, ["--drain", ...FAST, "--visibility-timeout", "2s"], async (w) => {
      await withSql(url, (sql) => untilWorkerWaitsOnLock(sql, "the drain waits inside its batch"));
      await cluster.stop("fast");
      // Either it stopped (its claimed batch is not claimable yet: drained) or
      // it keeps retrying the dead server; both are fine, hanging is not.
      await until(
        "the drain has exited or met the dead server 6 times",
        () => w.exited() !== undefined || count(w.stderr(), /database error; retrying/) >= 6,
        20_000,
      ).catch((err) => {
        throw new Error(`${err.message}; worker stderr:\n${w.stderr()}`);
      });
      await blocker.release();
      await cluster.start();
      const status = await w.wait(30_000, "after the server came back");
      assert.ok(status.code === 0 || status.code === 1, w.stderr());
      assert.doesNotMatch(w.stderr(), /^\s+at /m, "no stack trace");
    });
    // What the interrupted batch held comes back after its claim expires.
    await withSql(url, (sql) =>
      until("no claim is held", async () => {
        const [r] = await sql`select count(*)::int as n from inbound_events
          where status = 'processing' and locked_until > now()`;
        return r.n === 0;
      }, 30_000));
    const again = await execCli(["work", "--drain"], { env: { DATABASE_URL: url } });
    assert.equal(again.code, 0, again.stderr);
    await withSql(url, (sql) => assertExactlyOnce(sql, 40));
  });
});

Deno.test("convo work: every backend terminated mid-batch; the worker reconnects and finishes", async () => {
  await withCluster(async (cluster) => {
    const url = cluster.url();
    await prepareDatabase(url);
    await withSql(url, async (sql) => {
      await seedManyEvents(sql, lines("e", 60));
      const blocker = await holdCustomers(url);
      await withWorker(
        url,
        [...FAST, "--batch-size", "20", "--visibility-timeout", "2s"],
        async (w) => {
          await untilWorkerWaitsOnLock(sql, "the worker waits inside its batch");
          const killed = await sql`
            select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = 'convo work'`;
          assert.ok(killed.length >= 2, "the batch's connection and at least one other");
          await blocker.release();
          await until("every event is done", async () => (await statuses(sql)).done === 60, 60_000)
            .catch((err) => {
              throw new Error(`${err.message}; worker stderr:\n${w.stderr()}`);
            });
          await assertExactlyOnce(sql, 60);
          w.kill("SIGTERM");
          const status = await w.wait(15_000, "after SIGTERM");
          assert.equal(status.code, 0, w.stderr());
          assert.doesNotMatch(w.stderr(), /^\s+at /m, "no stack trace");
        },
      );
    });
  });
});

Deno.test("convo work --drain: PostgreSQL gone for good mid-run; it gives up after --max-errors, exit 1", async () => {
  await withCluster(async (cluster) => {
    const url = cluster.url();
    await prepareDatabase(url);
    await withSql(url, (sql) => seedManyEvents(sql, lines("e", 40)));
    const blocker = await holdCustomers(url);
    await withWorker(url, ["--drain", ...FAST, "--max-errors", "4"], async (w) => {
      await withSql(url, (sql) => untilWorkerWaitsOnLock(sql, "the drain waits inside its batch"));
      await blocker.release().catch(() => {});
      await cluster.stop("immediate");
      const status = await w.wait(60_000, "with the server gone");
      assert.equal(status.code, 1, w.stderr());
      assert.match(w.stderr(), /^error: gave up after 4 consecutive database errors: /m);
      assert.match(w.stdout(), /stopped: errors/);
      assert.doesNotMatch(w.stderr(), /^\s+at /m, "no stack trace");
    });
  });
});
