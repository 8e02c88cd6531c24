/**
 * `backfillConversations()` and `repairCounters()` against a real PostgreSQL:
 * legacy rows get exactly the conversations ingest gave them; a second run,
 * a dry run, an interrupted run, a concurrent worker, a customer filter and a
 * broken address each do what they say.
 */
import assert from "node:assert/strict";
import { backfillConversations, countLegacy } from "../../src/backfill/backfill.ts";
import { repairCounters } from "../../src/backfill/repair.ts";
import type { Sql } from "../../src/db/connect.ts";
import { createLogger } from "../../src/log/logger.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import {
  assertCountersExact,
  contendedLines,
  migrate,
  seedEndpoints,
  seedEvents,
  seedManyEvents,
} from "../_helpers/seed.ts";
import { generateLegacy } from "../bench/_legacy_generate.ts";
import { ACME_EMAIL, ACME_SMS, BLOOM_SMS, DEMO_EVENTS_URL } from "../fixtures/demo/generate.ts";
import { contactState, conversationState, drainQueue, dump, eraseConversations } from "./_state.ts";

const run = (sql: Sql, over: Partial<Parameters<typeof backfillConversations>[1]> = {}) =>
  backfillConversations(sql, { snippetLength: 120, batchSize: 37, ...over });

/** The demo: its endpoints and its week of events, drained by the worker. */
async function ingestDemo(sql: Sql, options: { receivedAt?: string } = {}): Promise<void> {
  await migrate(sql);
  await seedEndpoints(sql, [
    { customer: "acme", provider: "twilio", kind: "sms", address: ACME_SMS },
    { customer: "acme", provider: "postmark", kind: "email", address: ACME_EMAIL },
    { customer: "bloom", provider: "twilio", kind: "sms", address: BLOOM_SMS },
  ]);
  const lines = (await Deno.readTextFile(DEMO_EVENTS_URL)).split("\n").filter((l) => l.trim());
  await seedEvents(sql, lines);
  if (options.receivedAt) {
    await sql`update inbound_events set received_at = ${options.receivedAt}::timestamptz`;
  }
  assert.ok((await drainQueue(sql)) > 200);
}

Deno.test("backfillConversations() gives erased demo messages the worker's conversations, participants and counters", async () => {
  await withTestDatabase(async ({ sql }) => {
    await ingestDemo(sql);
    const conversations = await conversationState(sql);
    const contacts = await contactState(sql);
    const [{ n: messages }] = await sql<{ n: number }[]>`select count(*)::int as n from messages`;
    await eraseConversations(sql, { contacts: true });
    assert.equal(await countLegacy(sql), messages);

    const r = await run(sql);
    assert.equal(r.assigned, messages);
    assert.equal(r.unassignable, 0);
    assert.equal(r.conversationsCreated, conversations.length);
    assert.equal(r.conversationsReused, 0);
    assert.equal(r.contactsCreated, contacts.length);
    assert.equal(r.interrupted, false);
    assert.deepEqual(await conversationState(sql), conversations);
    assert.deepEqual(await contactState(sql), contacts);
    await assertCountersExact(sql);
  });
});

Deno.test("backfillConversations() moves a conversation whose key is pre-claimed to a fallback key", async () => {
  await withTestDatabase(async ({ sql }) => {
    await ingestDemo(sql);
    const [{ n: messages }] = await sql<{ n: number }[]>`select count(*)::int as n from messages`;
    const [victim] = await sql<
      { customer_id: bigint; channel: string; participants_key: bigint; participants: string[] }[]
    >`
      select customer_id, channel, participants_key, participants from conversations
      order by message_count desc, id limit 1`;
    const [{ n: before }] = await sql<
      { n: number }[]
    >`select count(*)::int as n from conversations`;
    await eraseConversations(sql, { contacts: true });
    // Another participant set under the victim's key (as a forged collision would leave it).
    await sql`insert into conversations (customer_id, channel, participants_key, participants)
      values (${victim.customer_id}, ${victim.channel}, ${victim.participants_key},
              ${["+14155559999"]}::text[])`;

    const dry = await run(sql, { dryRun: true });
    assert.equal(dry.unassignable, 0);
    assert.equal(dry.conversationsCreated, before);
    const r = await run(sql);
    assert.equal(r.assigned, messages);
    assert.equal(r.unassignable, 0);
    assert.equal(r.conversationsCreated, before);
    const rows = await sql<{ participants_key: bigint; participants: string[]; n: number }[]>`
      select participants_key, participants, message_count::int as n from conversations
      where customer_id = ${victim.customer_id} and channel = ${victim.channel}
        and (participants_key = ${victim.participants_key}
             or participants = ${victim.participants}::text[])
      order by id`;
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0], {
      participants_key: victim.participants_key,
      participants: ["+14155559999"],
      n: 0,
    });
    assert.deepEqual(rows[1].participants, victim.participants);
    assert.notEqual(rows[1].participants_key, victim.participants_key);
    assert.ok(rows[1].n > 0);
    await assertCountersExact(sql);
  });
});

