/**
 * The `claimrw` ceiling: what this PostgreSQL server and this machine allow for a queue
 * whose event writes one row, measured in the same sitting as convo's own figure.
 *
 * It is the anchors' `raw-pg-bench.mjs` `claimrw` test (../shared/anchors), rewritten
 * here so that `deno task bench work` and `deno task bench enqueue` print it beside
 * convo's rate: a queue table of N short JSON payloads with a partial index on the
 * pending rows, drained by one client in transactions of
 *
 * ```sql
 * update queue set status = 'claimed' … where id in (select id … for update skip locked limit 500) returning id, payload;
 * insert into messages (…) select * from unnest($1::bigint[], …);   -- 500 rows
 * update queue set status = 'done', done_at = now() where id = any($1::bigint[]);
 * ```
 *
 * The same statements, the same data (deterministic PRNG, same seed), the same table
 * shapes; a `checkpoint` before each run as the anchor does. It runs in a schema of its
 * own (`ceiling`) of the benchmark's database, dropped afterwards.
 *
 * Standalone: `deno run -A tests/bench/ceiling.ts [--count 100000] [--runs 3] [--clients 1]`.
 * With `--clients 2` two clients drain the queue side by side: the server's own scaling,
 * against which a benchmark compares its 2-process figure.
 *
 * @module
 */
import postgres from "postgres";
import { parseArgs } from "node:util";

/** Options of {@link measureClaimrw}. */
export interface CeilingOptions {
  /** Events in the queue (the anchor's QUEUE_ROWS, 100 000 there). */
  rows: number;
  /** Runs; each starts from a fresh queue. */
  runs: number;
  /** Events claimed (and rows inserted) per transaction; the anchor's CLAIM, 500. */
  claim?: number;
  /**
   * Clients draining the queue side by side, each on its own connection (default 1, the
   * anchor's figure); with 2, what the server allows two workers, for scaling ratios.
   */
  clients?: number;
  /** Called with one line per run. */
  progress?: (line: string) => void;
}

const SCHEMA = "ceiling";

const MESSAGES_DDL = `
  drop table if exists messages;
  create table messages (
    id bigserial primary key,
    conversation_id bigint not null,
    provider_id bigint not null,
    direction text not null,
    body_id bigint not null,
    sent_at timestamptz not null,
    created_at timestamptz not null default now()
  );
  create index messages_conv_sent on messages (conversation_id, sent_at desc);`;

const QUEUE_DDL = `
  drop table if exists queue;
  create table queue (
    id bigserial primary key,
    payload text not null,
    status text not null default 'pending',
    claimed_by int,
    claimed_at timestamptz,
    done_at timestamptz,
    created_at timestamptz not null default now()
  );`;

const INSERT_UNNEST = `
  insert into messages (conversation_id, provider_id, direction, body_id, sent_at)
  select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::timestamptz[])`;

const DONE_SQL = `update queue set status = 'done', done_at = now() where id = any($1::bigint[])`;

/** The anchor's PRNG (mulberry32), so that every run sees the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE_MS = Date.parse("2026-01-01T00:00:00Z");
const CONVERSATIONS = 100_000;

// Text-format array literals, as the anchor sends them.
const numArr = (xs: (number | string)[]) => "{" + xs.join(",") + "}";
const strArr = (xs: string[]) =>
  "{" + xs.map((s) => '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"').join(",") + "}";

function messageBatchParams(start: number, count: number, r: () => number): string[] {
  const c: number[] = [], p: number[] = [], d: string[] = [], b: number[] = [], t: string[] = [];
  for (let i = start; i < start + count; i++) {
    c.push(1 + Math.floor(r() * CONVERSATIONS));
    p.push(1 + Math.floor(r() * 1_000_000));
    d.push(r() < 0.5 ? "in" : "out");
    b.push(i + 1);
    t.push(new Date(BASE_MS + i * 1000 + Math.floor(r() * 1000)).toISOString());
  }
  return [numArr(c), numArr(p), strArr(d), numArr(b), strArr(t)];
}

/**
 * Measures `claimrw` with `clients` clients (default one) on the database at `url`:
 * events/s of each run. The schema `ceiling` is created and dropped.
 */
