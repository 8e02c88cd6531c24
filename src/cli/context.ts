/**
 * What every command gets: the terminal streams, the environment, the resolved
 * configuration and logger, and a way to set the exit code. Built by `run()`;
 * tests build their own to run commands in-process.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log/logger.ts";

/** Where a command reads and writes. */
export interface Io {
  /** Writes to standard output. */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** Standard input as a byte stream. */
  stdin(): ReadableStream<Uint8Array>;
  /**
   * Whether standard error is a terminal: chooses the default log format, and
   * a progress bar over periodic progress log lines.
   */
  stderrIsTerminal: boolean;
  /** Whether standard input is a terminal (enqueue then says it is waiting for it). */
  stdinIsTerminal?: boolean;
  /** The terminal's width in columns, when standard error is one. */
  columns?: number;
  /** The environment (read only by `config.ts`). */
  env: Record<string, string | undefined>;
  /** The working directory. */
  cwd: string;
}

/** The state a command action works with. */
export interface Context {
  /** Terminal streams and environment. */
  readonly io: Io;
  /** The configuration, resolved once before the action runs. */
  config(): Config;
  /** The logger made from the configuration. */
  logger(): Logger;
  /**
   * A signal that aborts on SIGINT/SIGTERM. Installing it replaces the default
   * "die at once" behaviour, so only long-running commands ask for it.
   */
  shutdownSignal(): AbortSignal;
  /** The exit code `run()` returns; actions set it when not 0. */
  exitCode: number;
}
