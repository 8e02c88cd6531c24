/**
 * Seed 003's race: many transactions writing messages of one conversation at
 * the same moment. The conversation must be created once, its counter must
 * count every message once, and its participants must be the four addresses.
 *
 * 100 writers call `processBatch` (what `convo work` runs per batch) all at
 * once, each with its own router and no cache, over a pool of 30 connections
 * (the shared server allows 100 in all): at every moment up to 30 batch
 * transactions contend for the same conversation, contacts and dedup rows.
 * Every message also arrives twice (a replay under a new idempotency key), in
 * two different writers' batches, so the exactly-once rule is raced as well.
 */
import assert from "node:assert/strict";
import { createClient } from "../../src/db/connect.ts";
import { KeyRing } from "../../src/dedup/keys.ts";
import { createRouter } from "../../src/endpoints/route.ts";
import { processBatch } from "../../src/ingest/process.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { ClaimedEvent } from "../../src/queue/types.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import {
  assertCountersExact,
  FIXTURE_ENDPOINTS,
  migrate,
  seedEndpoints,
  seedEvents,
} from "../_helpers/seed.ts";

const WRITERS = 100;
const MESSAGES = 100;
const OURS = "+14155550100";
const THEIRS = ["+14155550142", "+14155550143", "+14155550144"];

/** Message `i` of the group thread: from us or from one of them, to everyone else. */
function line(i: number, replay: boolean): string {
  const from = i % 4 === 0 ? OURS : THEIRS[i % 3];
  const payload = {
    channel: i % 2 === 0 ? "mms" : "sms",
    provider_message_id: `SMrace${String(i).padStart(3, "0")}`,
    from,
    to: [OURS, ...THEIRS].filter((a) => a !== from),
    body: `message ${i}`,
    sent_at: new Date(Date.UTC(2024, 4, 1) + i * 1000).toISOString(),
  };
  return JSON.stringify({
    event_type: from === OURS ? "message.sent" : "message.received",
    payload,
    idempotency_key: `race-${i}${replay ? "-replay" : ""}`,
  });
}

Deno.test("processBatch(): 100 concurrent writers of one conversation make one conversation with exact counters and participants", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await migrate(sql);
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    const lines = [
      ...Array.from({ length: MESSAGES }, (_, i) => line(i, false)),
      ...Array.from({ length: MESSAGES }, (_, i) => line(i, true)),
    ];
    assert.equal(await seedEvents(sql, lines), 2 * MESSAGES);
    // Claimed as the claim statement does (processing, attempt 1), by the test.
    const rows = await sql<
      { id: bigint; event_type: string; payload: unknown; attempts: number; received_at: Date }[]
    >`
      update inbound_events set status = 'processing', attempts = 1,
        locked_until = now() + interval '10 minutes', available_at = now() + interval '10 minutes'
      returning id, event_type, payload, attempts, received_at`;
    const events: ClaimedEvent[] = rows
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((r) => ({
        id: r.id,
        eventType: r.event_type,
        payload: r.payload,
        attempts: r.attempts,
        receivedAt: r.received_at,
      }));
    // Writer w: original w and the replay of message (37 w + 11) mod 100, so
    // every message is in two batches that run at the same time.
    const batches = Array.from({ length: WRITERS }, (_, w) => [
      events[w],
      events[MESSAGES + (37 * w + 11) % MESSAGES],
    ]);

    const logger = createLogger({ level: "error", write: () => {} });
    const pool = createClient(url, {
      max: 30,
      applicationName: "convo race",
      connectTimeoutSeconds: 10,
      logger,
    });
    let results;
    try {
      results = await Promise.all(batches.map((batch) =>
        processBatch(pool, batch, {
          region: "US",
          snippetLength: 120,
          maxAttempts: 3,
          backoff: { baseMs: 1000 },
          router: createRouter(pool),
          keys: new KeyRing(pool),
          logger,
        })
      ));
    } finally {
      await pool.end({ timeout: 5 });
    }

    const total = results.reduce(
      (t, r) => ({
        done: t.done + r.done,
        retried: t.retried + r.retried,
        dead: t.dead + r.dead,
        inserted: t.inserted + r.inserted,
      }),
      { done: 0, retried: 0, dead: 0, inserted: 0 },
    );
    assert.deepEqual(total, { done: 2 * MESSAGES, retried: 0, dead: 0, inserted: MESSAGES });
    const [{ done }] = await sql<{ done: number }[]>`
      select count(*) filter (where status = 'done')::int as done from inbound_events`;
    assert.equal(done, 2 * MESSAGES);

    const conversations = await sql<
      { id: bigint; channel: string; participants: string[]; message_count: bigint }[]
    >`select id, channel, participants, message_count from conversations`;
    assert.equal(conversations.length, 1, "exactly one conversation");
    const [c] = conversations;
    assert.equal(c.channel, "sms", "MMS threads with SMS");
    assert.deepEqual(c.participants, [OURS, ...THEIRS].sort());
    assert.equal(Number(c.message_count), MESSAGES);
    const [m] = await sql<{ n: number; distinct: number; elsewhere: number }[]>`
      select count(*)::int as n, count(distinct provider_message_id)::int as distinct,
             count(*) filter (where conversation_id <> ${c.id})::int as elsewhere
      from messages`;
    assert.deepEqual(m, { n: MESSAGES, distinct: MESSAGES, elsewhere: 0 });
    await assertCountersExact(sql);

    const participants = await sql<{ address: string; role: string }[]>`
      select pn.e164 as address, cp.role
      from conversation_participants cp
      join contact_addresses ca on ca.contact_id = cp.contact_id
      join phone_numbers pn on pn.id = ca.address_id
      where cp.conversation_id = ${c.id}
      order by 1`;
    assert.deepEqual(
      participants.map((p) => [p.address, p.role]),
      THEIRS.map((a) => [a, "contact"]),
      "one participant row per external address",
    );
    const [{ contacts, dupes }] = await sql<{ contacts: number; dupes: number }[]>`
      select count(*)::int as contacts,
             (count(*) - count(distinct (customer_id, kind, address_id)))::int as dupes
      from contact_addresses`;
    assert.deepEqual({ contacts, dupes }, { contacts: THEIRS.length, dupes: 0 });
  });
});
