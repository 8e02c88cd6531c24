/**
 * `convo work` benchmark (not a test: it measures, never fails on a figure).
 *
 * - drain: N realistic events (tests/bench/_generate.ts) already in the queue,
 *   drained by `convo work --drain` as 1 process and as 2 processes; events/s
 *   over the wall time of the processes, and their peak RSS (/usr/bin/time).
 * - ceiling: the anchors' `claimrw` (tests/bench/ceiling.ts: claim 500 with SKIP LOCKED,
 *   insert 500 rows, mark done, one transaction, one client) on the same server, over as
 *   many events, one run right after each drain run (alternating, so that a swing of the
 *   machine reaches both); the drain's share of it is printed, of the medians and
 *   (`drain_N_over_claimrw_Nc_paired`) as the median of each drain run over the ceiling
 *   run after it. It is measured with as many clients as `--processes` names (1 and 2),
 *   so that the drain's scaling from 1 to 2 processes (`drain_2_over_1`) reads against
 *   the server's own from 1 to 2 clients (`claimrw_2c_over_1c`).
 * - latency: a long-running `convo work` while a producer inserts 1 000
 *   events/s in small batches; enqueue (commit) → done (seen by a 5 ms poll)
 *   per event, p50/p95/p99.
 *
 * Usage: `deno run -A tests/bench/work_bench.ts [--count 200000] [--runs 3]
 * [--latency-seconds 20] [--processes 1,2] [--json] [--skip-drain] [--skip-ceiling] [--skip-latency]`
 * (or `deno task bench work`). It creates and drops its own database on
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { parseArgs } from "node:util";
import type { Sql } from "../../src/db/connect.ts";
import { parseEventLine } from "../../src/events/envelope.ts";
import { baseEnv, MAIN } from "../_helpers/cli.ts";
import { createTestDatabase } from "../_helpers/db.ts";
import { migrate, seedEndpoints, seedEventsInBulk } from "../_helpers/seed.ts";
import { generateEvents } from "./_generate.ts";
import { V8_FLAGS } from "../../src/build/v8_flags.ts";
import { measureClaimrw } from "./ceiling.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "200000" },
    runs: { type: "string", default: "3" },
    "latency-seconds": { type: "string", default: "20" },
    "batch-size": { type: "string", default: "500" },
    processes: { type: "string", default: "1,2" },
    json: { type: "boolean", default: false },
    "skip-drain": { type: "boolean", default: false },
    "skip-ceiling": { type: "boolean", default: false },
    "skip-latency": { type: "boolean", default: false },
  },
});
const COUNT = Number(args.count);
const RUNS = Number(args.runs);
const LATENCY_SECONDS = Number(args["latency-seconds"]);
const PROCESSES = args.processes!.split(",").map(Number);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const DATA_TABLES = "message_attachments, attachments, messages, conversation_participants, " +
  "conversations, contact_addresses, contacts, phone_numbers, email_addresses, xms_bodies, " +
  "email_bodies, attachment_urls, inbound_events";

interface ProcessRun {
  code: number;
  stdout: string;
  rssKb: number;
  /** The worker's log records (warnings and errors: it runs at `warn`). */
  logs: string[];
}

