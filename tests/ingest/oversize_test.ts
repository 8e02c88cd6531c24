/**
 * A payload larger than the worker can hold (stored by a direct insert, an older version,
 * or under a higher cap) is dead-lettered at its claim without being read, with the
 * limit in the reason, and the events behind it are processed. Before, the worker read
 * it: a 150 MB payload took 15 s of `JSON.parse` and friends and 1.2 GB of RSS, and a
 * larger one crashed the worker at every attempt until its attempts ran out.
 *
 * The worker here runs as a process with a 128 MiB heap, as an operator would start it,
 * so that its limit (`maxEventBytes` in `src/ingest/memory.ts`) is ~4.75 MiB and a 6 MB
 * payload is over it.
 */
import assert from "node:assert/strict";
import { baseEnv, MAIN, migratedEnv } from "../_helpers/cli.ts";
import { seedEndpoints } from "../_helpers/seed.ts";
import { withTestDatabase } from "../_helpers/db.ts";

const payload = (id: string, body: string) =>
  JSON.stringify({
    channel: "sms",
    provider_message_id: id,
    from: "+14155550101",
    to: "+14155550100",
    sent_at: "2024-05-01T12:00:00Z",
    body,
  });

Deno.test("convo work dead-letters a payload over what its heap can hold, unread, and processes the rest", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await migratedEnv(url);
    await seedEndpoints(sql, [
      { customer: "acme", provider: "twilio", kind: "sms", address: "+14155550100" },
    ]);
    // Stored as a direct insert could, ahead of two good events.
    const [big] = await sql<{ id: bigint }[]>`
      insert into inbound_events (event_type, payload)
      values ('message.received', ${payload("big-1", "x".repeat(6_000_000))}::text::jsonb)
      returning id`;
    await sql`
      insert into inbound_events (event_type, payload)
      values ('message.received', ${payload("fine-1", "hi")}::text::jsonb),
             ('message.received', ${payload("fine-2", "hello")}::text::jsonb)`;

    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "--v8-flags=--max-old-space-size=128,--max-semi-space-size=2",
        MAIN,
        "work",
        "--drain",
      ],
      env: { ...baseEnv(), ...env, CONVO_LOG_FORMAT: "json" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    });
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const started = stderr.split("\n").find((l) => l.includes('"worker started"'));
    const limit = JSON.parse(started ?? "{}").max_event_bytes;
    assert.ok(limit > 4_000_000 && limit < 6_000_000, `max_event_bytes ${limit}`);
    // Counted with the rest.
    const stopped = stderr.split("\n").find((l) => l.includes('"worker stopped"'));
    const { claimed, done, dead } = JSON.parse(stopped ?? "{}");
    assert.deepEqual([claimed, done, dead], [3, 2, 1]);
    assert.match(new TextDecoder().decode(out.stdout), /claimed 3, done 2, retried 0, dead 1/);

    const events = await sql<
      { id: bigint; status: string; attempts: number; error: string; bytes: number }[]
    >`
      select id, status, attempts, coalesce(last_error, '') as error,
             octet_length(payload::text) as bytes
      from inbound_events order by id`;
    assert.deepEqual(events.map((e) => [e.status, e.attempts]), [
      ["dead", 1],
      ["done", 1],
      ["done", 1],
    ]);
    assert.equal(events[0].id, big.id);
    assert.equal(
      events[0].error,
      `payload is ${
        events[0].bytes
      } bytes as JSON text, over the ${limit} bytes the worker can hold; ` +
        "raise its heap (--max-old-space-size) or lower --concurrency or --batch-bytes, then " +
        "convo queue retry --dead",
    );
    const messages = await sql<{ id: string }[]>`
      select provider_message_id as id from messages order by id`;
    assert.deepEqual(messages.map((m) => m.id), ["fine-1", "fine-2"]);
  });
});
