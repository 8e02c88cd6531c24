/**
 * `convo`: the entry point. Runs the command line and exits with its code; the
 * only place in the program that exits.
 *
 * @module
 */
import { run } from "./src/cli/program.ts";

const encoder = new TextEncoder();

function writer(file: { writeSync(p: Uint8Array): number }): (text: string) => void {
  let closed = false;
  return (text) => {
    if (closed) return;
    const bytes = encoder.encode(text);
    let off = 0;
    try {
      while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    } catch (err) {
      // The reader went away (`convo … | head`): stop writing, as Unix tools do.
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
      closed = true;
    }
  };
}

if (import.meta.main) {
  const code = await run(Deno.args, {
    stdout: writer(Deno.stdout),
    stderr: writer(Deno.stderr),
    stdin: () => Deno.stdin.readable,
    stderrIsTerminal: Deno.stderr.isTerminal(),
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
  });
  Deno.exit(code);
}
