import assert from "node:assert/strict";
import { writeMetricsFile } from "../../src/queue/metrics.ts";

Deno.test("writeMetricsFile() does not follow a symlink planted at a temporary name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "convo_metrics_" });
  try {
    const path = `${dir}/convo.prom`;
    const victim = `${dir}/victim`;
    await Deno.writeTextFile(victim, "precious\n");
    // The name the temporary file had before: predictable from the pid.
    await Deno.symlink(victim, `${path}.${Deno.pid}.tmp`);
    await writeMetricsFile(path, "convo_work_running 1\n");
    assert.equal(await Deno.readTextFile(victim), "precious\n");
    assert.equal(await Deno.readTextFile(path), "convo_work_running 1\n");
    const info = await Deno.lstat(path);
    assert.ok(info.isFile, "a regular file, not a link");
    assert.equal(((info.mode ?? 0) & 0o777).toString(8), "644");
    await writeMetricsFile(path, "convo_work_running 0\n");
    assert.equal(await Deno.readTextFile(path), "convo_work_running 0\n");
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left.sort(), ["convo.prom", `convo.prom.${Deno.pid}.tmp`, "victim"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
