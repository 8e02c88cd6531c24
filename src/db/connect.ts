/**
 * The one place a database connection is made: a PostgreSQL server from a URL,
 * or the embedded database when there is none. Every connection sets
 * `TimeZone=UTC` and an `application_name`, returns `bigint` columns as
 * `BigInt`, and turns connection failures into one clear line.
 *
 * @module
 */
import net from "node:net";
import postgres from "postgres";
import type { Config, SslMode } from "../config.ts";
import { ConvoError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { guardBegin } from "./_safe_begin.ts";
import { serverOffersTls } from "./_tls_probe.ts";
import { startEmbedded } from "./embedded.ts";
import { connectionError, schemaError, type Target } from "./errors.ts";

/** The postgres.js client type used throughout convo (bigint as BigInt). */
export type Sql = postgres.Sql<{ bigint: bigint }>;

/** An open database: the client, what it points at, and how to close it. */
export interface Database {
  /** The postgres.js client. */
  readonly sql: Sql;
  /** Where it points, safe to print. */
  readonly label: string;
  /** Whether this is the embedded database. */
  readonly embedded: boolean;
  /** Host, port, database and user, without the password. */
  readonly target: Target;
  /** Closes the pool (and stops the embedded database). */
  close(): Promise<void>;
}

/** Options of {@link openDatabase}. */
export interface OpenOptions {
  /** Pool size; default 4. */
  max?: number;
  /** `application_name` suffix: `convo <command>`. */
  command?: string;
}

/** The oldest server version convo supports (`server_version_num`). */
export const MIN_SERVER_VERSION = 130000;

function targetOf(url: string): Target {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, "")) || "localhost",
    port: u.port ? Number(u.port) : 5432,
    database: decodeURIComponent(u.pathname.replace(/^\//, "")) || decodeURIComponent(u.username) ||
      "postgres",
    user: decodeURIComponent(u.username) || "postgres",
  };
}

/**
 * Opens the TCP (or Unix) socket postgres.js talks over, with TCP_NODELAY:
 * postgres.js makes a plain socket, and with Nagle's algorithm on, a small
 * query after a large write waited for the delayed ACK — about 43 ms instead
 * of 0.8 ms here.
 *
 * It returns the socket at once, still connecting, and never a promise:
 * postgres.js treats a socket from this factory as connected — it attaches its
 * own `error` and `close` handlers, starts `connect_timeout` and writes the
 * startup message, which the socket holds until it connects. A refused or
 * failed connect then reaches postgres.js as a socket error and a close, and
 * the pool slot is freed for the next attempt. A factory whose promise rejects
 * (as this one did until the outage of issue 9) leaves the slot in
 * postgres.js's `connecting` queue for good (connection.js createSocket calls
 * `error()` but never `closed()`): after as many failed connects as the pool
 * has slots (four for `convo work`, about 8 s of outage), every query waited
 * forever and the worker hung, deaf to SIGTERM.
 */
export function connectNoDelay(
  options: { host: string[]; port: number[]; path?: string | false },
): net.Socket {
  if (options.path) return net.connect(options.path);
  const host = options.host[0];
  const port = options.port[0];
  const socket = net.connect({ host, port, noDelay: true });
  // postgres.js names the TLS server from these when it upgrades the socket.
  return Object.assign(socket, { host, port });
}

/** Server-side limits every session sets, in milliseconds (0: none). */
export interface SessionTimeouts {
  /** `statement_timeout`. */
  statementMs: number;
  /** `lock_timeout`. */
  lockMs: number;
  /** `idle_in_transaction_session_timeout`. */
  idleInTransactionMs: number;
}

/**
 * TCP keepalive idle time: a server that vanishes without a FIN or RST (a
 * partition, a frozen VM) is noticed on an idle or waiting connection instead
 * of a read hanging for the kernel's two hours.
 */
export const KEEP_ALIVE_SECONDS = 15;

/**
 * Makes the postgres.js client with convo's settings. Lazy: nothing connects
 * until the first query. `timeouts` become startup parameters of every
 * session; parameters in the URL's query string (`?statement_timeout=5min`)
 * override them.
 */
export function createClient(
  url: string,
  options: {
    max: number;
    applicationName: string;
    connectTimeoutSeconds: number;
    logger: Logger;
    timeouts?: SessionTimeouts;
    /** A Unix socket to connect to instead of the URL's host (the embedded database). */
    path?: string;
    /** TLS mode (see `SSL_MODES` in config.ts); wins over the URL's `sslmode`. */
    sslMode?: SslMode;
  },
): Sql {
  const t = options.timeouts;
  const sql = postgres(url, {
    path: options.path,
    ...(options.sslMode && { ssl: postgresSsl(options.sslMode) }),
    // Undocumented in postgres.js's types but supported (connection.js createSocket).
    ...{ socket: connectNoDelay } as Record<never, never>,
    max: options.max,
    connect_timeout: options.connectTimeoutSeconds,
    keep_alive: KEEP_ALIVE_SECONDS,
    // Idle connections are closed so a finished cron run leaves nothing open.
    idle_timeout: 60,
    types: { bigint: postgres.BigInt },
    connection: {
      application_name: options.applicationName,
      TimeZone: "UTC",
      // Strings: postgres.js leaves out falsy values, and 0 ("none") must be
      // sent to override a server or role default.
      ...(t && {
        statement_timeout: String(t.statementMs),
        lock_timeout: String(t.lockMs),
        idle_in_transaction_session_timeout: String(t.idleInTransactionMs),
      } as Record<string, string>),
    },
    onnotice: (notice) => options.logger.debug("server notice", { notice: notice.message }),
  }) as unknown as Sql;
  return guardBegin(sql);
}

