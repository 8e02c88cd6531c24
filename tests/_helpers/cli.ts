/**
 * Running `convo` in tests: in-process through `run()` (fast), or as a real
 * process (`deno run -A main.ts`) where exit codes, signals and concurrency
 * matter.
 */
import { run, type RunOptions } from "../../src/cli/program.ts";

/** What a run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of the runners. */
export interface CliOptions {
  /** Environment (nothing is inherited in-process). */
  env?: Record<string, string>;
  /** Standard input. */
  stdin?: string | Uint8Array;
  /** Working directory. */
  cwd?: string;
}

const ROOT = new URL("../../", import.meta.url);
/** The project's root directory. */
export const ROOT_DIR = decodeURIComponent(ROOT.pathname);
/** The project's entry point. */
export const MAIN = `${ROOT_DIR}main.ts`;

function toStream(input: string | Uint8Array | undefined): ReadableStream<Uint8Array> {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  return new ReadableStream({
    start(c) {
      if (bytes && bytes.length) c.enqueue(bytes);
      c.close();
    },
  });
}

/** Runs convo in this process. */
export async function runCli(
  args: string[],
  options: CliOptions & RunOptions = {},
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdin: () => toStream(options.stdin),
    stderrIsTerminal: false,
    env: { CONVO_LOG_FORMAT: "pretty", ...options.env },
    cwd: options.cwd ?? Deno.cwd(),
  }, { shutdownSignal: options.shutdownSignal ?? new AbortController().signal });
  return { code, stdout, stderr };
}

/** Variables a child deno needs to find its cache and to fetch; nothing else is inherited. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  // The TLS and proxy settings too: a child that fetches (`deno bundle` downloads
  // esbuild from npm the first time) must trust what the parent trusts.
  for (
    const k of [
      "HOME",
      "PATH",
      "DENO_DIR",
      "XDG_CACHE_HOME",
      "TMPDIR",
      "DENO_TLS_CA_STORE",
      "DENO_CERT",
      "HTTPS_PROXY",
      "HTTP_PROXY",
      "NO_PROXY",
    ]
  ) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** Starts convo as a process with piped output. */
export function spawnCli(args: string[], options: CliOptions = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    env: { ...baseEnv(), CONVO_LOG_FORMAT: "pretty", ...options.env },
    clearEnv: true,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs convo as a process and waits for it. */
export async function execCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(
      typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    );
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Migrates the database at `url` through the CLI; returns the env that points convo at it. */
export async function migratedEnv(url: string): Promise<Record<string, string>> {
  const env = { DATABASE_URL: url };
  const up = await runCli(["migrate", "up"], { env });
  if (up.code !== 0) throw new Error(`convo migrate up failed (exit ${up.code}): ${up.stderr}`);
  return env;
}
