/**
 * Test databases: each test gets a fresh database on the PostgreSQL named by
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 * dropped afterwards. If the server cannot be reached the test fails with a
 * message saying how to start one — integration tests are never skipped.
 */
import postgres from "postgres";
import { createClient, type Sql } from "../../src/db/connect.ts";
import { createLogger } from "../../src/log/logger.ts";

/** The server tests create their databases on. */
export const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";

const quietLogger = createLogger({ level: "error", write: () => {} });

/** A fresh database for one test. */
export interface TestDatabase {
  /** Its name. */
  name: string;
  /** URL of the database. */
  url: string;
  /** A client with convo's settings (bigint as BigInt, UTC). */
  sql: Sql;
}

function urlFor(name: string): string {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

let reachable: Promise<void> | undefined;

async function checkReachable(admin: postgres.Sql): Promise<void> {
  try {
    await admin`select 1`;
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_DATABASE_URL.replace(/:[^:@/]*@/, ":***@")} (${
        (err as Error).message
      }). The integration tests need it: start the local cluster with ` +
        "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or " +
        "`docker compose up -d db` and TEST_DATABASE_URL=postgres://convo:convo@127.0.0.1:5432/convo",
    );
  }
}

function admin(): postgres.Sql {
  return postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
}

/** Creates a fresh, empty database. */
export async function createTestDatabase(): Promise<TestDatabase & { drop(): Promise<void> }> {
  const a = admin();
  try {
    reachable ??= checkReachable(a);
    await reachable;
    const name = `convo_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    await a.unsafe(`create database ${name}`);
    const url = urlFor(name);
    const sql = createClient(url, {
      max: 4,
      applicationName: "convo tests",
      connectTimeoutSeconds: 5,
      logger: quietLogger,
    });
    return {
      name,
      url,
      sql,
      async drop() {
        await sql.end({ timeout: 5 });
        const b = admin();
        try {
          await b.unsafe(`drop database if exists ${name} with (force)`);
        } finally {
          await b.end();
        }
      },
    };
  } finally {
    await a.end();
  }
}

/** Runs `fn` with a fresh database, dropped afterwards whatever happens. */
export async function withTestDatabase(fn: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

/**
 * Runs `fn` while another transaction holds `inbound_events` row `id` locked
 * (`for update`), with a client whose statements fail after 10 s: a statement
 * that waited for the lock fails the test instead of hanging it.
 */
export async function whileEventLocked<T>(
  db: { sql: Sql; url: string },
  id: bigint,
  fn: (guarded: Sql) => Promise<T>,
): Promise<T> {
  let release: () => void = () => {};
  const released = new Promise<void>((r) => (release = r));
  let locked: () => void = () => {};
  const isLocked = new Promise<void>((r) => (locked = r));
  const holder = db.sql.begin(async (tx) => {
    await tx`select id from inbound_events where id = ${id} for update`;
    locked();
    await released;
  });
  try {
    await isLocked;
    const guarded = postgres(db.url, {
      max: 1,
      types: { bigint: postgres.BigInt },
      onnotice: () => {},
      connection: { statement_timeout: 10_000 },
    }) as unknown as Sql;
    try {
      return await fn(guarded);
    } finally {
      await guarded.end();
    }
  } finally {
    release();
    await holder;
  }
}
