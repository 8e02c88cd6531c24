/**
 * `convo queue list|show|drop`, `retry`'s filters and `--dry-run`, and
 * `prune`'s refusals, run in-process against a real PostgreSQL.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { encodeCursor } from "../../src/overview/cursor.ts";
import { migratedEnv, runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { insertEvent, seedEndpoints, seedEvents, smsLine } from "../_helpers/seed.ts";

/** Every event's id and status, by id. */
async function states(sql: Sql): Promise<string[]> {
  const rows = await sql<{ id: bigint; status: string }[]>`
    select id, status from inbound_events order by id`;
  return rows.map((r) => `${r.id}:${r.status}`);
}

/** A small queue: dead events of two types and two errors, and live ones. */
async function mixedQueue(sql: Sql) {
  const mapping = "no endpoint mapping for the recipient (+14155550111) on channel sms";
  return {
    deadTwilioOld: await insertEvent(sql, {
      status: "dead",
      eventType: "twilio.message",
      lastError: mapping,
      receivedAgo: "3 days",
      attempts: 1,
    }),
    deadTwilio: await insertEvent(sql, {
      status: "dead",
      eventType: "twilio.message",
      lastError: mapping,
      attempts: 1,
    }),
    deadCanonical: await insertEvent(sql, {
      status: "dead",
      lastError: "Cannot parse email address: current value is 'MAILER-DAEMON' (no '@')",
      attempts: 1,
    }),
    pending: await insertEvent(sql, { status: "pending", eventType: "twilio.message" }),
    processing: await insertEvent(sql, {
      status: "processing",
      eventType: "twilio.message",
      attempts: 1,
    }),
    done: await insertEvent(sql, { status: "done", attempts: 1 }),
  };
}

/** The cursor of a `next page:` line on stderr, if any. */
function nextCursor(stderr: string): string | undefined {
  return /^next page: .* --cursor (\S+)$/m.exec(stderr)?.[1];
}

Deno.test("convo queue list: a cursor walk visits each event once, newest first, in every format", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const ids: bigint[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(await insertEvent(sql, { status: i % 2 ? "done" : "pending" }));
    }
    const expected = ids.map(String).reverse();

    // ndjson: follow the next-page line until there is none.
    const seen: string[] = [];
    let args = ["queue", "list", "--limit", "3", "--format", "ndjson"];
    for (let page = 0; page < 10; page++) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 0, r.stderr);
      for (const line of r.stdout.split("\n").filter(Boolean)) seen.push(JSON.parse(line).id);
      const cursor = nextCursor(r.stderr);
      if (cursor === undefined) break;
      assert.match(r.stderr, /^next page: convo queue list --limit 3 --format ndjson --cursor /);
      // An event changing state during the walk is neither shown twice nor skipped.
      await sql`update inbound_events set status = 'dead' where id = ${ids[6]}`;
      args = ["queue", "list", "--limit", "3", "--format", "ndjson", "--cursor", cursor];
    }
    assert.deepEqual(seen, expected);

    // json: next_cursor in the object, null on the last page.
    const seenJson: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await runCli(
        [
          "queue",
          "list",
          "--limit",
          "4",
          "--format",
          "json",
          ...(cursor ? ["--cursor", cursor] : []),
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      const doc = JSON.parse(r.stdout);
      seenJson.push(...doc.events.map((e: { id: string }) => e.id));
      cursor = doc.next_cursor;
    } while (cursor !== null);
    assert.deepEqual(seenJson, expected);

    // table and csv: a header, then the rows; the table says when there is no more.
    const table = await runCli(["queue", "list", "--limit", "2"], { env });
    assert.match(
      table.stdout.split("\n")[0],
      /^ID +TYPE +STATUS +ATTEMPTS +RECEIVED +AVAILABLE +PROCESSED +LAST ERROR$/,
    );
    assert.equal(table.stdout.split("\n").length, 4);
    const csv = await runCli(["queue", "list", "--format", "csv"], { env });
    assert.equal(
      csv.stdout.split("\n")[0],
      "id,event_type,status,attempts,received_at,available_at,processed_at,last_error",
    );
    assert.equal(csv.stdout.split("\n").length, 9);
    assert.equal(csv.stderr, "");
  });
});

