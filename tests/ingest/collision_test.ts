/**
 * 64-bit collisions (issue 9, item 4): a value whose hash64 key already holds another value,
 * in the batch or in the database — an accident, or a forged pre-claim of an address, body,
 * URL or conversation not yet seen — is never merged, never refused: it is stored under its
 * first free fallback key (HMAC with the database's secret: `src/dedup/keys.ts`), and every
 * later writer finds it there. Real XXH64 collisions cannot be found for a test: the key
 * ring's hash seam maps two values to one key, or a row is planted under a value's key.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { KeyRing } from "../../src/dedup/keys.ts";
import { createRouter } from "../../src/endpoints/route.ts";
import { WriteCache } from "../../src/ingest/cache.ts";
import { classifyFailure, KeyConflictError } from "../../src/ingest/errors.ts";
import { planBatch } from "../../src/ingest/plan.ts";
import { prepareEvent } from "../../src/ingest/prepare.ts";
import { processBatch } from "../../src/ingest/process.ts";
import { createLogger } from "../../src/log/logger.ts";
import { conversationKey } from "../../src/normalize/conversation_key.ts";
import { hash64 } from "../../src/normalize/hash.ts";
import { claimEvents } from "../../src/queue/claim.ts";
import type { ClaimedEvent } from "../../src/queue/types.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import {
  assertCountersExact,
  migrate,
  seedEndpoints,
  seedEvents,
  withMigratedDatabase,
} from "../_helpers/seed.ts";

const OPTIONS = { region: "US", snippetLength: 120 };
const OURS = "+14155550100";
/** The attacker's number, and the victim's: under the seam, both hash to the victim's key. */
const A = "+14155550142";
const V = "+14155550143";
const route = { kind: "sms" as const, customerId: 1n, providerId: 7n };
const lookup = (a: { value: string }) => (a.value === OURS ? [route] : []);
const quiet = createLogger({ level: "error", write: () => {} });

/** A hash under which each value of `pairs` collides with the other. */
function colliding(...pairs: [string, string][]) {
  const to = new Map(pairs.map(([a, v]) => [a, v]));
  return (value: string) => hash64(to.get(value) ?? value);
}

function event(id: number, payload: Record<string, unknown>): ClaimedEvent {
  return {
    id: BigInt(id),
    eventType: "message.received",
    payload: {
      channel: "sms",
      provider_message_id: `M${id}`,
      to: OURS,
      sent_at: "2024-05-01T12:00:00Z",
      ...payload,
    },
    attempts: 1,
    receivedAt: new Date("2024-05-01T12:00:01Z"),
  } as ClaimedEvent;
}

function sms(id: string, from: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event_type: "message.received",
    payload: {
      channel: "sms",
      provider_message_id: id,
      from,
      to: OURS,
      body: `message ${id}`,
      sent_at: "2024-05-01T16:00:03Z",
      ...extra,
    },
  });
}

/** Claims and processes everything claimable, as the worker does. */
async function drain(sql: Sql, keys: KeyRing, cache?: WriteCache) {
  const total = { done: 0, retried: 0, dead: 0, inserted: 0 };
  for (;;) {
    const batch = await claimEvents(sql, 500, 60_000);
    if (batch.length === 0) return total;
    const r = await processBatch(sql, batch, {
      ...OPTIONS,
      maxAttempts: 5,
      backoff: { baseMs: 1000, random: () => 0.5 },
      router: createRouter(sql),
      keys,
      logger: quiet,
      cache,
    });
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += r[k];
  }
}

async function setUp(sql: Sql) {
  await migrate(sql);
  await seedEndpoints(sql, [{ customer: "acme", provider: "twilio", kind: "sms", address: OURS }]);
}

async function phoneRows(sql: Sql, e164: string) {
  return await sql<{ id: bigint }[]>`select id from phone_numbers where e164 = ${e164}`;
}

async function senderId(sql: Sql, providerMessageId: string): Promise<bigint> {
  const [m] = await sql<{ from_address_id: bigint }[]>`
    select from_address_id from messages where provider_message_id = ${providerMessageId}`;
  return m.from_address_id;
}

