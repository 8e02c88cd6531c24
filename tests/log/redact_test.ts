import assert from "node:assert/strict";
import fc from "fast-check";
import { maskAddress, maskText, redactSecrets, redactUrl } from "../../src/log/redact.ts";

Deno.test("redactUrl() hides the password of well-formed and malformed URLs", () => {
  const cases: [string, string][] = [
    ["postgres://app:hunter2@db:5432/convo", "postgres://app:***@db:5432/convo"],
    ["postgresql://app:p%40ss@db/convo", "postgresql://app:***@db/convo"],
    ["postgres://app:p@ss@db/convo", "postgres://app:***@db/convo"],
    ["postgres://app@db/convo", "postgres://app@db/convo"],
    ["postgresql://app:pw@[::1]:5433/convo#x", "postgresql://app:***@[::1]:5433/convo"],
    [
      "postgres://db/convo?sslmode=require&password=x&application_name=y",
      "postgres://db/convo?sslmode=require&password=***",
    ],
    ["not a url", "(not a URL: it does not start with a scheme such as postgres://; not shown)"],
    [
      "host=db user=app password=hunter2",
      "(a libpq key=value string (host=… user=… password=…), not a URL; not shown)",
    ],
  ];
  for (const [input, out] of cases) assert.equal(redactUrl(input), out);
  for (
    const ambiguous of [
      "postgres://app:pa/ss@db/convo",
      "postgres://app:1/ss@db/convo",
      "postgres://app:pa?ss@db/convo",
      "postgres://app:pa#ss@db/convo",
      "postgres://app:pw@db:port/convo",
    ]
  ) {
    assert.match(
      redactUrl(ambiguous),
      /^\(an? (ambiguous URL|URL that cannot be parsed) \(.*in the user name and password, write .*; not shown\)$/,
    );
  }
});

// Password characters: delimiters, '%', unicode, and upper-case letters that
// appear in none of the descriptions; the templates hold none of them, so any
// of them in the output is (part of) the password.
const MARKED = "QXZJKWVY";
const password = fc.string({
  unit: fc.constantFrom(...[..."QXZJKWVY/?#@:%&=+!$*,;~ë€😀 '\""]),
  minLength: 1,
  maxLength: 20,
}).map((s) => `Q${s}Z`);
const leaked = (text: string) => [...text].some((c) => MARKED.includes(c));
const TEMPLATES: ((pw: string) => string)[] = [
  (pw) => `postgres://user:${pw}@host:5432/db`,
  (pw) => `postgresql://user:${pw}@[::1]/db?sslmode=disable`,
  (pw) => `postgres://user:${encodeURIComponent(pw)}@host/db`,
  (pw) => `postgres://host/db?sslmode=disable&password=${pw}&x=1`,
  (pw) => `postgres://host/db?password=${encodeURIComponent(pw)}`,
  (pw) => `host=h user=u password=${pw} dbname=d`,
  (pw) => `host=h password='${pw.replaceAll("'", "\\'")}' dbname=d`,
  (pw) => `user:${pw}@host/db`,
  (pw) => ` postgres://user:${pw}@host/db `,
];

Deno.test("redactUrl() never leaves any part of a password in the output", () => {
  fc.assert(
    fc.property(password, fc.constantFrom(...TEMPLATES), (pw, template) => {
      const text = redactUrl(template(pw));
      assert.ok(!leaked(text), `${template(pw)} → ${text}`);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("redactSecrets() hides URL passwords and password= in free text", () => {
  // In free text a URL ends at a space or quote, so these passwords have none.
  const inText = password.map((pw) => pw.replace(/[\s'"]/g, "W"));
  fc.assert(
    fc.property(inText, fc.constantFrom(...TEMPLATES), (pw, template) => {
      const text = redactSecrets(`TypeError: Invalid URL: '${template(pw)}'\n    at f (x.ts:1:2)`);
      assert.ok(!leaked(text), text);
    }),
    { numRuns: 2000 },
  );
  assert.equal(
    redactSecrets("connect postgres://app@[::1]:5432/db and https://example.com/a:b@c"),
    "connect postgres://app@[::1]:5432/db and https://example.com/a:***@c",
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
