/**
 * A sender-controlled date cannot pin a conversation: its activity time is the message's
 * sent_at clamped to a day after it reached us, while the message keeps its sent_at.
 */
import assert from "node:assert/strict";
import { drainBatch as drain } from "../_helpers/ingest.ts";
import { assertCountersExact, seedEndpoints, withMigratedDatabase } from "../_helpers/seed.ts";

const mail = (id: string, date: string, body: string) => ({
  MessageID: id,
  From: "mallory@example.com",
  To: "support@acme.example",
  Subject: "hi",
  TextBody: body,
  Date: date,
});

Deno.test("ingest: an email dated 9999 does not pin its conversation; later mail moves it", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await seedEndpoints(sql, [
      { customer: "acme", provider: "postmark", kind: "email", address: "support@acme.example" },
    ]);
    const insert = (payload: unknown) =>
      sql`insert into inbound_events (event_type, payload, received_at)
        values ('postmark.inbound', ${sql.json(payload as Record<string, string>)}, now())`;
    await insert(mail("future", "Fri, 31 Dec 9999 23:00:00 +0000", "from the future"));
    assert.deepEqual(await drain(sql), { done: 1, retried: 0, dead: 0, inserted: 1 });
    const [first] = await sql`
      select c.last_message_at, c.last_snippet, m.sent_at, now() as now
      from conversations c join messages m on m.conversation_id = c.id`;
    assert.equal(first.sent_at.toISOString(), "9999-12-31T23:00:00.000Z", "kept on the message");
    assert.ok(first.last_message_at.getTime() <= first.now.getTime() + 24 * 3600_000 + 1000);

    // Two days on, an honest reply: it is the latest activity, with its snippet.
    await sql`update messages set received_at = received_at - interval '2 days',
      created_at = created_at - interval '2 days'`;
    await sql`update conversations set last_message_at = last_message_at - interval '2 days'`;
    await insert(mail("honest", new Date().toUTCString(), "an honest reply"));
    assert.deepEqual(await drain(sql), { done: 1, retried: 0, dead: 0, inserted: 1 });
    const [after] =
      await sql`select last_message_at, last_snippet, message_count from conversations`;
    assert.equal(after.last_snippet, "an honest reply");
    assert.equal(Number(after.message_count), 2);
    await assertCountersExact(sql);
  });
});

Deno.test("convo_message_activity_at() is least(sent_at, received_at + 24 h, created_at + 24 h)", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const [r] = await sql`select
      convo_message_activity_at('9999-01-01Z', '2024-05-01T12:00:00Z', '2024-05-03Z') as a,
      convo_message_activity_at('9999-01-01Z', null, '2024-05-03Z') as b,
      convo_message_activity_at('2024-04-01Z', '2024-05-01Z', '2024-05-03Z') as c`;
    assert.deepEqual([r.a, r.b, r.c].map((d: Date) => d.toISOString()), [
      "2024-05-02T12:00:00.000Z",
      "2024-05-04T00:00:00.000Z",
      "2024-04-01T00:00:00.000Z",
    ]);
  });
});
