/**
 * A conversation a batch creates is inserted with the counters of its messages (written
 * once), not inserted empty and then updated; when a message planned into it was already
 * stored, its counters are set to what was actually inserted.
 *
 * A trigger of the test's own records every update of a conversation.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { drainBatch as drain } from "../_helpers/ingest.ts";
import { assertCountersExact, seedEndpoints, withMigratedDatabase } from "../_helpers/seed.ts";

const OURS = "+14155550100";

/** Records the id of every updated conversation in `conversation_updates`. */
async function probeUpdates(sql: Sql) {
  await sql.unsafe(`
    create table conversation_updates (id bigint not null);
    create function probe_conversation_update() returns trigger language plpgsql as $$
    begin
      insert into conversation_updates values (new.id);
      return null;
    end $$;
    create trigger probe after update on conversations
      for each row execute function probe_conversation_update();`);
}

/** Queues SMS to our number, in one statement: the same received_at, so the same activity time. */
async function queue(sql: Sql, messages: [sid: string, from: string, body: string][]) {
  const payloads = messages.map(([sid, from, body]) =>
    JSON.stringify({ MessageSid: sid, From: from, To: OURS, Body: body })
  );
  await sql`
    insert into inbound_events (event_type, payload)
    select 'twilio.message', p::jsonb from unnest(${payloads}::text[]) as p`;
}

async function conversationOf(sql: Sql, from: string) {
  const [row] = await sql<
    { id: bigint; message_count: bigint; last_message_at: Date | null; last_snippet: string }[]
  >`
    select id, message_count, last_message_at, last_snippet from conversations
    where participants @> array[${from}]::text[]`;
  return row;
}

Deno.test("ingest: a conversation created by a batch is written once, with its messages' counters", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await seedEndpoints(sql, [{
      customer: "acme",
      provider: "twilio",
      kind: "sms",
      address: OURS,
    }]);
    await probeUpdates(sql);
    // Two messages of one new conversation with the same activity time (Twilio sends no
    // time: both are their arrival), and one of another.
    await queue(sql, [
      ["SM1", "+14155550101", "first"],
      ["SM2", "+14155550101", "second"],
      ["SM3", "+14155550102", "other"],
    ]);
    assert.deepEqual(await drain(sql), { done: 3, retried: 0, dead: 0, inserted: 3 });
    const none = await sql`select id from conversation_updates`;
    assert.equal(none.length, 0, "no update");
    const a = await conversationOf(sql, "+14155550101");
    const b = await conversationOf(sql, "+14155550102");
    assert.deepEqual([Number(a.message_count), a.last_snippet], [2, "second"]);
    assert.deepEqual([Number(b.message_count), b.last_snippet], [1, "other"]);
    // The tie goes to the higher message id, as a recount picks it.
    const [newest] = await sql`
      select m.provider_message_id from messages m where m.conversation_id = ${a.id}
      order by convo_message_activity_at(m.sent_at, m.received_at, m.created_at) desc, m.id desc
      limit 1`;
    assert.equal(newest.provider_message_id, "SM2");
    await assertCountersExact(sql);

    // A later message to an existing conversation moves its counters: one update.
    await queue(sql, [["SM4", "+14155550101", "third"]]);
    assert.deepEqual(await drain(sql), { done: 1, retried: 0, dead: 0, inserted: 1 });
    const updates = await sql<{ id: bigint }[]>`select id from conversation_updates`;
    assert.deepEqual(updates.map((u) => u.id), [a.id]);
    const after = await conversationOf(sql, "+14155550101");
    assert.deepEqual([Number(after.message_count), after.last_snippet], [3, "third"]);
    await assertCountersExact(sql);
  });
});

Deno.test("ingest: a created conversation whose message was already stored counts what was inserted", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const customers = await seedEndpoints(sql, [
      { customer: "acme", provider: "twilio", kind: "sms", address: OURS },
    ]);
    const customerId = customers.get("acme")!;
    await probeUpdates(sql);
    // SM9 is already stored (a legacy row, in no conversation): the event's message is
    // a replay, while its conversation is new.
    await sql`
      insert into messages (customer_id, provider_id, direction, channel, provider_message_id, sent_at)
      select ${customerId}, id, 'inbound', 'sms', 'SM9', now() from providers
      where customer_id = ${customerId} and name = 'twilio'`;
    await queue(sql, [["SM9", "+14155550109", "again"], ["SM10", "+14155550110", "new"]]);
    assert.deepEqual(await drain(sql), { done: 2, retried: 0, dead: 0, inserted: 1 });
    const replayed = await conversationOf(sql, "+14155550109");
    assert.deepEqual(
      [Number(replayed.message_count), replayed.last_message_at, replayed.last_snippet],
      [0, null, null],
    );
    // Created with the planned message counted, then set to what was inserted.
    const updates = await sql<{ id: bigint }[]>`select id from conversation_updates`;
    assert.deepEqual(updates.map((u) => u.id), [replayed.id]);
    const fresh = await conversationOf(sql, "+14155550110");
    assert.deepEqual([Number(fresh.message_count), fresh.last_snippet], [1, "new"]);
    await assertCountersExact(sql);
  });
});
