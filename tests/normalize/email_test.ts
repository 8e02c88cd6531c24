import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { normalizeEmail } from "../../src/normalize/email.ts";

/** The database CHECK on `email_addresses.lowered`. */
function assertStorable(address: string): void {
  ok(!/[A-Z]/.test(address), `${address}: ASCII uppercase`);
  ok(!/\s/.test(address), `${address}: whitespace`);
  match(address, /^[^@]+@[^@]+$/);
  ok(address.length <= 254, `${address}: too long`);
}

Deno.test("normalizeEmail() normalizes the awkward cases", () => {
  const table: [string, string, { tag?: string; displayName?: string }?][] = [
    ["jane@example.com", "jane@example.com"],
    ["  Jane@Example.COM \n", "jane@example.com"],
    ['"Jane Doe" <Jane@X.com>', "jane@x.com", { displayName: "Jane Doe" }],
    ["Jane Doe <jane@x.com>", "jane@x.com", { displayName: "Jane Doe" }],
    ['"Doe, Jane \\"JD\\"" <jane@x.com>', "jane@x.com", { displayName: 'Doe, Jane "JD"' }],
    ["<jane@x.com>", "jane@x.com"],
    ["< jane@x.com >", "jane@x.com"],
    ["jane+news@x.com", "jane@x.com", { tag: "news" }],
    ["Jane+News+Weekly@X.com", "jane@x.com", { tag: "News+Weekly" }],
    ["jane+@x.com", "jane@x.com", { tag: "" }],
    ["+orders@x.com", "+orders@x.com"],
    ["Jane.Doe@gmail.com", "janedoe@gmail.com"],
    ["j.a.n.e+spam@GoogleMail.com", "jane@gmail.com", { tag: "spam" }],
    ["jane.doe@example.com", "jane.doe@example.com"],
    ["jane@gmail.com.evil.org", "jane@gmail.com.evil.org"],
    ["bob@Bücher.de", "bob@xn--bcher-kva.de"],
    ["bob@xn--bcher-kva.de", "bob@xn--bcher-kva.de"],
    ["bob@XN--BCHER-KVA.DE", "bob@xn--bcher-kva.de"],
    ["bob@ＥＸＡＭＰＬＥ.com", "bob@example.com"],
    ["bob@faß.de", "bob@xn--fa-hia.de"],
    ["JOSÉ@x.com", "josé@x.com"],
    ["jose\u0301@x.com", "josé@x.com"],
    ["o'brien@x.com", "o'brien@x.com"],
    ["a..b.@docomo.ne.jp", "a..b.@docomo.ne.jp"],
    ["root@localhost", "root@localhost"],
    ["x@mail_server.corp", "x@mail_server.corp"],
    // Dot removal and lowercasing can make a string that NFC composes further.
    ["K.\u0301@gmail.com", "\u1e31@gmail.com"],
    ["\u212a@x.com", "k@x.com"],
  ];
  for (const [input, address, extra = {}] of table) {
    const got = normalizeEmail(input);
    deepEqual(got, { address, ...extra }, input);
    assertStorable(got.address);
  }
});

Deno.test("normalizeEmail() gives mixed-case and plus-tagged variants one address", () => {
  const variants = [
    "jane.doe@gmail.com",
    "Jane.Doe@Gmail.com",
    "JANEDOE+work@GMAIL.COM",
    '"Jane" <jane.doe+x@googlemail.com>',
    "  j.a.n.e.d.o.e@gmail.com",
  ];
  const addresses = new Set(variants.map((v) => normalizeEmail(v).address));
  deepEqual([...addresses], ["janedoe@gmail.com"]);
});

Deno.test("normalizeEmail() keeps the +tag apart as written", () => {
  equal(normalizeEmail("jane+Receipts@x.com").tag, "Receipts");
  equal(normalizeEmail("jane@x.com").tag, undefined);
});

