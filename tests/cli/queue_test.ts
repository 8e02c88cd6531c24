/**
 * `convo queue status|retry|prune` run in-process against a real PostgreSQL,
 * with events put in their states directly with SQL.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { migratedEnv, runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";

/** Inserts `n` events in one state; returns their ids. */
async function events(
  sql: Sql,
  n: number,
  status: "pending" | "processing" | "done" | "dead",
  extra: { lastError?: string; processedAgo?: string; availableIn?: string } = {},
): Promise<bigint[]> {
  const rows = await sql<{ id: bigint }[]>`
    insert into inbound_events
      (event_type, payload, status, attempts, last_error, received_at, available_at,
       locked_until, processed_at)
    select 'twilio.message', '{}', ${status}, ${status === "pending" ? 0 : 1},
      ${extra.lastError ?? null}, now() - interval '2 minutes',
      now() + ${
    extra.availableIn ?? (status === "processing" ? "30 seconds" : "0 seconds")
  }::interval,
      ${status === "processing" ? sql`now() + interval '30 seconds'` : null},
      ${status === "done" ? sql`now() - ${extra.processedAgo ?? "0 seconds"}::interval` : null}
    from generate_series(1, ${n})
    returning id`;
  return rows.map((r) => r.id);
}

Deno.test("convo queue status: aligned counts, the oldest age, recent dead with addresses masked", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const empty = await runCli(["queue", "status"], { env });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(
      empty.stdout,
      "pending    0  0 scheduled for a retry, none claimable now\n" +
        "processing 0  0 expired (claimable again)\n" +
        "done       0\n" +
        "dead       0\n" +
        "total      0\n",
    );

    await events(sql, 3, "pending");
    await events(sql, 1, "pending", { availableIn: "10 minutes" });
    await events(sql, 2, "processing");
    await events(sql, 12, "done");
    const [dead] = await events(sql, 1, "dead", {
      lastError: "no endpoint mapping for sms +14155550123 (to Jane.Doe@example.com)",
    });

    const r = await runCli(["queue", "status"], { env });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.match(
      lines[0],
      /^pending {5}4 {2}1 scheduled for a retry, oldest claimable received 2m\d\ds ago$/,
    );
    assert.equal(lines[1], "processing  2  0 expired (claimable again)");
    assert.equal(lines[2], "done       12");
    assert.equal(lines[3], "dead        1  convo queue retry --dead puts them back");
    assert.equal(lines[4], "total      19");
    assert.equal(lines[5], "");
    assert.equal(lines[6], "most recent dead events:");
    assert.match(lines[7], /^ID +TYPE +ATTEMPTS +LAST ERROR$/);
    assert.equal(
      lines[8].replace(/ +/g, " "),
      `${dead} twilio.message 1 no endpoint mapping for sms +1******0123 (to J***@example.com)`,
    );
    assert.ok(!r.stdout.includes("4155550123") && !r.stdout.includes("Jane.Doe"), r.stdout);
  });
});

Deno.test("convo queue status --json: one object, ids as strings, errors masked", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    await events(sql, 2, "pending");
    await events(sql, 5, "done");
    const [dead] = await events(sql, 1, "dead", { lastError: "bad number 415-555-0123" });
    const r = await runCli(["queue", "status", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split("\n").length, 2, "one line");
    const doc = JSON.parse(r.stdout);
    assert.ok(doc.oldest_pending_age_seconds >= 120, String(doc.oldest_pending_age_seconds));
    delete doc.oldest_pending_age_seconds;
    assert.deepEqual(doc, {
      pending: 2,
      scheduled: 0,
      processing: 0,
      expired: 0,
      done: 5,
      dead: 1,
      total: 8,
      dead_recent: [
        {
          id: String(dead),
          event_type: "twilio.message",
          attempts: 1,
          last_error: "bad number ******0123",
        },
      ],
    });
  });
});

