/**
 * A change against a base commit, on identical data, alternating: `convo work --drain` of
 * the same generated events by the base's program and by this checkout's, run after run,
 * each from a fresh copy of its own template database (migrated by its own `migrate up`,
 * the same endpoints and queued events).
 *
 * Per run: events/s, the worker's CPU and peak RSS (`/usr/bin/time`), and, when the
 * server runs on this machine, the server's CPU: the ticks of its postmaster's processes
 * from `/proc`, those that exited included. On a shared machine each side's CPU moves by
 * ±20 % between identical runs, while the server's CPU over the worker's in the same run
 * holds: that ratio is the measure to read a server-side change by (lower: the server
 * does less per unit of worker work) and, inverted, a worker-side one.
 *
 * With `--enqueue`, the same for `convo enqueue` of the generated events (written to a
 * file once) into a fresh copy of each side's empty, migrated template: lines/s, the
 * client's CPU and peak RSS, the server's CPU.
 *
 * Usage: `deno run -A tests/bench/compare.ts --base REV [--enqueue] [--count 30000]
 * [--runs 3] [--batch-size 500]`, on TEST_DATABASE_URL's server (default
 * postgres://postgres@127.0.0.1:5432/postgres). It creates and drops its own databases and
 * a git worktree of REV. Not run by `deno task bench` (it needs a base).
 *
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import type { Sql } from "../../src/db/connect.ts";
import { V8_FLAGS } from "../../src/build/v8_flags.ts";
import { baseEnv, ROOT_DIR } from "../_helpers/cli.ts";
import { TEST_DATABASE_URL } from "../_helpers/db.ts";
import { seedEndpoints, seedEventsInBulk } from "../_helpers/seed.ts";
import { generateEvents } from "./_generate.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    base: { type: "string" },
    count: { type: "string", default: "30000" },
    runs: { type: "string", default: "3" },
    "batch-size": { type: "string", default: "500" },
    enqueue: { type: "boolean", default: false },
  },
});
if (!args.base) {
  console.error("error: --base REV is required (a commit to compare this checkout with)");
  Deno.exit(2);
}
const COUNT = Number(args.count);
const RUNS = Number(args.runs);
const enqueue = args.enqueue;
const unit = enqueue ? "lines/s" : "events/s";
const client = enqueue ? "client" : "worker";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function run(cmd: string, cmdArgs: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args: cmdArgs,
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function urlOf(db: string): string {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

/** CPU ticks of the server so far, when it runs here: its postmaster's processes, reaped ones too. */
function serverTicks(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  const fields = (pid: number) => {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    } catch {
      return undefined;
    }
  };
  const pm = fields(postmaster);
  if (!pm) return undefined;
  // utime, stime, cutime, cstime: fields 14-17, here 11-14 (after pid and comm).
  let ticks = Number(pm[11]) + Number(pm[12]) + Number(pm[13]) + Number(pm[14]);
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const f = fields(Number(e.name));
    if (f && Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks;
}

/** The postmaster's pid when the server is on this machine (a backend's parent), else undefined. */
async function findPostmaster(sql: Sql): Promise<number | undefined> {
  const [{ pid }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
  } catch {
    return undefined;
  }
}

interface Side {
  name: string;
  dir: string;
  template: string;
}

interface Run {
  rate: number;
  /** The worker's CPU, or enqueue's. */
  workerCpu: number;
  serverCpu?: number;
  rssMb: number;
}

