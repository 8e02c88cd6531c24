import assert from "node:assert/strict";
import { createLogger } from "../../src/log/logger.ts";

Deno.test("createLogger() writes JSON lines with fields, filtered by level", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "info",
    format: "json",
    write: (l) => lines.push(l),
    now: () => 0,
  });
  log.debug("hidden");
  log.info("claimed", { events: 3, key: -5n });
  log.child({ worker: 2 }).warn("slow", { ms: 12 });
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "claimed",
    events: 3,
    key: "-5",
  });
  assert.equal(JSON.parse(lines[1]).worker, 2);
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n")));
});

Deno.test("createLogger() pretty lines are one line each", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", format: "pretty", write: (l) => lines.push(l) });
  log.error("failed", { why: "a b\nc", n: 1 });
  assert.equal(lines[0], 'ERROR failed why="a b\\nc" n=1\n');
});