Deno.test("convo queue list: --status, --type, --error-like and --since narrow it; errors are masked", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const q = await mixedQueue(sql);
    const list = async (...args: string[]) => {
      const r = await runCli(["queue", "list", "--format", "json", ...args], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).events as Record<string, string>[];
    };
    const ids = (rows: Record<string, string>[]) => rows.map((r) => r.id);
    assert.deepEqual(
      ids(await list("--status", "dead")),
      [q.deadCanonical, q.deadTwilio, q.deadTwilioOld].map(String),
    );
    assert.deepEqual(
      ids(await list("--type", "twilio.message")),
      [q.processing, q.pending, q.deadTwilio, q.deadTwilioOld].map(String),
    );
    // Case-insensitive, literal (the % is not a wildcard).
    const mapped = await list("--error-like", "NO ENDPOINT MAPPING");
    assert.deepEqual(ids(mapped), [q.deadTwilio, q.deadTwilioOld].map(String));
    assert.deepEqual(await list("--error-like", "no%mapping"), []);
    assert.equal(
      mapped[0].last_error,
      "no endpoint mapping for the recipient (+1******0111) on channel sms",
    );
    assert.deepEqual(
      ids(await list("--status", "dead", "--type", "twilio.message", "--since", "1d")),
      [String(q.deadTwilio)],
    );
    const since = new Date(Date.now() - 86_400_000).toISOString();
    assert.deepEqual(
      ids(await list("--status", "dead", "--since", since)),
      [q.deadCanonical, q.deadTwilio].map(String),
    );
    const table = await runCli(["queue", "list", "--error-like", "endpoint"], { env });
    assert.ok(!table.stdout.includes("4155550111"), table.stdout);
    const none = await runCli(["queue", "list", "--type", "postmark.inbound"], { env });
    assert.equal(none.stdout, "no events\n");
  });
});