Deno.test("backfillConversations() keeps existing contacts, and a second run changes nothing", async () => {
  await withTestDatabase(async ({ sql }) => {
    await ingestDemo(sql);
    const conversations = await conversationState(sql);
    await eraseConversations(sql);
    const r = await run(sql);
    assert.equal(r.contactsCreated, 0);
    assert.deepEqual(await conversationState(sql), conversations);

    const before = await dump(sql);
    const again = await run(sql);
    assert.deepEqual(
      [again.scanned, again.assigned, again.conversationsCreated, again.contactsCreated],
      [0, 0, 0, 0],
    );
    assert.deepEqual(await dump(sql), before);
  });
});

Deno.test("backfillConversations() reuses the conversations of messages that kept theirs", async () => {
  await withTestDatabase(async ({ sql }) => {
    await ingestDemo(sql);
    const conversations = await conversationState(sql);
    // Every other message becomes legacy; counters are now wrong until the backfill.
    await sql`update messages set conversation_id = null where id % 2 = 0`;
    const r = await run(sql);
    assert.equal(r.conversationsCreated, 0);
    assert.ok(r.conversationsReused > 0);
    assert.deepEqual(await conversationState(sql), conversations);
  });
});

Deno.test("backfillConversations() with dryRun changes nothing and predicts the real run", async () => {
  await withTestDatabase(async ({ sql }) => {
    await ingestDemo(sql);
    await eraseConversations(sql, { contacts: true });
    // Half the conversations exist again, so the dry run sees some to reuse.
    await sql`update messages set conversation_id = null where id % 3 = 0`;
    await run(sql, { batchSize: 1000, customerId: undefined });
    await sql`update messages set conversation_id = null where id % 3 = 0`;
    await sql`update messages set conversation_id = null where id > (select max(id) / 2 from messages)`;

    const before = await dump(sql);
    const dry = await run(sql, { dryRun: true });
    assert.deepEqual(await dump(sql), before);
    const real = await run(sql);
    const figures = (x: typeof dry) => [
      x.scanned,
      x.assigned,
      x.conversationsCreated,
      x.conversationsReused,
      x.contactsCreated,
      x.unassignable,
    ];
    assert.deepEqual(figures(dry), figures(real));
    assert.ok(real.assigned > 0);
    assert.equal(await countLegacy(sql), 0);
  });
});

Deno.test("backfillConversations() reports and skips a message whose address has no dedup row", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await generateLegacy(sql, {
      customers: 2,
      conversationsPerCustomer: 20,
      messagesPerConversation: 3,
    });
    const [bad] = await sql<
      { id: bigint }[]
    >`select min(id) as id from messages where channel = 'sms'`;
    await sql`update messages set from_address_id = 12345 where id = ${bad.id}`;
    const [bad2] = await sql<{ id: bigint }[]>`select max(id) as id from messages`;
    await sql`update messages set from_address_id = null, to_address_ids = '{}', cc_address_ids = '{}'
      where id = ${bad2.id}`;
    const lines: string[] = [];
    const logger = createLogger({ level: "warn", format: "json", write: (l) => lines.push(l) });
    const r = await run(sql, { logger });
    assert.equal(r.unassignable, 2);
    assert.equal(r.assigned, 2 * 20 * 3 - 2);
    assert.deepEqual(r.unassignableSamples.map((u) => u.messageId), [bad.id, bad2.id]);
    assert.match(r.unassignableSamples[0].reason, /address id 12345 not found in phone_numbers/);
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[0]).message_id, String(bad.id));
    // The rest is exact; a rerun looks at the two again and assigns nothing.
    await assertCountersExact(sql);
    const again = await run(sql);
    assert.deepEqual([again.scanned, again.assigned, again.unassignable], [2, 0, 2]);
  });
});