export async function measureClaimrw(url: string, options: CeilingOptions): Promise<number[]> {
  const claim = options.claim ?? 500;
  const clients = options.clients ?? 1;
  const connect = () =>
    postgres(url, {
      max: 1,
      onnotice: () => {},
      prepare: true,
      connection: { search_path: SCHEMA },
    });
  const admin = connect();
  const rates: number[] = [];
  const claimSql = `
    update queue set status = 'claimed', claimed_by = $1, claimed_at = now()
    where id in (
      select id from queue where status = 'pending'
      order by id limit ${claim}
      for update skip locked)
    returning id, payload`;
  try {
    await admin.unsafe(`create schema if not exists ${SCHEMA}`);
    for (let run = 1; run <= options.runs; run++) {
      await admin.unsafe(QUEUE_DDL);
      await admin.unsafe(`
        insert into queue (payload)
        select '{"event":"message.created","id":' || g || ',"text":"hello world number ' || g ||
               ' lorem ipsum dolor sit amet consectetur adipiscing elit"}'
        from generate_series(1, ${options.rows}) g;
        create index queue_pending on queue (id) where status = 'pending';`);
      await admin.unsafe(`vacuum analyze queue`);
      await admin.unsafe(MESSAGES_DDL);
      await admin.unsafe(`checkpoint`).catch(() => {}); // superuser or pg_checkpoint
      const conns = Array.from({ length: clients }, connect);
      try {
        await Promise.all(conns.map((sql) => sql`select 1`));
        const started = performance.now();
        // One PRNG per client (seeded apart): the rows differ, their shape does not.
        const counts = await Promise.all(conns.map(async (sql, c) => {
          const r = rng(500 + c);
          let total = 0;
          for (;;) {
            const n = await sql.begin(async (tx) => {
              const rows = await tx.unsafe(claimSql, [c + 1], { prepare: true });
              if (rows.length === 0) return 0;
              await tx.unsafe(
                INSERT_UNNEST,
                messageBatchParams(Number(rows[0].id), rows.length, r),
                { prepare: true },
              );
              await tx.unsafe(DONE_SQL, [numArr(rows.map((x) => x.id))], { prepare: true });
              return rows.length;
            });
            if (n === 0) return total;
            total += n;
          }
        }));
        const total = counts.reduce((a, b) => a + b, 0);
        const seconds = (performance.now() - started) / 1000;
        const [{ left }] = await conns[0]`
          select count(*) filter (where status <> 'done')::int as left from queue`;
        if (left !== 0 || total !== options.rows) {
          throw new Error(`claimrw: ${total} claimed, ${left} not done`);
        }
        rates.push(total / seconds);
        options.progress?.(
          `  claimrw (${clients} client${
            clients === 1 ? "" : "s"
          }) run ${run}: ${total} events in ${seconds.toFixed(2)} s = ${
            Math.round(total / seconds)
          } events/s`,
        );
      } finally {
        await Promise.all(conns.map((sql) => sql.end()));
      }
    }
  } finally {
    await admin.unsafe(`drop schema if exists ${SCHEMA} cascade`).catch(() => {});
    await admin.end();
  }
  return rates;
}

if (import.meta.main) {
  const { createTestDatabase } = await import("../_helpers/db.ts");
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "100000" },
      runs: { type: "string", default: "3" },
      clients: { type: "string", default: "1" },
    },
  });
  const db = await createTestDatabase();
  try {
    const rates = await measureClaimrw(db.url, {
      rows: Number(values.count),
      runs: Number(values.runs),
      clients: Number(values.clients),
      progress: console.log,
    });
    const s = [...rates].sort((a, b) => a - b);
    console.log(`claimrw median: ${Math.round(s[Math.floor(s.length / 2)])} events/s`);
  } finally {
    await db.drop();
  }
}
