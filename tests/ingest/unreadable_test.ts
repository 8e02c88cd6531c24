/**
 * A payload the database cannot hand out as text (its numbers written out in full are
 * over PostgreSQL's 1 GB limit) no longer stops the queue: `convo enqueue` refuses it,
 * and one already stored (before, or by a direct insert) is dead-lettered by the worker
 * with the reason, while the events behind it are processed.
 */
import assert from "node:assert/strict";
import { migratedEnv, runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";

/** 81 KB as written, ~1.2 GB as text: 9,000 numbers of 131,072 digits each. */
const POISON_NUMBERS = `[${Array(9000).fill("1e131071").join(",")}]`;

const payload = (id: string, extra = "") =>
  `{"channel":"sms","provider_message_id":"${id}","from":"+14155550101",` +
  `"to":"+14155550100","sent_at":"2024-05-01T12:00:00Z","body":"hi"${extra}}`;
const line = (p: string) => `{"event_type":"message.received","payload":${p}}\n`;

Deno.test("convo enqueue refuses a short line the database would store as gigabytes of digits", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const r = await runCli(["enqueue", "-"], {
      env,
      stdin: line(payload("poison-1", `,"x":${POISON_NUMBERS}`)),
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /as stored: the database writes numbers out in full/);
    assert.match(r.stderr, /send such numbers as strings/);
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from inbound_events`;
    assert.equal(n, 0);
  });
});

Deno.test("convo work dead-letters a stored payload it cannot read, and processes the rest", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    const add = await runCli(
      ["endpoint", "add", "--customer", "acme", "--provider", "twilio", "--kind", "sms"].concat(
        "+14155550100",
      ),
      { env },
    );
    assert.equal(add.code, 0, add.stderr);
    // Stored as older versions (and direct inserts) could: ahead of a good event.
    const [poison] = await sql<{ id: bigint }[]>`
      insert into inbound_events (event_type, payload)
      values ('message.received', ${payload("poison-1", `,"x":${POISON_NUMBERS}`)}::text::jsonb)
      returning id`;
    const enq = await runCli(["enqueue", "-"], { env, stdin: line(payload("fine-1")) });
    assert.equal(enq.code, 0, enq.stderr);

    const work = await runCli(["work", "--drain"], { env });
    assert.equal(work.code, 0, work.stderr);
    assert.match(work.stderr, /event dead-lettered/);

    const events = await sql<{ id: bigint; status: string; last_error: string | null }[]>`
      select id, status, last_error from inbound_events order by id`;
    assert.deepEqual(events.map((e) => [e.id, e.status]), [[poison.id, "dead"], [
      events[1].id,
      "done",
    ]]);
    assert.match(
      events[0].last_error ?? "",
      /^payload cannot be read as text \(.*SQLSTATE 54000\)\): the database writes its numbers out in full/,
    );
    const messages = await sql<{ provider_message_id: string }[]>`
      select provider_message_id from messages`;
    assert.deepEqual(messages.map((m) => m.provider_message_id), ["fine-1"]);

    // queue show still shows it, without the payload, saying why.
    const show = await runCli(["queue", "show", String(poison.id)], { env });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^status +dead$/m);
    assert.match(show.stdout, /payload not readable: payload cannot be read as text/);
  });
});
