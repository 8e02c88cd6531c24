/**
 * `convo work` processes killed with SIGKILL at random moments while they drain
 * realistic traffic: whatever a killed worker held comes back after its claim
 * expires, and in the end every event is done once, every message written once,
 * every counter exact.
 *
 * The kill schedule comes from a seeded PRNG, so a failure can be replayed.
 * Deadlines here are generous bounds on a hang, not performance thresholds.
 */
import assert from "node:assert/strict";
import { execCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { mulberry32 } from "../_helpers/prng.ts";
import { assertCountersExact, migrate, seedEndpoints } from "../_helpers/seed.ts";
import { generateEvents } from "../bench/_generate.ts";
import { type StartedWorker, startWorker, statuses, until } from "./_worker.ts";

const SEED = 90_210;
const EVENTS = 20_000;
const WORKERS = 3;
const KILLS = 12;
const ARGS = ["--batch-size", "100", "--visibility-timeout", "2s", "--poll-interval", "250ms"];

/** The provider's message id of a generated line, read straight from the raw payload. */
function providerMessageId(line: string): string {
  const { event_type: type, payload } = JSON.parse(line);
  if (type === "twilio.message") return payload.MessageSid;
  if (type === "postmark.inbound") return payload.MessageID;
  return payload.provider_message_id;
}

Deno.test("convo work: 3 workers SIGKILLed 12 times at random moments over 20k generated events; each event done once, counters exact", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    const env = { DATABASE_URL: url };
    const generated = generateEvents(EVENTS, SEED);
    await migrate(sql);
    await seedEndpoints(sql, generated.endpoints);
    const distinct = new Set(generated.lines);
    const expectedIds = new Set(generated.lines.map(providerMessageId));
    assert.equal(expectedIds.size, distinct.size, "one provider message id per distinct line");

    const file = await Deno.makeTempFile({ prefix: "convo_kill_", suffix: ".ndjson" });
    try {
      await Deno.writeTextFile(file, generated.lines.join("\n") + "\n");
      const enq = await execCli(["enqueue", file], { env });
      assert.equal(enq.code, 0, enq.stderr);
      assert.match(
        enq.stdout,
        new RegExp(`stored ${distinct.size}, duplicates ${generated.replays}, invalid 0`),
      );
    } finally {
      await Deno.remove(file);
    }

    const rand = mulberry32(SEED);
    const workers: StartedWorker[] = [];
    const kills: { worker: number; afterMs: number; claimedInQueue: number }[] = [];
    try {
      for (let i = 0; i < WORKERS; i++) workers.push(startWorker(url, ARGS));
      for (let k = 0; k < KILLS; k++) {
        // The fault schedule itself, not a wait for a condition.
        const afterMs = Math.round(200 + rand() * 1300);
        await new Promise((r) => setTimeout(r, afterMs));
        const i = Math.floor(rand() * WORKERS);
        const [{ pending, claimed }] = await sql<{ pending: number; claimed: number }[]>`
          select count(*) filter (where status = 'pending')::int as pending,
                 count(*) filter (where status = 'processing' and locked_until > now())::int
                   as claimed
          from inbound_events`;
        assert.ok(
          pending > 0,
          `the queue drained after ${k} kills, before the schedule's ${KILLS}: enqueue more events`,
        );
        const victim = workers[i];
        assert.equal(
          victim.exited(),
          undefined,
          `worker ${i} exited on its own:\n${victim.stderr()}`,
        );
        victim.kill("SIGKILL");
        const status = await victim.wait(15_000, "after SIGKILL");
        assert.equal(status.signal, "SIGKILL");
        kills.push({ worker: i, afterMs, claimedInQueue: claimed });
        workers[i] = startWorker(url, ARGS);
      }
      await until(
        "every event is done or dead",
        async () => {
          const s = await statuses(sql);
          return !s.pending && !s.processing;
        },
        240_000,
      ).catch((err) => {
        throw new Error(
          `${err.message}; workers' stderr:\n${workers.map((w) => w.stderr()).join("\n---\n")}`,
        );
      });
      for (const w of workers) w.kill("SIGTERM");
      for (const w of workers) {
        const status = await w.wait(30_000, "after SIGTERM");
        assert.equal(status.code, 0, w.stderr());
      }
    } finally {
      for (const w of workers) await w.dispose();
    }

    const final = await execCli(["work", "--drain"], { env });
    assert.equal(final.code, 0, final.stderr);
    assert.match(final.stdout, /^claimed 0, done 0, /);

    assert.deepEqual(await statuses(sql), { done: distinct.size }, "no event dead or left over");
    const [m] = await sql<{ messages: number; distinct: number; orphans: number }[]>`
      select count(*)::int as messages,
             count(distinct (provider_id, provider_message_id))::int as distinct,
             count(*) filter (where conversation_id is null)::int as orphans
      from messages`;
    assert.deepEqual(m, { messages: distinct.size, distinct: distinct.size, orphans: 0 });
    const stored = await sql<{ id: string }[]>`select provider_message_id as id from messages`;
    assert.deepEqual(
      new Set(stored.map((r) => r.id)),
      expectedIds,
      "exactly the generated messages",
    );
    await assertCountersExact(sql);
    const [{ total }] = await sql<{ total: number }[]>`
      select coalesce(sum(message_count), 0)::int as total from conversations`;
    assert.equal(total, distinct.size, "conversation counters sum to the messages");
    const [{ reclaimed, maxAttempts }] = await sql<{ reclaimed: number; maxAttempts: number }[]>`
      select count(*) filter (where attempts > 1)::int as reclaimed,
             max(attempts)::int as "maxAttempts"
      from inbound_events`;
    assert.ok(reclaimed > 0, "some kill interrupted a claim (the fault really happened)");
    assert.equal(kills.length, KILLS);
    console.log(
      `kill_test: ${distinct.size} events (${generated.replays} replays), ${WORKERS} workers, ` +
        `${kills.length} SIGKILLs (claims in the queue at each: ${
          kills.map((k) => k.claimedInQueue).join(",")
        }); ${reclaimed} events claimed again, at most ${maxAttempts} attempts; ` +
        `lost 0, doubled 0, counters exact`,
    );
  });
});
