/**
 * The bundled form: `deno task bundle` writes one JavaScript file that carries
 * the migrations and the embedded database (PGlite's WebAssembly and data
 * files); copied alone into an empty directory it migrates a fresh server
 * database, and without a database URL it runs the main job on the embedded
 * one.
 */
import assert from "node:assert/strict";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import { baseEnv, ROOT_DIR } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";

async function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  stdin?: string,
) {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

// One build for both tests (deno test runs a file's tests one after another).
let built: Promise<{ code: number; stderr: string }> | undefined;
async function bundle(): Promise<string> {
  built ??= run(Deno.execPath(), ["task", "bundle"], ROOT_DIR);
  const b = await built;
  assert.equal(b.code, 0, b.stderr);
  return `${ROOT_DIR}dist/convo.js`;
}

Deno.test("deno task bundle: dist/convo.js alone in an empty directory migrates a fresh database", async () => {
  const file = await bundle();
  const dir = await Deno.makeTempDir({ prefix: "convo_bundle_" });
  try {
    await Deno.copyFile(file, `${dir}/convo.js`);
    await withTestDatabase(async ({ url, sql }) => {
      const env = { DATABASE_URL: url, CONVO_LOG_FORMAT: "pretty" };
      const started = performance.now();
      const up = await run(Deno.execPath(), ["run", "-A", "convo.js", "migrate", "up"], dir, env);
      const ms = performance.now() - started;
      assert.equal(up.code, 0, up.stderr);
      const count = (await embeddedMigrations()).length;
      assert.match(up.stdout, new RegExp(`applied ${count} migration\\(s\\)`));
      console.log(`  bundled migrate up on a fresh database: ${Math.round(ms)} ms (wall, one run)`);
      const status = await run(
        Deno.execPath(),
        ["run", "-A", "convo.js", "migrate", "status"],
        dir,
        env,
      );
      assert.equal(status.code, 0, status.stderr);
      const [{ n }] = await sql`select count(*)::int as n from _sqlx_migrations`;
      assert.equal(n, count);
    });
    // Nothing was read from or written next to the bundle.
    const entries = [];
    for await (const e of Deno.readDir(dir)) entries.push(e.name);
    assert.deepEqual(entries, ["convo.js"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const EVENTS = [
  {
    event_type: "message.received",
    payload: {
      channel: "sms",
      provider_message_id: "SM00000000000000000000000000000001",
      from: "+14155550142",
      to: "+14155550100",
      body: "Is my order ready?",
      sent_at: "2024-05-01T16:00:03Z",
    },
  },
  {
    event_type: "message.sent",
    payload: {
      channel: "sms",
      provider_message_id: "SM00000000000000000000000000000002",
      from: "+14155550100",
      to: "+14155550142",
      body: "Yes, after 3pm 👍",
      sent_at: "2024-05-01T16:02:10Z",
    },
  },
].map((e) => JSON.stringify(e) + "\n").join("");

Deno.test("deno task bundle: dist/convo.js alone, with no database URL, runs the main job on the embedded database", async () => {
  const file = await bundle();
  const dir = await Deno.makeTempDir({ prefix: "convo_bundle_embedded_" });
  // An empty DENO_DIR: the bundle cannot fall back on PGlite's files in the npm cache.
  const denoDir = await Deno.makeTempDir({ prefix: "convo_bundle_deno_dir_" });
  try {
    await Deno.copyFile(file, `${dir}/convo.js`);
    const env = { CONVO_LOG_FORMAT: "pretty", DENO_DIR: denoDir };
    const convo = (args: string[], stdin?: string) =>
      run(Deno.execPath(), ["run", "-A", "convo.js", ...args], dir, env, stdin);

    const up = await convo(["migrate", "up"]);
    assert.equal(up.code, 0, up.stderr);
    const count = (await embeddedMigrations()).length;
    assert.match(up.stdout, new RegExp(`applied ${count} migration\\(s\\)`));
    assert.match(up.stderr, /using the embedded database/);
    const endpoint = await convo(
      [
        "endpoint",
        "add",
        "--customer",
        "acme",
        "--provider",
        "twilio",
        "--kind",
        "sms",
        "+14155550100",
      ],
    );
    assert.equal(endpoint.code, 0, endpoint.stderr);
    const enqueue = await convo(["enqueue", "-"], EVENTS);
    assert.equal(enqueue.code, 0, enqueue.stderr);
    assert.match(enqueue.stdout, /stored 2, duplicates 0, invalid 0/);
    const work = await convo(["work", "--drain"]);
    assert.equal(work.code, 0, work.stderr);
    assert.match(work.stdout, /claimed 2, done 2, retried 0, dead 0; inserted 2 message\(s\)/);
    const status = await convo(["queue", "status"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^done\s+2$/m);
    assert.match(status.stdout, /^dead\s+0$/m);

    // Beside the bundle: only the embedded database's directory.
    const entries = [];
    for await (const e of Deno.readDir(dir)) entries.push(e.name);
    assert.deepEqual(entries.sort(), [".convo", "convo.js"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(denoDir, { recursive: true });
  }
});
