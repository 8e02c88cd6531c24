/**
 * The command tree is built with only the command a run names (`src/cli/program.ts`:
 * each command's module is loaded on demand): every command still answers `--help` as
 * itself, program options before it are skipped, and the program's own help, `help`
 * and a misspelt name still see every command.
 */
import assert from "node:assert/strict";
import { commandName } from "../../src/cli/program.ts";
import { runCli } from "../_helpers/cli.ts";

const COMMANDS = [
  "migrate",
  "normalize",
  "endpoint",
  "enqueue",
  "work",
  "queue",
  "query-overview",
  "backfill-conversations",
  "check",
];

Deno.test("convo --help lists every command, in order", async () => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  const commands = r.stdout.slice(r.stdout.indexOf("\nCommands:"));
  const listed = [...commands.matchAll(/^ {2}([a-z-]+)(?: |$)/gm)].map((m) => m[1]);
  assert.deepEqual(listed.filter((n) => n !== "help"), COMMANDS);
});

Deno.test("each command answers --help as itself, loaded alone", async () => {
  for (const name of COMMANDS) {
    const r = await runCli(["--log-format", "json", name, "--help"]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: convo ${name} `), name);
  }
});

Deno.test("help NAME and a misspelt command still see every command", async () => {
  const help = await runCli(["help", "backfill-conversations"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: convo backfill-conversations /);
  const typo = await runCli(["enqeue", "x.ndjson"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown command 'enqeue'.*Did you mean enqueue\?/s);
});

Deno.test("commandName skips program options and their values", () => {
  assert.equal(commandName(["--database-url", "postgres://h/db", "check"]), "check");
  assert.equal(commandName(["--log-level", "debug", "--log-format", "json", "work"]), "work");
  assert.equal(commandName(["--database-url=postgres://h/db", "queue", "status"]), "queue");
  assert.equal(commandName(["-V"]), undefined);
  assert.equal(commandName(["--", "check"]), undefined);
  assert.equal(commandName([]), undefined);
});
