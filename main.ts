/**
 * `convo`: the entry point. Runs the command line and exits with its code; the
 * only place in the program that exits.
 *
 * @module
 */
import { run } from "./src/cli/program.ts";

const encoder = new TextEncoder();

/**
 * A writer for standard output or error. A failed write (the reader went
 * away, the disk is full) is thrown once, naming the stream, for the error
 * boundary to say plainly (exit 1); later writes are dropped. Standard error
 * only stops writing: its logs must not end a worker whose journal went away.
 */
function writer(
  file: { writeSync(p: Uint8Array): number },
  stream: "standard output" | "standard error",
): (text: string) => void {
  let closed = false;
  return (text) => {
    if (closed) return;
    const bytes = encoder.encode(text);
    let off = 0;
    try {
      while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    } catch (err) {
      closed = true;
      if (stream === "standard error") return;
      const code = err instanceof Deno.errors.BrokenPipe
        ? "EPIPE"
        : (err as { code?: string }).code;
      throw Object.assign(new Error(`cannot write to ${stream}: ${(err as Error).message}`), {
        cause: err,
        code,
        stream,
      });
    }
  };
}

function terminalColumns(): number | undefined {
  try {
    return Deno.stderr.isTerminal() ? Deno.consoleSize().columns : undefined;
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const code = await run(Deno.args, {
    stdout: writer(Deno.stdout, "standard output"),
    stderr: writer(Deno.stderr, "standard error"),
    stdin: () => Deno.stdin.readable,
    stderrIsTerminal: Deno.stderr.isTerminal(),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    columns: terminalColumns(),
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
  });
  Deno.exit(code);
}
