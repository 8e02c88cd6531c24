/**
 * Ingest against a real PostgreSQL: the fixture events become exactly the
 * expected conversations, participants, counts, bodies and attachments;
 * replays change nothing; poison events are dead-lettered without blocking the
 * others; transient failures back off and die after the last attempt.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { processBatch, type ProcessOptions } from "../../src/ingest/process.ts";
import { WriteCache } from "../../src/ingest/cache.ts";
import { createRouter, type Router } from "../../src/endpoints/route.ts";
import { createLogger } from "../../src/log/logger.ts";
import { hash64 } from "../../src/normalize/hash.ts";
import { claimEvents } from "../../src/queue/claim.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { ingestOptions } from "../_helpers/ingest.ts";
import {
  assertCountersExact,
  FIXTURE_ENDPOINTS,
  migrate,
  seedEndpoints,
  seedEvents,
} from "../_helpers/seed.ts";

const FIXTURE = new URL("../fixtures/events/", import.meta.url);
const logLines: string[] = [];
const logger = createLogger({ level: "debug", format: "json", write: (l) => logLines.push(l) });

function options(sql: Sql, over: Partial<ProcessOptions> = {}): ProcessOptions {
  return ingestOptions(sql, { logger, ...over });
}

async function drain(sql: Sql, opts: ProcessOptions, batchSize = 500) {
  const total = { done: 0, retried: 0, dead: 0, inserted: 0 };
  for (;;) {
    const batch = await claimEvents(sql, batchSize, 60_000);
    if (batch.length === 0) return total;
    const r = await processBatch(sql, batch, opts);
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += r[k];
  }
}

async function fixtureLines(): Promise<string[]> {
  return (await Deno.readTextFile(new URL("mixed.ndjson", FIXTURE))).split("\n");
}

Deno.test("ingest: the mixed fixture gives exactly the expected conversations", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    assert.equal(await seedEvents(sql, await fixtureLines()), 10);
    const result = await drain(sql, options(sql));
    assert.deepEqual(result, { done: 10, retried: 0, dead: 0, inserted: 10 });

    const conversations = await sql<
      {
        channel: string;
        participants: string[];
        message_count: bigint;
        participant_count: bigint;
        last_snippet: string;
      }[]
    >`select channel, participants, message_count, participant_count, last_snippet
      from conversation_overview order by channel, participants`;
    assert.deepEqual(
      conversations.map((
        c,
      ) => [
        c.channel,
        c.participants.join(" "),
        Number(c.message_count),
        Number(c.participant_count),
      ]),
      [
        [
          "email",
          "billing@example.org dana.lee@example.com ops@example.org support@example.org",
          3,
          3,
        ],
        ["sms", "+14155550100 +14155550142", 5, 1],
        ["sms", "+14155550100 +14155550143 +14155550144 +14155550145", 1, 3],
        ["sms", "+14155550100 +14155550144", 1, 1],
      ],
    );
    const email = conversations[0];
    assert.equal(
      email.last_snippet,
      "Thanks, the corrected one is right.",
      "latest email by sent_at",
    );
    await assertCountersExact(sql);

    // Messages: direction, channel, body text as received, attachments.
    const messages = await sql<
      {
        provider_message_id: string;
        direction: string;
        channel: string;
        body_text: string | null;
        attachments_count: bigint;
        subject: string | null;
      }[]
    >`select provider_message_id, direction, channel, body_text, attachments_count, subject
      from conversation_messages order by provider_message_id`;
    const byId = new Map(messages.map((m) => [m.provider_message_id.slice(-4), m]));
    assert.equal(messages.length, 10);
    assert.equal(byId.get("0001")?.body_text, "Hi, is my order 1042 ready for pickup?");
    assert.equal(byId.get("0002")?.direction, "outbound");
    assert.equal(byId.get("0003")?.body_text, "Great, see you then 👍");
    assert.equal(byId.get("0005")?.channel, "mms");
    assert.equal(Number(byId.get("0005")?.attachments_count), 1);
    assert.equal(Number(byId.get("0006")?.attachments_count), 2);
    assert.equal(
      byId.get("0015")?.body_text,
      "Gate code is 40\uFFFD12, thanks",
      "U+0000 replaced at enqueue",
    );
    const postmark = messages.find((m) =>
      m.provider_message_id === "73e6d360-66eb-11e1-8e72-a8904824019b"
    )!;
    assert.equal(postmark.channel, "email");
    assert.equal(Number(postmark.attachments_count), 1);
    assert.ok(postmark.subject?.startsWith("Invoice"));

    // Dedup: each address and body stored once; plus-tagged, mixed-case forms are one row.
    const [{ emails }] = await sql`select count(*)::int as emails from email_addresses`;
    assert.equal(emails, 4);
    const [dana] = await sql`select raw, lowered from email_addresses where id = ${
      hash64("dana.lee@example.com")
    }`;
    assert.equal(dana.lowered, "dana.lee@example.com");
    const [{ phones }] = await sql`select count(*)::int as phones from phone_numbers`;
    assert.equal(phones, 5);

    // Contacts: one per external address, ours excluded.
    const contacts = await sql`
      select ca.kind, coalesce(p.e164, e.lowered) as address
      from contact_addresses ca
      left join phone_numbers p on ca.kind = 'phone' and p.id = ca.address_id
      left join email_addresses e on ca.kind = 'email' and e.id = ca.address_id
      order by 2`;
    assert.deepEqual(contacts.map((c) => c.address), [
      "+14155550142",
      "+14155550143",
      "+14155550144",
      "+14155550145",
      "billing@example.org",
      "dana.lee@example.com",
      "ops@example.org",
    ]);
    const [{ orphans }] = await sql`
      select count(*)::int as orphans from contacts c
      where not exists (select 1 from contact_addresses ca where ca.contact_id = c.id)`;
    assert.equal(orphans, 0);

    const urls = await sql`select raw from attachment_urls order by raw`;
    assert.equal(urls.length, 5);
    assert.ok(urls.some((u) => u.raw.startsWith("postmark:73e6d360-66eb-11e1-8e72-a8904824019b/")));
  });
});

Deno.test("ingest: replaying events (same provider message ids, new idempotency keys) adds nothing", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    const lines = await fixtureLines();
    await seedEvents(sql, lines);
    await drain(sql, options(sql));
    const before =
      await sql`select id, message_count, last_message_at, last_snippet from conversations order by id`;
    const [{ n: messagesBefore }] = await sql`select count(*)::int as n from messages`;

    // The provider retries every webhook: new queue rows (fresh idempotency keys).
    const replays = lines.filter((l) => l.trim()).map((l) => {
      try {
        const env = JSON.parse(l);
        return JSON.stringify({ ...env, idempotency_key: `replay-${crypto.randomUUID()}` });
      } catch {
        return l;
      }
    });
    assert.equal(await seedEvents(sql, replays), 12);
    const result = await drain(sql, options(sql));
    assert.deepEqual(result, { done: 12, retried: 0, dead: 0, inserted: 0 });
    const [{ n: messagesAfter }] = await sql`select count(*)::int as n from messages`;
    assert.equal(messagesAfter, messagesBefore);
    assert.deepEqual(
      await sql`select id, message_count, last_message_at, last_snippet from conversations order by id`,
      before,
    );
  });
});

Deno.test("ingest: poison events are dead-lettered with a reason; the rest of the batch goes through", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    await seedEvents(sql, await fixtureLines());
    // Events that bypassed enqueue's validation, or cannot be routed or stored.
    await sql`insert into inbound_events (event_type, payload) values
      ('message.received', '{"channel":"sms","from":"+14155550142"}'),
      ('no.such.type', '{}'),
      ('message.received', '{"channel":"sms","provider_message_id":"X1","from":"+14155550142","to":"+19995550000","body":"to nobody we know","sent_at":"2024-05-01T18:00:00Z"}'),
      ('message.received', '{"channel":"sms","provider_message_id":"X2","from":"12","to":"+14155550100","body":"bad sender","sent_at":"2024-05-01T18:00:00Z"}')`;
    // A 64-bit key that already holds another number (a forged pre-claim): this sender is
    // stored under a fallback key, and its event goes through.
    await sql`insert into phone_numbers (id, raw, e164, hash)
      values (${hash64("+14155550199")}, 'x', '+14155550998', ${hash64("+14155550199")})`;
    await sql`insert into inbound_events (event_type, payload) values
      ('message.received', '{"channel":"sms","provider_message_id":"X3","from":"+14155550199","to":"+14155550100","body":"collides","sent_at":"2024-05-01T18:00:00Z"}')`;

    logLines.length = 0;
    const result = await drain(sql, options(sql));
    assert.deepEqual(result, { done: 11, retried: 0, dead: 4, inserted: 11 });
    const dead = await sql<{ event_type: string; last_error: string }[]>`
      select event_type, last_error from inbound_events where status = 'dead' order by id`;
    assert.match(dead[0].last_error, /^payload\.provider_message_id: missing/);
    assert.match(dead[1].last_error, /unknown event_type 'no\.such\.type'/);
    assert.match(
      dead[2].last_error,
      /^no endpoint mapping for the recipient \(\+1\*+0000\) on channel sms/,
    );
    assert.match(dead[3].last_error, /Cannot parse phone number/);
    assert.equal(dead.length, 4);
    const [{ n }] = await sql`select count(*)::int as n from messages`;
    assert.equal(n, 11);
    const [x3] = await sql<{ e164: string; id: bigint }[]>`
      select p.e164, p.id from messages m join phone_numbers p on p.id = m.from_address_id
      where m.provider_message_id = 'X3'`;
    assert.equal(x3.e164, "+14155550199");
    assert.notEqual(x3.id, hash64("+14155550199"));
    await assertCountersExact(sql);
    // Logs name the events but never the addresses.
    const logs = logLines.join("");
    assert.match(logs, /event dead-lettered/);
    assert.ok(!logs.includes("+19995550000") && !logs.includes("4155550199"), logs);
  });
});

function failingRouter(inner: Router, failures: { left: number }): Router {
  return {
    load(addresses) {
      if (failures.left-- > 0) {
        return Promise.reject(
          Object.assign(new Error("could not serialize access"), { code: "40001" }),
        );
      }
      return inner.load(addresses);
    },
    routes: (v) => inner.routes(v),
  };
}

Deno.test("ingest: transient failures back off exponentially and die after --max-attempts", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    await seedEvents(sql, (await fixtureLines()).slice(0, 1));
    const failures = { left: 100 };
    const opts = options(sql, {
      router: failingRouter(createRouter(sql), failures),
      maxAttempts: 3,
    });
    const dueIn = async () => {
      const [r] = await sql`
        select status, attempts, last_error, extract(epoch from available_at - now())::float8 as due_in
        from inbound_events`;
      return r;
    };
    const makeDue = () => sql`update inbound_events set available_at = now()`;

    let r = await processBatch(sql, await claimEvents(sql, 10, 60_000), opts);
    assert.deepEqual(r, { done: 0, retried: 1, dead: 0, inserted: 0 });
    let row = await dueIn();
    assert.equal(row.status, "pending");
    assert.match(row.last_error, /could not serialize access \(SQLSTATE 40001\)/);
    assert.ok(Math.abs(row.due_in - 1) < 0.5, `first retry after 1 s: ${row.due_in}`);
    assert.equal(
      (await claimEvents(sql, 10, 60_000)).length,
      0,
      "not claimable before its backoff",
    );

    await makeDue();
    await processBatch(sql, await claimEvents(sql, 10, 60_000), opts);
    row = await dueIn();
    assert.ok(Math.abs(row.due_in - 2) < 0.5, `second retry after 2 s: ${row.due_in}`);

    await makeDue();
    r = await processBatch(sql, await claimEvents(sql, 10, 60_000), opts);
    assert.deepEqual(r, { done: 0, retried: 0, dead: 1, inserted: 0 });
    row = await dueIn();
    assert.equal(row.status, "dead");
    assert.equal(row.attempts, 3);
    assert.match(row.last_error, /^gave up after 3 attempts: could not serialize access/);

    // The cause is fixed; queue retry sends it back and it goes through.
    failures.left = 0;
    await sql`update inbound_events set status = 'pending', attempts = 0, available_at = now()`;
    r = await processBatch(sql, await claimEvents(sql, 10, 60_000), opts);
    assert.deepEqual(r, { done: 1, retried: 0, dead: 0, inserted: 1 });
  });
});

Deno.test("ingest: an endpoint mapped for sms also takes mms; outbound routes by the sender", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    const customers = await seedEndpoints(sql, [
      { customer: "acme", provider: "twilio", kind: "sms", address: "+14155550100" },
      { customer: "globex", provider: "twilio", kind: "sms", address: "+14155550111" },
    ]);
    await sql`insert into inbound_events (event_type, payload) values
      ('message.received', '{"channel":"mms","provider_message_id":"M1","from":"+14155550142","to":["+14155550100"],"sent_at":"2024-05-01T18:00:00Z","attachments":[{"url":"https://example.com/a.png"}]}'),
      ('message.sent', '{"channel":"sms","provider_message_id":"M2","from":"+14155550111","to":"+14155550142","body":"hello from globex","sent_at":"2024-05-01T18:00:00Z"}')`;
    const r = await drain(sql, options(sql));
    assert.equal(r.inserted, 2);
    const rows = await sql`
      select m.provider_message_id, m.customer_id, c.last_snippet from messages m
      join conversations c on c.id = m.conversation_id order by 1`;
    assert.deepEqual(rows.map((x) => [x.provider_message_id, x.customer_id, x.last_snippet]), [
      ["M1", customers.get("acme"), "[1 attachment]"],
      ["M2", customers.get("globex"), "hello from globex"],
    ]);
  });
});

Deno.test("ingest: with the worker cache the fixture gives the same rows, and a stale cache recovers", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    const lines = await fixtureLines();
    await seedEvents(sql, lines.slice(0, 4)); // the first SMS thread: one conversation
    const cache = new WriteCache();
    const opts = options(sql, { cache });
    assert.equal((await drain(sql, opts, 2)).inserted, 4);
    // Someone deletes the conversation under the worker's cache.
    await sql`delete from messages`;
    await sql`delete from conversation_participants`;
    await sql`delete from conversations`;
    await seedEvents(sql, lines.slice(4));
    await sql`insert into inbound_events (event_type, payload) values
      ('message.received', '{"channel":"sms","provider_message_id":"Z1","from":"+14155550142","to":"+14155550100","body":"after the delete","sent_at":"2024-05-02T00:00:00Z"}')`;
    const r = await drain(sql, opts);
    assert.deepEqual(r, { done: 7, retried: 0, dead: 0, inserted: 7 });
    await assertCountersExact(sql);
    const [{ n }] = await sql`select count(*)::int as n from conversations`;
    assert.equal(n, 4, "the deleted thread was created again, not referenced from the cache");
  });
});

Deno.test("ingest: a batch given back because the database went away keeps its attempt", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    await seedEvents(sql, (await fixtureLines()).slice(0, 2));
    const down: Router = {
      load: () =>
        Promise.reject(Object.assign(new Error("connection reset"), { code: "ECONNRESET" })),
      routes: () => [],
    };
    // One attempt allowed: an outage must not use it up.
    const opts = options(sql, { router: down, maxAttempts: 1 });
    for (let i = 0; i < 3; i++) {
      const r = await processBatch(sql, await claimEvents(sql, 10, 60_000), opts);
      assert.deepEqual(r, { done: 0, retried: 2, dead: 0, inserted: 0 });
    }
    const rows = await sql`select status, attempts from inbound_events order by id`;
    assert.deepEqual(rows.map((r) => [r.status, r.attempts]), [["pending", 0], ["pending", 0]]);
    const r = await processBatch(sql, await claimEvents(sql, 10, 60_000), options(sql));
    assert.deepEqual(r, { done: 2, retried: 0, dead: 0, inserted: 2 });
  });
});

Deno.test("ingest: a batch whose claims were lost to another worker is not counted done", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    await seedEvents(sql, (await fixtureLines()).slice(0, 2));
    const stale = await claimEvents(sql, 10, 60_000);
    // The claims expire and another worker takes the events.
    await sql`update inbound_events set locked_until = now(), available_at = now()`;
    const mine = [...await claimEvents(sql, 10, 60_000), ...await claimEvents(sql, 10, 60_000)];
    assert.equal(mine.length, 2);
    const r = await processBatch(sql, stale, options(sql));
    assert.deepEqual(r, { done: 0, retried: 0, dead: 0, inserted: 2 }, "recorded nothing");
    const again = await processBatch(sql, mine, options(sql));
    assert.deepEqual(again, { done: 2, retried: 0, dead: 0, inserted: 0 });
  });
});
