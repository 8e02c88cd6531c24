import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config.ts";
import { startWork } from "../../src/ingest/work.ts";
import { createLogger } from "../../src/log/logger.ts";
import { claimEvents } from "../../src/queue/claim.ts";
import { queueGauges } from "../../src/queue/gauges.ts";
import { startLiveMetrics } from "../../src/queue/live_metrics.ts";
import { runCli } from "../_helpers/cli.ts";
import { insertEvent, smsLine, withMigratedDatabase } from "../_helpers/seed.ts";
import { until } from "../_helpers/until.ts";

const quiet = createLogger({ level: "error", write: () => {} });

function metric(text: string, name: string): number | undefined {
  const m = text.match(new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m"));
  return m ? Number(m[1]) : undefined;
}

Deno.test("queueGauges() counts pending, scheduled, processing, expired, dead and the oldest age", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await insertEvent(sql, { status: "pending", receivedAgo: "10 minutes" });
    await insertEvent(sql, { status: "pending", receivedAgo: "2 hours", availableIn: "5 minutes" });
    await insertEvent(sql, { status: "processing", lockedIn: "1 minute" });
    await insertEvent(sql, { status: "processing", lockedIn: "-10 seconds" });
    await insertEvent(sql, { status: "dead", lastError: "x" });
    await insertEvent(sql, { status: "done" });
    const g = await queueGauges(sql);
    assert.deepEqual({ ...g, oldestPendingAgeSeconds: undefined }, {
      pending: 2,
      scheduled: 1,
      processing: 2,
      expired: 1,
      dead: 1,
      oldestPendingAgeSeconds: undefined,
    });
    // The scheduled one is older but not claimable: the age is the claimable one's.
    assert.ok(g.oldestPendingAgeSeconds! >= 600 && g.oldestPendingAgeSeconds! < 3600);
  });
});

Deno.test("convo queue status --metrics-file writes the gauges after enqueue, claim and dead", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    const dir = await Deno.makeTempDir();
    try {
      const env = { DATABASE_URL: url };
      const input = [smsLine("G1"), smsLine("G2"), smsLine("G3")].join("\n");
      assert.equal((await runCli(["enqueue"], { env, stdin: input })).code, 0);
      await claimEvents(sql, 1, 60_000);
      await sql`update inbound_events set status = 'dead', last_error = 'x'
        where id = (select max(id) from inbound_events)`;
      const path = `${dir}/queue.prom`;
      const r = await runCli(["queue", "status", "--metrics-file", path], { env });
      assert.equal(r.code, 0, r.stderr);
      const text = await Deno.readTextFile(path);
      assert.match(text, /^# TYPE convo_queue_events gauge$/m);
      assert.match(text, /^# HELP convo_queue_oldest_pending_age_seconds /m);
      assert.equal(metric(text, 'convo_queue_events{state="pending"}'), 1);
      assert.equal(metric(text, 'convo_queue_events{state="processing"}'), 1);
      assert.equal(metric(text, 'convo_queue_events{state="dead"}'), 1);
      assert.equal(metric(text, 'convo_queue_events{state="scheduled"}'), 0);
      assert.equal(metric(text, "convo_queue_gauges_ok"), 1);
      assert.ok(metric(text, "convo_queue_oldest_pending_age_seconds")! >= 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("convo work and queue status with a bad --metrics-file: exit 2 before any work", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    const dir = await Deno.makeTempDir();
    try {
      const env = { DATABASE_URL: url };
      assert.equal((await runCli(["enqueue"], { env, stdin: smsLine("B1") })).code, 0);
      await Deno.writeTextFile(`${dir}/file`, "");
      for (
        const [path, why] of [
          [`${dir}/missing/convo.prom`, /directory that does not exist/],
          [dir, /is a directory/],
          [`${dir}/file/convo.prom`, /not a directory/],
        ] as const
      ) {
        for (const args of [["work", "--drain"], ["queue", "status"]]) {
          const r = await runCli([...args, "--metrics-file", path], { env });
          assert.equal(r.code, 2, `${args} ${path}: ${r.stderr}`);
          assert.match(r.stderr, why);
          assert.equal(r.stdout, "");
        }
      }
      // Nothing was claimed.
      const [{ status, attempts }] = await sql`select status, attempts from inbound_events`;
      assert.equal(status, "pending");
      assert.equal(attempts, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("startLiveMetrics() writes at once and on its timer; in an outage the errors still show", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/convo.prom`;
    let errors = 0;
    const live = startLiveMetrics(path, {
      stats: () => ({
        claimed: 0,
        done: 0,
        retried: 0,
        dead: 0,
        inserted: 0,
        batches: 0,
        errors,
        released: 0,
        elapsedMs: 1000,
        stoppedBy: "drained",
      }),
      gauges: () => Promise.reject(new Error("connection refused")),
      onError: () => {},
      intervalMs: 20,
    });
    try {
      await until(
        "the first file is written",
        async () =>
          (await Deno.readTextFile(path).catch(() => "")).includes("convo_work_running 1"),
      );
      const first = await Deno.readTextFile(path);
      assert.equal(metric(first, "convo_queue_gauges_ok"), 0);
      assert.equal(metric(first, 'convo_queue_events{state="pending"}'), undefined);
      errors = 7;
      await until(
        "the error counter moves without a batch",
        async () => metric(await Deno.readTextFile(path), "convo_work_errors_total") === 7,
      );
    } finally {
      await live.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startWork() long-running keeps its metrics file live while idle, with queue gauges", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    const dir = await Deno.makeTempDir();
    const stop = new AbortController();
    try {
      await insertEvent(sql, { status: "dead", lastError: "x" });
      const path = `${dir}/convo.prom`;
      const config = resolveConfig({}, { DATABASE_URL: url });
      const work = startWork(config, quiet, {
        drain: false,
        batchSize: 10,
        concurrency: 1,
        visibilityMs: 60_000,
        maxAttempts: 3,
        retryDelayMs: 1000,
        pollMs: 50,
        metricsFile: path,
        metricsIntervalMs: 50,
      }, stop.signal);
      await until("the idle worker wrote its file with the gauges", async () => {
        const text = await Deno.readTextFile(path).catch(() => "");
        return metric(text, "convo_work_running") === 1 &&
          metric(text, 'convo_queue_events{state="dead"}') === 1;
      });
      const text = await Deno.readTextFile(path);
      assert.equal(metric(text, "convo_work_errors_total"), 0);
      assert.equal(metric(text, "convo_queue_gauges_ok"), 1);
      stop.abort();
      await work;
      const final = await Deno.readTextFile(path);
      assert.equal(metric(final, "convo_work_running"), 0);
      assert.equal(metric(final, 'convo_queue_events{state="dead"}'), 1);
    } finally {
      stop.abort();
      await Deno.remove(dir, { recursive: true });
    }
  });
});
