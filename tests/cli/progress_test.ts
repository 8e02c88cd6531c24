import assert from "node:assert/strict";
import { startProgress } from "../../src/cli/_progress.ts";
import type { Io } from "../../src/cli/context.ts";
import { createLogger } from "../../src/log/logger.ts";
import { MAIN } from "../_helpers/cli.ts";
import { smsLine, withMigratedDatabase } from "../_helpers/seed.ts";
import { FIXTURE_ENDPOINTS, seedEndpoints, seedManyEvents } from "../_helpers/seed.ts";

function fakeIo(terminal: boolean): Io & { err: string } {
  const io = {
    err: "",
    stdout: () => {},
    stderr: (t: string) => (io.err += t),
    stdin: () => new ReadableStream<Uint8Array>(),
    stderrIsTerminal: terminal,
    columns: 100,
    env: {},
    cwd: "/",
  };
  return io;
}

Deno.test("startProgress() off a terminal logs a plain progress line every interval, with rate and ETA", () => {
  const lines: string[] = [];
  const logger = createLogger({ format: "json", write: (l) => lines.push(l) });
  let t = 0;
  const p = startProgress(fakeIo(false), logger, {
    task: "enqueue",
    unit: "bytes",
    total: 1000,
    intervalMs: 5000,
    now: () => t,
  });
  t = 1000;
  p.update(100); // too soon: nothing
  t = 5000;
  p.update(500);
  t = 7000;
  p.update(600); // too soon again
  t = 10_000;
  p.update(1000);
  p.stop();
  const docs = lines.map((l) => JSON.parse(l));
  assert.deepEqual(docs.map((d) => [d.msg, d.done, d.percent, d.rate, d.eta_s]), [
    ["enqueue progress", 500, 50, 100, 5],
    ["enqueue progress", 1000, 100, 100, 0],
  ]);
});

Deno.test("startProgress() is silent with --log-level warn", () => {
  const io = fakeIo(true);
  const lines: string[] = [];
  const logger = createLogger({ level: "warn", write: (l) => lines.push(l) });
  let t = 0;
  const p = startProgress(io, logger, { task: "work", unit: "events", now: () => t });
  t = 60_000;
  p.update(10);
  p.stop();
  assert.equal(io.err, "");
  assert.deepEqual(lines, []);
});

Deno.test("startProgress() on a terminal draws a bar with percentage, rate and ETA on stderr", () => {
  const io = fakeIo(true);
  const logger = createLogger({ write: () => assert.fail("no log lines on a terminal") });
  let t = 0;
  const p = startProgress(io, logger, { task: "work", unit: "events", total: 200, now: () => t });
  t = 2000;
  p.update(100);
  p.stop();
  assert.match(io.err, /work [█░]+ 0% \| 0\/200 \| 0\/s \| ETA \?/);
  assert.match(io.err, /work [█░]+ 50% \| 100\/200 \| 50\/s \| ETA 2\.0s/);
});

Deno.test("convo work --drain draws a bar on a terminal (script -qc), none when stderr is a file", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    await seedManyEvents(sql, Array.from({ length: 50 }, (_, i) => smsLine(`T${i}`)));
    const dir = await Deno.makeTempDir();
    try {
      const cmd = `"${Deno.execPath()}" run -A --quiet "${MAIN}" work --drain --batch-size 10 ` +
        `2>"${dir}/err" >"${dir}/out"`;
      const out = await new Deno.Command("script", {
        args: ["-qec", cmd, "/dev/null"],
        env: { DATABASE_URL: url, CONVO_LOG_FORMAT: "pretty", TERM: "xterm" },
        stdin: "null",
        stdout: "null",
      }).output();
      assert.equal(out.code, 0);
      // stderr was redirected inside the script's terminal: the file is not a
      // terminal, so this run must log, not draw.
      assert.match(await Deno.readTextFile(`${dir}/out`), /claimed 50, done 50/);
      assert.doesNotMatch(await Deno.readTextFile(`${dir}/err`), /[█░]/);
      await seedManyEvents(sql, Array.from({ length: 50 }, (_, i) => smsLine(`U${i}`)));
      const tty = await new Deno.Command("script", {
        args: [
          "-qec",
          `"${Deno.execPath()}" run -A --quiet "${MAIN}" work --drain --batch-size 10 >/dev/null`,
          `${dir}/typescript`,
        ],
        env: { DATABASE_URL: url, CONVO_LOG_FORMAT: "pretty", TERM: "xterm" },
        stdin: "null",
        stdout: "null",
      }).output();
      assert.equal(tty.code, 0);
      const transcript = await Deno.readTextFile(`${dir}/typescript`);
      assert.doesNotMatch(transcript, /work progress/);
      assert.match(transcript, /work [█░]+ \d+% \| \d+\/50 \| \d+\/s \| ETA /);
      assert.match(transcript, /INFO {2}worker started/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
