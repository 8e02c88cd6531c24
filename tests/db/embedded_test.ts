import assert from "node:assert/strict";
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
