/**
 * `deno task bench [NAME…]`: runs the benchmarks in tests/bench one after the
 * other (each `*_bench.ts` is a standalone script), or only those named
 * (`deno task bench normalize queue`). Benchmarks measure; they never fail on a
 * figure. Extra flags after `--` go to every script (e.g. `-- --json`).
 */
const dir = new URL("./", import.meta.url);
const sep = Deno.args.indexOf("--");
const names = sep >= 0 ? Deno.args.slice(0, sep) : Deno.args;
const extra = sep >= 0 ? Deno.args.slice(sep + 1) : [];

const scripts: string[] = [];
for await (const e of Deno.readDir(dir)) {
  if (e.isFile && e.name.endsWith("_bench.ts")) scripts.push(e.name);
}
scripts.sort();
const chosen = names.length
  ? scripts.filter((s) => names.some((n) => s === n || s === `${n}_bench.ts`))
  : scripts;
if (names.length && chosen.length === 0) {
  console.error(`error: no benchmark named ${names.join(", ")}; have: ${scripts.join(", ")}`);
  Deno.exit(2);
}
let failed = 0;
for (const script of chosen) {
  console.log(`\n== ${script}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, dir).pathname, ...extra],
  }).spawn().status;
  if (!status.success) failed++;
}
Deno.exit(failed ? 1 : 0);
