/**
 * Ordinary failures are classified and said in one line — never "internal
 * error … report it" — and every error line follows --log-format json.
 */
import assert from "node:assert/strict";
import { run } from "../../src/cli/program.ts";
import { resolveConfig } from "../../src/config.ts";
import { runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import {
  FIXTURE_ENDPOINTS,
  seedEndpoints,
  smsLine,
  withMigratedDatabase,
} from "../_helpers/seed.ts";

const jsonLines = (text: string) => text.trim().split("\n").map((l) => JSON.parse(l));

Deno.test("resolveConfig() refuses an empty --database-url or DATABASE_URL instead of going embedded", () => {
  assert.throws(() => resolveConfig({ databaseUrl: "" }, {}), /--database-url is empty/);
  assert.throws(() => resolveConfig({}, { DATABASE_URL: "" }), /DATABASE_URL is empty/);
  assert.throws(() => resolveConfig({}, { DATABASE_URL: "  " }), /DATABASE_URL is empty/);
  assert.equal(resolveConfig({}, {}).databaseUrl, undefined);
});

Deno.test("resolveConfig() refuses a malformed percent-escape, without showing the password", () => {
  assert.throws(
    () => resolveConfig({}, { DATABASE_URL: "postgres://u:%zz@h/db" }),
    (err: Error) => {
      // A rejected URL is described, never echoed (not even redacted).
      assert.match(err.message, /malformed percent-escape/);
      assert.doesNotMatch(err.message + String((err as { hint?: string }).hint), /%zz|u:/);
      return (err as { exitCode?: number }).exitCode === 2;
    },
  );
  assert.throws(
    () => resolveConfig({}, { DATABASE_URL: "postgres://h/d%zzb" }),
    (err: Error) => /percent-escape/.test(err.message),
  );
});

Deno.test("resolveConfig() validates sslmode from the URL and PGSSLMODE", () => {
  assert.throws(
    () => resolveConfig({}, { DATABASE_URL: "postgres://h/db?sslmode=bogus" }),
    (err: Error) => /sslmode must be one of disable, allow/.test(err.message),
  );
  assert.throws(
    () => resolveConfig({}, { DATABASE_URL: "postgres://h/db", PGSSLMODE: "on" }),
    /PGSSLMODE/,
  );
  assert.equal(
    resolveConfig({}, { DATABASE_URL: "postgres://h/db?sslmode=verify-full" }).sslMode,
    "verify-full",
  );
  assert.equal(
    resolveConfig({}, { DATABASE_URL: "postgres://h/db", PGSSLMODE: "require" }).sslMode,
    "require",
  );
  // The URL wins over the environment, as in libpq.
  assert.equal(
    resolveConfig({}, { DATABASE_URL: "postgres://h/db?sslmode=disable", PGSSLMODE: "require" })
      .sslMode,
    "disable",
  );
});

Deno.test("convo with an empty DATABASE_URL or a bad URL: exit 2, one line, not the embedded database", async () => {
  for (
    const [env, args, pattern] of [
      [{ DATABASE_URL: "" }, [], /^error: DATABASE_URL is empty; /],
      [{}, ["--database-url", ""], /^error: --database-url is empty; /],
      [{ DATABASE_URL: "postgres://u:%zz@h/db" }, [], /malformed percent-escape/],
      [{ DATABASE_URL: "postgres://h/db?sslmode=on" }, [], /sslmode must be one of/],
    ] as const
  ) {
    const r = await runCli([...args, "queue", "status"], { env: { ...env } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /using the embedded|internal error/);
  }
});

Deno.test("convo with sslmode=require against a server without TLS says so, exit 1", async () => {
  await withTestDatabase(async ({ url }) => {
    const u = new URL(url);
    u.searchParams.set("sslmode", "require");
    const r = await runCli(["queue", "status"], { env: { DATABASE_URL: u.toString() } });
    assert.equal(r.code, 1, r.stderr);
    // The shared server has ssl off; if it is ever turned on this connects instead.
    assert.match(r.stderr, /does not accept TLS, and sslmode is require; /);
    const prefer = new URL(url);
    prefer.searchParams.set("sslmode", "prefer");
    const p = await runCli(["migrate", "status"], { env: { DATABASE_URL: prefer.toString() } });
    assert.equal(p.code, 3, p.stderr);
  });
});

Deno.test("convo usage and config errors follow --log-format json; debug stacks go inside the object", async () => {
  const usage = await runCli(["--log-format", "json", "enqueue", "--bogus"]);
  assert.equal(usage.code, 2);
  const [u] = jsonLines(usage.stderr);
  assert.equal(u.level, "error");
  assert.match(u.msg, /unknown option '--bogus'/);

  const config = await runCli(["queue", "status"], {
    env: { CONVO_LOG_FORMAT: "json", CONVO_LOG_LEVEL: "loud" },
  });
  assert.equal(config.code, 2);
  assert.match(jsonLines(config.stderr)[0].msg, /CONVO_LOG_LEVEL/);

  const debug = await runCli(
    ["--log-format", "json", "--log-level", "debug", "queue", "status"],
    { env: { DATABASE_URL: "postgres://u:secret@127.0.0.1:1/x" } },
  );
  assert.equal(debug.code, 1);
  const lines = jsonLines(debug.stderr); // throws on any raw line
  const error = lines.find((l) => l.level === "error");
  assert.match(error.msg, /connection refused/);
  assert.match(error.stack, /ConvoError: cannot connect/);
  assert.doesNotMatch(debug.stderr, /secret/);
});

Deno.test("convo enqueue quotes a file name with a newline, so it cannot forge a report line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const name = "evil\nforged.ndjson:1: everything is fine";
    await Deno.writeTextFile(`${dir}/${name}`, '{"x":1}\n');
    const r = await runCli(["enqueue", name], {
      cwd: dir,
      env: { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres" },
    });
    assert.equal(r.code, 2, r.stderr);
    const [report] = r.stderr.split("\n");
    assert.equal(
      report,
      `"evil\\nforged.ndjson:1: everything is fine":1: unknown envelope key 'x' (expected event_type, payload, idempotency_key)`,
    );
    assert.ok(!r.stderr.split("\n").some((l) => l.startsWith("forged.ndjson")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("convo enqueue --json and --log-format json report invalid lines as JSON lines", async () => {
  await withMigratedDatabase(async ({ url }) => {
    const input = [smsLine("A1"), "{not json", smsLine("A2")].join("\n");
    for (const args of [["enqueue", "--json"], ["--log-format", "json", "enqueue"]]) {
      const r = await runCli(args, { env: { DATABASE_URL: url }, stdin: input });
      assert.equal(r.code, 2, r.stderr);
      // With --json alone the last line (the error) is pretty, as the log format says.
      const lines = jsonLines(r.stderr.split("\n").filter((l) => l.startsWith("{")).join("\n"));
      if (args[0] === "--log-format") {
        assert.equal(lines.length, r.stderr.trim().split("\n").length);
      }
      const invalid = lines.filter((l) => l.msg === "invalid line");
      assert.equal(invalid.length, 1);
      assert.equal(invalid[0].file, "stdin");
      assert.equal(invalid[0].line, 2);
      assert.match(invalid[0].reason, /invalid JSON/);
    }
  });
});

Deno.test("convo enqueue --strict reports every invalid line, those only the database rejects included", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    const input = [
      "{not json",
      smsLine("S1"),
      smsLine("S2", { x: 1e308 }).replace("1e+308", "1e200000"),
      smsLine("S3"),
    ].join("\n");
    const r = await runCli(["enqueue", "--strict"], { env: { DATABASE_URL: url }, stdin: input });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^stdin:1: invalid JSON/m);
    assert.match(r.stderr, /^stdin:3: rejected by the database: .*SQLSTATE 22003/m);
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from inbound_events`;
    assert.equal(n, 0);
  });
});

Deno.test("convo enqueue of a file that cannot be read is exit 2 naming it, not an internal error", async () => {
  // /proc/self/mem opens but every read at offset 0 fails (EIO).
  const r = await runCli(["enqueue", "/proc/self/mem"], {
    env: { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/postgres" },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: cannot read '\/proc\/self\/mem': input\/output error; /);
  assert.doesNotMatch(r.stderr, /internal error/);
});

Deno.test("convo migrate new --dir naming a file is exit 2", async () => {
  const file = await Deno.makeTempFile();
  try {
    const r = await runCli(["migrate", "new", "x", "--dir", file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is a file, not a directory/);
  } finally {
    await Deno.remove(file);
  }
});

async function runWithStdout(args: string[], env: Record<string, string>, fail: Error) {
  let stderr = "";
  const code = await run(args, {
    stdout: () => {
      throw fail;
    },
    stderr: (t) => (stderr += t),
    stdin: () => new ReadableStream({ start: (c) => c.close() }),
    stderrIsTerminal: false,
    env: { CONVO_LOG_FORMAT: "pretty", ...env },
    cwd: Deno.cwd(),
  }, { shutdownSignal: new AbortController().signal });
  return { code, stderr };
}

Deno.test("convo with a closed stdout or a full disk: exit 1, said plainly", async () => {
  await withMigratedDatabase(async ({ url, sql }) => {
    await seedEndpoints(sql, FIXTURE_ENDPOINTS);
    const env = { DATABASE_URL: url };
    const pipe = Object.assign(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"), {
      stream: "standard output",
    });
    const a = await runWithStdout(["queue", "status"], env, pipe);
    assert.equal(a.code, 1);
    assert.equal(
      a.stderr,
      "error: standard output was closed before convo finished writing (broken pipe); " +
        "what was done before is kept; send the output somewhere that stays open\n",
    );
    const full = Object.assign(new Error("No space left on device (os error 28)"), {
      code: "ENOSPC",
      stream: "standard output",
    });
    const b = await runWithStdout(["endpoint", "list"], env, full);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /^error: no space left on the device while writing standard output; /);
  });
});

Deno.test("convo as a process with stdout on /dev/full: exit 1, one plain line", async () => {
  const full = await new Deno.Command("sh", {
    args: [
      "-c",
      `"${Deno.execPath()}" run -A --quiet "${
        new URL("../../main.ts", import.meta.url).pathname
      }" normalize email a@b.co > /dev/full`,
    ],
    env: {
      CONVO_LOG_FORMAT: "pretty",
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    },
    stderr: "piped",
  }).output();
  assert.equal(full.code, 1);
  assert.equal(
    new TextDecoder().decode(full.stderr),
    "error: no space left on the device while writing standard output; free some space and run again\n",
  );
});