/**
 * postgres.js's `ssl` for a libpq `sslmode`. postgres.js has no `allow` (it
 * would try TLS and never fall back), so `allow` is `prefer`; its `verify-ca`
 * checks the host name too, so it is `verify-full`.
 */
function postgresSsl(mode: SslMode): false | "prefer" | "require" | "verify-full" {
  switch (mode) {
    case "disable":
      return false;
    case "allow":
    case "prefer":
      return "prefer";
    case "require":
      return "require";
    default:
      return "verify-full";
  }
}

/** The session timeouts of a command: `migrate` has its own statement limit. */
export function sessionTimeouts(config: Config, command?: string): SessionTimeouts {
  return {
    statementMs: command === "migrate"
      ? config.migrateStatementTimeoutMs
      : config.statementTimeoutMs,
    lockMs: config.lockTimeoutMs,
    idleInTransactionMs: config.idleInTransactionTimeoutMs,
  };
}

/**
 * Opens the configured database and checks that it answers, so connection
 * problems surface here as one clear line rather than in the middle of a job.
 *
 * @throws {ConvoError} when the server cannot be reached or is too old.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  options: OpenOptions = {},
): Promise<Database> {
  const applicationName = options.command ? `convo ${options.command}` : "convo";
  const max = options.max ?? 4;
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let path: string | undefined;
  if (url === undefined) {
    const embedded = await startEmbedded(config.dataDir, logger, { maxConnections: max + 1 });
    url = embedded.url;
    path = embedded.path;
    stopEmbedded = embedded.stop;
  }
  const target = targetOf(url);
  const sql = createClient(url, {
    max,
    path,
    applicationName,
    connectTimeoutSeconds: config.connectTimeoutSeconds,
    logger,
    timeouts: sessionTimeouts(config, options.command),
    sslMode: config.sslMode,
  });
  const close = async () => {
    await sql.end({ timeout: 5 });
    await stopEmbedded?.();
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // postgres.js's connect_timeout covers a silent server but not every
    // network (a peer that accepts and resets in a loop retries forever), so
    // the first query is bounded too.
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error("connect timeout"), { code: "CONNECT_TIMEOUT" })),
        config.connectTimeoutSeconds * 1000 + 250,
      );
    });
    const [row] = await Promise.race([
      sql<{ v: number }[]>`select current_setting('server_version_num')::int as v`,
      timedOut,
    ]);
    if (row.v < MIN_SERVER_VERSION) {
      throw new ConvoError(
        `the server at ${target.host}:${target.port} runs PostgreSQL ${Math.floor(row.v / 10000)}`,
        { hint: "convo needs PostgreSQL 13 or newer" },
      );
    }
  } catch (err) {
    await Promise.race([close(), new Promise((r) => setTimeout(r, 1000))]).catch(() => {});
    const mode = config.sslMode;
    if (mode === "require" || mode === "verify-ca" || mode === "verify-full") {
      // A server without TLS answers our TLS request with "N"; postgres.js
      // starts the handshake anyway and reports only a lost connection.
      if (
        !(err instanceof ConvoError) && await serverOffersTls(target.host, target.port) === false
      ) {
        throw new ConvoError(
          `the server at ${target.host}:${target.port} does not accept TLS, and sslmode is ${mode}`,
          { hint: "enable ssl on the server, or use sslmode=prefer or disable", cause: err },
        );
      }
    }
    throw connectionError(err, target) ?? err;
  } finally {
    clearTimeout(timer);
  }
  logger.debug("connected", { database: config.databaseLabel, application: applicationName });
  return { sql, label: config.databaseLabel, embedded: !!stopEmbedded, target, close };
}

/**
 * Opens the database, runs `fn`, and closes it whatever happens. Connection
 * failures during `fn` are translated like those at open.
 */
export async function withDatabase<T>(
  config: Config,
  logger: Logger,
  options: OpenOptions,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await openDatabase(config, logger, options);
  try {
    return await fn(db);
  } catch (err) {
    if (err instanceof ConvoError) throw err;
    throw connectionError(err, db.target) ?? schemaError(err, db.target) ?? err;
  } finally {
    await db.close().catch((err) => logger.debug("close failed", { error: err }));
  }
}
