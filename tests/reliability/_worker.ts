/**
 * A `convo work` process under test: its output read as it comes (a full pipe
 * would block it), its exit awaited with a bound, and killed if a test leaves
 * it running.
 */
import postgres from "postgres";
import type { Sql } from "../../src/db/connect.ts";
import { runCli, spawnCli } from "../_helpers/cli.ts";

/** A running worker. */
export interface WorkerProcess {
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** What it wrote to stdout so far. */
  stdout(): string;
  /** Its exit status, once it has exited. */
  exited(): Deno.CommandStatus | undefined;
  /** Sends `signal`. */
  kill(signal: Deno.Signal): void;
  /** Waits up to `ms` for it to exit; throws (and kills it) if it does not. */
  wait(ms: number, what: string): Promise<Deno.CommandStatus>;
}

/** A worker started by {@link startWorker}; `dispose` kills it if still running. */
export interface StartedWorker extends WorkerProcess {
  /** Its process id. */
  readonly pid: number;
  /** Kills it (SIGKILL) if still running and waits until its output is read. */
  dispose(): Promise<void>;
}

/** Starts `convo work ARGS` against `url`; the caller must `dispose()` it. */
export function startWorker(
  url: string,
  args: string[],
  env: Record<string, string> = {},
): StartedWorker {
  const child = spawnCli(["work", ...args], { env: { DATABASE_URL: url, ...env } });
  let out = "";
  let err = "";
  let status: Deno.CommandStatus | undefined;
  const dec = () => new TextDecoderStream();
  const reading = Promise.all([
    child.stdout.pipeThrough(dec()).pipeTo(new WritableStream({ write: (s) => void (out += s) })),
    child.stderr.pipeThrough(dec()).pipeTo(new WritableStream({ write: (s) => void (err += s) })),
  ]);
  const done = child.status.then((s) => (status = s));
  return {
    pid: child.pid,
    stderr: () => err,
    stdout: () => out,
    exited: () => status,
    kill: (signal) => child.kill(signal),
    async wait(ms, what) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
      const r = await Promise.race([done, timeout]);
      clearTimeout(timer);
      if (r === "timeout") {
        throw new Error(`the worker did not exit within ${ms} ms ${what}; stderr:\n${err}`);
      }
      await reading;
      return r;
    },
    async dispose() {
      if (!status) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
        await done;
      }
      await reading.catch(() => {});
    },
  };
}

/** Starts `convo work ARGS` against `url`; killed when `fn` ends if still running. */
export async function withWorker<T>(
  url: string,
  args: string[],
  fn: (w: WorkerProcess) => Promise<T>,
  env: Record<string, string> = {},
): Promise<T> {
  const w = startWorker(url, args, env);
  try {
    return await fn(w);
  } finally {
    await w.dispose();
  }
}

export { until } from "../_helpers/until.ts";

/** Runs `fn` with a one-connection client of `url`, closed afterwards. */
export async function withSql<T>(url: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 5,
    types: { bigint: postgres.BigInt },
  }) as unknown as Sql;
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** `convo migrate up` and the fixture's SMS endpoint, through the CLI. */
export async function prepareDatabase(url: string): Promise<void> {
  const env = { DATABASE_URL: url };
  for (
    const args of [
      ["migrate", "up"],
      ["endpoint", "add", "--customer", "acme", "--provider", "twilio", "--kind", "sms"]
        .concat(["+14155550100"]),
    ]
  ) {
    const r = await runCli(args, { env });
    if (r.code !== 0) throw new Error(`convo ${args.join(" ")} failed: ${r.stderr}`);
  }
}

/** Event counts by status. */
export async function statuses(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from inbound_events group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * Holds every customer row locked (a transaction left open on a client of its
 * own), so a worker's next batch blocks inside its transaction.
 */
export async function holdCustomers(url: string): Promise<{ release(): Promise<void> }> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const conn = await sql.reserve();
  await conn`begin`;
  await conn`select id from customers for update`;
  return {
    // Closing the session rolls back; a ROLLBACK written after the server went
    // away would hit postgres.js's null-socket bug (see src/db/_safe_begin.ts).
    release: () => sql.end({ timeout: 0 }),
  };
}
