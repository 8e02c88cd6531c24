import assert from "node:assert/strict";
import { createWake } from "../../src/queue/wake.ts";
import { settlesAtOnce } from "../_helpers/until.ts";

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
