import assert from "node:assert/strict";
import { createWake } from "../../src/queue/wake.ts";

/**
 * Whether `p` settles before a timer of 0 ms fires: a promise resolved by microtasks
 * alone does, one that waits for a timer or a notification does not. An order of
 * events, not a timing threshold.
 */
async function settlesAtOnce(p: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 0));
  try {
    return await Promise.race([p.then(() => true), later]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("createWake().waitForWork() returns at once when its signal has already aborted", async () => {
  const wake = createWake();
  const stop = new AbortController();
  stop.abort();
  const waiting = wake.waitForWork(3_600_000, stop.signal);
  try {
    // Before the fix it added a listener for an abort event that had already fired,
    // and waited out the poll interval: a SIGTERM during the claim was not answered.
    assert.equal(await settlesAtOnce(waiting), true);
  } finally {
    wake.notify(); // releases it if it waits, so that no timer outlives the test
    await waiting;
  }
});

Deno.test("createWake().waitForWork() waits until a notification, an abort or its timeout", async () => {
  const wake = createWake();
  const stop = new AbortController();
  const first = wake.waitForWork(3_600_000, stop.signal);
  assert.equal(await settlesAtOnce(first), false);
  wake.notify();
  assert.equal(await settlesAtOnce(first), true);

  const second = wake.waitForWork(3_600_000, stop.signal);
  assert.equal(await settlesAtOnce(second), false);
  stop.abort();
  assert.equal(await settlesAtOnce(second), true);

  const third = wake.waitForWork(1, new AbortController().signal);
  await third; // its timeout
});