Deno.test("planBatch() reports a key the batch holds with another value, naming both values", () => {
  const keys = { key: (_t: string, v: string) => colliding([A, V])(v) } as unknown as KeyRing;
  const a = prepareEvent(event(1, { from: A, body: "a" }), { ...OPTIONS, keys });
  const v = prepareEvent(event(2, { from: V, body: "v" }), { ...OPTIONS, keys });
  assert.equal(a.from.key, v.from.key);
  const { plan, failures } = planBatch(
    [{ index: 0, prepared: a }, { index: 1, prepared: v }],
    lookup,
  );
  assert.deepEqual(plan.messages.map((m) => m.index), [0]);
  assert.equal(plan.phones.get(a.from.key)?.value, A, "the first value is not replaced");
  assert.equal(failures.length, 1);
  const err = failures[0].error;
  assert.ok(err instanceof KeyConflictError, String(err));
  assert.match(err.message, /^64-bit key collision: phone_numbers id -?\d+ \(within one batch\)/);
  assert.ok(!err.message.includes(V) && !err.message.includes(A), "no value in the message");
  assert.deepEqual(err.requests, [
    { table: "phone_numbers", value: V },
    { table: "phone_numbers", value: A },
  ]);
  // Transient: it is resolved and retried, never dead at once.
  assert.equal(classifyFailure(err), "transient");
});

Deno.test("planBatch() reports body, URL and same-message collisions too", () => {
  const url = (n: string) => `https://media.example.com/${n}.jpg`;
  const keys = {
    key: (_t: string, v: string) => colliding(["yes", "no"], [url("a"), url("b")], [A, V])(v),
  } as unknown as KeyRing;
  const first = prepareEvent(event(1, { from: "+14155550198", body: "no" }), { ...OPTIONS, keys });
  const body = prepareEvent(event(2, { from: "+14155550199", body: "yes" }), { ...OPTIONS, keys });
  let r = planBatch([{ index: 0, prepared: first }, { index: 1, prepared: body }], lookup);
  assert.match(r.failures[0]?.error.message ?? "", /xms_bodies id .* \(within one batch\)/);

  const attached = (id: number, u: string) =>
    prepareEvent(
      event(id, { from: "+14155550199", body: "x", attachments: [{ url: u }] }),
      { ...OPTIONS, keys },
    );
  r = planBatch(
    [{ index: 0, prepared: attached(1, url("a")) }, { index: 1, prepared: attached(2, url("b")) }],
    lookup,
  );
  assert.match(r.failures[0]?.error.message ?? "", /attachment_urls id .* \(within one batch\)/);

  // Two addresses of one message under one key.
  const both = prepareEvent(event(3, { from: A, to: [OURS, V], body: "x" }), { ...OPTIONS, keys });
  r = planBatch([{ index: 0, prepared: both }], lookup);
  assert.match(r.failures[0]?.error.message ?? "", /phone_numbers id .* \(within one batch\)/);
});

Deno.test("planBatch() keeps two participant sets under one conversation key apart", () => {
  const a = prepareEvent(event(1, { from: A, body: "yes" }), OPTIONS);
  const v = prepareEvent(event(2, { from: V, body: "yes" }), OPTIONS);
  const forced: typeof conversationKey = (channel, participants) => ({
    ...conversationKey(channel, participants),
    key: conversationKey(channel, [OURS, A]).key,
  });
  const r = planBatch([{ index: 0, prepared: a }, { index: 1, prepared: v }], lookup, {
    conversationKey: forced,
  });
  assert.deepEqual(r.failures, []);
  assert.equal(r.plan.conversations.size, 2);
  assert.deepEqual(
    [...r.plan.conversations.values()].map((c) => c.participants),
    [[OURS, A], [OURS, V]],
  );
});