Deno.test("backfillConversations() with customerId assigns that customer's messages only", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await generateLegacy(sql, {
      customers: 3,
      conversationsPerCustomer: 10,
      messagesPerConversation: 4,
    });
    const [c] = await sql<{ id: bigint }[]>`select id from customers where name = 'bench-001'`;
    const r = await run(sql, { customerId: c.id });
    assert.equal(r.assigned, 40);
    const left = await sql<{ customer_id: bigint; n: number }[]>`
      select customer_id, count(*)::int as n from messages where conversation_id is null
      group by customer_id order by customer_id`;
    assert.equal(left.length, 2);
    assert.ok(left.every((l) => l.customer_id !== c.id && l.n === 40));
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from conversations where customer_id <> ${c.id}`;
    assert.equal(n, 0);
  });
});

Deno.test("backfillConversations() stops after the batch in progress when signalled, and a rerun resumes", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await generateLegacy(sql, {
      customers: 2,
      conversationsPerCustomer: 20,
      messagesPerConversation: 5,
    });
    const stop = new AbortController();
    const first = await run(sql, {
      batchSize: 30,
      signal: stop.signal,
      onProgress: () => stop.abort(),
    });
    assert.equal(first.interrupted, true);
    assert.equal(first.assigned, 30);
    assert.equal(await countLegacy(sql), 200 - 30);
    const second = await run(sql, { batchSize: 30 });
    assert.equal(second.assigned, 170);
    assert.equal(first.conversationsCreated + second.conversationsCreated, 40);
    await assertCountersExact(sql);
  });
});

Deno.test("backfillConversations() next to a draining worker on the same conversations ends with exact counters", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, [
      { customer: "acme", provider: "twilio", kind: "sms", address: "+14155550100" },
    ]);
    const lines = contendedLines(1200, { contacts: 12 });
    await seedManyEvents(sql, lines.slice(0, 600));
    await drainQueue(sql);
    await sql`update messages set conversation_id = null where id % 5 <> 0`;
    await seedManyEvents(sql, lines.slice(600));
    const [worker, backfill] = await Promise.all([
      drainQueue(sql, 20),
      run(sql, { batchSize: 15 }),
    ]);
    assert.equal(worker, 600);
    assert.equal(backfill.unassignable, 0);
    assert.equal(await countLegacy(sql), 0);
    await assertCountersExact(sql);
    const wrong = await sql`
      select c.id from conversations c
      where c.last_snippet is distinct from (
        select xb.normalized from messages m join xms_bodies xb on xb.id = m.body_id
        where m.conversation_id = c.id order by m.sent_at desc, m.id desc limit 1)`;
    assert.equal(wrong.length, 0);
  });
});

Deno.test("repairCounters() after the worker's ingest repairs nothing: both pick the newest message by (sent_at, id)", async () => {
  await withTestDatabase(async ({ sql }) => {
    // Twilio events carry no time: their messages take the enqueue time, one
    // for a whole file enqueued at once, so only the tie-break decides each
    // such thread's snippet.
    await ingestDemo(sql, { receivedAt: "2026-11-30T12:00:00Z" });
    const [{ n: tied }] = await sql<{ n: number }[]>`
      select count(*)::int as n from (
        select conversation_id from messages group by conversation_id, sent_at having count(*) > 1
      ) t`;
    assert.ok(tied > 0, "the fixture has messages with equal times in one conversation");
    const r = await repairCounters(sql, { snippetLength: 120, batchSize: 7 });
    assert.equal(r.repaired, 0);
  });
});

Deno.test("repairCounters() repairs broken counters and snippets and leaves assignments alone", async () => {
  await withTestDatabase(async ({ sql }) => {
    await ingestDemo(sql);
    const good = await conversationState(sql);
    const assignments = await sql`select id, conversation_id from messages order by id`;
    await sql`update conversations set message_count = message_count + 3 where id % 2 = 0`;
    await sql`update conversations set last_snippet = 'stale', last_message_at = null
      where id % 3 = 0`;
    const [{ n: broken }] = await sql<{ n: number }[]>`
      select count(*)::int as n from conversations where id % 2 = 0 or id % 3 = 0`;
    const r = await repairCounters(sql, { snippetLength: 120, batchSize: 7 });
    assert.equal(r.repaired, broken);
    assert.equal(r.recounted, good.length);
    assert.deepEqual(await conversationState(sql), good);
    assert.deepEqual(await sql`select id, conversation_id from messages order by id`, assignments);
    const again = await repairCounters(sql, { snippetLength: 120 });
    assert.equal(again.repaired, 0);
  });
});

Deno.test("repairCounters() with customerId recounts that customer's conversations only", async () => {
  await withTestDatabase(async ({ sql }) => {
    await ingestDemo(sql);
    await sql`update conversations set message_count = 0`;
    const [bloom] = await sql<{ id: bigint }[]>`select id from customers where name = 'bloom'`;
    const r = await repairCounters(sql, { snippetLength: 120, customerId: bloom.id });
    assert.ok(r.repaired > 0);
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from conversations where message_count = 0`;
    const [{ acme }] = await sql<{ acme: number }[]>`
      select count(*)::int as acme from conversations where customer_id <> ${bloom.id}`;
    assert.equal(n, acme);
  });
});