const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} }) as unknown as Sql;
const tag = `${Deno.pid}`;
const worktree = await Deno.makeTempDir({ prefix: "convo_compare_" });
const sides: Side[] = [
  { name: `base ${args.base}`, dir: worktree, template: `convo_cmp_base_${tag}` },
  { name: "this checkout", dir: ROOT_DIR.replace(/\/$/, ""), template: `convo_cmp_head_${tag}` },
];
const scratch = `convo_cmp_run_${tag}`;
let worktreeAdded = false;
let file: string | undefined;
try {
  const add = await run("git", [
    "-C",
    ROOT_DIR,
    "worktree",
    "add",
    "--detach",
    worktree,
    args.base,
  ]);
  if (add.code !== 0) throw new Error(`git worktree add ${args.base}: ${add.stderr.trim()}`);
  worktreeAdded = true;
  const postmaster = await findPostmaster(admin);
  const { lines, endpoints } = generateEvents(COUNT, 1);
  // Enqueue reads the generated lines from a file; the drain finds them queued.
  file = enqueue ? await Deno.makeTempFile({ suffix: ".ndjson" }) : undefined;
  if (file) await Deno.writeTextFile(file, lines.join("\n") + "\n");
  let queued = 0;
  for (const side of sides) {
    await admin.unsafe(`create database ${side.template}`);
    const up = await run(Deno.execPath(), ["run", "-A", `${side.dir}/main.ts`, "migrate", "up"], {
      DATABASE_URL: urlOf(side.template),
    });
    if (up.code !== 0) throw new Error(`${side.name}: migrate up: ${up.stderr.trim()}`);
    const sql = postgres(urlOf(side.template), { max: 1, onnotice: () => {} }) as unknown as Sql;
    try {
      await seedEndpoints(sql, endpoints);
      if (!enqueue) queued = await seedEventsInBulk(sql, lines);
    } finally {
      await sql.end();
    }
  }
  console.log(
    `compare: ${
      enqueue ? `convo enqueue of ${lines.length} lines` : `${queued} events`
    }, ${RUNS} runs each, alternating; server CPU ${
      postmaster === undefined ? "not measured (the server is not on this machine)" : "from /proc"
    }`,
  );
  const results = new Map<string, Run[]>(sides.map((s) => [s.name, []]));
  for (let i = 0; i < RUNS; i++) {
    // ABBA…: the order flips every round, so a machine slowing down favours neither.
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      await admin.unsafe(`drop database if exists ${scratch} with (force)`);
      await admin.unsafe(`create database ${scratch} template ${side.template}`);
      const sql = postgres(urlOf(scratch), { max: 1, onnotice: () => {} }) as unknown as Sql;
      await sql`vacuum analyze inbound_events`;
      await sql`checkpoint`;
      const t0 = serverTicks(postmaster);
      const started = performance.now();
      const out = await run("/usr/bin/time", [
        "-f",
        "TIME %U %S %M",
        Deno.execPath(),
        "run",
        "-A",
        `--v8-flags=${V8_FLAGS}`,
        `${side.dir}/main.ts`,
        ...(file ? ["enqueue", file] : ["work", "--drain", "--batch-size", args["batch-size"]!]),
      ], { DATABASE_URL: urlOf(scratch), CONVO_LOG_LEVEL: "warn" });
      const seconds = (performance.now() - started) / 1000;
      const t1 = serverTicks(postmaster);
      const [{ done }] = file
        ? await sql<{ done: number }[]>`select count(*)::int as done from inbound_events`
        : await sql<{ done: number }[]>`
          select count(*)::int as done from inbound_events where status = 'done'`;
      await sql.end();
      const time = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(out.stderr);
      // Enqueue: both sides must store the same events (the first run sets how many).
      if (file && queued === 0) queued = done;
      if (out.code !== 0 || done !== queued || !time) {
        throw new Error(`${side.name}: run failed (${done}/${queued} events): ${out.stderr}`);
      }
      const r: Run = {
        rate: (file ? lines.length : queued) / seconds,
        workerCpu: Number(time[1]) + Number(time[2]),
        rssMb: Number(time[3]) / 1024,
        ...(t0 !== undefined && t1 !== undefined ? { serverCpu: (t1 - t0) / 100 } : {}),
      };
      results.get(side.name)!.push(r);
      console.log(
        `  ${side.name.padEnd(20)} ${Math.round(r.rate)} ${unit}, ${client} CPU ${
          r.workerCpu.toFixed(2)
        } s, server CPU ${r.serverCpu?.toFixed(2) ?? "-"} s, server/${client} ${
          r.serverCpu === undefined ? "-" : (r.serverCpu / r.workerCpu).toFixed(3)
        }, RSS ${r.rssMb.toFixed(0)} MB`,
      );
    }
  }
  console.log("medians:");
  for (const [name, rs] of results) {
    const ratio = rs.every((r) => r.serverCpu !== undefined)
      ? median(rs.map((r) => r.serverCpu! / r.workerCpu)).toFixed(3)
      : "-";
    console.log(
      `  ${name.padEnd(20)} ${Math.round(median(rs.map((r) => r.rate)))} ${unit}, ${client} CPU ${
        median(rs.map((r) => r.workerCpu)).toFixed(2)
      } s, server/${client} ${ratio}, peak RSS ${
        Math.round(Math.max(...rs.map((r) => r.rssMb)))
      } MB`,
    );
  }
} finally {
  await admin.unsafe(`drop database if exists ${scratch} with (force)`).catch(() => {});
  for (const side of sides) {
    await admin.unsafe(`drop database if exists ${side.template} with (force)`).catch(() => {});
  }
  await admin.end();
  if (worktreeAdded) await run("git", ["-C", ROOT_DIR, "worktree", "remove", "--force", worktree]);
  await Deno.remove(worktree, { recursive: true }).catch(() => {});
  if (file) await Deno.remove(file).catch(() => {});
}