function startWorker(url: string, extra: string[]): Deno.ChildProcess {
  return new Deno.Command("/usr/bin/time", {
    // The heap settings the compiled binary carries (src/build/v8_flags.ts).
    args: [
      "-f",
      "RSS_KB=%M",
      Deno.execPath(),
      "run",
      "-A",
      `--v8-flags=${V8_FLAGS}`,
      MAIN,
      "work",
      ...extra,
    ],
    env: { ...baseEnv(), DATABASE_URL: url, CONVO_LOG_FORMAT: "json", CONVO_LOG_LEVEL: "warn" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finish(child: Deno.ChildProcess): Promise<ProcessRun> {
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    rssKb: Number(/RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0),
    logs: stderr.split("\n").filter((l) => l.startsWith("{")),
  };
}

async function drain(
  sql: Sql,
  url: string,
  lines: readonly string[],
  endpoints: Parameters<typeof seedEndpoints>[1],
  processes: number,
) {
  await sql.unsafe(`truncate ${DATA_TABLES} restart identity cascade`);
  await seedEndpoints(sql, endpoints);
  const queued = await seedEventsInBulk(sql, lines);
  await sql`vacuum analyze inbound_events`.catch(() => {});
  const started = performance.now();
  const children = Array.from(
    { length: processes },
    () => startWorker(url, ["--drain", "--batch-size", args["batch-size"]!]),
  );
  const runs = await Promise.all(children.map(finish));
  const seconds = (performance.now() - started) / 1000;
  const [{ done, messages }] = await sql<{ done: number; messages: number }[]>`
    select (select count(*)::int from inbound_events where status = 'done') as done,
           (select count(*)::int from messages) as messages`;
  if (runs.some((r) => r.code !== 0) || done !== queued) {
    throw new Error(
      `drain failed: ${done}/${queued} done; ${runs.map((r) => r.stdout).join(" | ")}`,
    );
  }
  return {
    queued,
    messages,
    seconds,
    rate: queued / seconds,
    rssMb: Math.max(...runs.map((r) => r.rssKb)) / 1024,
  };
}

async function latency(
  sql: Sql,
  url: string,
  lines: readonly string[],
  endpoints: Parameters<typeof seedEndpoints>[1],
) {
  await sql.unsafe(`truncate ${DATA_TABLES} restart identity cascade`);
  await seedEndpoints(sql, endpoints);
  const worker = startWorker(url, []);
  // Let it start and LISTEN.
  for (let i = 0; i < 200; i++) {
    const [r] = await sql`select count(*)::int as n from pg_stat_activity
      where application_name = 'convo work' and query ilike 'listen%'`;
    if (r.n > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const committedAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  let polling = true;
  let lastSeen = 0n;
  const poller = (async () => {
    for (;;) {
      // Whether anything is left is read before the done events: read after, it missed
      // a last batch done between the two reads (`not_done` 10, one tick, in sittings).
      const finished = !polling && (await sql<{ open: number }[]>`
        select count(*)::int as open from inbound_events
        where status in ('pending', 'processing')`)[0].open === 0;
      const rows = await sql<{ id: bigint }[]>`
        select id from inbound_events where status = 'done' and id > ${lastSeen} order by id`;
      const now = performance.now();
      for (const r of rows) {
        doneAt.set(r.id.toString(), now);
        if (r.id > lastSeen) lastSeen = r.id;
      }
      if (finished) break;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  // 1 000 events/s: 10 events every 10 ms, each batch one transaction.
  const perTick = 10;
  const ticks = LATENCY_SECONDS * 100;
  const started = performance.now();
  let next = 0;
  for (let t = 0; t < ticks; t++) {
    const batch = lines.slice(next, next + perTick);
    next += perTick;
    const parsed = batch.map((l) => parseEventLine(l, { maxPayloadBytes: 1 << 20 }))
      .filter((r) => r.ok === true);
    const rows = await sql<{ id: bigint }[]>`
      insert into inbound_events (event_type, payload, idempotency_key)
      select t, p::jsonb, k from unnest(
        ${parsed.map((r) => r.event.eventType)}::text[],
        ${parsed.map((r) => JSON.stringify(r.event.payload))}::text[],
        ${parsed.map((r) => r.event.idempotencyKey)}::text[]) as x(t, p, k)
      on conflict do nothing returning id`;
    const at = performance.now();
    for (const r of rows) committedAt.set(r.id.toString(), at);
    const wait = started + (t + 1) * 10 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const produced = committedAt.size / ((performance.now() - started) / 1000);
  polling = false;
  await poller;
  // SIGTERM to the worker itself: /usr/bin/time does not pass signals on.
  await new Deno.Command("pkill", { args: ["-TERM", "-P", String(worker.pid)] }).output();
  const run = await finish(worker);
  const lat = [...committedAt].filter(([id]) => doneAt.has(id)).map(([id, at]) =>
    doneAt.get(id)! - at
  );
  // Not seen done: the poller reads done events by rising id, so an event done after a
  // later one (retried) would be missed; the worker's warnings would say why.
  for (const line of run.logs) console.error(`  worker: ${line}`);
  return {
    events: committedAt.size,
    notDone: committedAt.size - lat.length,
    produced,
    p50: pct(lat, 50),
    p95: pct(lat, 95),
    p99: pct(lat, 99),
    max: Math.max(...lat),
    rssMb: run.rssKb / 1024,
  };
}

if (import.meta.main) {
  const db = await createTestDatabase();
  const report: Record<string, unknown> = { count: COUNT, runs: RUNS };
  try {
    await migrate(db.sql);
    const { lines, endpoints } = generateEvents(COUNT, 1);
    // Drain runs and ceiling runs alternate (drain with N processes, then `claimrw` with N
    // clients, run after run), so that both see the same machine: measured in two blocks,
    // one after the other, the ceiling swung from 25.7k to 42.5k events/s between sittings
    // minutes apart while the drains did not, and a ratio of two blocks reads the swing.
    const drains = new Map<number, { rates: number[]; rss: number[]; queued: number }>();
    const ceilings = new Map<number, number[]>();
    const pairRatios = new Map<number, number[]>();
    const withCeiling = !args["skip-ceiling"];
    for (let i = 0; i < RUNS; i++) {
      for (const processes of PROCESSES) {
        if (!args["skip-drain"]) {
          const r = await drain(db.sql, db.url, lines, endpoints, processes);
          const d = drains.get(processes) ?? { rates: [], rss: [], queued: 0 };
          d.rates.push(r.rate);
          d.rss.push(r.rssMb);
          d.queued = r.queued;
          drains.set(processes, d);
          if (!args.json) {
            console.log(
              `drain, ${processes} process(es), run ${i + 1}: ${r.queued} events in ${
                r.seconds.toFixed(1)
              } s = ${Math.round(r.rate)} events/s, peak RSS ${r.rssMb.toFixed(0)} MB`,
            );
          }
        }
        if (withCeiling) {
          // The ceiling with as many clients as the drain had processes: convo's scaling
          // from 1 to 2 processes is read against the server's own from 1 to 2 clients.
          const [rate] = await measureClaimrw(db.url, {
            rows: COUNT,
            runs: 1,
            clients: processes,
            progress: args.json
              ? undefined
              : (line) => console.log(line.replace("run 1", `run ${i + 1}`)),
          });
          ceilings.set(processes, [...(ceilings.get(processes) ?? []), rate]);
          const d = drains.get(processes);
          if (d && d.rates.length === i + 1) {
            pairRatios.set(processes, [...(pairRatios.get(processes) ?? []), d.rates[i] / rate]);
          }
        }
      }
    }
    for (const [processes, d] of drains) {
      report[`drain_${processes}`] = {
        events: d.queued,
        median_events_per_s: Math.round(median(d.rates)),
        min: Math.round(Math.min(...d.rates)),
        max: Math.round(Math.max(...d.rates)),
        peak_rss_mb: Math.round(Math.max(...d.rss)),
      };
    }
    if (withCeiling) {
      const ceiling: Record<string, number> = {};
      for (const [clients, rates] of ceilings) {
        ceiling[`claimrw_${clients}c_median_events_per_s`] = Math.round(median(rates));
        ceiling[`claimrw_${clients}c_min`] = Math.round(Math.min(...rates));
        ceiling[`claimrw_${clients}c_max`] = Math.round(Math.max(...rates));
      }
      const one = ceilings.has(1) ? median(ceilings.get(1)!) : undefined;
      for (const processes of PROCESSES) {
        const d = report[`drain_${processes}`] as { median_events_per_s: number } | undefined;
        if (d && one) {
          ceiling[`drain_${processes}_over_claimrw`] = Number(
            (d.median_events_per_s / one).toFixed(3),
          );
        }
        // Run by run: each drain over the ceiling measured right after it, with as many
        // clients as the drain had processes.
        const pairs = pairRatios.get(processes);
        if (pairs?.length) {
          ceiling[`drain_${processes}_over_claimrw_${processes}c_paired`] = Number(
            median(pairs).toFixed(3),
          );
        }
      }
      const d1 = report.drain_1 as { median_events_per_s: number } | undefined;
      for (const n of PROCESSES.filter((p) => p > 1)) {
        const dn = report[`drain_${n}`] as { median_events_per_s: number } | undefined;
        if (one) {
          ceiling[`claimrw_${n}c_over_1c`] = Number((median(ceilings.get(n)!) / one).toFixed(3));
        }
        if (d1 && dn) {
          ceiling[`drain_${n}_over_1`] = Number(
            (dn.median_events_per_s / d1.median_events_per_s).toFixed(3),
          );
        }
      }
      report.ceiling = ceiling;
    }
    if (!args["skip-latency"]) {
      const l = await latency(db.sql, db.url, lines, endpoints);
      report.latency = {
        events: l.events,
        not_done: l.notDone,
        produced_per_s: Math.round(l.produced),
        p50_ms: Number(l.p50.toFixed(1)),
        p95_ms: Number(l.p95.toFixed(1)),
        p99_ms: Number(l.p99.toFixed(1)),
        max_ms: Number(l.max.toFixed(1)),
        worker_rss_mb: Math.round(l.rssMb),
      };
    }
  } finally {
    await db.drop();
  }
  console.log(args.json ? JSON.stringify(report) : report);
}
