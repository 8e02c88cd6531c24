import assert from "node:assert/strict";
import fc from "fast-check";
import { maskAddress, redactUrl } from "../../src/log/redact.ts";

Deno.test("redactUrl() hides the password of well-formed and malformed URLs", () => {
  const cases: [string, string][] = [
    ["postgres://app:hunter2@db:5432/convo", "postgres://app:***@db:5432/convo"],
    ["postgresql://app:p%40ss@db/convo", "postgresql://app:***@db/convo"],
    ["postgres://app:p@ss@db/convo", "postgres://app:***@db/convo"],
    ["postgres://app@db/convo", "postgres://app@db/convo"],
    [
      "postgres://db/convo?password=x&sslmode=require",
      "postgres://db/convo?password=***&sslmode=require",
    ],
    ["not a url", "not a url"],
  ];
  for (const [input, out] of cases) assert.equal(redactUrl(input), out);
});

Deno.test("redactUrl() never leaves a password in the output", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9!$%&*+,;=~-]{6,20}$/), (pw) => {
      const text = redactUrl(`postgres://user:${pw}@host:5432/db`);
      assert.ok(!text.includes(pw), text);
    }),
  );
});

Deno.test("maskAddress() keeps enough to tell addresses apart, not to read them", () => {
  assert.equal(maskAddress("jane.doe@example.com"), "j***@example.com");
  assert.equal(maskAddress("+14155550123"), "+1******0123");
  assert.equal(maskAddress("+442079460958"), "+4*******0958");
  assert.equal(maskAddress("sc:12345"), "sc:12345");
  assert.equal(maskAddress("id:ACME"), "id:ACME");
  assert.equal(maskAddress("123"), "***");
});
