import assert from "node:assert/strict";
import { MANIFEST_PATH, MIGRATIONS_DIR, renderManifest } from "../../src/migrate/manifest.ts";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";

const root = new URL("../../", import.meta.url);

Deno.test("the embedded manifest lists exactly the files in migrations/ (run `deno task embed`)", async () => {
  const names: string[] = [];
  for await (const e of Deno.readDir(new URL(`${MIGRATIONS_DIR}/`, root))) names.push(e.name);
  const onDisk = await Deno.readTextFile(new URL(MANIFEST_PATH, root));
  assert.equal(onDisk, renderManifest(names), "stale manifest: run `deno task embed`");
});

Deno.test("embeddedMigrations() carries the exact bytes of every file, each reversible", async () => {
  const migrations = await embeddedMigrations();
  assert.ok(migrations.length >= 6);
  for (const m of migrations) {
    const bytes = await Deno.readFile(new URL(`${MIGRATIONS_DIR}/${m.up.fileName}`, root));
    assert.equal(m.up.sql, new TextDecoder().decode(bytes));
    assert.ok(m.down, `${m.up.fileName} has a down migration`);
  }
});
