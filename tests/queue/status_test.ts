import assert from "node:assert/strict";
import postgres from "postgres";
import type { Sql } from "../../src/db/connect.ts";
import { maskText } from "../../src/log/redact.ts";
import { queueStatus } from "../../src/queue/status.ts";
import { insertEvent, withMigratedDatabase } from "../_helpers/seed.ts";

Deno.test("queueStatus() of an empty queue: zeros, no age, no dead", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    assert.deepEqual(await queueStatus(sql), {
      pending: 0,
      scheduled: 0,
      processing: 0,
      expired: 0,
      done: 0,
      dead: 0,
      total: 0,
      oldestPendingAgeSeconds: null,
      deadRecent: [],
    });
  });
});

Deno.test("queueStatus() counts events in every state", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    // Claimable pending: the oldest was received 10 minutes ago.
    for (const age of ["10 minutes", "5 minutes", "1 minute"]) {
      await insertEvent(sql, { status: "pending", receivedAgo: age });
    }
    // Backing off before a retry: older, but not claimable, so not "oldest".
    for (let i = 0; i < 2; i++) {
      await insertEvent(sql, {
        status: "pending",
        receivedAgo: "1 hour",
        availableIn: "5 minutes",
        attempts: 1,
      });
    }
    // Claimed: two live claims, one expired.
    for (const lockedIn of ["30 seconds", "1 minute", "-10 seconds"]) {
      await insertEvent(sql, { status: "processing", lockedIn, attempts: 1 });
    }
    for (let i = 0; i < 4; i++) await insertEvent(sql, { status: "done", processedAgo: "1 hour" });
    for (let i = 0; i < 6; i++) {
      await insertEvent(sql, {
        status: "dead",
        availableIn: `-${60 - i} minutes`,
        attempts: 5,
        lastError: `failure ${i}`,
      });
    }

    const s = await queueStatus(sql);
    assert.equal(s.pending, 5);
    assert.equal(s.scheduled, 2);
    assert.equal(s.processing, 3);
    assert.equal(s.expired, 1);
    assert.equal(s.done, 4);
    assert.equal(s.dead, 6);
    assert.equal(s.total, 18);
    assert.ok(s.oldestPendingAgeSeconds !== null);
    assert.ok(s.oldestPendingAgeSeconds >= 600, String(s.oldestPendingAgeSeconds));
    assert.ok(s.oldestPendingAgeSeconds < 3600, "the scheduled events are not claimable");

    // The five most recently failed (latest available_at), newest first.
    assert.deepEqual(s.deadRecent.map((d) => d.last_error), [
      "failure 5",
      "failure 4",
      "failure 3",
      "failure 2",
      "failure 1",
    ]);
    assert.equal(s.deadRecent[0].attempts, 5);
    assert.equal(s.deadRecent[0].event_type, "message.received");
    assert.equal(typeof s.deadRecent[0].id, "bigint");
  });
});

Deno.test("queueStatus() reports no age when every pending event is scheduled for later", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await insertEvent(sql, { status: "pending", receivedAgo: "1 hour", availableIn: "1 minute" });
    const s = await queueStatus(sql);
    assert.equal(s.pending, 1);
    assert.equal(s.scheduled, 1);
    assert.equal(s.oldestPendingAgeSeconds, null);
  });
});

/** Every plan node of an EXPLAIN (FORMAT JSON) plan, depth first. */
function nodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(nodes)];
}

Deno.test("queueStatus() reads only the done rows' entries to count them: no other seq scan", async () => {
  await withMigratedDatabase(async ({ sql, url }) => {
    // A queue that is mostly done rows, as in production.
    await sql`
      insert into inbound_events (event_type, payload, status, attempts, processed_at)
      select 'message.received', '{}', 'done', 1, now() from generate_series(1, 20000)`;
    for (const status of ["pending", "processing", "dead"] as const) {
      for (let i = 0; i < 5; i++) await insertEvent(sql, { status, lockedIn: "1 minute" });
    }
    await sql`analyze inbound_events`;

    // The statements queueStatus() runs, as sent.
    const queries: { text: string; params: unknown[] }[] = [];
    const traced = postgres(url, {
      max: 1,
      types: { bigint: postgres.BigInt },
      onnotice: () => {},
      debug: (_conn, text, params) => queries.push({ text, params }),
    }) as unknown as Sql;
    try {
      const s = await queueStatus(traced);
      assert.equal(s.done, 20000);
      assert.equal(s.pending, 5);
    } finally {
      await traced.end();
    }

    const reads = queries.filter((q) => q.text.includes("from inbound_events"));
    assert.equal(reads.length, 2, "the counts and the dead list");
    for (const q of reads) {
      const [row] = await sql.unsafe(`explain (format json) ${q.text}`, q.params as string[]);
      const plan = (row["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0].Plan;
      const all = nodes(plan);
      const scans = all.filter((n) => String(n["Node Type"]).endsWith("Scan"));
      const shown = JSON.stringify(scans.map((n) => [n["Node Type"], n["Index Name"], n.Filter]));
      for (const scan of scans) {
        if (scan["Node Type"] === "Seq Scan") {
          // Only counting the done rows may read the table through.
          assert.match(String(scan.Filter), /^\(status = 'done'::text\)$/, shown);
        } else {
          assert.ok(
            [
              "inbound_events_claim_idx",
              // The finished events' index (prune's), read for status = 'dead' only.
              "inbound_events_finished_idx",
            ].includes(
              String(scan["Index Name"]),
            ),
            shown,
          );
        }
      }
      assert.equal(scans.length, q.text.includes("count(*)") ? 7 : 1, shown);
    }
  });
});

Deno.test("maskText() masks email addresses and phone numbers in free text", () => {
  const cases: [string, string][] = [
    ["no endpoint for +14155550123", "no endpoint for +1******0123"],
    ["no endpoint for Jane.Doe+x@Example.com", "no endpoint for J***@Example.com"],
    ["from (415) 555-0123 to 415.555.0199", "from ******0123 to ******0199"],
    ["tel:+44 20 7946 0958", "tel:+4*******0958"],
    ["numbers +14155550123 +14155550124", "numbers +1******0123 +1******0124"],
    ["two numbers 4155550123 4155550124", "two numbers ****************0124"],
    ['{"to":"+14155550123"}', '{"to":"+1******0123"}'],
  ];
  for (const [input, expected] of cases) assert.equal(maskText(input), expected, input);
});

Deno.test("maskText() leaves dates, times, IPs, short codes, ids and small numbers alone", () => {
  for (
    const text of [
      "at 2026-11-21 19:42:56.123456+00",
      "2026-11-21T19:42:56.410Z",
      "connect to 192.168.100.200 failed",
      "short code sc:12345678",
      "message SM1234567890abcdef not found",
      "attempt 3 of 5 after 30000 ms",
      "sender id:ACME BANK",
      "event 123456 failed",
    ]
  ) {
    assert.equal(maskText(text), text);
  }
});
