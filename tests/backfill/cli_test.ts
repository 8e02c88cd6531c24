/**
 * `convo backfill-conversations` as a command: a run killed with SIGKILL
 * mid-way resumes to the same end state as a clean run; the summary, JSON and
 * dry-run output; an unknown customer exits 2; a signalled run says it can be
 * resumed.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { assertCountersExact, migrate } from "../_helpers/seed.ts";
import { until } from "../_helpers/until.ts";
import { generateLegacy } from "../bench/_legacy_generate.ts";
import { conversationState, dump } from "./_state.ts";

const SHAPE = { customers: 4, conversationsPerCustomer: 100, messagesPerConversation: 10 };

Deno.test("convo backfill-conversations killed with SIGKILL mid-run resumes to a clean run's end state", async () => {
  await withTestDatabase(async (clean) => {
    await migrate(clean.sql);
    await generateLegacy(clean.sql, SHAPE);
    const ok = await runCli(["backfill-conversations", "--batch-size", "50"], {
      env: { DATABASE_URL: clean.url },
    });
    assert.equal(ok.code, 0, ok.stderr);
    const expected = await conversationState(clean.sql);

    await withTestDatabase(async (killed) => {
      await migrate(killed.sql);
      await generateLegacy(killed.sql, SHAPE);
      const child = spawnCli(["backfill-conversations", "--batch-size", "50"], {
        env: { DATABASE_URL: killed.url, CONVO_LOG_LEVEL: "warn" },
      });
      await until(
        "the backfill committed a batch",
        async () => {
          const [{ n }] = await killed.sql<{ n: number }[]>`
          select count(*)::int as n from messages where conversation_id is not null`;
          return n > 0;
        },
        60_000,
        5,
      );
      child.kill("SIGKILL");
      await child.output();
      const [{ left }] = await killed.sql<{ left: number }[]>`
        select count(*)::int as left from messages where conversation_id is null`;
      assert.ok(left > 0, "the run ended before it could be killed");

      const rerun = await runCli(["backfill-conversations", "--batch-size", "50", "--json"], {
        env: { DATABASE_URL: killed.url },
      });
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal(JSON.parse(rerun.stdout).assigned, left);
      assert.deepEqual(await conversationState(killed.sql), expected);
      await assertCountersExact(killed.sql);
    });
  });
});

Deno.test("convo backfill-conversations prints the dry run, the summary and JSON; a rerun assigns nothing", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    await migrate(sql);
    await generateLegacy(sql, {
      customers: 2,
      conversationsPerCustomer: 10,
      messagesPerConversation: 3,
    });
    const env = { DATABASE_URL: url };
    const before = await dump(sql);
    const dry = await runCli(["backfill-conversations", "--dry-run"], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^dry run: would assign 60 of 60 legacy message\(s\); conversations to create 20, reused 0; contacts to create 28; unassignable 0; in \S+ \(\d+ messages\/s\)\n$/,
    );
    assert.deepEqual(await dump(sql), before);

    const real = await runCli(["backfill-conversations", "--batch-size", "7"], { env });
    assert.equal(real.code, 0, real.stderr);
    assert.match(
      real.stdout,
      /^assigned 60 of 60 legacy message\(s\); conversations created 20, reused 0; contacts created 28; unassignable 0; /,
    );
    const again = await runCli(["backfill-conversations", "--json"], { env });
    const j = JSON.parse(again.stdout);
    assert.deepEqual(
      [j.scanned, j.assigned, j.conversations_created, j.contacts_created, j.interrupted],
      [0, 0, 0, 0, false],
    );
    const recount = await runCli(["backfill-conversations", "--recount"], { env });
    assert.match(recount.stdout, /^recounted 20 conversation\(s\), repaired 0; /);
  });
});

Deno.test("convo backfill-conversations --customer takes an id or a name; an unknown one exits 2", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    await migrate(sql);
    await generateLegacy(sql, {
      customers: 2,
      conversationsPerCustomer: 5,
      messagesPerConversation: 2,
    });
    const env = { DATABASE_URL: url };
    const byName = await runCli(["backfill-conversations", "--customer", "bench-001"], { env });
    assert.match(byName.stdout, /^assigned 10 of 10 /);
    const [c] = await sql<{ id: bigint }[]>`select id from customers where name = 'bench-000'`;
    const byId = await runCli(["backfill-conversations", "--customer", String(c.id)], { env });
    assert.match(byId.stdout, /^assigned 10 of 10 /);
    const unknown = await runCli(["backfill-conversations", "--customer", "nobody"], { env });
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim().split("\n").length, 1);
    assert.match(unknown.stderr, /^error: no customer named "nobody"/);
    const bad = await runCli(["backfill-conversations", "--batch-size", "0"], { env });
    assert.equal(bad.code, 2);
  });
});

Deno.test("convo backfill-conversations stopped by a signal exits 1 and says to run it again", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    await migrate(sql);
    await generateLegacy(sql, {
      customers: 1,
      conversationsPerCustomer: 5,
      messagesPerConversation: 2,
    });
    const stop = new AbortController();
    stop.abort();
    const r = await runCli(["backfill-conversations"], {
      env: { DATABASE_URL: url },
      shutdownSignal: stop.signal,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /interrupted by a signal.*run the same command again to resume/);
    const done = await runCli(["backfill-conversations"], { env: { DATABASE_URL: url } });
    assert.match(done.stdout, /^assigned 10 of 10 /);
  });
});
