/**
 * A child process's peak memory, for tests that bound it (a resource bound, never a
 * timing one).
 *
 * @module
 */

/** Peak RSS of a running process in MB (VmHWM), or undefined once it is gone. */
async function peakRssMb(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits for `child` to end while sampling its peak RSS every 25 ms; kills it and rejects
 * after `timeoutMs`.
 */
export async function outputWithPeakRss(
  child: Deno.ChildProcess,
  timeoutMs: number,
): Promise<{ out: Deno.CommandOutput; peakMb: number }> {
  let peakMb = 0;
  const polling = (async () => {
    for (;;) {
      const mb = await peakRssMb(child.pid);
      if (mb === undefined) return;
      peakMb = Math.max(peakMb, mb);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const out = await Promise.race([
    child.output(),
    new Promise<never>((_, reject) =>
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`the process did not finish within ${timeoutMs / 1000} s`));
      }, timeoutMs)
    ),
  ]).finally(() => clearTimeout(timer));
  await polling;
  return { out, peakMb };
}
