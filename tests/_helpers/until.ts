/**
 * Waiting for a condition instead of sleeping: a test that sleeps can pass
 * before (or without) the behaviour it names.
 */

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
