import assert from "node:assert/strict";
import type { BatchResult, ClaimedEvent } from "../../src/queue/types.ts";
import { runWorker, type WorkerDeps, type WorkerOptions } from "../../src/queue/worker.ts";
import { settlesAtOnce } from "../_helpers/until.ts";

const event = (id: number): ClaimedEvent => ({
  id: BigInt(id),
  eventType: "message.received",
  payload: {},
  attempts: 1,
  receivedAt: new Date(0),
});

function fakeQueue(n: number) {
  const pending = Array.from({ length: n }, (_, i) => event(i + 1));
  const claimedIds: bigint[] = [];
  return {
    pending,
    claimedIds,
    claim: (limit: number) => {
      const batch = pending.splice(0, limit);
      claimedIds.push(...batch.map((e) => e.id));
      return Promise.resolve(batch);
    },
  };
}

const ok = (b: ClaimedEvent[]): Promise<BatchResult> =>
  Promise.resolve({ done: b.length, retried: 0, dead: 0, inserted: b.length });

const base: WorkerOptions = {
  batchSize: 10,
  concurrency: 1,
  drain: true,
  pollMs: 1000,
  heartbeatMs: 60_000,
};

function deps(over: Partial<WorkerDeps> & Pick<WorkerDeps, "claim">): WorkerDeps {
  return {
    process: ok,
    heartbeat: () => Promise.resolve(),
    waitForWork: () => Promise.resolve(),
    sleep: () => Promise.resolve(),
    ...over,
  };
}

Deno.test("runWorker() --drain claims until the queue is empty, each event once", async () => {
  for (const concurrency of [1, 2, 4]) {
    const q = fakeQueue(95);
    const stats = await runWorker(
      deps({ claim: q.claim }),
      { ...base, concurrency },
      new AbortController().signal,
    );
    assert.equal(stats.claimed, 95);
    assert.equal(stats.done, 95);
    assert.equal(stats.stoppedBy, "drained");
    assert.equal(new Set(q.claimedIds).size, 95, "no event claimed twice");
  }
});

Deno.test("runWorker() --max-events stops claiming at the budget, shared by all loops", async () => {
  for (const concurrency of [1, 3]) {
    const q = fakeQueue(100);
    const limits: number[] = [];
    const stats = await runWorker(
      deps({
        claim: (limit) => {
          limits.push(limit);
          return q.claim(limit);
        },
      }),
      { ...base, concurrency, maxEvents: 25 },
      new AbortController().signal,
    );
    assert.equal(stats.claimed, 25);
    assert.equal(stats.stoppedBy, "max-events");
    assert.equal(q.pending.length, 75);
    assert.ok(limits.every((l) => l <= 10));
  }
});

Deno.test("runWorker() --max-seconds stops claiming once the time is up (fake clock)", async () => {
  let clock = 0;
  const q = fakeQueue(1000);
  const stats = await runWorker(
    deps({
      claim: q.claim,
      process: (b) => {
        clock += 400; // each batch takes 0.4 s of fake time
        return ok(b);
      },
      now: () => clock,
    }),
    { ...base, maxSeconds: 1 },
    new AbortController().signal,
  );
  assert.equal(stats.batches, 3, "0 s, 0.4 s and 0.8 s start a batch; 1.2 s does not");
  assert.equal(stats.stoppedBy, "max-seconds");
  assert.equal(stats.elapsedMs, 1200);
});

Deno.test("runWorker() on a signal finishes the batch in hand and claims no more", async () => {
  const q = fakeQueue(100);
  const controller = new AbortController();
  let finished = 0;
  const stats = await runWorker(
    deps({
      claim: q.claim,
      process: async (b) => {
        controller.abort(); // SIGTERM arrives mid-batch
        await new Promise((r) => setTimeout(r, 5));
        finished += b.length;
        return ok(b);
      },
    }),
    base,
    controller.signal,
  );
  assert.equal(finished, 10);
  assert.equal(stats.claimed, 10);
  assert.equal(stats.stoppedBy, "signal");
  assert.equal(q.pending.length, 90);
});

Deno.test("runWorker() long-running waits for work when idle and exits on a signal", async () => {
  const q = fakeQueue(0);
  const controller = new AbortController();
  let waits = 0;
  const stats = await runWorker(
    deps({
      claim: q.claim,
      waitForWork: (ms, signal) => {
        waits++;
        assert.equal(ms, 1000);
        if (waits === 3) {
          q.pending.push(event(7)); // a notification brings work
        }
        if (waits === 5) controller.abort();
        return signal.aborted ? Promise.resolve() : Promise.resolve();
      },
    }),
    { ...base, drain: false },
    controller.signal,
  );
  assert.equal(stats.claimed, 1);
  assert.equal(stats.stoppedBy, "signal");
  assert.ok(waits >= 5);
});

