/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) kept in a
 * directory, served to postgres.js over a socket so every code path is the one
 * used against a real server. For trying convo, demos and local work; servers
 * use a real PostgreSQL.
 *
 * One process at a time owns the directory (a file lock); a second one waits.
 *
 * PGlite's WebAssembly and data files come from inside the program
 * (`_pglite_assets.ts`), so the bundle and the binary need nothing beside them.
 *
 * PGlite has no authentication: whoever reaches the socket is its superuser.
 * So the socket is a Unix domain socket inside the owner-only (0700) data
 * directory, not TCP loopback (where any local user could connect): only its
 * owner (and root) can reach it, as with the data files themselves.
 *
 * @module
 */
import { ConvoError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";

/** A running embedded database. */
export interface Embedded {
  /** URL postgres.js connects to (no password; the socket is `path`). */
  url: string;
  /** The Unix socket to connect to; undefined on Windows, where it is TCP loopback. */
  path?: string;
  /** Stops the socket server, closes the database, releases the lock. */
  stop(): Promise<void>;
}

/**
 * Starts the embedded database in `dataDir` (created if absent).
 *
 * @throws {ConvoError} when PGlite cannot start.
 */
export async function startEmbedded(
  dataDir: string,
  logger: Logger,
  options: { maxConnections: number },
): Promise<Embedded> {
  await makeOwnerOnly(dataDir);
  const lockPath = `${dataDir}/lock`;
  const lock = await Deno.open(lockPath, { create: true, read: true, write: true });
  try {
    // A wait for another convo must not look like a hang: after a moment,
    // say what is awaited and who holds it (the holder wrote its PID below).
    const said = setTimeout(async () => {
      const holder = (await Deno.readTextFile(lockPath).catch(() => "")).trim();
      logger.info("waiting for the embedded database: another convo process holds its lock", {
        dir: dataDir,
        ...(/^\d+$/.test(holder) && { pid: Number(holder) }),
        hint: "one process at a time owns the embedded database; stop it or wait",
      });
    }, 500);
    try {
      await lock.lock(true);
    } finally {
      clearTimeout(said);
    }
    await lock.truncate(0);
    await lock.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (err) {
    lock.close();
    throw err;
  }
  logger.info("no database URL given: using the embedded database", {
    dir: dataDir,
    hint: "set DATABASE_URL or --database-url to use a PostgreSQL server",
  });
  try {
    // Imported on demand: a run against a server never decodes the 5 MB of
    // embedded files or loads PGlite.
    const { PGlite } = await import("@electric-sql/pglite");
    const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
    const { loadPgliteAssets } = await import("./_pglite_assets.ts");
    const db = await PGlite.create(`${dataDir}/pgdata`, await loadPgliteAssets());
    const socket = await socketPath(dataDir);
    const server = new PGLiteSocketServer({
      db,
      ...(socket ? { path: socket.path } : { host: "127.0.0.1", port: 0 }),
      maxConnections: options.maxConnections,
    });
    await server.start();
    if (socket) await Deno.chmod(socket.path, 0o600);
    const port = (server as unknown as { port: number }).port;
    return {
      url: socket
        ? "postgres://postgres@localhost/postgres"
        : `postgres://postgres@127.0.0.1:${port}/postgres`,
      path: socket?.path,
      async stop() {
        try {
          await server.stop();
          await db.close();
        } finally {
          await socket?.remove();
          lock.close();
        }
      },
    };
  } catch (err) {
    lock.close();
    const message = err instanceof Error ? err.message : String(err);
    throw new ConvoError(`cannot start the embedded database in ${dataDir}: ${message}`, {
      hint: "pass --database-url to use a PostgreSQL server",
      cause: err,
    });
  }
}

const OWNER_ONLY = 0o700;
// Unix socket paths are limited to 108 bytes on Linux, 104 on macOS.
const MAX_SOCKET_PATH = 100;

/**
 * Creates the data directory and its `pgdata` owner-only, and tightens them
 * when an older convo left them with the default mode.
 */
async function makeOwnerOnly(dataDir: string): Promise<void> {
  await Deno.mkdir(`${dataDir}/pgdata`, { recursive: true, mode: OWNER_ONLY });
  if (Deno.build.os === "windows") return;
  for (const dir of [dataDir, `${dataDir}/pgdata`]) {
    if (((await Deno.stat(dir)).mode ?? 0) & 0o077) await Deno.chmod(dir, OWNER_ONLY);
  }
}

/**
 * Where the socket listens: in the data directory, or, when that path is too
 * long for a Unix socket, in a fresh owner-only temporary directory. None on
 * Windows (TCP loopback there).
 */
async function socketPath(
  dataDir: string,
): Promise<{ path: string; remove(): Promise<void> } | undefined> {
  if (Deno.build.os === "windows") return undefined;
  const inDataDir = `${await Deno.realPath(dataDir)}/.s.PGSQL.5432`;
  if (new TextEncoder().encode(inDataDir).length <= MAX_SOCKET_PATH) {
    // A socket left by a process that was killed: this one holds the lock.
    await removeIfPresent(inDataDir);
    return { path: inDataDir, remove: () => removeIfPresent(inDataDir) };
  }
  const dir = await Deno.makeTempDir({ prefix: "convo-" });
  await Deno.chmod(dir, OWNER_ONLY);
  return {
    path: `${dir}/.s.PGSQL.5432`,
    remove: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
