/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) kept in a
 * directory, served to postgres.js over a loopback socket so every code path is
 * the one used against a real server. For trying convo, demos and local work;
 * servers use a real PostgreSQL.
 *
 * One process at a time owns the directory (a file lock); a second one waits.
 *
 * PGlite's WebAssembly and data files come from inside the program
 * (`_pglite_assets.ts`), so the bundle and the binary need nothing beside them.
 *
 * @module
 */
import { ConvoError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";

/** A running embedded database. */
export interface Embedded {
  /** URL postgres.js connects to (loopback, no password). */
  url: string;
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
  await Deno.mkdir(`${dataDir}/pgdata`, { recursive: true });
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
    const server = new PGLiteSocketServer({
      db,
      host: "127.0.0.1",
      port: 0,
      maxConnections: options.maxConnections,
    });
    await server.start();
    const port = (server as unknown as { port: number }).port;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async stop() {
        try {
          await server.stop();
          await db.close();
        } finally {
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
