/**
 * `deno task embed`: rewrites the migration manifest from `migrations/`.
 *
 * @module
 */
import { MANIFEST_PATH, MIGRATIONS_DIR, renderManifest } from "./manifest.ts";

if (import.meta.main) {
  const root = new URL("../../", import.meta.url);
  const names: string[] = [];
  for await (const e of Deno.readDir(new URL(`${MIGRATIONS_DIR}/`, root))) {
    if (e.isFile) names.push(e.name);
  }
  const text = renderManifest(names);
  const path = new URL(MANIFEST_PATH, root);
  const before = await Deno.readTextFile(path).catch(() => "");
  if (before === text) {
    console.log(`${MANIFEST_PATH} is up to date`);
  } else {
    await Deno.writeTextFile(path, text);
    const count = text.split("\n").filter((l) => l.startsWith("import f")).length;
    console.log(`wrote ${MANIFEST_PATH} (${count} files)`);
  }
}