Deno.test("convo queue retry: --dead or --id, reporting what it left alone", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const dead = await events(sql, 4, "dead", { lastError: "boom" });
    const [pending] = await events(sql, 1, "pending");

    const some = await runCli(
      ["queue", "retry", "--id", `${dead[0]},${dead[1]}`, String(pending), "99999"],
      { env },
    );
    assert.equal(some.code, 0, some.stderr);
    assert.equal(
      some.stdout,
      `retried 2 dead event(s)\nleft alone 2 not dead or missing: ${pending}, 99999\n`,
    );
    const statuses = await sql`select id, status from inbound_events order by id`;
    assert.deepEqual(
      statuses.map((r) => r.status),
      ["pending", "pending", "dead", "dead", "pending"],
    );

    const all = await runCli(["queue", "retry", "--dead"], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, "retried 2 dead event(s)\n");
    const left = await sql`select 1 from inbound_events where status = 'dead'`;
    assert.equal(left.length, 0);
  });
});

Deno.test("convo queue retry: usage mistakes exit 2 before touching the database", async () => {
  const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
  const cases: [string[], RegExp][] = [
    [[], /^error: nothing to retry: give --dead or --id; /],
    [["--dead", "--id", "1"], /^error: --dead and --id cannot be used together; /],
    [["--id", "abc"], /^error: invalid --id: current value is 'abc'; expected event ids/],
    [["--id", "0"], /invalid --id: current value is '0'/],
    [["--id", "-5"], /invalid --id|unknown option '-5'/],
    [["--id", "1,,2"], /invalid --id: current value is ''/],
    [["--id", "9223372036854775808"], /invalid --id: current value is '9223372036854775808'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(["queue", "retry", ...args], { env });
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout, "");
  }
});

Deno.test("convo queue prune: deletes old done events in batches and says what it did", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    await events(sql, 5, "done", { processedAgo: "8 days" });
    const recent = await events(sql, 2, "done", { processedAgo: "6 days" });
    const pending = await events(sql, 1, "pending");

    const r = await runCli(["queue", "prune", "--older-than", "7d", "--batch-size", "2"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^deleted 5 done event\(s\) processed before \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(3 batches\)\n$/,
    );
    const left = await sql<{ id: bigint }[]>`select id from inbound_events order by id`;
    assert.deepEqual(left.map((x) => x.id), [...recent, ...pending]);

    const again = await runCli(["queue", "prune", "--older-than", "7d"], { env });
    assert.match(again.stdout, /^deleted 0 done event\(s\) processed before .* \(1 batch\)\n$/);
  });
});

Deno.test("convo queue prune --dead-older-than: deletes dead events that died long ago, and only those", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const old = await events(sql, 3, "done", { processedAgo: "8 days" });
    const dead = await events(sql, 2, "dead");
    await sql`update inbound_events set processed_at = now() - interval '40 days'
      where id = any(${dead.map(String)}::bigint[])`;
    const recentDead = await events(sql, 1, "dead");
    await sql`update inbound_events set processed_at = now() - interval '1 day'
      where id = ${recentDead[0]}`;

    const r = await runCli(["queue", "prune", "--dead-older-than", "30d"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^deleted 2 dead event\(s\) dead since before .* \(1 batch\)\n$/);
    const left = await sql<{ id: bigint }[]>`select id from inbound_events order by id`;
    assert.deepEqual(left.map((x) => x.id), [...old, ...recentDead], "done events are kept");

    const both = await runCli(
      ["queue", "prune", "--older-than", "7d", "--dead-older-than", "12h"],
      {
        env,
      },
    );
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, /^deleted 3 done event\(s\) .*\ndeleted 1 dead event\(s\) .*\n$/);
  });
});

Deno.test("convo queue prune: --older-than or --dead-older-than is required and must be a duration", async () => {
  const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
  const cases: [string[], RegExp][] = [
    [[], /^error: nothing to prune: give --older-than or --dead-older-than; /],
    [["--dead-older-than", "soon"], /invalid --dead-older-than: current value is 'soon'/],
    [["--older-than", "a week"], /invalid --older-than: current value is 'a week'/],
    [["--older-than", "7d", "--batch-size", "0"], /invalid --batch-size: current value is '0'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(["queue", "prune", ...args], { env });
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
  }
});
