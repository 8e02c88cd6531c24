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

Deno.test("resolveConfig() names the setting and value it refuses, never echoing a database URL", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ DATABASE_URL: "mysql://u:Qpw@h/db" }, /DATABASE_URL: it is a mysql:\/\/ URL, not postgres/],
    [{ DATABASE_URL: "postgres://u:Qpw@h:70000/db" }, /port a number from 1 to 65535/],
    [{ DATABASE_URL: "postgres://u:Qpw@h:0/db" }, /its port is not a number from 1 to 65535/],
    [{ DATABASE_URL: "host=h user=u password=Qpw" }, /it is a libpq key=value string/],
    [{ DATABASE_URL: "u:Qpw@h/db" }, /it is not a URL: it does not start with a scheme/],
    [{ DATABASE_URL: "postgres://u:Q/pw@h/db" }, /URL that cannot be parsed \(.*%2F/],
    [{ DATABASE_URL: "postgres://u:1/Qpw@h/db" }, /it is an ambiguous URL \(.*%2F/],
    [{ CONVO_LOG_FORMAT: "xml" }, /CONVO_LOG_FORMAT: current value is 'xml'/],
    [{ CONVO_DEFAULT_REGION: "USA" }, /CONVO_DEFAULT_REGION: current value is 'USA'/],
    [{ CONVO_MAX_PAYLOAD_BYTES: "lots" }, /CONVO_MAX_PAYLOAD_BYTES: current value is 'lots'/],
    [{ CONVO_SNIPPET_LENGTH: "0" }, /CONVO_SNIPPET_LENGTH: current value is '0'/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(
      () => resolveConfig({}, env),
      (err: Error) =>
        err instanceof UsageError && pattern.test(err.message) &&
        !`${err.message} ${err.hint}`.includes("Qpw"),
      JSON.stringify(env),
    );
  }
});

Deno.test("resolveConfig() labels the database without its password or secret parameters", () => {
  const c = resolveConfig({}, {
    DATABASE_URL: "postgresql://app:Qpw@[::1]:5433/convo?sslmode=require&password=Qpw2",
  });
  assert.equal(
    c.databaseLabel,
    "postgresql://app:***@[::1]:5433/convo?sslmode=require&password=***",
  );
});