Deno.test("runWorker() long-running: a signal that comes while it claims is not waited out", async () => {
  // SIGTERM lands while the idle loop's claim is in the database: its abort event fires
  // before the loop waits for work. Before the fix the loop then waited for an abort
  // event that had already fired, the whole poll interval (with --poll-interval 10m,
  // past the 30 s grace: "still running 30s after SIGTERM", exit 1).
  const controller = new AbortController();
  const waiters = new Set<() => void>();
  const stats = runWorker(
    deps({
      claim: () => {
        controller.abort();
        return Promise.resolve([]);
      },
      // Wakes on an abort event only, as a wait that does not look at `aborted` would.
      waitForWork: (_ms, signal) =>
        new Promise<void>((resolve) => {
          waiters.add(resolve);
          signal.addEventListener("abort", () => resolve(), { once: true });
        }),
    }),
    { ...base, drain: false, pollMs: 3_600_000 },
    controller.signal,
  );
  const stoppedAtOnce = await settlesAtOnce(stats);
  waiters.forEach((w) => w()); // releases a loop left waiting, so that the test ends either way
  assert.equal(stoppedAtOnce, true);
  assert.equal((await stats).stoppedBy, "signal");
});

Deno.test("runWorker() extends the claim while a batch is in hand", async () => {
  const q = fakeQueue(5);
  const beats: number[] = [];
  let twoBeats: () => void = () => {};
  const gotTwo = new Promise<void>((r) => (twoBeats = r));
  await runWorker(
    deps({
      claim: q.claim,
      // The batch lasts until two heartbeats have extended its claim (or fails after 10 s).
      process: async (b) => {
        let guard: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          gotTwo,
          new Promise((_, reject) => {
            guard = setTimeout(() => reject(new Error("no heartbeat within 10 s")), 10_000);
          }),
        ]).finally(() => clearTimeout(guard));
        return ok(b);
      },
      heartbeat: (b) => {
        beats.push(b.length);
        if (beats.length === 2) twoBeats();
        return Promise.resolve();
      },
    }),
    { ...base, heartbeatMs: 10 },
    new AbortController().signal,
  );
  assert.ok(beats.length >= 2);
  assert.ok(beats.every((n) => n === 5), "the heartbeat extends the batch in hand");
});

Deno.test("runWorker() survives database errors: reports them, backs off, carries on", async () => {
  const q = fakeQueue(20);
  const errors: unknown[] = [];
  let failClaims = 2;
  let failBatches = 1;
  const stats = await runWorker(
    deps({
      claim: (limit) => {
        if (failClaims-- > 0) return Promise.reject(new Error("connection reset"));
        return q.claim(limit);
      },
      process: (b) => {
        if (failBatches-- > 0) return Promise.reject(new Error("lost connection"));
        return ok(b);
      },
      onError: (err) => errors.push(err),
    }),
    base,
    new AbortController().signal,
  );
  assert.equal(errors.length, 3);
  assert.equal(stats.errors, 3);
  assert.equal(stats.claimed, 20);
  assert.equal(stats.done, 10, "the failed batch is not counted done: its claims expire");
});

Deno.test("runWorker() prepares the next batch while the current one is written", async () => {
  const q = fakeQueue(30);
  const log: string[] = [];
  let writing = false;
  const stats = await runWorker(
    deps({
      claim: q.claim,
      prepare: (b) => {
        log.push(`prepare ${b[0].id}${writing ? " during write" : ""}`);
        return Promise.resolve(`prepared ${b[0].id}`);
      },
      process: async (b, _loop, prepared) => {
        assert.equal(prepared, `prepared ${b[0].id}`, "process gets what prepare made");
        writing = true;
        await new Promise((r) => setTimeout(r, 5));
        writing = false;
        return ok(b);
      },
    }),
    base,
    new AbortController().signal,
  );
  assert.equal(stats.done, 30);
  assert.deepEqual(log, ["prepare 1", "prepare 11 during write", "prepare 21 during write"]);
});

