/**
 * The two kinds of error a user can meet, and the exit codes they map to.
 *
 * - {@link UsageError}: the user's mistake (a bad flag, a malformed value, a bad
 *   input line). Exit code 2.
 * - {@link ConvoError}: the operation could not be done for a reason the user can
 *   act on (database unreachable, migration drift, a failed migration). Exit code 1.
 *
 * Anything else that reaches the error boundary in `cli/program.ts` is the program's
 * own bug: exit code 1, with the stack only under `--log-level debug`.
 *
 * @module
 */

/** Exit codes of every `convo` command. */
export const ExitCode = {
  /** The command did what it was asked. */
  Ok: 0,
  /** The command failed (database, migration, I/O). */
  Failed: 1,
  /** Bad usage or bad input: a flag, a value, an input line. */
  Usage: 2,
  /** `migrate status`: migrations are pending. */
  Pending: 3,
} as const;

/** An exit code of {@link ExitCode}. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

/** Options of {@link UsageError} and {@link ConvoError}. */
export interface ErrorOptions {
  /** What the user can do about it, printed after the message. */
  hint?: string;
  /** The underlying error, shown under `--log-level debug`. */
  cause?: unknown;
}

/**
 * The user's mistake: a bad flag, value or input. Printed as one line, exit code 2.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./errors.ts";
 * const err = new UsageError("Cannot parse duration: current value is '5x'", {
 *   hint: "use 30s, 5m, 2h, 7d or a number of seconds",
 * });
 * assert(err.exitCode === 2);
 * ```
 */
export class UsageError extends Error {
  /** Always {@link ExitCode.Usage}. */
  readonly exitCode: ExitCode = ExitCode.Usage;
  /** What to do about it. */
  readonly hint?: string;

  /** Makes a usage error with an optional hint and cause. */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UsageError";
    this.hint = options.hint;
  }
}

/**
 * An operation that failed for a reason the user can act on. One line, exit code 1
 * unless another code is given.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConvoError } from "./errors.ts";
 * const err = new ConvoError("cannot connect to 127.0.0.1:5432: connection refused", {
 *   hint: "is PostgreSQL running?",
 * });
 * assert(err.exitCode === 1);
 * ```
 */
export class ConvoError extends Error {
  /** The exit code, {@link ExitCode.Failed} unless given. */
  readonly exitCode: ExitCode;
  /** What to do about it. */
  readonly hint?: string;

  /** Makes an operational error with an optional hint, cause and exit code. */
  constructor(message: string, options: ErrorOptions & { exitCode?: ExitCode } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ConvoError";
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.Failed;
  }
}
