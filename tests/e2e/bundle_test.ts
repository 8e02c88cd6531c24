/**
 * The bundled form: `deno task bundle` writes one JavaScript file that carries
 * the migrations; copied alone into an empty directory it migrates a fresh
 * database.
 */
import assert from "node:assert/strict";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import { baseEnv, ROOT_DIR } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task bundle: dist/convo.js alone in an empty directory migrates a fresh database", async () => {
  const built = await run(Deno.execPath(), ["task", "bundle"], ROOT_DIR);
  assert.equal(built.code, 0, built.stderr);
  const dir = await Deno.makeTempDir({ prefix: "convo_bundle_" });
  try {
    await Deno.copyFile(`${ROOT_DIR}dist/convo.js`, `${dir}/convo.js`);
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
