/**
 * Waiting for a condition instead of sleeping: a test that sleeps can pass
 * before (or without) the behaviour it names.
 */
import type { Sql } from "../../src/db/connect.ts";

/** Polls `check` until it returns true (every 20 ms by default, failing after `ms`). */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 30_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Waits until a `convo work` process of this test's database waits on a row
 * lock: inside its batch (the test holds a row the batch writes).
 */
export async function untilWorkerWaitsOnLock(
  sql: Sql,
  what = "the worker waits inside its batch",
  ms = 30_000,
): Promise<void> {
  await until(what, async () => {
    const [r] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where application_name = 'convo work' and wait_event_type = 'Lock'
        and datname = current_database()`;
    return r.n > 0;
  }, ms);
}

/**
 * Whether `p` settles before a timer of 0 ms fires: a promise resolved by microtasks
 * alone does, one that waits for a timer or a notification does not. An order of
 * events, not a timing threshold.
 */
export async function settlesAtOnce(p: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 0));
  try {
    return await Promise.race([p.then(() => true), later]);
  } finally {
    clearTimeout(timer);
  }
}
