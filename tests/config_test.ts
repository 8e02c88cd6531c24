import assert from "node:assert/strict";
import { resolveConfig } from "../src/config.ts";
import { UsageError } from "../src/errors.ts";

Deno.test("resolveConfig() takes flags over environment over defaults", () => {
  const env = { DATABASE_URL: "postgres://env/db", CONVO_LOG_LEVEL: "warn" };
  const c = resolveConfig({ databaseUrl: "postgres://flag/db" }, env);
  assert.equal(c.databaseUrl, "postgres://flag/db");
  assert.equal(c.logLevel, "warn");
  assert.equal(c.logFormat, "json", "not a terminal: JSON lines");
  assert.equal(resolveConfig({}, {}, { stderrIsTerminal: true }).logFormat, "pretty");
  assert.equal(c.dataDir, ".convo");
  assert.equal(c.defaultRegion, "US");
  assert.equal(c.maxPayloadBytes, 262_144);
  assert.ok(Object.isFrozen(c));
});

Deno.test("resolveConfig() without a URL means the embedded database", () => {
  // Unset, not empty: an empty DATABASE_URL is an error (tests/cli/errors_test.ts).
  const c = resolveConfig({}, { CONVO_DATA_DIR: "/var/lib/convo" });
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.databaseLabel, "embedded (/var/lib/convo)");
});

Deno.test("resolveConfig() names the setting and value it refuses, password redacted", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { DATABASE_URL: "mysql://u:pw@h/db" },
      /DATABASE_URL: current value is 'mysql:\/\/u:\*\*\*@h\/db'/,
    ],
    [
      { DATABASE_URL: "postgres://u:pw@h:70000/db" },
      /current value is 'postgres:\/\/u:\*\*\*@h:70000\/db'/,
    ],
    [{ CONVO_LOG_FORMAT: "xml" }, /CONVO_LOG_FORMAT: current value is 'xml'/],
    [{ CONVO_DEFAULT_REGION: "USA" }, /CONVO_DEFAULT_REGION: current value is 'USA'/],
    [{ CONVO_MAX_PAYLOAD_BYTES: "lots" }, /CONVO_MAX_PAYLOAD_BYTES: current value is 'lots'/],
    [{ CONVO_SNIPPET_LENGTH: "0" }, /CONVO_SNIPPET_LENGTH: current value is '0'/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(
      () => resolveConfig({}, env),
      (err: Error) =>
        err instanceof UsageError && pattern.test(err.message) && !err.message.includes(":pw@"),
      JSON.stringify(env),
    );
  }
});