Deno.test("runWorker() holds a suspect alone: no claim ahead beside it, no second suspect", async () => {
  const suspect = (id: number): ClaimedEvent => ({ ...event(id), attempts: 2, expired: true });
  // Two suspects at the head of the queue, then ordinary events.
  const queue = [suspect(1), suspect(2), ...Array.from({ length: 20 }, (_, i) => event(i + 3))];
  const inFlight = new Set<bigint>();
  const overlaps: string[] = [];
  const stats = await runWorker(
    deps({
      claim: (limit, _loop, { suspects }) => {
        // As the SQL does: a suspect at the head comes alone, or nothing.
        if (queue[0]?.expired) return Promise.resolve(suspects ? queue.splice(0, 1) : []);
        const n = queue.findIndex((e) => e.expired);
        return Promise.resolve(queue.splice(0, Math.min(limit, n === -1 ? queue.length : n)));
      },
      prepare: (b) => Promise.resolve(b),
      // A real timer: an idle loop waits while the other holds the suspect.
      sleep: () => new Promise((r) => setTimeout(r, 1)),
      process: async (b) => {
        for (const e of b) inFlight.add(e.id);
        if (b.some((e) => e.expired) && inFlight.size > 1) overlaps.push([...inFlight].join(","));
        await new Promise((r) => setTimeout(r, 2));
        for (const e of b) inFlight.delete(e.id);
        return ok(b);
      },
    }),
    { ...base, concurrency: 2, batchSize: 5 },
    new AbortController().signal,
  );
  assert.equal(stats.done, 22);
  assert.equal(stats.stoppedBy, "drained");
  assert.deepEqual(overlaps, [], "a suspect was processed beside other events");
});

Deno.test("runWorker() gives back a batch claimed ahead when it stops", async () => {
  const q = fakeQueue(100);
  const controller = new AbortController();
  const released: bigint[] = [];
  const stats = await runWorker(
    deps({
      claim: q.claim,
      prepare: () => Promise.resolve(undefined),
      process: (b) => {
        controller.abort(); // SIGTERM while the first batch is written
        return ok(b);
      },
      release: (b) => {
        released.push(...b.map((e) => e.id));
        return Promise.resolve();
      },
    }),
    base,
    controller.signal,
  );
  assert.equal(stats.done, 10);
  assert.equal(stats.released, 10);
  assert.deepEqual(released, Array.from({ length: 10 }, (_, i) => BigInt(i + 11)));
  assert.equal(stats.stoppedBy, "signal");
});

Deno.test("runWorker() with lookahead still stops at --max-events exactly", async () => {
  const q = fakeQueue(100);
  const stats = await runWorker(
    deps({ claim: q.claim, prepare: () => Promise.resolve(undefined) }),
    { ...base, maxEvents: 25 },
    new AbortController().signal,
  );
  assert.equal(stats.claimed, 25);
  assert.equal(stats.done, 25);
  assert.equal(q.pending.length, 75);
});

Deno.test("runWorker() survives a failing prepare: the batch is processed without it", async () => {
  const q = fakeQueue(20);
  const seen: unknown[] = [];
  const errors: unknown[] = [];
  const stats = await runWorker(
    deps({
      claim: q.claim,
      prepare: () => Promise.reject(new Error("router down")),
      process: (b, _loop, prepared) => {
        seen.push(prepared);
        return ok(b);
      },
      onError: (err) => errors.push(err),
    }),
    base,
    new AbortController().signal,
  );
  assert.equal(stats.done, 20);
  assert.deepEqual(seen, [undefined, undefined]);
  assert.equal(errors.length, 2);
});

Deno.test("runWorker() with maxErrors stops after that many consecutive errors", async () => {
  let calls = 0;
  const stats = await runWorker(
    deps({
      claim: () => {
        calls++;
        // One success between errors resets the count.
        if (calls === 3) return Promise.resolve([event(1)]);
        return Promise.reject(Object.assign(new Error("down"), { code: "ECONNREFUSED" }));
      },
    }),
    { ...base, lookahead: false, maxErrors: 3 },
    new AbortController().signal,
  );
  assert.equal(stats.stoppedBy, "errors");
  assert.equal(stats.errors, 5, "2 errors, a batch, then 3 errors");
  assert.equal(stats.done, 1);
});

Deno.test("runWorker() stops every loop and throws a fatal error", async () => {
  const fatal = Object.assign(new Error("relation does not exist"), { code: "42P01" });
  let calls = 0;
  await assert.rejects(
    runWorker(
      deps({
        claim: () => (calls++, Promise.reject(fatal)),
        isFatal: (err) => err === fatal,
      }),
      { ...base, drain: false, concurrency: 3 },
      new AbortController().signal,
    ),
    (err) => err === fatal,
  );
  assert.ok(calls <= 3, `claimed ${calls} times: no retry after a fatal error`);
});
