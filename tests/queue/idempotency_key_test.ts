/**
 * The derived idempotency key is scoped like the message's identity: two messages that share
 * a provider message id but not a provider are both stored and both written; a replay of an
 * event stored under an old-format key (`<event_type>:<id>`, before v1) is stored again under
 * its new key and the worker's `(provider_id, provider_message_id)` makes it a replay.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { enqueue } from "../../src/queue/enqueue.ts";
import { drainBatch as drain } from "../_helpers/ingest.ts";
import { withMigratedDatabase } from "../_helpers/seed.ts";
import { seedEndpoints, smsLine } from "../_helpers/seed.ts";

async function enqueueLines(sql: Sql, lines: string[]) {
  return await enqueue(sql, [{
    name: "t",
    stream: ReadableStream.from([new TextEncoder().encode(lines.join("\n"))]),
  }], { maxPayloadBytes: 262_144 });
}

Deno.test("enqueue: one provider message id at two customers is two events and two messages", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await seedEndpoints(sql, [
      { customer: "acme", provider: "twilio", kind: "sms", address: "+14155550100" },
      { customer: "bloom", provider: "vonage", kind: "sms", address: "+14155550190" },
    ]);
    const summary = await enqueueLines(sql, [
      smsLine("42", { body: "to acme" }),
      smsLine("42", { to: "+14155550190", body: "to bloom" }),
      smsLine("42", { to: "+1 (415) 555-0190", body: "to bloom, again" }), // a replay
    ]);
    assert.deepEqual([summary.stored, summary.duplicates], [2, 1]);
    assert.deepEqual(await drain(sql), { done: 2, retried: 0, dead: 0, inserted: 2 });
    const rows = await sql`
      select cu.name, m.provider_message_id from messages m
      join customers cu on cu.id = m.customer_id order by cu.name`;
    assert.deepEqual(rows.map((r) => [r.name, r.provider_message_id]), [
      ["acme", "42"],
      ["bloom", "42"],
    ]);
  });
});

Deno.test("enqueue: an event stored under an old-format key is a replay after the upgrade", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await seedEndpoints(sql, [
      { customer: "acme", provider: "twilio", kind: "sms", address: "+14155550100" },
    ]);
    // Stored and written before the upgrade, under `<event_type>:<provider message id>`.
    const line = smsLine("SM-old");
    await sql`insert into inbound_events (event_type, payload, idempotency_key)
      values ('message.received', ${sql.json(JSON.parse(line).payload)},
              'message.received:SM-old')`;
    assert.deepEqual(await drain(sql), { done: 1, retried: 0, dead: 0, inserted: 1 });
    // The provider sends it again: a new key, so the queue stores it ...
    assert.equal((await enqueueLines(sql, [line])).stored, 1);
    // ... and the worker finds the message already written.
    assert.deepEqual(await drain(sql), { done: 1, retried: 0, dead: 0, inserted: 0 });
    const [{ n }] = await sql`select count(*)::int as n from messages`;
    assert.equal(n, 1);
  });
});
