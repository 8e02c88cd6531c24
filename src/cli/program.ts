/**
 * The `convo` command line: builds the commander program, runs it, and turns
 * whatever happened into an exit code. `main.ts` is the only caller that exits.
 *
 * @module
 */
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import meta from "../../deno.json" with { type: "json" };
import { type Config, type GlobalFlags, resolveConfig } from "../config.ts";
import { formatDuration } from "../duration.ts";
import { ConvoError, ExitCode, UsageError } from "../errors.ts";
import {
  createLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type Logger,
} from "../log/logger.ts";
import { redactSecrets } from "../log/redact.ts";
import type { Context, Io } from "./context.ts";

/** The program's version, from `deno.json`. */
export const VERSION: string = meta.version;

/** Options of {@link run}. */
export interface RunOptions {
  /** Replaces the SIGINT/SIGTERM signal (tests abort it themselves). */
  shutdownSignal?: AbortSignal;
}

/** Makes one command's tree. */
type CommandBuilder = (ctx: Context) => Command;

/**
 * The commands, in the order help lists them, each loaded only when needed: a command's
 * module brings its whole stack (zod and libphonenumber, htmlparser2, the ingest), and a
 * run needs one. Measured from source, peak RSS and wall time: `convo check` 85 → 56 MB,
 * `migrate` → 59 MB, `enqueue` → 73 MB, start-up 0.13 → 0.08 s.
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<CommandBuilder>]> = [
  ["migrate", async () => (await import("./migrate.ts")).migrateCommand],
  ["normalize", async () => (await import("./normalize.ts")).normalizeCommand],
  ["endpoint", async () => (await import("./endpoint.ts")).endpointCommand],
  ["enqueue", async () => (await import("./enqueue.ts")).enqueueCommand],
  ["work", async () => (await import("./work.ts")).workCommand],
  ["queue", async () => (await import("./queue.ts")).queueCommand],
  ["query-overview", async () => (await import("./query_overview.ts")).queryOverviewCommand],
  [
    "backfill-conversations",
    async () => (await import("./backfill_conversations.ts")).backfillConversationsCommand,
  ],
  ["check", async () => (await import("./check.ts")).checkCommand],
];

/** The program's options that take a value (`--log-level debug`). */
const VALUE_OPTIONS = new Set(["--database-url", "--log-level", "--log-format"]);

/**
 * The command `argv` runs: its first word that is neither a program option nor an option's
 * value; `undefined` when there is none (`convo --help`, `convo --version`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandName } from "./program.ts";
 * assert.equal(commandName(["--log-level", "debug", "enqueue", "events.ndjson"]), "enqueue");
 * assert.equal(commandName(["--log-format=json", "work", "--drain"]), "work");
 * assert.equal(commandName(["--help"]), undefined);
 * ```
 */
export function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") return undefined;
    if (VALUE_OPTIONS.has(arg)) {
      i++;
      continue;
    }
    if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

/**
 * Builds the command tree for a context: with `argv` naming a command, that command
 * alone (help for it, or a run of it, needs no other); else every command (the program's
 * help, `help`, a misspelt name and its suggestion). Exported for tests of the help text.
 */
export async function buildProgram(ctx: Context, argv?: readonly string[]): Promise<Command> {
  const program = new Command("convo")
    .description(
      "Owns the PostgreSQL side of a messaging backend: migrations, the inbound event queue, " +
        "conversation ingest and the conversation overview.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .addOption(
      new Option(
        "--database-url <url>",
        "PostgreSQL URL (env DATABASE_URL); without one, the embedded database in ./.convo",
      ),
    )
    .addOption(
      new Option("--log-level <level>", "lowest level logged (env CONVO_LOG_LEVEL)")
        .choices(LOG_LEVELS),
    )
    .addOption(
      new Option("--log-format <format>", "log line format (env CONVO_LOG_FORMAT)")
        .choices(LOG_FORMATS),
    )
    .showSuggestionAfterError(true);

  const name = argv === undefined ? undefined : commandName(argv);
  const one = COMMANDS.find(([n]) => n === name);
  for (const [, load] of one ? [one] : COMMANDS) program.addCommand((await load())(ctx));
  return program;
}

function configureTree(cmd: Command, io: Io): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => io.stdout(s),
    writeErr: (s) => io.stderr(s),
    // The error boundary prints usage errors as one line; commander's own
    // printing is suppressed.
    outputError: () => {},
  });
  for (const sub of cmd.commands) configureTree(sub as unknown as Command, io);
}

/**
 * An ordinary failure of the machine rather than of convo: an output that went
 * away, a full disk. Said plainly, exit 1, never "internal error".
 */
function systemError(err: unknown): ConvoError | undefined {
  const e = err as { code?: unknown; name?: unknown; stream?: unknown } | undefined;
  if (!(err instanceof Error)) return undefined;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const where = typeof e?.stream === "string" ? e.stream : "an output";
  if (err instanceof Deno.errors.BrokenPipe || code === "EPIPE") {
    return new ConvoError(`${where} was closed before convo finished writing (broken pipe)`, {
      hint: "what was done before is kept; send the output somewhere that stays open",
      cause: err,
    });
  }
  if (code === "ENOSPC") {
    return new ConvoError(`no space left on the device while writing ${where}`, {
      hint: "free some space and run again",
      cause: err,
    });
  }
  if (code === "EDQUOT") {
    return new ConvoError(`disk quota exceeded while writing ${where}`, {
      hint: "free some space and run again",
      cause: err,
    });
  }
  return undefined;
}

