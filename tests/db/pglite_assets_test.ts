import assert from "node:assert/strict";
import { pgliteAssetBytes } from "../../src/db/_pglite_assets.ts";
import { PGLITE_ASSET_NAMES, pgliteDistUrl } from "../../src/build/embed_pglite_task.ts";

Deno.test("pgliteAssetBytes() holds exactly the installed PGlite's files (else run deno task embed-pglite)", async () => {
  const embedded = await pgliteAssetBytes();
  assert.deepEqual(Object.keys(embedded).sort(), [...PGLITE_ASSET_NAMES].sort());
  for (const name of PGLITE_ASSET_NAMES) {
    const installed = await Deno.readFile(new URL(name, pgliteDistUrl()));
    assert.ok(
      embedded[name].length === installed.length &&
        embedded[name].every((b, i) => b === installed[i]),
      `src/db/_pglite/${name}.gz differs from the installed PGlite's ${name}: run deno task embed-pglite`,
    );
  }
});

Deno.test("PGLITE_ASSET_NAMES lists every file PGlite's code loads beside itself", async () => {
  // PGlite finds its files with new URL("./name", import.meta.url); a new one
  // in a later version would be read from beside the bundle, where it is not.
  const referenced = new Set<string>();
  for await (const e of Deno.readDir(pgliteDistUrl())) {
    if (!e.isFile || !e.name.endsWith(".js")) continue;
    const code = await Deno.readTextFile(new URL(e.name, pgliteDistUrl()));
    for (const m of code.matchAll(/new URL\("(?:\.\/)?([\w.-]+)",\s*import\.meta\.url\)/g)) {
      referenced.add(m[1]);
    }
  }
  assert.deepEqual([...referenced].sort(), [...PGLITE_ASSET_NAMES].sort());
});