Deno.test("convo queue list: bad values exit 2 with one line, before touching the database", async () => {
  const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
  const overviewCursor = encodeCursor({ kind: "conversations", at: null, id: 3n });
  const cases: [string[], RegExp][] = [
    [["--status", "lost"], /--status.*'lost'/],
    [["--type", "twilio"], /^error: invalid --type: current value is 'twilio'; expected one of /],
    [["--since", "yesterday"], /^error: invalid --since: current value is 'yesterday'/],
    [["--since", "7"], /^error: invalid --since: current value is '7'/],
    [["--limit", "0"], /^error: invalid --limit: current value is '0'/],
    [["--cursor", "abc"], /^error: invalid --cursor: Cannot parse cursor: current value is 'abc'/],
    [["--cursor", overviewCursor], /not a cursor of convo queue list/],
    [["--error-like", " "], /^error: invalid --error-like/],
    [["--format", "xml"], /--format.*'xml'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(["queue", "list", ...args], { env });
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.equal(r.stdout, "");
  }
});

Deno.test("convo queue show: payload addresses masked unless --reveal; the message and conversation it produced", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    await seedEndpoints(sql, [
      { customer: "acme", provider: "twilio", kind: "sms", address: "+14155550100" },
    ]);
    await seedEvents(sql, [
      smsLine("SM1", { cc: undefined, body: "call me on 415 555 0199 or jane@example.com" }),
      smsLine("SM2", { to: "+14155550111" }),
    ]);
    const work = await runCli(["work", "--drain"], { env });
    assert.equal(work.code, 0, work.stderr);
    const [{ id: done }] = await sql<{ id: bigint }[]>`
      select id from inbound_events where status = 'done'`;
    const [{ id: dead }] = await sql<{ id: bigint }[]>`
      select id from inbound_events where status = 'dead'`;
    const [message] = await sql<{ id: bigint; conversation_id: bigint }[]>`
      select id, conversation_id from messages where provider_message_id = 'SM1'`;

    const shown = await runCli(["queue", "show", String(done)], { env });
    assert.equal(shown.code, 0, shown.stderr);
    const text = shown.stdout;
    assert.match(text, new RegExp(`^id +${done}$`, "m"));
    assert.match(text, /^status +done$/m);
    assert.match(text, /^provider_message_id +SM1$/m);
    assert.match(text, /"from": "\+1\*\*\*\*\*\*0142"/);
    assert.match(text, /"body": "call me on \*+0199 or j\*\*\*@example\.com"/);
    assert.ok(!/4155550142|555 0199|jane@/.test(text), text);
    assert.match(text, /^MESSAGE +CUSTOMER +PROVIDER +DIRECTION +CHANNEL +SENT AT +CONVERSATION$/m);
    assert.match(
      text,
      new RegExp(
        `^ *${message.id} +acme +twilio +inbound +sms +2024-05-01T16:00:03.000Z +${message.conversation_id}$`,
        "m",
      ),
    );

    const revealed = await runCli(["queue", "show", String(done), "--reveal"], { env });
    assert.match(revealed.stdout, /"from": "\+14155550142"/);
    assert.match(revealed.stdout, /415 555 0199 or jane@example\.com/);

    const json = await runCli(["queue", "show", String(done), "--format", "json"], { env });
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.id, String(done));
    assert.equal(doc.payload.to, "+1******0100");
    assert.equal(doc.provider_message_id, "SM1");
    assert.deepEqual(doc.messages, [{
      message_id: String(message.id),
      customer: "acme",
      provider: "twilio",
      direction: "inbound",
      channel: "sms",
      sent_at: "2024-05-01T16:00:03.000Z",
      conversation_id: String(message.conversation_id),
    }]);
    for (
      const key of [
        "idempotency_key",
        "received_at",
        "available_at",
        "locked_until",
        "processed_at",
      ]
    ) {
      assert.ok(key in doc, key);
    }

    const deadShown = await runCli(["queue", "show", String(dead), "--format", "json"], { env });
    const deadDoc = JSON.parse(deadShown.stdout);
    assert.equal(deadDoc.status, "dead");
    assert.match(deadDoc.last_error, /no endpoint mapping for the recipient \(\+1\*+0111\)/);
    assert.deepEqual(deadDoc.messages, []);
    const deadText = await runCli(["queue", "show", String(dead)], { env });
    assert.match(deadText.stdout, /^no message yet \(the event is dead\)$/m);
  });
});

Deno.test("convo queue show: an unknown or malformed id exits 2 with one line", async () => {
  await withTestDatabase(async ({ url }) => {
    const env = await migratedEnv(url);
    const missing = await runCli(["queue", "show", "424242"], { env });
    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr,
      "error: no event with id 424242; convo queue list shows the events there are\n",
    );
    for (const bad of ["abc", "0", "1.5"]) {
      const r = await runCli(["queue", "show", bad], { env });
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /^error: invalid event id: current value is /);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1);
    }
  });
});

Deno.test("convo queue retry: --type, --error-like, --since pick dead events; --dry-run changes nothing", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const q = await mixedQueue(sql);
    const before = await states(sql);

    const dry = await runCli(["queue", "retry", "--error-like", "endpoint mapping", "--dry-run"], {
      env,
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, "would retry 2 dead event(s); nothing was changed\n");
    const dryAll = await runCli(["queue", "retry", "--dead", "--dry-run"], { env });
    assert.equal(dryAll.stdout, "would retry 3 dead event(s); nothing was changed\n");
    assert.deepEqual(await states(sql), before);

    const some = await runCli(
      ["queue", "retry", "--type", "twilio.message", "--since", "1h"],
      { env },
    );
    assert.equal(some.code, 0, some.stderr);
    assert.equal(some.stdout, "retried 1 dead event(s)\n");
    const [row] = await sql`select status, attempts from inbound_events where id = ${q.deadTwilio}`;
    assert.deepEqual({ ...row }, { status: "pending", attempts: 0 });

    const ids = await runCli(
      [
        "queue",
        "retry",
        "--id",
        `${q.deadTwilioOld},${q.deadCanonical}`,
        "--type",
        "twilio.message",
      ],
      { env },
    );
    assert.equal(
      ids.stdout,
      `retried 1 dead event(s)\nleft alone 1 not dead, missing or not matching: ${q.deadCanonical}\n`,
    );
    const dead = await sql`select id from inbound_events where status = 'dead'`;
    assert.deepEqual(dead.map((r) => r.id), [q.deadCanonical]);
    // The live events were never touched.
    const live = await sql`
      select id, status from inbound_events where id in (${q.pending}, ${q.processing}, ${q.done})
      order by id`;
    assert.deepEqual(live.map((r) => r.status), ["pending", "processing", "done"]);
  });
});

