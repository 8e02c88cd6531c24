/**
 * `sql.unsafe` runs a string as SQL. Only the migration runner may call it, on
 * the migration files embedded in the program; everywhere else values go
 * through the tagged template (DESIGN.md, "driver").
 */
import assert from "node:assert/strict";
import { ROOT_DIR } from "./_helpers/cli.ts";

// File (relative to src/) → why it may call unsafe.
const ALLOWED: Record<string, string> = {
  "migrate/runner.ts": "runs the embedded migration files and the ledger's DDL",
};

const UNSAFE = /\bunsafe\s*\(|\[\s*["'`]unsafe["'`]\s*\]/;

async function* sources(dir: string, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory) yield* sources(`${dir}/${entry.name}`, `${rel}/`);
    else if (/\.[cm]?[jt]sx?$/.test(entry.name)) yield rel;
  }
}

Deno.test("sql.unsafe appears in src/ only in the migration runner", async () => {
  const offenders: string[] = [];
  let scanned = 0;
  for await (const rel of sources(`${ROOT_DIR}src`)) {
    scanned++;
    const text = await Deno.readTextFile(`${ROOT_DIR}src/${rel}`);
    text.split("\n").forEach((line, i) => {
      if (UNSAFE.test(line) && !(rel in ALLOWED)) {
        offenders.push(`src/${rel}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.ok(scanned > 20, `scanned only ${scanned} files: is ROOT_DIR right?`);
  assert.deepEqual(offenders, [], "use the tagged template, not sql.unsafe");
});

Deno.test("the sql.unsafe check recognises the forms it looks for", () => {
  for (const line of ["await sql.unsafe(text)", "tx.unsafe (q)", 'sql["unsafe"](q)']) {
    assert.ok(UNSAFE.test(line), line);
  }
  for (const line of ["await sql`select 1`", "// the raw form is visibly named unsafe"]) {
    assert.ok(!UNSAFE.test(line), line);
  }
});
