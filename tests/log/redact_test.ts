import assert from "node:assert/strict";
import fc from "fast-check";
import { maskAddress, maskText, redactUrl } from "../../src/log/redact.ts";

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

Deno.test("maskText() masks malformed addresses and phones in any digits", () => {
  const cases: [string, string][] = [
    [
      "Cannot parse email address: current value is 'jane.doe@@example.com' (more than one '@')",
      "Cannot parse email address: current value is 'j***@example.com' (more than one '@')",
    ],
    [
      "Cannot parse email address: current value is 'jane@example..com' (empty label in domain)",
      "Cannot parse email address: current value is 'j***@example..com' (empty label in domain)",
    ],
    ["no endpoint for jane@localhost", "no endpoint for j***@localhost"],
    [
      "current value is '＋１ （４１５） ５５５－０１２３' (x)",
      "current value is '+１******０１２３' (x)",
    ],
    ["current value is '+١٤١٥٥٥٥٠١٢٣' (x)", "current value is '+١******٠١٢٣' (x)"],
    [
      "attempt 3 of 5 at 2026-11-21 10:00:00.123456",
      "attempt 3 of 5 at 2026-11-21 10:00:00.123456",
    ],
  ];
  for (const [input, out] of cases) assert.equal(maskText(input), out);
});

const FULL_WIDTH = (s: string) =>
  s.replace(/[0-9+()-]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
const ARABIC_INDIC = (s: string) =>
  s.replace(/[0-9]/g, (c) => String.fromCharCode(0x660 + Number(c)));

Deno.test("maskText() never leaves an address-like value in an error text (property)", () => {
  const local = fc.stringMatching(/^[A-Za-z0-9._+-]{1,12}$/);
  const domain = fc.stringMatching(/^[a-z0-9-]{0,8}(\.{1,2}[a-z0-9-]{0,6}){0,3}$/);
  const email = fc.tuple(local, fc.constantFrom("@", "@@", "@ @"), domain).map(([l, at, d]) =>
    l + at + d
  ).filter((v) => !/\s/.test(v));
  const phone = fc.tuple(
    fc.constantFrom("", "+", "00"),
    fc.stringMatching(/^[0-9]{7,15}$/),
    fc.constantFrom((s: string) => s, FULL_WIDTH, ARABIC_INDIC),
  ).map(([p, d, script]) => script(p + d.replace(/^(\d{3})(\d{3})/, "($1) $2-")));
  fc.assert(
    fc.property(fc.oneof(email, phone), (value) => {
      for (
        const text of [
          `Cannot parse email address: current value is '${value}' (more than one '@')`,
          `Cannot parse phone number: current value is '${value}' (too long)`,
          `no endpoint mapping for the recipient (${value}) on channel sms`,
          `${value}: bad`,
        ]
      ) {
        const masked = maskText(text);
        assert.ok(!masked.includes(value), `${masked} holds ${value}`);
      }
    }),
    { numRuns: 2000 },
  );
});