function describeError(err: unknown, debug: boolean): { message: string; hint?: string } {
  if (err instanceof UsageError || err instanceof ConvoError) {
    return { message: err.message, hint: err.hint };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    message: `internal error: ${redactSecrets(message)}`,
    hint: debug ? undefined : "run again with --log-level debug for details, and report it",
  };
}

/** The stacks of an error and its causes, passwords redacted. */
function stacks(err: unknown): string[] {
  const out: string[] = [];
  let cause: unknown = err;
  while (cause instanceof Error && out.length < 10) {
    if (cause.stack) out.push(redactSecrets(cause.stack));
    cause = cause.cause;
  }
  return out;
}

function printError(io: Io, format: LogFormat, err: unknown, debug: boolean): void {
  const { message, hint } = describeError(err, debug);
  try {
    if (format === "json") {
      // Everything in one object: a JSON stream never gets a raw line.
      const json = createLogger({ level: "error", format: "json", write: (l) => io.stderr(l) });
      json.error(message, {
        ...(hint && { hint }),
        ...(debug && { stack: stacks(err).join("\ncaused by: ") }),
      });
      return;
    }
    io.stderr(`error: ${message}${hint ? `; ${hint}` : ""}\n`);
    if (debug) { for (const stack of stacks(err)) io.stderr(stack + "\n"); }
  } catch {
    // Standard error itself is gone (closed, or the disk is full): the exit
    // code is all that is left to say it.
  }
}

/**
 * The log format before the configuration is resolved (a usage error in the
 * flags, a bad setting): `--log-format` if given and valid, else
 * `CONVO_LOG_FORMAT`, else as the configuration would choose.
 */
function earlyLogFormat(argv: readonly string[], io: Io): LogFormat {
  const valid = (v: string | undefined): v is LogFormat =>
    (LOG_FORMATS as readonly string[]).includes(v ?? "");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") break;
    const v = argv[i] === "--log-format"
      ? argv[i + 1]
      : argv[i].startsWith("--log-format=")
      ? argv[i].slice("--log-format=".length)
      : undefined;
    if (valid(v)) return v;
  }
  const env = io.env.CONVO_LOG_FORMAT?.trim();
  if (valid(env)) return env;
  return io.stderrIsTerminal ? "pretty" : "json";
}

/**
 * Runs `convo` with the given arguments (without the program name) and returns
 * the exit code. Never exits the process.
 *
 * @example Usage
 * ```ts ignore
 * import { run } from "./program.ts";
 * const code = await run(["migrate", "status"], io);
 * ```
 */
export async function run(argv: string[], io: Io, options: RunOptions = {}): Promise<number> {
  let config: Config | undefined;
  let logger: Logger | undefined;
  let signal = options.shutdownSignal;
  // Ends the run through the boundary below when nothing else can: an
  // exception thrown in a driver's event handler, a rejection nobody awaits,
  // or a shutdown that outlives its grace period (a hung database).
  const fatal = Promise.withResolvers<never>();
  fatal.promise.catch(() => {});
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    fatal.reject(e.error ?? new Error(e.message));
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    fatal.reject(e.reason);
  };
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const ctx: Context = {
    io,
    exitCode: ExitCode.Ok,
    config() {
      if (!config) throw new Error("configuration read before it was resolved");
      return config;
    },
    logger() {
      if (!logger) throw new Error("logger used before the configuration was resolved");
      return logger;
    },
    shutdownSignal() {
      if (!signal) {
        const controller = new AbortController();
        const stop = (name: Deno.Signal) => {
          const ended = (why: string) =>
            fatal.reject(
              new ConvoError(`${why} after ${name}: exiting without a clean stop`, {
                hint: "events it had claimed return to the queue after the visibility timeout",
              }),
            );
          if (controller.signal.aborted) return ended(`a second ${name}`);
          controller.abort(new Error("signal"));
          const graceMs = config?.shutdownGraceMs ?? 30_000;
          graceTimer = setTimeout(() => ended(`still running ${formatDuration(graceMs)}`), graceMs);
        };
        Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
        Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
        signal = controller.signal;
      }
      return signal;
    },
  };
  const program = await buildProgram(ctx, argv);
  program.hook("preAction", (_root, action) => {
    config = resolveConfig(action.optsWithGlobals() as GlobalFlags, io.env, {
      stderrIsTerminal: io.stderrIsTerminal,
    });
    logger = createLogger({
      level: config.logLevel,
      format: config.logFormat,
      write: (line) => io.stderr(line),
    });
  });
  configureTree(program, io);

  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    await Promise.race([program.parseAsync(argv, { from: "user" }), fatal.promise]);
    return ctx.exitCode;
  } catch (err) {
    const debug = config?.logLevel === "debug" ||
      (!config && argv.includes("--log-level") &&
        argv[argv.indexOf("--log-level") + 1] === "debug");
    const format = config?.logFormat ?? earlyLogFormat(argv, io);
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" || err.code === "commander.version" ||
        err.code === "commander.help" && err.exitCode === 0
      ) {
        return ExitCode.Ok;
      }
      const message = err.message.replace(/^error:\s*/, "").replace(/\.$/, "");
      if (err.code === "commander.help" || err.code === "commander.executeSubCommandAsync") {
        // `convo` or `convo migrate` alone: the help went to stderr.
        return ExitCode.Usage;
      }
      printError(io, format, new UsageError(message, { hint: "see --help" }), false);
      return ExitCode.Usage;
    }
    const known = systemError(err) ?? err;
    // In JSON mode the error is a log line like any other; otherwise one plain line.
    printError(io, format, known, debug);
    if (known instanceof UsageError || known instanceof ConvoError) return known.exitCode;
    return ExitCode.Failed;
  } finally {
    clearTimeout(graceTimer);
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
}
