/**
 * Turns driver and server failures into one line a user can act on. Pure: it
 * looks only at the error's code and fields, never at the connection URL, so no
 * password can leak through it.
 *
 * @module
 */
import { ConvoError } from "../errors.ts";

/** Where a connection was going, safe to print (no password). */
export interface Target {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
  /** Database name. */
  database: string;
  /** Role name. */
  user: string;
}

const URL_HINT = "check --database-url or DATABASE_URL";

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  severity?: unknown;
}

/**
 * Describes a connection failure as a {@link ConvoError}, or returns `undefined`
 * when the error is not a connection failure (a query error, a bug).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionError } from "./errors.ts";
 * const target = { host: "db", port: 5432, database: "app", user: "u" };
 * const err = connectionError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), target);
 * assert(err?.message === "cannot connect to db:5432: connection refused");
 * ```
 */
export function connectionError(err: unknown, target: Target): ConvoError | undefined {
  const e = (err ?? {}) as ErrorLike;
  const code = typeof e.code === "string" ? e.code : undefined;
  const where = `${target.host}:${target.port}`;
  const make = (message: string, hint: string) => new ConvoError(message, { hint, cause: err });
  switch (code) {
    case "ECONNREFUSED":
      return make(
        `cannot connect to ${where}: connection refused`,
        `is PostgreSQL running there? ${URL_HINT}`,
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return make(`cannot connect to ${where}: unknown host '${target.host}'`, URL_HINT);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return make(`cannot connect to ${where}: host unreachable`, URL_HINT);
    case "CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return make(
        `cannot connect to ${where}: timed out`,
        `is the host reachable and the port open? raise CONVO_CONNECT_TIMEOUT if the network is slow`,
      );
    case "ECONNRESET":
    case "CONNECTION_CLOSED":
    case "CONNECTION_ENDED":
    case "CONNECTION_DESTROYED":
      return make(
        `lost the connection to ${where}`,
        "the server closed it; check its log and try again",
      );
    case "28P01":
      return make(
        `authentication failed for user '${target.user}' at ${where}`,
        `check the user and password in --database-url or DATABASE_URL`,
      );
    case "28000":
      return make(
        `the server at ${where} refused user '${target.user}'`,
        "check that the role exists and pg_hba.conf lets it in",
      );
    case "3D000":
      return make(
        `database '${target.database}' does not exist at ${where}`,
        `create it (createdb ${target.database}) or ${URL_HINT}`,
      );
    case "57P03":
      return make(`the server at ${where} is starting up or shutting down`, "try again shortly");
    case "53300":
      return make(
        `the server at ${where} has no free connections`,
        "lower --concurrency or raise max_connections",
      );
    case "SASL_SIGNATURE_MISMATCH":
    case "AUTH_TYPE_NOT_IMPLEMENTED":
      return make(
        `authentication with the server at ${where} failed (${code})`,
        "check the password and the server's auth method",
      );
  }
  return undefined;
}

/**
 * Describes a query that failed because the schema is not there (undefined
 * table, 42P01: a database never migrated, or the wrong database) as a
 * {@link ConvoError} saying to migrate; `undefined` for anything else.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { schemaError } from "./errors.ts";
 * const target = { host: "db", port: 5432, database: "app", user: "u" };
 * const err = Object.assign(new Error('relation "inbound_events" does not exist'), {
 *   code: "42P01",
 * });
 * assert.match(schemaError(err, target)?.hint ?? "", /convo migrate up/);
 * ```
 */
export function schemaError(err: unknown, target: Target): ConvoError | undefined {
  const e = (err ?? {}) as ErrorLike;
  if (e.code !== "42P01") return undefined;
  return new ConvoError(
    `the database '${target.database}' at ${target.host}:${target.port} lacks convo's tables (${
      typeof e.message === "string" ? e.message : "undefined table"
    })`,
    { hint: "run convo migrate up (convo migrate status shows what is pending)", cause: err },
  );
}

/** The message of an error with its SQLSTATE when it has one, for `last_error` and logs. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)
      ? `${err.message} (SQLSTATE ${code})`
      : err.message;
  }
  return String(err);
}
