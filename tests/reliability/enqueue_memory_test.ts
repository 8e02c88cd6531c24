/**
 * `convo enqueue` of a large realistic file keeps its memory bounded by a batch, not by
 * the file (a resource bound, not a timing one).
 */
import assert from "node:assert/strict";
import { V8_FLAGS } from "../../src/build/v8_flags.ts";
import { generateEvents } from "../bench/_generate.ts";
import { spawnCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { outputWithPeakRss } from "../_helpers/rss.ts";
import { migrate } from "../_helpers/seed.ts";

const LINES = 60_000;
/**
 * Far above what it takes (~150 MB, of which ~85 MB is the runtime and the program
 * loaded), and below the ~220 MB it took while a batch could hold 8 MiB of JSON (5000
 * lines): each batch in flight is held several times over (the lines, the statement's
 * text, its encoded bytes).
 */
const PEAK_RSS_LIMIT_MB = 190;

Deno.test("convo enqueue: 60k realistic events (49 MB) with peak memory bounded by a batch, not by the file", async () => {
  const { lines, replays } = generateEvents(LINES, 1);
  const file = await Deno.makeTempFile({ prefix: "convo_memory_", suffix: ".ndjson" });
  try {
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    await withTestDatabase(async ({ sql, url }) => {
      await migrate(sql);
      const child = spawnCli(["enqueue", file], {
        // The heap settings convo ships with (src/build/v8_flags.ts).
        env: { DATABASE_URL: url, DENO_V8_FLAGS: V8_FLAGS },
      });
      const { out, peakMb } = await outputWithPeakRss(child, 300_000);
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, stdout + new TextDecoder().decode(out.stderr).slice(0, 2000));
      assert.match(
        stdout,
        new RegExp(`^read ${LINES} lines: stored ${LINES - replays}, duplicates ${replays},`),
      );
      const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from inbound_events`;
      assert.equal(n, LINES - replays);
      assert.ok(peakMb > 0, "peak RSS was measured");
      assert.ok(peakMb < PEAK_RSS_LIMIT_MB, `peak RSS ${peakMb.toFixed(0)} MB`);
      console.log(`enqueue_memory_test: ${LINES} lines, peak RSS ${peakMb.toFixed(0)} MB`);
    });
  } finally {
    await Deno.remove(file);
  }
});
