/**
 * `convo migrate` as a user runs it: real processes, exit codes, output.
 */
import assert from "node:assert/strict";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import { baseEnv, execCli, MAIN, runCli } from "../_helpers/cli.ts";
import { createTestDatabase, withTestDatabase } from "../_helpers/db.ts";

Deno.test("convo migrate: status exits 3 when pending, up applies, status then exits 0", async () => {
  await withTestDatabase(async ({ url }) => {
    const env = { DATABASE_URL: url };
    const pending = await execCli(["migrate", "status"], { env });
    assert.equal(pending.code, 3, pending.stderr);
    assert.match(pending.stdout, /0001\s+dedup tables\s+pending/);

    const up = await execCli(["migrate", "up"], { env });
    assert.equal(up.code, 0, up.stderr);
    const migrations = await embeddedMigrations();
    for (const m of migrations) {
      assert.match(up.stdout, new RegExp(`applied ${m.versionText} ${m.description} \\(\\d`));
    }
    const latest = migrations.at(-1)!.versionText;
    assert.match(
      up.stdout,
      new RegExp(`applied \\d+ migration\\(s\\) in .*; database at version ${latest}`),
    );

    const again = await execCli(["migrate", "up"], { env });
    assert.equal(again.code, 0);
    assert.equal(again.stdout, `nothing to apply; database at version ${latest}\n`);

    const status = await execCli(["migrate", "status", "--json"], { env });
    assert.equal(status.code, 0, status.stderr);
    const doc = JSON.parse(status.stdout);
    assert.equal(doc.pending, 0);
    assert.equal(doc.applied, migrations.length);
    assert.equal(doc.migrations[0].state, "applied");
    assert.equal(doc.migrations[0].version, 1);
  });
});

Deno.test("convo migrate: four `up` processes at once all exit 0 and apply each version once", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() => execCli(["migrate", "up"], { env: { DATABASE_URL: url } })),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const migrations = await embeddedMigrations();
    for (const m of migrations) {
      const appliedBy = runs.filter((r) =>
        r.stdout.includes(`applied ${m.versionText} ${m.description} (`)
      );
      assert.equal(appliedBy.length, 1, `${m.versionText} applied by exactly one process`);
    }
    const rows = await sql`select version from _sqlx_migrations order by version`;
    assert.deepEqual(rows.map((r) => r.version), migrations.map((m) => m.version));
  });
});

Deno.test("convo migrate status: drift exits 1 and names the version", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = { DATABASE_URL: url };
    assert.equal((await runCli(["migrate", "up"], { env })).code, 0);
    await sql`update _sqlx_migrations set checksum = '\\x00' where version = 3`;
    const status = await runCli(["migrate", "status"], { env });
    assert.equal(status.code, 1);
    assert.match(status.stdout, /0003\s+inbound events\s+changed/);
    assert.match(status.stderr, /^error: migration 0003 \(inbound events\) is changed/m);
    const up = await runCli(["migrate", "up"], { env });
    assert.equal(up.code, 1);
    assert.match(up.stderr, /0003 \(inbound events\) was changed after it was applied/);
  });
});

Deno.test("convo migrate down: --dry-run, --steps and --target 0", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = { DATABASE_URL: url };
    await runCli(["migrate", "up"], { env });
    const [before, last] = (await embeddedMigrations()).slice(-2);
    const dry = await runCli(["migrate", "down", "--steps", "2", "--dry-run"], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(
      dry.stdout,
      `would revert ${last.versionText} ${last.description}\n` +
        `would revert ${before.versionText} ${before.description}\n` +
        "would revert 2 migration(s); nothing was changed\n",
    );
    const one = await runCli(["migrate", "down"], { env });
    assert.match(
      one.stdout,
      new RegExp(
        `^reverted ${last.versionText} ${last.description} .*\\n` +
          `reverted 1 migration\\(s\\) in .*; database at version ${before.versionText}\\n$`,
      ),
    );
    const all = await runCli(["migrate", "down", "--target", "0"], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /database at version 0 \(empty\)/);
    assert.equal((await sql`select count(*)::int as n from _sqlx_migrations`)[0].n, 0);
    const both = await runCli(["migrate", "down", "--target", "0", "--steps", "1"], { env });
    assert.equal(both.code, 2);
  });
});