Deno.test("a pre-claimed address key: the victim's events go through under a fallback key, once", async () => {
  await withTestDatabase(async ({ sql }) => {
    await setUp(sql);
    const hash = colliding([A, V]);
    // The attacker's message claims the victim's key first.
    await seedEvents(sql, [sms("SM1", A)]);
    assert.equal((await drain(sql, new KeyRing(sql, { hash }))).done, 1);
    assert.deepEqual((await phoneRows(sql, A)).map((r) => r.id), [hash64(V)]);

    // The victim's first event, on a worker that knows nothing of it.
    await seedEvents(sql, [sms("SM2", V)]);
    assert.deepEqual(await drain(sql, new KeyRing(sql, { hash })), {
      done: 1,
      retried: 0,
      dead: 0,
      inserted: 1,
    });
    const [victim] = await phoneRows(sql, V);
    assert.notEqual(victim.id, hash64(V), "under a fallback key");
    assert.equal(await senderId(sql, "SM2"), victim.id);
    assert.deepEqual((await phoneRows(sql, A)).map((r) => r.id), [hash64(V)], "A untouched");

    // Later events of the victim, on fresh workers and on one whose cache holds the
    // attacker's row: the same row, the same contact, the same conversation.
    const cache = new WriteCache();
    const warm = new KeyRing(sql, { hash });
    await seedEvents(sql, [sms("SM3", A)]);
    await drain(sql, warm, cache);
    await seedEvents(sql, [sms("SM4", V)]);
    assert.equal((await drain(sql, warm, cache)).done, 1);
    await seedEvents(sql, [sms("SM5", V)]);
    assert.equal((await drain(sql, new KeyRing(sql, { hash }))).done, 1);
    assert.deepEqual((await phoneRows(sql, V)).map((r) => r.id), [victim.id]);
    assert.equal(await senderId(sql, "SM4"), victim.id);
    assert.equal(await senderId(sql, "SM5"), victim.id);
    const [{ contacts }] = await sql<{ contacts: number }[]>`
      select count(*)::int as contacts from contact_addresses where address_id = ${victim.id}`;
    assert.equal(contacts, 1);
    const [{ n }] = await sql<{ n: number }[]>`
      select count(distinct conversation_id)::int as n from messages
      where provider_message_id in ('SM2', 'SM4', 'SM5')`;
    assert.equal(n, 1);
    const [{ dead }] = await sql<{ dead: number }[]>`
      select count(*)::int as dead from inbound_events where status <> 'done'`;
    assert.equal(dead, 0);
    await assertCountersExact(sql);
  });
});

Deno.test("two new values under one key in one batch: the second is written in a later batch", async () => {
  await withTestDatabase(async ({ sql }) => {
    await setUp(sql);
    const hash = colliding([A, V]);
    await seedEvents(sql, [sms("SM1", A), sms("SM2", V)]);
    assert.deepEqual(await drain(sql, new KeyRing(sql, { hash })), {
      done: 1,
      retried: 1,
      dead: 0,
      inserted: 1,
    });
    const [held] = await sql<{ last_error: string }[]>`
      select last_error from inbound_events where status = 'pending'`;
    assert.match(held.last_error, /^64-bit key collision: phone_numbers id -?\d+/);
    assert.ok(!held.last_error.includes("4155550143"), held.last_error);

    await sql`update inbound_events set available_at = now() where status = 'pending'`;
    assert.equal((await drain(sql, new KeyRing(sql, { hash }))).done, 1);
    const [victim] = await phoneRows(sql, V);
    assert.notEqual(victim.id, hash64(V));
    assert.equal(await senderId(sql, "SM2"), victim.id);
    await assertCountersExact(sql);
  });
});

Deno.test("a stored value and a new one under one key in one batch: both written at once", async () => {
  await withTestDatabase(async ({ sql }) => {
    await setUp(sql);
    const hash = colliding([A, V]);
    await seedEvents(sql, [sms("SM1", A)]);
    await drain(sql, new KeyRing(sql, { hash }));
    await seedEvents(sql, [sms("SM2", A), sms("SM3", V)]);
    assert.deepEqual(await drain(sql, new KeyRing(sql, { hash })), {
      done: 2,
      retried: 0,
      dead: 0,
      inserted: 2,
    });
    assert.notEqual(await senderId(sql, "SM3"), hash64(V));
    assert.equal(await senderId(sql, "SM2"), hash64(V));
  });
});

