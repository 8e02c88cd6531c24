/**
 * Fallback keys under heavy collisions and concurrency: with a hash that puts every sender and
 * body into one of a few keys, three workers drain the same queue at once, each with its own
 * key ring and cache. Whatever the interleaving: every event done, every distinct value stored
 * exactly once (never merged, never twice), every message pointing at the rows of its own
 * sender and body, counters exact.
 */
import assert from "node:assert/strict";
import { createClient, type Sql } from "../../src/db/connect.ts";
import { KeyRing } from "../../src/dedup/keys.ts";
import { createRouter } from "../../src/endpoints/route.ts";
import { WriteCache } from "../../src/ingest/cache.ts";
import { processBatch } from "../../src/ingest/process.ts";
import { createLogger } from "../../src/log/logger.ts";
import { hash64 } from "../../src/normalize/hash.ts";
import { claimEvents } from "../../src/queue/claim.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { mulberry32 } from "../_helpers/prng.ts";
import { assertCountersExact, migrate, seedEndpoints, seedEvents } from "../_helpers/seed.ts";

const OURS = "+14155550100";
const BUCKETS = 5n;
/** Everything but our own number falls into one of BUCKETS keys. */
const crowded = (v: string) =>
  v === OURS ? hash64(v) : hash64(`bucket ${((hash64(v) % BUCKETS) + BUCKETS) % BUCKETS}`);
const logger = createLogger({ level: "error", write: () => {} });

async function worker(pool: Sql, until: () => Promise<boolean>) {
  const keys = new KeyRing(pool, { hash: crowded });
  const cache = new WriteCache();
  const router = createRouter(pool);
  for (;;) {
    const batch = await claimEvents(pool, 7, 60_000);
    if (batch.length === 0) {
      if (await until()) return;
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    await processBatch(pool, batch, {
      region: "US",
      snippetLength: 120,
      maxAttempts: 50,
      backoff: { baseMs: 10, random: () => 0.5 },
      router,
      keys,
      logger,
      cache,
    });
  }
}

for (const seed of [1, 2]) {
  Deno.test(`three workers, a hash of ${BUCKETS} keys: every value once, every message right (seed ${seed})`, async () => {
    await withTestDatabase(async ({ sql, url }) => {
      await migrate(sql);
      await seedEndpoints(sql, [{
        customer: "acme",
        provider: "twilio",
        kind: "sms",
        address: OURS,
      }]);
      const random = mulberry32(seed);
      const senders = Array.from({ length: 12 }, (_, i) => `+1415555${String(200 + i)}0`);
      const bodies = Array.from({ length: 9 }, (_, i) => `body number ${i}`);
      const events = Array.from({ length: 150 }, (_, i) => ({
        id: `SM${i}`,
        from: senders[Math.floor(random() * senders.length)],
        body: bodies[Math.floor(random() * bodies.length)],
      }));
      await seedEvents(
        sql,
        events.map((e) =>
          JSON.stringify({
            event_type: "message.received",
            payload: {
              channel: "sms",
              provider_message_id: e.id,
              from: e.from,
              to: OURS,
              body: e.body,
              sent_at: "2024-05-01T16:00:03Z",
            },
          })
        ),
      );

      const pool = createClient(url, {
        max: 12,
        applicationName: "convo collision race",
        connectTimeoutSeconds: 10,
        logger,
      });
      const finished = async () => {
        const [{ n }] = await pool<{ n: number }[]>`
          select count(*)::int as n from inbound_events where status <> 'done'`;
        return n === 0;
      };
      try {
        await Promise.all([0, 1, 2].map(() => worker(pool, finished)));
      } finally {
        await pool.end({ timeout: 5 });
      }

      const phones = await sql<{ e164: string; n: number }[]>`
        select e164, count(*)::int as n from phone_numbers group by e164 order by e164`;
      assert.deepEqual(
        phones.map((p) => [p.e164, p.n]),
        [...new Set([OURS, ...events.map((e) => e.from)])].sort().map((v) => [v, 1]),
      );
      // At most one value per bucket holds its bucket's key: the others are at fallbacks.
      const moved = (await sql<{ id: bigint; e164: string }[]>`select id, e164 from phone_numbers`)
        .filter((p) => p.id !== crowded(p.e164)).length;
      const distinct = new Set(events.map((e) => e.from)).size;
      assert.ok(moved >= distinct - Number(BUCKETS), `${moved} at fallback keys`);
      const stored = await sql<{ normalized: string; n: number }[]>`
        select normalized, count(*)::int as n from xms_bodies group by normalized order by 1`;
      assert.deepEqual(
        stored.map((b) => [b.normalized, b.n]),
        [...new Set(events.map((e) => e.body))].sort().map((v) => [v, 1]),
      );
      const messages = await sql<{ id: string; from: string; body: string }[]>`
        select m.provider_message_id as id, p.e164 as from, b.normalized as body
        from messages m join phone_numbers p on p.id = m.from_address_id
        join xms_bodies b on b.id = m.body_id order by m.provider_message_id`;
      assert.deepEqual(
        messages.map((m) => ({ ...m })),
        events.map((e) => ({ id: e.id, from: e.from, body: e.body })).sort((a, b) =>
          a.id < b.id ? -1 : a.id > b.id ? 1 : 0
        ),
      );
      const [{ n }] = await sql<{ n: number }[]>`
        select count(*)::int as n from inbound_events where status <> 'done'`;
      assert.equal(n, 0);
      await assertCountersExact(sql);
    });
  });
}
