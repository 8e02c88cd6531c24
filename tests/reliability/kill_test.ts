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

    // The events arrive in slices, one more before each kill, so every kill
    // lands while the workers have work however fast they drain: the fault
    // schedule does not depend on the machine's speed.
    const slices: string[][] = [];
    const per = Math.ceil(generated.lines.length / (KILLS + 1));
    for (let i = 0; i < generated.lines.length; i += per) {
      slices.push(generated.lines.slice(i, i + per));
    }
    const enqueued = { stored: 0, duplicates: 0 };
    const enqueue = async (lines: readonly string[]) => {
      const file = await Deno.makeTempFile({ prefix: "convo_kill_", suffix: ".ndjson" });
      try {
        await Deno.writeTextFile(file, lines.join("\n") + "\n");
        const enq = await execCli(["enqueue", file], { env });
        assert.equal(enq.code, 0, enq.stderr);
        const m = enq.stdout.match(/stored (\d+), duplicates (\d+), invalid 0/);
        assert.ok(m, enq.stdout);
        enqueued.stored += Number(m[1]);
        enqueued.duplicates += Number(m[2]);
      } finally {
        await Deno.remove(file);
      }
    };
    await enqueue(slices[0]);

    const rand = mulberry32(SEED);
    const workers: StartedWorker[] = [];
    const kills: { worker: number; afterMs: number; claimedInQueue: number }[] = [];
    try {
      for (let i = 0; i < WORKERS; i++) workers.push(startWorker(url, ARGS));
      for (let k = 0; k < KILLS; k++) {
        if (slices[k + 1]) await enqueue(slices[k + 1]);
        // The fault schedule itself, not a wait for a condition.
        const afterMs = Math.round(50 + rand() * 450);
        await new Promise((r) => setTimeout(r, afterMs));
        const i = Math.floor(rand() * WORKERS);
        const [{ claimed }] = await sql<{ claimed: number }[]>`
          select count(*) filter (where status = 'processing' and locked_until > now())::int
                   as claimed
          from inbound_events`;
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

    assert.deepEqual(enqueued, { stored: distinct.size, duplicates: generated.replays });
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