Deno.test("convo migrate new: writes timestamped up and down files and prints their paths", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli(["migrate", "new", "add contacts index", "--dir", dir]);
    assert.equal(r.code, 0, r.stderr);
    const paths = r.stdout.trim().split("\n");
    assert.equal(paths.length, 2);
    assert.match(paths[0], new RegExp(`^${dir}/\\d{14}_add_contacts_index\\.up\\.sql$`));
    assert.match(paths[1], /\d{14}_add_contacts_index\.down\.sql$/);
    const stamp = paths[0].slice(dir.length + 1, dir.length + 15);
    const now = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    assert.ok(Math.abs(Number(now) - Number(stamp)) < 100, `${stamp} is about now (UTC)`);
    for (const p of paths) assert.ok((await Deno.stat(p)).isFile);

    // Same second again: the version moves forward instead of clashing.
    const r2 = await runCli(["migrate", "new", "add contacts index", "--dir", dir]);
    assert.equal(r2.code, 0);
    assert.notEqual(r2.stdout.split("\n")[0], paths[0]);

    const simple = await runCli(["migrate", "new", "seed", "--simple", "--dir", dir]);
    assert.match(simple.stdout.trim(), /\d{14}_seed\.sql$/);
    assert.equal(simple.stdout.trim().split("\n").length, 1);

    const bad = await runCli(["migrate", "new", "drop; table", "--dir", dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: invalid migration name: current value is 'drop; table'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("convo: bad usage is one line and exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["migrate", "up", "--target", "x"], /^error: invalid --target: current value is 'x'/],
    [
      ["migrate", "up", "--lock-timeout", "soon"],
      /^error: invalid --lock-timeout: current value is 'soon'/,
    ],
    [["migrate", "up", "--bogus"], /^error: unknown option '--bogus'/],
    [["migrate", "sideways"], /^error: unknown command 'sideways'/],
    [
      ["--log-level", "loud", "migrate", "status"],
      /^error: option '--log-level <level>' argument 'loud' is invalid/,
    ],
    [["--database-url", "mysql://u:pw@h/x", "migrate", "status"], /^error: invalid --database-url/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args, { env: { DATABASE_URL: "postgres://127.0.0.1:1/x" } });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

Deno.test("convo: --help on every command, --version", async () => {
  for (
    const args of [[], ["migrate"], ["migrate", "up"], ["migrate", "status"], ["migrate", "down"], [
      "migrate",
      "new",
    ]]
  ) {
    const r = await runCli([...args, "--help"]);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /^Usage: convo/);
  }
  const v = await runCli(["--version"]);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
});

// The password is two marked halves around a separator; neither half may
// appear anywhere, raw or percent-encoded (the halves are the same either way).
const HALVES = ["Sup3rQx", "s3cretZk"];

function secretUrls(good: URL): string[] {
  const pw = (sep: string) => `${HALVES[0]}${sep}${HALVES[1]}`;
  const withPassword = (sep: string) => {
    const u = new URL(good);
    u.password = encodeURIComponent(pw(sep));
    return u.toString();
  };
  const { host, pathname } = good;
  return [
    `postgres://postgres:${pw("-")}@127.0.0.1:1/x`,
    `postgres://postgres:${pw("-")}@127.0.0.1:5432/no_such_db_here`,
    `postgres://postgres:${pw("-")}@127.0.0.1:99999/x`,
    `mysql://postgres:${pw("-")}@127.0.0.1/x`,
    `postgres://postgres:${pw("-")}@@127.0.0.1/x`,
    withPassword("-"),
    // libpq's key=value form, plain and quoted.
    `host=127.0.0.1 port=5432 user=postgres password=${pw("-")} dbname=x`,
    `host=127.0.0.1 password='${pw(" ")}' dbname=x`,
    // No scheme.
    `postgres:${pw("-")}@${host}${pathname}`,
    // Unencoded delimiters in the password: unparseable, or parsed with the
    // password in the port, path, query or fragment.
    `postgres://postgres:${pw("/")}@${host}${pathname}`,
    `postgres://postgres:5432/${pw("")}@${host}${pathname}`,
    `postgres://postgres:${pw("?")}@${host}${pathname}`,
    `postgres://postgres:${pw("#")}@${host}${pathname}`,
    `postgres://postgres:${pw(":")}@127.0.0.1:1/x`,
    // Percent-encoded, unicode, postgresql://, IPv6, query parameter.
    `postgres://postgres:${encodeURIComponent(pw("/"))}@127.0.0.1:1/x`,
    `postgres://postgres:${pw("ë€")}@127.0.0.1:1/x`,
    `postgresql://postgres:${pw("-")}@[::1]:1/x`,
    `${good.toString()}?password=${pw("-")}`,
    `${good.toString()}?sslmode=require&password=${encodeURIComponent(pw("&"))}`,
    `postgres://postgres:${pw("-")}@no-such-host.invalid:5432/x`,
  ];
}

function assertNoSecret(what: string, output: string): void {
  for (const half of HALVES) {
    assert.ok(!output.includes(half), `${what}: ${output}`);
  }
}

Deno.test("convo: a database password never appears in output, even at debug level", async () => {
  const db = await createTestDatabase();
  try {
    const urls = secretUrls(new URL(db.url));
    // Every shape at both levels in this process (what convo itself prints),
    for (const url of urls) {
      for (const level of ["info", "debug"]) {
        const r = await runCli(["--log-level", level, "migrate", "up"], {
          env: { DATABASE_URL: url, CONVO_CONNECT_TIMEOUT: "2" },
        });
        assertNoSecret(`${level} ${url}`, r.stdout + r.stderr);
      }
    }
    // and as a real process at debug level (also what Deno or a library
    // would print on its own).
    for (const url of urls) {
      const r = await execCli(["--log-level", "debug", "migrate", "up"], {
        env: { DATABASE_URL: url, CONVO_CONNECT_TIMEOUT: "2" },
      });
      assertNoSecret(`process ${url}`, r.stdout + r.stderr);
    }
  } finally {
    await db.drop();
  }
});

Deno.test("convo: connection failures are one clear line each", async () => {
  const cases: [string, RegExp][] = [
    [
      "postgres://postgres@127.0.0.1:1/x",
      /^error: cannot connect to 127\.0\.0\.1:1: connection refused; is PostgreSQL running/,
    ],
    [
      "postgres://postgres@127.0.0.1:5432/no_such_db_here",
      /^error: database 'no_such_db_here' does not exist at 127\.0\.0\.1:5432; create it/,
    ],
    [
      "postgres://no_such_role@127.0.0.1:5432/postgres",
      /^error: the server at 127\.0\.0\.1:5432 refused user 'no_such_role'/,
    ],
    [
      "postgres://postgres@no-such-host.invalid:5432/x",
      /^error: cannot connect to no-such-host\.invalid:5432: unknown host/,
    ],
    [
      "not a url",
      /^error: invalid --database-url \/ DATABASE_URL: it is not a URL: it does not start with a scheme/,
    ],
  ];
  for (const [url, pattern] of cases) {
    const r = await runCli(["migrate", "status"], {
      env: { DATABASE_URL: url, CONVO_CONNECT_TIMEOUT: "3" },
    });
    assert.match(r.stderr, pattern, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(r.code === 1 || r.code === 2);
  }
});

Deno.test("convo: a reader that closes the pipe early is not an error", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "normalize",
      "email",
      ...Array(2000).fill("a@example.com"),
    ],
    env: baseEnv(),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  await reader.read(); // the first chunk, then the reader goes away
  await reader.cancel();
  const status = await child.status;
  assert.doesNotMatch(await stderr, /internal error|Broken pipe/i);
  assert.equal(status.code, 0);
});
