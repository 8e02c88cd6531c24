/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) kept in a
 * directory, served to postgres.js over a loopback socket so every code path is
 * the one used against a real server. For trying convo, demos and local work;
 * servers use a real PostgreSQL.
 *
 * One process at a time owns the directory (a file lock); a second one waits.
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
 * @throws {ConvoError} when PGlite cannot start (for example from the bundled
 * single-file build, which does not carry PGlite's WebAssembly files).
 */
export async function startEmbedded(
  dataDir: string,
  logger: Logger,
  options: { maxConnections: number },
): Promise<Embedded> {
  await Deno.mkdir(`${dataDir}/pgdata`, { recursive: true });
  const lock = await Deno.open(`${dataDir}/lock`, { create: true, write: true });
  try {
    await lock.lock(true);
  } catch (err) {
    lock.close();
    throw err;
  }
  logger.info("no database URL given: using the embedded database", {
    dir: dataDir,
    hint: "set DATABASE_URL or --database-url to use a PostgreSQL server",
  });
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
    const db = await PGlite.create(`${dataDir}/pgdata`);
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
      hint: /pglite\.(data|wasm)/.test(message)
        ? "this build does not carry the embedded database; use the compiled binary or pass --database-url"
        : "pass --database-url to use a PostgreSQL server",
      cause: err,
    });
  }
}