Deno.test("normalizeEmail() rejects invalid addresses naming the value and reason", () => {
  const table: [string, string][] = [
    ["", "empty address"],
    ["   ", "empty address"],
    ["Jane <>", "empty address"],
    ["jane.example.com", "no '@'"],
    ["jane@@x.com", "more than one '@'"],
    ["a@b@x.com", "more than one '@'"],
    ["@x.com", "empty local part"],
    ["jane@", "empty domain"],
    ['"jane doe"@x.com', "quoted local part"],
    ['Jane <"jane"@x.com>', "quoted local part"],
    ["jane doe@x.com", "character not allowed in local part"],
    ["jane<@x.com", "character not allowed in local part"],
    ["mailto:jane@x.com", "character not allowed in local part"],
    ["jane@x .com", "bad character in domain"],
    ["jane@x.com:25", "bad character in domain"],
    ["jane@x.com/path", "bad character in domain"],
    ["jane@[127.0.0.1]", "bad character in domain"],
    ["jane@x..com", "empty label in domain"],
    ["jane@x!y.com", "bad character in domain"],
    ["jane@bücher!.de", "bad character in domain"],
    ["jane@x.com.", "empty label in domain"],
    ["jane@.x.com", "empty label in domain"],
    ["jane@123", "domain is not a host name"],
    ["jane@1.2.3.4", "domain is not a host name"],
    ["jane@xn--zz.com", "domain is not a valid internationalized domain name"],
    ["...@gmail.com", "empty local part"],
    ["Jane jane@x.com>", "'>' without '<'"],
    ["a".repeat(250) + "@x.com", "longer than 254 characters"],
    ["a\ud800@x.com", "not well-formed Unicode"],
    ["a\u037eb@x.com", "character not allowed in local part"], // NFC: U+037E → ';'
  ];
  for (const [input, reason] of table) {
    throws(() => normalizeEmail(input), (err: unknown) => {
      ok(err instanceof RangeError, input);
      const shown = input.length > 100 ? input.slice(0, 100) + "…" : input;
      equal(
        err.message,
        `Cannot parse email address: current value is '${shown}' (${reason})`,
      );
      return true;
    });
  }
});

Deno.test("normalizeEmail() rejects an address that punycode makes longer than 254", () => {
  // Scattered CJK code points: punycode needs several ASCII characters for each.
  const label = (from: number) =>
    Array.from({ length: 30 }, (_, i) => String.fromCodePoint(from + (i * i * 131) % 9000))
      .join("");
  const input = "a@" + [0x4e00, 0x5100, 0x5400, 0x5700, 0x5a00].map(label).join(".") + ".jp";
  ok(input.length <= 254);
  throws(() => normalizeEmail(input), /longer than 254 characters once normalized/);
});

const localChar = fc.constantFrom(..."abcXYZK019._-'!#$%&*/=?^`{|}~éÉßİ+\u0301\u212a".split(""));
const domainLabel = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/);
const unicodeLabel = fc.constantFrom("bücher", "MÜNCHEN", "日本", "пример", "faß", "xn--bcher-kva");
const domain = fc.array(fc.oneof(domainLabel, unicodeLabel), { minLength: 1, maxLength: 3 })
  .chain((labels) =>
    fc.constantFrom("com", "DE", "org", "gmail.com", "googlemail.com", "Gmail.Com")
      .map((tld) => [...labels, tld].join("."))
  );
const email = fc.tuple(
  fc.string({ unit: localChar, minLength: 1, maxLength: 20 }),
  domain,
  fc.constantFrom("", "Jane", '"Doe, J"'),
  fc.constantFrom("", " ", "\t"),
).map(([local, dom, name, pad]) => {
  const addr = local + "@" + dom;
  return pad + (name ? `${name} <${addr}>` : addr) + pad;
});

function tryNormalize(input: string): string | undefined {
  try {
    return normalizeEmail(input).address;
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

Deno.test("normalizeEmail() is idempotent", () => {
  let normalized = 0;
  fc.assert(
    fc.property(email, (input) => {
      const once = tryNormalize(input);
      if (once === undefined) return;
      normalized++;
      const twice = normalizeEmail(once);
      equal(twice.address, once);
      equal(twice.tag, undefined);
      assertStorable(once);
    }),
    { numRuns: 1000 },
  );
  ok(normalized > 500, `only ${normalized} of 1000 generated addresses normalized`);
});

Deno.test("normalizeEmail() ignores case and +tags", () => {
  fc.assert(
    fc.property(email, fc.string({ unit: localChar, maxLength: 8 }), (input, tag) => {
      const base = tryNormalize(input);
      if (base === undefined || base.startsWith("+") || base.includes("+")) return;
      const [local, dom] = base.split("@");
      equal(normalizeEmail(`${local}+${tag}@${dom}`).address, base);
      const shouted = input.replace(/[a-z]/g, (c) => c.toUpperCase());
      equal(normalizeEmail(shouted).address, base);
      const upper = `${local.replace(/[a-z]/g, (c) => c.toUpperCase())}@${dom.toUpperCase()}`;
      equal(normalizeEmail(upper).address, base);
    }),
    { numRuns: 1000 },
  );
});
