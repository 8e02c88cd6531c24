/**
 * A poison event: one whose processing kills its worker, every time. From the
 * queue's side that is a batch whose claim expires with nothing recorded, over
 * and over. Only the poison may end dead; the events that happened to share its
 * batch must be done.
 *
 * The crash is simulated from outside, without a hook in the program: the
 * poison is addressed to a customer whose row this test holds locked, so the
 * batch that carries it blocks inside its transaction; the test sees that and
 * SIGKILLs the worker (the only one running), then starts a new one. To the
 * queue this is exactly "the event crashed its worker mid-batch".
 *
 * Deadlines here are generous bounds on a hang, not performance thresholds.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { withTestDatabase } from "../_helpers/db.ts";
import {
  assertCountersExact,
  FIXTURE_ENDPOINTS,
  migrate,
  seedEndpoints,
  seedEvents,
  smsLine,
} from "../_helpers/seed.ts";
import { type StartedWorker, startWorker, statuses, until } from "./_worker.ts";

const MAX_ATTEMPTS = 3;
const ARGS = [
  "--batch-size",
  "10",
  "--visibility-timeout",
  "2s",
  "--poll-interval",
  "250ms",
  "--max-attempts",
  String(MAX_ATTEMPTS),
];

Deno.test("convo work: an event that crashes its worker every time ends dead alone; its batch-mates are done", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await migrate(sql);
    await seedEndpoints(sql, [
      ...FIXTURE_ENDPOINTS,
      { customer: "crashy", provider: "twilio", kind: "sms", address: "+14155550199" },
    ]);
    const valid = (i: number) => smsLine(`SMok${i}`);
    // Ids in this order: the poison is the sixth event, in the first batch of ten.
    await seedEvents(sql, Array.from({ length: 5 }, (_, i) => valid(i)));
    await seedEvents(sql, [smsLine("SMpoison", { to: "+14155550199" })]);
    await seedEvents(sql, Array.from({ length: 34 }, (_, i) => valid(5 + i)));
    const [{ poison }] = await sql<{ poison: bigint }[]>`
      select id as poison from inbound_events where payload->>'provider_message_id' = 'SMpoison'`;
    const batchMates = await sql<{ id: bigint }[]>`
      select id from inbound_events order by id limit 10`;
    assert.ok(batchMates.some((r) => r.id === poison), "the poison is in the first batch");

    // Held for the whole test: any transaction writing for 'crashy' blocks.
    const holder = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    const conn = await holder.reserve();
    await conn`begin`;
    await conn`select id from customers where name = 'crashy' for update`;

    let worker: StartedWorker | undefined;
    const killedAt: number[] = [];
    try {
      worker = startWorker(url, ARGS);
      await until(
        "every event is done or dead",
        async () => {
          const [r] = await sql<{ status: string; attempts: number; blocked: number }[]>`
            select status, attempts,
              (select count(*)::int from pg_stat_activity
               where application_name = 'convo work' and wait_event_type = 'Lock'
                 and datname = current_database()) as blocked
            from inbound_events where id = ${poison}`;
          if (r.status === "processing" && r.blocked > 0 && r.attempts > (killedAt.at(-1) ?? 0)) {
            // The poison's batch is being written: the "crash".
            worker!.kill("SIGKILL");
            const s = await worker!.wait(15_000, "after SIGKILL");
            assert.equal(s.signal, "SIGKILL");
            killedAt.push(r.attempts);
            // A backend waiting on a lock does not notice its client died: it
            // would hold the batch's rows until lock_timeout (30 s). A crashed
            // host's connections vanish; so do these.
            // This test's database only: other tests run workers on the same server.
            await sql`select pg_terminate_backend(pid) from pg_stat_activity
              where application_name = 'convo work' and datname = current_database()`;
            worker = startWorker(url, ARGS);
            return false;
          }
          const s = await statuses(sql);
          return !s.pending && !s.processing;
        },
        120_000,
      ).catch((err) => {
        throw new Error(`${err.message}; worker stderr:\n${worker?.stderr()}`);
      });
      worker.kill("SIGTERM");
      const status = await worker.wait(30_000, "after SIGTERM");
      assert.equal(status.code, 0, worker.stderr());
    } finally {
      await worker?.dispose();
      await holder.end({ timeout: 0 });
    }

    assert.ok(killedAt.length >= 1, "the poison crashed its worker");
    const dead = await sql<{ id: bigint; attempts: number; last_error: string | null }[]>`
      select id, attempts, last_error from inbound_events where status = 'dead' order by id`;
    const detail = `kills at attempts ${killedAt.join(",")}; dead: ${
      JSON.stringify(dead.map((d) => ({ ...d, id: String(d.id) })))
    }`;
    assert.deepEqual(dead.map((d) => d.id), [poison], `only the poison is dead (${detail})`);
    assert.ok(dead[0].last_error, "the poison says why it died");
    assert.deepEqual(await statuses(sql), { done: 39, dead: 1 }, detail);
    const [{ messages }] = await sql<{ messages: number }[]>`
      select count(*)::int as messages from messages`;
    assert.equal(messages, 39, "every batch-mate's message written once");
    await assertCountersExact(sql);
    console.log(`poison_test: 40 events, ${killedAt.length} worker crashes; ${detail}`);
  });
});
