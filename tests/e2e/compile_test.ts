/**
 * The compiled binary. `deno compile` needs denort: downloaded from
 * dl.deno.land (or found in DENO_DIR's cache), or named by DENORT_BIN. Where
 * none is available the test is reported as ignored, with the reason in its
 * name — never as passed.
 */
import assert from "node:assert/strict";
import meta from "../../deno.json" with { type: "json" };
import { baseEnv, ROOT_DIR } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";

async function unavailable(): Promise<string | undefined> {
  const named = Deno.env.get("DENORT_BIN");
  if (named) {
    return (await Deno.stat(named).catch(() => null))?.isFile
      ? undefined
      : `DENORT_BIN=${named} is not a file`;
  }
  const url = `https://dl.deno.land/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return res.ok ? undefined : `denort download answered ${res.status}`;
  } catch (err) {
    return `denort cannot be downloaded (${
      (err as Error).message.split("\n")[0]
    }) and DENORT_BIN is not set`;
  }
}

const reason = await unavailable();

Deno.test({
  name: `deno task compile: the binary migrates a fresh database${
    reason ? ` [SKIPPED: ${reason}]` : ""
  }`,
  ignore: reason !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "convo_compile_" });
    try {
      const bin = `${dir}/convo`;
      const built = await new Deno.Command(Deno.execPath(), {
        args: ["task", "compile", "--output", bin],
        cwd: ROOT_DIR,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
      const version = await new Deno.Command(bin, { args: ["--version"] }).output();
      assert.equal(new TextDecoder().decode(version.stdout).trim(), meta.version);
      await withTestDatabase(async ({ url }) => {
        const up = await new Deno.Command(bin, {
          args: ["migrate", "up"],
          cwd: dir,
          env: { ...baseEnv(), DATABASE_URL: url },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(up.code, 0, new TextDecoder().decode(up.stderr));
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
