/**
 * `deno task compile [--target TRIPLE] [--output PATH]`: builds the single
 * `convo` binary (migrations and the embedded database inside).
 *
 * `deno compile` needs `denort`, the runtime the binary is made from, for the
 * target platform. It downloads it from dl.deno.land (cached in DENO_DIR), or
 * uses the file named by DENORT_BIN — a denort of the same Deno version — where
 * that host cannot be reached.
 *
 * @module
 */
import meta from "../../deno.json" with { type: "json" };
import { V8_FLAGS } from "./v8_flags.ts";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const root = decodeURIComponent(new URL("../../", import.meta.url).pathname);
  const target = arg("--target");
  const output = arg("--output") ?? `${root}dist/convo${target?.includes("windows") ? ".exe" : ""}`;
  const denort = Deno.env.get("DENORT_BIN");
  if (denort && !(await Deno.stat(denort).catch(() => null))?.isFile) {
    console.error(`error: DENORT_BIN names '${denort}', which is not a file`);
    Deno.exit(1);
  }
  const args = ["compile", "-A", `--v8-flags=${V8_FLAGS}`, "--output", output];
  if (target) args.push("--target", target);
  args.push(`${root}main.ts`);
  const built = await new Deno.Command(Deno.execPath(), { args, cwd: root }).spawn().status;
  if (!built.success) {
    console.error(
      "error: deno compile failed. It needs denort " +
        `(Deno ${Deno.version.deno}${target ? `, ${target}` : ""}): either let it download ` +
        "from dl.deno.land, or set DENORT_BIN to a local denort of the same version",
    );
    Deno.exit(1);
  }
  if (!target) {
    // A binary made from something other than denort runs as plain deno.
    const out = await new Deno.Command(output, { args: ["--version"] }).output();
    const printed = new TextDecoder().decode(out.stdout).trim();
    if (printed !== meta.version) {
      console.error(
        `error: ${output} --version printed '${printed.split("\n")[0]}', not ${meta.version}: ` +
          "DENORT_BIN must name denort, not the deno binary",
      );
      Deno.exit(1);
    }
  }
  console.log(`built ${output}`);
}