Deno.test("pre-claimed body, URL and email address keys: fallback keys, nothing dead", async () => {
  await withTestDatabase(async ({ sql }) => {
    await setUp(sql);
    await seedEndpoints(sql, [{
      customer: "acme",
      provider: "postmark",
      kind: "email",
      address: "support@example.org",
    }]);
    // Rows planted under the victims' keys, holding other values (as forged ones would).
    const url = "https://media.example.com/v.jpg";
    await sql`insert into xms_bodies (id, raw, normalized, hash)
      values (${hash64("victim body")}, 'x', 'attacker body', ${hash64("victim body")})`;
    await sql`insert into attachment_urls (id, raw, hash)
      values (${hash64(url)}, 'https://evil.example/a.jpg', ${hash64(url)})`;
    await sql`insert into email_addresses (id, raw, lowered, hash)
      values (${hash64("jane@example.com")}, 'x', 'mallory@example.com', ${
      hash64("jane@example.com")
    })`;
    await seedEvents(sql, [
      sms("MM1", V, { body: "victim body", attachments: [{ url, content_type: "image/jpeg" }] }),
      JSON.stringify({
        event_type: "message.received",
        payload: {
          channel: "email",
          provider_message_id: "<m1@example.com>",
          from: "jane@example.com",
          to: "support@example.org",
          subject: "hello",
          body: "hello",
          sent_at: "2024-05-01T16:00:03Z",
        },
      }),
    ]);
    assert.deepEqual(await drain(sql, new KeyRing(sql)), {
      done: 2,
      retried: 0,
      dead: 0,
      inserted: 2,
    });
    const [m] = await sql<{ body: string; url: string; body_id: bigint; url_id: bigint }[]>`
      select b.normalized as body, u.raw as url, b.id as body_id, u.id as url_id
      from messages m join xms_bodies b on b.id = m.body_id
      join message_attachments ma on ma.message_id = m.id
      join attachments a on a.id = ma.attachment_id
      join attachment_urls u on u.id = a.url_id
      where m.provider_message_id = 'MM1'`;
    assert.equal(m.body, "victim body");
    assert.equal(m.url, url);
    assert.notEqual(m.body_id, hash64("victim body"));
    assert.notEqual(m.url_id, hash64(url));
    const [e] = await sql<{ lowered: string; id: bigint }[]>`
      select a.lowered, a.id from messages m join email_addresses a on a.id = m.from_address_id
      where m.provider_message_id = '<m1@example.com>'`;
    assert.equal(e.lowered, "jane@example.com");
    assert.notEqual(e.id, hash64("jane@example.com"));
    await assertCountersExact(sql);
  });
});

Deno.test("a pre-claimed conversation key: the conversation is made under a fallback key", async () => {
  await withTestDatabase(async ({ sql }) => {
    await setUp(sql);
    const [{ id: customer }] = await sql<{ id: bigint }[]>`select id from customers`;
    const k0 = conversationKey("sms", [OURS, V]).key;
    // Another participant set under the victim conversation's key.
    await sql`insert into conversations (customer_id, channel, participants_key, participants)
      values (${customer}, 'sms', ${k0}, ${[OURS, A]}::text[])`;
    await seedEvents(sql, [sms("SM1", V)]);
    assert.equal((await drain(sql, new KeyRing(sql))).done, 1);
    await seedEvents(sql, [sms("SM2", V)]);
    assert.equal((await drain(sql, new KeyRing(sql))).done, 1);
    const rows = await sql<{ participants_key: bigint; participants: string[]; n: number }[]>`
      select participants_key, participants, message_count::int as n
      from conversations order by id`;
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0], { participants_key: k0, participants: [OURS, A], n: 0 });
    assert.deepEqual(rows[1].participants, [OURS, V]);
    assert.notEqual(rows[1].participants_key, k0);
    assert.equal(rows[1].n, 2);
    await assertCountersExact(sql);
  });
});

Deno.test("fallback keys come from the database's secret: stable in one database, not across", async () => {
  const fallbackOf = async () => {
    let key = 0n;
    await withMigratedDatabase(async ({ sql }) => {
      await sql`insert into phone_numbers (id, raw, e164, hash)
        values (${hash64(V)}, 'x', ${A}, ${hash64(V)})`;
      const one = new KeyRing(sql);
      await one.resolve([{ table: "phone_numbers", value: V }]);
      const two = new KeyRing(sql);
      await two.resolve([{ table: "phone_numbers", value: V }]);
      key = one.key("phone_numbers", V);
      assert.equal(two.key("phone_numbers", V), key);
      assert.notEqual(key, hash64(V));
      // A value whose key holds itself (or nothing) keeps its hash64 key.
      await one.resolve([{ table: "phone_numbers", value: A }]);
      assert.equal(one.key("phone_numbers", A), hash64(A));
    });
    return key;
  };
  assert.notEqual(await fallbackOf(), await fallbackOf());
});
