/**
 * Configuration: flags, then environment, then defaults, validated once by zod
 * into a frozen {@link Config}. The only module that reads environment variables
 * (they are handed in, so tests pass their own).
 *
 * @module
 */
import { z } from "zod";
import { parseDuration } from "./duration.ts";
import { UsageError } from "./errors.ts";
import { LOG_FORMATS, LOG_LEVELS } from "./log/logger.ts";
import { connectionStringProblem, redactUrl } from "./log/redact.ts";
import { DEFAULT_REGION, isPhoneRegion } from "./normalize/phone.ts";

/** The environment variables convo reads, with what each sets. */
export const ENV_VARS = {
  DATABASE_URL: "PostgreSQL URL (as --database-url); unset: the embedded database",
  CONVO_DATA_DIR: "where the embedded database lives (default ./.convo)",
  CONVO_LOG_LEVEL: "debug|info|warn|error (as --log-level)",
  CONVO_LOG_FORMAT: "json|pretty (as --log-format)",
  CONVO_DEFAULT_REGION: "region for phone numbers without a country code (default US)",
  CONVO_MAX_PAYLOAD_BYTES: "largest event payload enqueue accepts (default 262144)",
  CONVO_SNIPPET_LENGTH: "grapheme clusters kept in a conversation snippet (default 120)",
  CONVO_CONNECT_TIMEOUT: "seconds to wait for a database connection (default 10)",
  CONVO_STATEMENT_TIMEOUT: "server-side limit on one statement (default 60s; 0: none)",
  CONVO_MIGRATE_STATEMENT_TIMEOUT: "statement limit of convo migrate (default 0: none)",
  CONVO_LOCK_TIMEOUT: "server-side limit on one lock wait (default 30s; 0: none)",
  CONVO_IDLE_IN_TRANSACTION_TIMEOUT:
    "the server ends a session idle inside a transaction this long (default 60s; 0: never)",
  CONVO_SHUTDOWN_GRACE: "after SIGTERM/SIGINT, exit anyway after this long (default 30s)",
  PGSSLMODE: "TLS to the server when the URL has no sslmode: disable|allow|prefer|require|" +
    "verify-ca|verify-full (default: disable)",
} as const;

/**
 * The `sslmode` values convo accepts (libpq's). What each does in convo:
 * `disable` no TLS; `allow` and `prefer` TLS when the server offers it, else
 * plain; `require` TLS without checking the certificate; `verify-ca` and
 * `verify-full` TLS with the certificate checked against the system's CAs and
 * the host name (postgres.js checks the name for both).
 */
export const SSL_MODES = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
] as const;
/** One of {@link SSL_MODES}. */
export type SslMode = typeof SSL_MODES[number];

/** Resolved configuration. Frozen. */
export interface Config {
  /** PostgreSQL URL; `undefined` means the embedded database. */
  readonly databaseUrl?: string;
  /** TLS mode: the URL's `sslmode`, else `PGSSLMODE`; `undefined`: none given (no TLS). */
  readonly sslMode?: SslMode;
  /** The database URL with its password replaced, safe to print. */
  readonly databaseLabel: string;
  /** Directory of the embedded database. */
  readonly dataDir: string;
  /** Lowest log level written. */
  readonly logLevel: typeof LOG_LEVELS[number];
  /** Log line format. */
  readonly logFormat: typeof LOG_FORMATS[number];
  /** ISO 3166 region for national phone numbers. */
  readonly defaultRegion: string;
  /** Largest accepted event payload, in bytes of JSON. */
  readonly maxPayloadBytes: number;
  /** Grapheme clusters kept in snippets. */
  readonly snippetLength: number;
  /** Seconds to wait for a connection. */
  readonly connectTimeoutSeconds: number;
  /** `statement_timeout` of every session, in ms (0: none). */
  readonly statementTimeoutMs: number;
  /** `statement_timeout` of `convo migrate` sessions (an index build may take long), ms. */
  readonly migrateStatementTimeoutMs: number;
  /** `lock_timeout` of every session, in ms (0: none). */
  readonly lockTimeoutMs: number;
  /** `idle_in_transaction_session_timeout` of every session, in ms (0: none). */
  readonly idleInTransactionTimeoutMs: number;
  /** After a shutdown signal, how long a command may take to stop before it is ended. */
  readonly shutdownGraceMs: number;
}

