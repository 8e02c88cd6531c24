/**
 * `deno task demo`: its steps, read from deno.json, run against a fresh test
 * database (a server, so tests need no embedded database) and give the counts
 * tests/fixtures/demo/generate.ts derives; run again, they change nothing.
 */
import assert from "node:assert/strict";
import meta from "../../deno.json" with { type: "json" };
import { ROOT_DIR, runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { DEMO_EVENTS_URL, generateDemoEvents } from "../fixtures/demo/generate.ts";

const tasks: Record<string, string> = meta.tasks;

/** The convo argument lists of a task: `deno task start …` steps joined by `&&`. */
function steps(task: string): string[][] {
  return tasks[task].split("&&").flatMap((step) => {
    const words = step.trim().split(/\s+/);
    assert.equal(words[0], "deno", `step '${step}' of task ${task}`);
    assert.equal(words[1], "task", `step '${step}' of task ${task}`);
    assert.doesNotMatch(step, /['"\\$]/, "quoting is not understood here");
    return words[2] === "start" ? [words.slice(3)] : steps(words[2]);
  });
}

Deno.test("tests/fixtures/demo/events.ndjson is generate.ts's output (else run it)", async () => {
  const committed = await Deno.readTextFile(DEMO_EVENTS_URL);
  assert.equal(
    committed,
    generateDemoEvents().lines.join("\n") + "\n",
    "run deno run -A tests/fixtures/demo/generate.ts",
  );
});

Deno.test("deno task demo: its steps give the generator's counts, and a second run changes nothing", async () => {
  const { expected } = generateDemoEvents();
  const demo = steps("demo");
  assert.deepEqual(demo[0], ["migrate", "up"]);
  await withTestDatabase(async ({ url, sql }) => {
    const run = async () => {
      const out: Record<string, string> = {};
      for (const args of demo) {
        const r = await runCli(args, { env: { DATABASE_URL: url }, cwd: ROOT_DIR });
        assert.equal(r.code, 0, `convo ${args.join(" ")}: ${r.stderr}`);
        out[args[0]] = r.stdout;
      }
      return out;
    };

    const first = await run();
    assert.match(
      first.enqueue,
      new RegExp(
        `^read ${expected.lines} lines: stored ${expected.stored}, duplicates ${expected.duplicates}, ` +
          `invalid 0, blank 0; replaced ${expected.replacedNul} U\\+0000 `,
      ),
    );
    assert.match(
      first.work,
      new RegExp(
        `^claimed ${expected.stored}, done ${expected.done}, retried 0, dead ${expected.dead}; ` +
          `inserted ${expected.messages} message\\(s\\)`,
      ),
    );
    assert.match(first.queue, new RegExp(`^done\\s+${expected.done}$`, "m"));
    assert.match(first.queue, new RegExp(`^dead\\s+${expected.dead}\\b`, "m"));
    const conversations = await sql<{ name: string; n: number; messages: number }[]>`
      select cu.name, count(*)::int as n, sum(c.message_count)::int as messages
      from conversations c join customers cu on cu.id = c.customer_id
      group by cu.name order by cu.name`;
    assert.deepEqual(
      conversations.map((r) => [r.name, r.n]),
      Object.entries(expected.conversations),
    );
    const [{ messages }] = await sql<{ messages: number }[]>`
      select count(*)::int as messages from messages`;
    assert.equal(messages, expected.messages);
    assert.equal(conversations.reduce((s, r) => s + r.messages, 0), expected.messages);
    const dead = await sql<{ last_error: string }[]>`
      select last_error from inbound_events where status = 'dead' order by id`;
    assert.deepEqual(
      dead.map((d) => d.last_error.replace(/ \(.*/, "")).sort(),
      [
        "Cannot parse email address: current value is 'MAILER-DAEMON'",
        "no endpoint mapping for the recipient",
      ],
    );

    const again = await run();
    assert.match(again.migrate, /nothing to apply/);
    assert.match(again.endpoint, /^exists /);
    assert.match(
      again.enqueue,
      new RegExp(`^read ${expected.lines} lines: stored 0, duplicates ${expected.lines},`),
    );
    assert.match(again.work, /^claimed 0, done 0, retried 0, dead 0; inserted 0 message\(s\)/);
    const [{ after }] = await sql<{ after: number }[]>`select count(*)::int as after from messages`;
    assert.equal(after, expected.messages);
  });
});
