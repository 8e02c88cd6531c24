/**
 * `convo query-overview` benchmark (measures; never fails on a figure).
 *
 * On a fresh database filled by `generateLegacy` (1M messages in 100k
 * conversations for 100 customers by default) and given its conversations by
 * `backfillConversations()`, times pages of the library functions the command
 * calls, each a full client round trip (every statement of the call):
 *
 * - an overview page (limit 50): the first page, and pages deep in the
 *   listing (a cursor taken from a walk);
 * - with `--customer` (a random customer's name) and with `--participant` (a
 *   random contact's address, in a spelling normalization must undo);
 * - a `--messages` page of a random conversation.
 *
 * Prints p50/p95/p99 per case (targets: page p95 ≤ 5 ms, filters ≤ 10 ms,
 * messages ≤ 5 ms) and `EXPLAIN (ANALYZE, BUFFERS)` of each case's main
 * statement, captured from the driver as it was sent.
 *
 * Usage: `deno run -A tests/bench/overview_bench.ts [--customers 100]
 * [--conversations 1000] [--messages 10] [--iterations 300] [--json]`, or
 * `deno task bench overview`.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { backfillConversations } from "../../src/backfill/backfill.ts";
import type { Sql } from "../../src/db/connect.ts";
import { listConversations } from "../../src/overview/conversations.ts";
import { listMessages } from "../../src/overview/messages.ts";
import { createTestDatabase } from "../_helpers/db.ts";
import { mulberry32 } from "../_helpers/prng.ts";
import { migrate } from "../_helpers/seed.ts";
import { generateLegacy } from "./_legacy_generate.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    customers: { type: "string", default: "100" },
    conversations: { type: "string", default: "1000" },
    messages: { type: "string", default: "10" },
    iterations: { type: "string", default: "300" },
    json: { type: "boolean", default: false },
  },
});
const ITERATIONS = Number(args.iterations);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const db = await createTestDatabase();
// A second client on the same database that records the statements it sends,
// so that each case's main statement can be explained exactly as sent.
let sent: { query: string; params: unknown[] }[] = [];
const traced = postgres(db.url, {
  max: 1,
  types: { bigint: postgres.BigInt },
  connection: { TimeZone: "UTC" },
  onnotice: () => {},
  debug: (_conn, query, params) => sent.push({ query, params: params as unknown[] }),
}) as unknown as Sql;
try {
  const { sql } = db;
  await migrate(sql);
  let t = performance.now();
  const legacy = await generateLegacy(sql, {
    customers: Number(args.customers),
    conversationsPerCustomer: Number(args.conversations),
    messagesPerConversation: Number(args.messages),
  });
  const r = await backfillConversations(sql, { snippetLength: 120, batchSize: 5000 });
  await sql`vacuum analyze`;
  console.log(
    `${legacy.messages} messages in ${r.conversationsCreated} conversations for ` +
      `${legacy.customers} customers, ready in ${((performance.now() - t) / 1000).toFixed(1)}s`,
  );

  const random = mulberry32(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const conversationIds = (await sql<{ id: bigint }[]>`
    select id from conversations order by id`).map((x) => x.id.toString());
  // Outside participants only: a contact's phone written nationally, an email upper-cased.
  const phones = (await sql<{ e164: string }[]>`
    select p.e164 from phone_numbers p
    where not exists (select 1 from endpoint_mappings e where e.hash = p.id)
    order by p.id limit 2000`).map((x) => x.e164);
  const emails = (await sql<{ lowered: string }[]>`
    select a.lowered from email_addresses a
    where not exists (select 1 from endpoint_mappings e where e.hash = a.id)
    order by a.id limit 2000`).map((x) => x.lowered);
  const spell = (i: number) =>
    i % 2 === 0
      ? pick(phones).replace(/^\+1(\d{3})(\d{3})(\d{4})$/, "($1) $2-$3")
      : pick(emails).toUpperCase();
  // Cursors deep in the unfiltered listing: a walk of the first 40 pages.
  const cursors: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 40; i++) {
    const page = await listConversations(sql, { limit: 50, cursor });
    if (!page.nextCursor) break;
    cursors.push(page.nextCursor);
    cursor = page.nextCursor;
  }

  const cases: { name: string; target: number; run: (s: Sql, i: number) => Promise<unknown> }[] = [
    { name: "page (first)", target: 5, run: (s) => listConversations(s, { limit: 50 }) },
    {
      name: "page (deep, by cursor)",
      target: 5,
      run: (s) => listConversations(s, { limit: 50, cursor: pick(cursors) }),
    },
    {
      name: "--customer NAME",
      target: 10,
      run: (s) => listConversations(s, { limit: 50, customer: pick(legacy.names) }),
    },
    {
      name: "--participant ADDR",
      target: 10,
      run: (s, i) => listConversations(s, { limit: 50, participant: spell(i) }),
    },
    {
      name: "--messages ID",
      target: 5,
      run: (s) => listMessages(s, pick(conversationIds), { limit: 50 }),
    },
  ];

  const results = [];
  for (const c of cases) {
    for (let i = 0; i < 20; i++) await c.run(sql, i); // warm-up
    const times: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      t = performance.now();
      await c.run(sql, i);
      times.push(performance.now() - t);
    }
    const row = {
      case: c.name,
      p50_ms: +pct(times, 50).toFixed(2),
      p95_ms: +pct(times, 95).toFixed(2),
      p99_ms: +pct(times, 99).toFixed(2),
      target_p95_ms: c.target,
    };
    results.push(row);
    if (!args.json) {
      console.log(
        `${c.name.padEnd(24)} p50 ${row.p50_ms.toFixed(2)} ms  p95 ${row.p95_ms.toFixed(2)} ms  ` +
          `p99 ${row.p99_ms.toFixed(2)} ms  (target p95 ≤ ${c.target} ms)`,
      );
    }
  }

  if (!args.json) {
    for (const c of cases) {
      sent = [];
      await c.run(traced, 1);
      const main = sent.at(-1)!;
      const plan = await traced.unsafe(
        `explain (analyze, buffers) ${main.query}`,
        main.params as never[],
      );
      console.log(`\nEXPLAIN (ANALYZE, BUFFERS) — ${c.name}:`);
      console.log("  " + plan.map((x) => x["QUERY PLAN"]).join("\n  "));
    }
  } else {
    console.log(JSON.stringify({ messages: legacy.messages, results }));
  }
} finally {
  await traced.end();
  await db.drop();
}