/** Global flags as commander hands them over. */
export interface GlobalFlags {
  databaseUrl?: string;
  logLevel?: string;
  logFormat?: string;
}

// A rejected database URL is described, never echoed, not even redacted: the
// redaction of a malformed URL is guesswork (`host=db password=x`,
// `app:pw@db/convo` and `postgres://app:pa/ss@db/convo` all printed their
// password here once).
function postgresUrl(value: string, ctx: z.RefinementCtx): void {
  const authority = value.replace(/^[a-z]+:\/\//i, "").split(/[/?#]/)[0];
  if (authority.slice(authority.lastIndexOf("@") + 1).includes(",")) {
    // postgres.js 3.4.9 retries a multi-host list forever when every host is
    // down (its connect error is swallowed while another host is left), so a
    // query would never fail: refused rather than half supported.
    ctx.addIssue({
      code: "custom",
      message: "one host only: for failover put a proxy (PgBouncer, HAProxy) or one DNS name " +
        "in front of the servers",
    });
    return;
  }
  const problem = connectionStringProblem(value);
  if (problem !== undefined) {
    ctx.addIssue({ code: "custom", message: `it is ${problem}` });
    return;
  }
  const url = new URL(value.trim());
  const escapes = [url.username, url.password, url.hostname, url.pathname];
  if (escapes.some((part) => !decodes(part))) {
    // postgres.js decodes these with decodeURIComponent, which throws a bare
    // "URI malformed" on `%zz`.
    ctx.addIssue({
      code: "custom",
      message: "a malformed percent-escape (% must be followed by two hex digits; write % as %25)",
    });
    return;
  }
  const mode = url.searchParams.get("sslmode");
  if (mode !== null && !(SSL_MODES as readonly string[]).includes(mode)) {
    ctx.addIssue({ code: "custom", message: `sslmode must be one of ${SSL_MODES.join(", ")}` });
    return;
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    ctx.addIssue({
      code: "custom",
      message: `it is a ${url.protocol}// URL, not postgres:// or postgresql://`,
    });
  } else if (url.port !== "" && !(Number(url.port) > 0 && Number(url.port) < 65536)) {
    ctx.addIssue({ code: "custom", message: "its port is not a number from 1 to 65535" });
  }
}

function decodes(part: string): boolean {
  try {
    decodeURIComponent(part);
    return true;
  } catch {
    return false;
  }
}

// Server-side timeouts are int4 milliseconds; 0 turns one off.
const MAX_TIMEOUT_MS = 2_147_483_647;
const duration = (max: number) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    try {
      const ms = parseDuration(String(value));
      if (ms <= max) return ms;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: "custom", message: "a duration such as 30s, 5m, 2h, or 0 for none" });
    return z.NEVER;
  });

function sslModeOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).searchParams.get("sslmode") ?? undefined;
  } catch {
    return undefined;
  }
}

const nonEmpty = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v);

const schema = z.object({
  databaseUrl: z.string().superRefine(postgresUrl).optional(),
  sslMode: z.enum(SSL_MODES).optional(),
  dataDir: z.string().min(1),
  logLevel: z.enum(LOG_LEVELS),
  logFormat: z.enum(LOG_FORMATS),
  defaultRegion: z.string().refine(
    isPhoneRegion,
    "a two-letter region libphonenumber knows, such as US or GB",
  ),
  maxPayloadBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024),
  snippetLength: z.coerce.number().int().min(1).max(10_000),
  connectTimeoutSeconds: z.coerce.number().positive().max(3600),
  statementTimeoutMs: duration(MAX_TIMEOUT_MS),
  migrateStatementTimeoutMs: duration(MAX_TIMEOUT_MS),
  lockTimeoutMs: duration(MAX_TIMEOUT_MS),
  idleInTransactionTimeoutMs: duration(MAX_TIMEOUT_MS),
  shutdownGraceMs: duration(86_400_000),
});

