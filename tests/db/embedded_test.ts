import assert from "node:assert/strict";
import { createClient } from "../../src/db/connect.ts";
import { startEmbedded } from "../../src/db/embedded.ts";
import { createLogger } from "../../src/log/logger.ts";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import { runCli } from "../_helpers/cli.ts";

Deno.test("without a database URL convo uses the embedded database in CONVO_DATA_DIR, and says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "convo_embedded_" });
  try {
    const env = { CONVO_DATA_DIR: `${dir}/data` };
    const up = await runCli(["migrate", "up"], { env });
    assert.equal(up.code, 0, up.stderr);
    const n = (await embeddedMigrations()).length;
    assert.match(up.stdout, new RegExp(`applied ${n} migration\\(s\\)`));
    assert.equal(up.stderr.match(/using the embedded database/g)?.length, 1);
    const status = await runCli(["migrate", "status"], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`${n} applied, 0 pending`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const quiet = createLogger({ level: "error", write: () => {} });
const modeOf = async (path: string) => ((await Deno.stat(path)).mode ?? 0) & 0o777;

Deno.test("startEmbedded() keeps its directory owner-only and listens on a Unix socket inside it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "convo_embedded_" });
  try {
    // As an older convo left it: the default mode.
    await Deno.mkdir(`${dir}/data/pgdata`, { recursive: true, mode: 0o755 });
    await Deno.chmod(`${dir}/data`, 0o755);
    await Deno.chmod(`${dir}/data/pgdata`, 0o755);
    const embedded = await startEmbedded(`${dir}/data`, quiet, { maxConnections: 2 });
    try {
      assert.equal((await modeOf(`${dir}/data`)).toString(8), "700");
      assert.equal((await modeOf(`${dir}/data/pgdata`)).toString(8), "700");
      assert.equal(embedded.path, `${await Deno.realPath(`${dir}/data`)}/.s.PGSQL.5432`);
      const socket = await Deno.stat(embedded.path!);
      assert.ok(socket.isSocket);
      assert.equal((await modeOf(embedded.path!)).toString(8), "600");
      assert.doesNotMatch(embedded.url, /:\d+\//, "no TCP port");
      const sql = createClient(embedded.url, {
        max: 1,
        applicationName: "test",
        connectTimeoutSeconds: 5,
        logger: quiet,
        path: embedded.path,
      });
      try {
        const [row] = await sql<{ ok: number }[]>`select 1 as ok`;
        assert.equal(row.ok, 1);
      } finally {
        await sql.end();
      }
    } finally {
      await embedded.stop();
    }
    assert.equal(await Deno.stat(embedded.path!).then(() => "left", () => "removed"), "removed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Tries to open a connection to the embedded database as the user `nobody`
 * (through its Unix socket, or its TCP port when it has none) and says what
 * happened: "connected" or the error's class.
 */
async function connectAsNobody(embedded: { url: string; path?: string }): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "convo_nobody_" });
  try {
    await Deno.chmod(home, 0o777);
    const target = embedded.path
      ? { transport: "unix", path: embedded.path }
      : { hostname: "127.0.0.1", port: Number(new URL(embedded.url).port) };
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        Deno.execPath(),
        "eval",
        `try { (await Deno.connect(${JSON.stringify(target)})).close(); console.log("connected"); }
         catch (e) { console.log(e.constructor.name); }`,
      ],
      env: { HOME: home, DENO_DIR: home, NO_COLOR: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    return dec.decode(out.stdout).trim();
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test({
  name: "startEmbedded(): another local user cannot reach the embedded database",
  // Acting as another user needs root (CI and the dev machines run as root).
  ignore: Deno.build.os === "windows" || Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "convo_embedded_" });
    try {
      await Deno.chmod(dir, 0o755);
      const embedded = await startEmbedded(`${dir}/data`, quiet, { maxConnections: 2 });
      try {
        assert.equal(await connectAsNobody(embedded), "PermissionDenied");
        // Control: with the permissions opened up, the same attempt gets in,
        // so it is the permissions that keep other users out.
        await Deno.chmod(`${dir}/data`, 0o755);
        if (embedded.path) await Deno.chmod(embedded.path, 0o666);
        assert.equal(await connectAsNobody(embedded), "connected");
      } finally {
        await embedded.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
