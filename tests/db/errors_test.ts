import assert from "node:assert/strict";
import { connectionError } from "../../src/db/errors.ts";

const target = { host: "db.internal", port: 6432, database: "app", user: "svc" };
const withCode = (code: string) => Object.assign(new Error("raw"), { code });

Deno.test("connectionError() turns each common failure into one line", () => {
  const cases: [string, RegExp][] = [
    ["ECONNREFUSED", /^cannot connect to db\.internal:6432: connection refused$/],
    ["ENOTFOUND", /unknown host 'db\.internal'/],
    ["CONNECT_TIMEOUT", /^cannot connect to db\.internal:6432: timed out$/],
    ["28P01", /^authentication failed for user 'svc' at db\.internal:6432$/],
    ["28000", /refused user 'svc'/],
    ["3D000", /^database 'app' does not exist at db\.internal:6432$/],
    ["57P03", /starting up/],
  ];
  for (const [code, pattern] of cases) {
    const err = connectionError(withCode(code), target);
    assert.ok(err, code);
    assert.match(err.message, pattern);
    assert.ok(err.hint && !err.hint.includes("\n"));
    assert.equal(err.exitCode, 1);
  }
});

Deno.test("connectionError() leaves other errors alone", () => {
  assert.equal(connectionError(withCode("42P01"), target), undefined);
  assert.equal(connectionError(new Error("x"), target), undefined);
  assert.equal(connectionError(undefined, target), undefined);
});