const SOURCE: Record<string, string> = {
  databaseUrl: "--database-url / DATABASE_URL",
  sslMode: "PGSSLMODE",
  dataDir: "CONVO_DATA_DIR",
  logLevel: "--log-level / CONVO_LOG_LEVEL",
  logFormat: "--log-format / CONVO_LOG_FORMAT",
  defaultRegion: "CONVO_DEFAULT_REGION",
  maxPayloadBytes: "CONVO_MAX_PAYLOAD_BYTES",
  snippetLength: "CONVO_SNIPPET_LENGTH",
  connectTimeoutSeconds: "CONVO_CONNECT_TIMEOUT",
  statementTimeoutMs: "CONVO_STATEMENT_TIMEOUT",
  migrateStatementTimeoutMs: "CONVO_MIGRATE_STATEMENT_TIMEOUT",
  lockTimeoutMs: "CONVO_LOCK_TIMEOUT",
  idleInTransactionTimeoutMs: "CONVO_IDLE_IN_TRANSACTION_TIMEOUT",
  shutdownGraceMs: "CONVO_SHUTDOWN_GRACE",
};

/**
 * Resolves the configuration from flags, then environment, then defaults.
 *
 * @throws {UsageError} naming the setting and value when one is invalid.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ logLevel: "debug" }, { DATABASE_URL: "postgres://u:pw@db/app" });
 * assert(config.logLevel === "debug");
 * assert(config.databaseLabel === "postgres://u:***@db/app");
 * assert(config.defaultRegion === "US");
 * ```
 */
export function resolveConfig(
  flags: GlobalFlags,
  env: Record<string, string | undefined>,
  options: { stderrIsTerminal?: boolean } = {},
): Config {
  // Set but empty is a mistake (an unset variable in a unit file, `--database-url "$URL"`
  // with URL unset), not a wish for the embedded database: that would quietly write
  // somewhere else than the operator thinks.
  const given = flags.databaseUrl !== undefined
    ? { value: flags.databaseUrl, from: "--database-url" }
    : env.DATABASE_URL !== undefined
    ? { value: env.DATABASE_URL, from: "DATABASE_URL" }
    : undefined;
  if (given && given.value.trim() === "") {
    throw new UsageError(`${given.from} is empty`, {
      hint: "give a postgres:// URL, or leave it unset (unset, not empty) to use the embedded " +
        "database",
    });
  }
  const databaseUrl = given?.value.trim();
  const raw = {
    databaseUrl,
    sslMode: databaseUrl === undefined
      ? undefined
      : sslModeOf(databaseUrl) ?? nonEmpty(env.PGSSLMODE),
    dataDir: nonEmpty(env.CONVO_DATA_DIR) ?? ".convo",
    logLevel: flags.logLevel ?? nonEmpty(env.CONVO_LOG_LEVEL) ?? "info",
    logFormat: flags.logFormat ?? nonEmpty(env.CONVO_LOG_FORMAT) ??
      (options.stderrIsTerminal ? "pretty" : "json"),
    defaultRegion: (nonEmpty(env.CONVO_DEFAULT_REGION) ?? DEFAULT_REGION).toUpperCase(),
    maxPayloadBytes: nonEmpty(env.CONVO_MAX_PAYLOAD_BYTES) ?? 262_144,
    snippetLength: nonEmpty(env.CONVO_SNIPPET_LENGTH) ?? 120,
    connectTimeoutSeconds: nonEmpty(env.CONVO_CONNECT_TIMEOUT) ?? 10,
    statementTimeoutMs: nonEmpty(env.CONVO_STATEMENT_TIMEOUT) ?? "60s",
    migrateStatementTimeoutMs: nonEmpty(env.CONVO_MIGRATE_STATEMENT_TIMEOUT) ?? "0",
    lockTimeoutMs: nonEmpty(env.CONVO_LOCK_TIMEOUT) ?? "30s",
    idleInTransactionTimeoutMs: nonEmpty(env.CONVO_IDLE_IN_TRANSACTION_TIMEOUT) ?? "60s",
    shutdownGraceMs: nonEmpty(env.CONVO_SHUTDOWN_GRACE) ?? "30s",
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0]);
    if (key === "databaseUrl") {
      throw new UsageError(`invalid ${SOURCE[key]}: ${issue.message}`, {
        hint: "write postgres://USER:PASSWORD@HOST:PORT/DATABASE",
      });
    }
    const value = String(raw[key as keyof typeof raw]);
    throw new UsageError(`invalid ${SOURCE[key] ?? key}: current value is '${value}'`, {
      hint: issue.message,
    });
  }
  const c = parsed.data;
  return Object.freeze({
    ...c,
    databaseLabel: c.databaseUrl ? redactUrl(c.databaseUrl) : `embedded (${c.dataDir})`,
  });
}
