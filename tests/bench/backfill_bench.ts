/**
 * `convo backfill-conversations` benchmark (measures; never fails on a figure).
 *
 * On a fresh database filled by `generateLegacy` (1M legacy messages in 100k
 * conversations for 100 customers by default): times `backfillConversations()`
 * (the library function the command calls), records the assignment it made,
 * resets `conversation_id` to null (then VACUUM ANALYZE), and times a plain
 * set-based `UPDATE … FROM unnest(ids, cids)` of the same assignment in
 * batches of the same size: the floor any backfill pays to write the column.
 * Prints both rates and their ratio (target ≥ 0.5).
 *
 * Usage: `deno run -A tests/bench/backfill_bench.ts [--customers 100]
 * [--conversations 1000] [--messages 10] [--batch-size 5000] [--json]`
 * (per customer, per conversation), or `deno task bench backfill`.
 */
import { parseArgs } from "node:util";
import { backfillConversations } from "../../src/backfill/backfill.ts";
import { createTestDatabase } from "../_helpers/db.ts";
import { migrate } from "../_helpers/seed.ts";
import { generateLegacy } from "./_legacy_generate.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    customers: { type: "string", default: "100" },
    conversations: { type: "string", default: "1000" },
    messages: { type: "string", default: "10" },
    "batch-size": { type: "string", default: "5000" },
    json: { type: "boolean", default: false },
  },
});
const BATCH = Number(args["batch-size"]);

const db = await createTestDatabase();
try {
  const { sql } = db;
  await migrate(sql);
  let t = performance.now();
  const legacy = await generateLegacy(sql, {
    customers: Number(args.customers),
    conversationsPerCustomer: Number(args.conversations),
    messagesPerConversation: Number(args.messages),
  });
  console.log(
    `generated ${legacy.messages} legacy messages in ${legacy.conversations} conversations ` +
      `for ${legacy.customers} customers in ${((performance.now() - t) / 1000).toFixed(1)}s`,
  );
  const plan = await sql`
    explain select id from messages
    where conversation_id is null and (customer_id, id) > (1::bigint, 1::bigint)
    order by customer_id, id limit ${BATCH} for update skip locked`;
  console.log("batch select plan:\n  " + plan.map((r) => r["QUERY PLAN"]).join("\n  "));

  t = performance.now();
  const r = await backfillConversations(sql, { snippetLength: 120, batchSize: BATCH });
  const backfillS = (performance.now() - t) / 1000;
  const backfillRate = r.assigned / backfillS;
  console.log(
    `backfill: ${r.assigned} assigned, ${r.conversationsCreated} conversations and ` +
      `${r.contactsCreated} contacts created in ${backfillS.toFixed(1)}s → ` +
      `${Math.round(backfillRate)} messages/s`,
  );

  await sql`create table bench_assignment as select id, conversation_id from messages order by id`;
  await sql`update messages set conversation_id = null`;
  await sql.unsafe("vacuum analyze messages");
  const ids = await sql<{ id: bigint; conversation_id: bigint }[]>`
    select id, conversation_id from bench_assignment order by id`;
  t = performance.now();
  for (let i = 0; i < ids.length; i += BATCH) {
    const part = ids.slice(i, i + BATCH);
    await sql`
      update messages m set conversation_id = v.cid
      from unnest(${part.map((x) => x.id.toString())}::bigint[],
                  ${part.map((x) => x.conversation_id.toString())}::bigint[]) as v(id, cid)
      where m.id = v.id`;
  }
  const plainS = (performance.now() - t) / 1000;
  const plainRate = ids.length / plainS;
  const ratio = backfillRate / plainRate;
  console.log(
    `plain UPDATE: ${ids.length} rows in batches of ${BATCH} in ${plainS.toFixed(1)}s → ` +
      `${Math.round(plainRate)} rows/s`,
  );
  console.log(`ratio backfill / plain UPDATE: ${ratio.toFixed(2)} (target ≥ 0.5)`);
  if (args.json) {
    console.log(JSON.stringify({
      messages: legacy.messages,
      conversations: legacy.conversations,
      backfill_per_second: Math.round(backfillRate),
      plain_update_per_second: Math.round(plainRate),
      ratio: Number(ratio.toFixed(3)),
    }));
  }
} finally {
  await db.drop();
}