Deno.test("convo queue drop: filters, --dry-run, never a live event; a bare drop is refused", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const q = await mixedQueue(sql);
    const before = await states(sql);

    const bare = await runCli(["queue", "drop"], { env });
    assert.equal(bare.code, 2);
    assert.equal(
      bare.stderr,
      "error: nothing to drop: give --id, --type, --error-like or --since; " +
        "or --all-dead to drop every dead event; --dry-run shows how many first\n",
    );
    const both = await runCli(["queue", "drop", "--all-dead", "--type", "twilio.message"], { env });
    assert.equal(both.code, 2);
    const dry = await runCli(["queue", "drop", "--all-dead", "--dry-run"], { env });
    assert.equal(dry.stdout, "would drop 3 dead event(s); nothing was changed\n");
    assert.deepEqual(await states(sql), before);

    // Ids of live events: matched by nothing, deleted by nothing.
    const live = await runCli(
      ["queue", "drop", "--id", `${q.pending},${q.processing}`, String(q.done)],
      { env },
    );
    assert.equal(live.code, 0, live.stderr);
    assert.equal(live.stdout, "dropped 0 dead event(s)\n");
    assert.deepEqual(await states(sql), before);

    const typed = await runCli(["queue", "drop", "--type", "twilio.message", "--since", "1d"], {
      env,
    });
    assert.equal(typed.stdout, "dropped 1 dead event(s)\n");
    const all = await runCli(["queue", "drop", "--all-dead"], { env });
    assert.equal(all.stdout, "dropped 2 dead event(s)\n");
    const left = await sql<{ id: bigint }[]>`select id from inbound_events order by id`;
    assert.deepEqual(left.map((r) => r.id), [q.pending, q.processing, q.done]);
  });
});

Deno.test("convo queue prune: a unit is required, less than 1m is refused; --dry-run only counts", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    for (const value of ["7", "0", "30s", "0m", "59s", "1.5"]) {
      const r = await runCli(["queue", "prune", "--older-than", value], { env });
      assert.equal(r.code, 2, value);
      assert.match(
        r.stderr,
        new RegExp(`^error: invalid --older-than: current value is '${value}'`),
      );
      assert.equal(r.stderr.trimEnd().split("\n").length, 1);
    }
    const bare = await runCli(["queue", "prune", "--older-than", "7"], { env });
    assert.match(bare.stderr, /\(a duration needs a unit\); use a duration with a unit/);
    const short = await runCli(["queue", "prune", "--older-than", "30s"], { env });
    assert.match(short.stderr, /\(under the minimum of 1m\)/);

    await insertEvent(sql, { status: "done", processedAgo: "8 days" });
    await insertEvent(sql, { status: "done", processedAgo: "8 days" });
    await insertEvent(sql, { status: "done", processedAgo: "1 day" });
    await insertEvent(sql, { status: "dead" });
    const before = await states(sql);
    const dry = await runCli(["queue", "prune", "--older-than", "7d", "--dry-run"], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^would delete 2 done event\(s\) processed before \d{4}-\d\d-\d\dT[\d:.]+Z; nothing was changed\n$/,
    );
    assert.deepEqual(await states(sql), before);
    const ok = await runCli(["queue", "prune", "--older-than", "1m"], { env });
    assert.match(ok.stdout, /^deleted 3 done event\(s\)/);
  });
});
