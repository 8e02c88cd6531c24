/**
 * A throwaway PostgreSQL cluster for fault tests: its own data directory in a
 * temp dir and its own free port, so a test can stop, restart or kill the
 * server without touching the shared one every other test uses.
 *
 * Fast settings (fsync off, no synchronous commit): crash safety is not what
 * these tests are about. initdb refuses to run as root, so as root every
 * PostgreSQL program runs as the `postgres` user (through `runuser`, or `su`).
 */

/** A running (or stopped) throwaway cluster. */
export interface Cluster {
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /** URL of database `name` (default `postgres`), user postgres, trust auth. */
  url(name?: string): string;
  /** Stops the server (`pg_ctl stop -m MODE`, default fast) and waits for it. */
  stop(mode?: "smart" | "fast" | "immediate"): Promise<void>;
  /** Starts the server again and waits until it accepts connections. */
  start(): Promise<void>;
  /** The server's log so far (for failure messages). */
  log(): Promise<string>;
}

const SETTINGS = [
  "fsync=off",
  "synchronous_commit=off",
  "full_page_writes=off",
  "listen_addresses='127.0.0.1'",
  "max_connections=40",
  "shared_buffers=16MB",
  "max_wal_size=64MB",
  "log_min_messages=warning",
  "log_connections=off",
];

async function output(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Where initdb and pg_ctl live: PG_BINDIR, `pg_config --bindir`, or PATH. */
async function findBindir(): Promise<string> {
  const candidates = [
    Deno.env.get("PG_BINDIR"),
    await output("pg_config", ["--bindir"]),
    ...(Deno.env.get("PATH") ?? "").split(":"),
  ];
  for (const dir of candidates) {
    if (dir && await exists(`${dir}/initdb`) && await exists(`${dir}/pg_ctl`)) return dir;
  }
  throw new Error(
    "the reliability tests need PostgreSQL's server programs (initdb, pg_ctl) to start a " +
      "throwaway cluster, and found none: install postgresql (e.g. apt-get install postgresql-15), " +
      "or set PG_BINDIR to the directory holding initdb and pg_ctl",
  );
}

/** How to run a server program as a user initdb accepts. */
async function runner(): Promise<(argv: string[]) => [string, string[]]> {
  if (Deno.uid() !== 0) return (argv) => [argv[0], argv.slice(1)];
  if (await output("id", ["-u", "postgres"]) === undefined) {
    throw new Error(
      "running as root, and initdb refuses root: create a 'postgres' user (useradd postgres) " +
        "or run the tests as an ordinary user",
    );
  }
  if (await exists("/usr/sbin/runuser") || await exists("/sbin/runuser")) {
    return (argv) => ["runuser", ["-u", "postgres", "--", ...argv]];
  }
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  return (argv) => ["su", ["postgres", "-s", "/bin/sh", "-c", argv.map(quote).join(" ")]];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Starts a throwaway cluster, runs `fn` with it, and removes it whatever
 * happens (the server is stopped immediately, the directory deleted).
 */
export async function withCluster<T>(fn: (cluster: Cluster) => Promise<T>): Promise<T> {
  const bindir = await findBindir();
  const as = await runner();
  const dir = await Deno.makeTempDir({ prefix: "convo_cluster_" });
  const data = `${dir}/data`;
  const logFile = `${dir}/server.log`;
  const run = async (argv: string[], what: string) => {
    const [cmd, args] = as(argv);
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      let log = "";
      try {
        log = await Deno.readTextFile(logFile);
      } catch { /* no log yet */ }
      throw new Error(`${what} failed (exit ${out.code}): ${text.trim()}\n${log}`);
    }
  };
  try {
    if (Deno.uid() === 0) {
      const uid = Number(await output("id", ["-u", "postgres"]));
      const gid = Number(await output("id", ["-g", "postgres"]));
      await Deno.chown(dir, uid, gid);
    }
    await run(
      [`${bindir}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]
        .concat(["--locale=C"]),
      "initdb",
    );
    const port = freePort();
    const conf = [...SETTINGS, `port=${port}`, `unix_socket_directories='${dir}'`].join("\n");
    // Appended as the postgres user: the file is theirs.
    await run(
      ["/bin/sh", "-c", `printf '%s\\n' "$1" >> "$2"`, "sh", conf, `${data}/postgresql.conf`],
      "configuring the cluster",
    );
    let running = false;
    const cluster: Cluster = {
      port,
      url: (name = "postgres") => `postgres://postgres@127.0.0.1:${port}/${name}`,
      async stop(mode = "fast") {
        await run(
          [`${bindir}/pg_ctl`, "-D", data, "-m", mode, "-w", "-t", "60", "stop"],
          "pg_ctl stop",
        );
        running = false;
      },
      async start() {
        await run(
          [`${bindir}/pg_ctl`, "-D", data, "-l", logFile, "-w", "-t", "60", "start"],
          "pg_ctl start",
        );
        running = true;
      },
      log: () => Deno.readTextFile(logFile).catch(() => ""),
    };
    await cluster.start();
    try {
      return await fn(cluster);
    } finally {
      if (running) await cluster.stop("immediate").catch(() => {});
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
