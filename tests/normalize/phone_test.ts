import {
  deepEqual,
  equal,
  match,
  notStrictEqual,
  ok,
  strictEqual,
  throws,
} from "node:assert/strict";
import fc from "fast-check";
import { isValidPhoneNumber } from "libphonenumber-js/max";
import { clearPhoneCache, normalizePhone } from "../../src/normalize/phone.ts";

/** The database CHECKs on phone-side addresses. */
function assertStorable(value: string): void {
  ok(
    /^\+[1-9][0-9]{1,14}$/.test(value) || /^sc:[0-9]{3,8}$/.test(value) ||
      (/^id:[A-Z0-9 .&_-]{1,11}$/.test(value) && /[A-Z]/.test(value)),
    `${value} would fail the database CHECK`,
  );
}

function tryNormalize(input: string, region: string): string | undefined {
  try {
    return normalizePhone(input, { region }).value;
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

Deno.test("normalizePhone() normalizes numbers, short codes and sender ids", () => {
  const table: [string, string, string, string][] = [
    // input, region, kind, value
    ["+1 (415) 555-2671", "US", "e164", "+14155552671"],
    ["(415) 555-2671", "US", "e164", "+14155552671"],
    ["415.555.2671", "US", "e164", "+14155552671"],
    ["1-415-555-2671", "US", "e164", "+14155552671"],
    ["14155552671", "US", "e164", "+14155552671"],
    ["415\u00a0555\u00a02671", "US", "e164", "+14155552671"],
    ["415\u2010555\u20132671", "US", "e164", "+14155552671"],
    ["tel:+1-415-555-2671", "US", "e164", "+14155552671"],
    ["TEL:4155552671", "US", "e164", "+14155552671"],
    ["sms:+14155552671", "US", "e164", "+14155552671"],
    ["sms://+14155552671?body=hello", "US", "e164", "+14155552671"],
    ["tel:+1-415-555-2671;ext=12", "US", "e164", "+14155552671"],
    ["+44 20 7946 0958", "US", "e164", "+442079460958"],
    ["0044 20 7946 0958", "US", "e164", "+442079460958"],
    ["011 44 20 7946 0958", "US", "e164", "+442079460958"],
    ["020 7946 0958", "GB", "e164", "+442079460958"],
    ["07911 123456", "GB", "e164", "+447911123456"],
    ["030 12345678", "DE", "e164", "+493012345678"],
    ["+49 (0)30 12345678", "US", "e164", "+493012345678"],
    ["12345", "US", "shortcode", "sc:12345"],
    ["911", "US", "shortcode", "sc:911"],
    ["123456", "US", "shortcode", "sc:123456"],
    ["12345678", "US", "shortcode", "sc:12345678"],
    ["555-1234", "US", "shortcode", "sc:5551234"],
    ["12345", "DE", "shortcode", "sc:12345"],
    ["44844", "GB", "shortcode", "sc:44844"],
    ["tel:12345", "US", "shortcode", "sc:12345"],
    ["sc:44844", "US", "shortcode", "sc:44844"],
    ["SC:44844", "DE", "shortcode", "sc:44844"],
    ["Acme", "US", "sender_id", "id:ACME"],
    [" Acme  Bank ", "US", "sender_id", "id:ACME BANK"],
    ["acme-co", "US", "sender_id", "id:ACME-CO"],
    ["A&B_C.D", "US", "sender_id", "id:A&B_C.D"],
    ["Verify\u00a02FA", "US", "sender_id", "id:VERIFY 2FA"],
    ["1800FLOWERS", "US", "sender_id", "id:1800FLOWERS"],
    ["id:ACME", "GB", "sender_id", "id:ACME"],
  ];
  for (const [input, region, kind, value] of table) {
    deepEqual(normalizePhone(input, { region }), { kind, value }, `${input} (${region})`);
    assertStorable(value);
  }
});

Deno.test("normalizePhone() defaults to region US", () => {
  equal(normalizePhone("(415) 555-2671").value, "+14155552671");
});

Deno.test("normalizePhone() keeps +44 20 7946 0958 British with region US", () => {
  equal(normalizePhone("+44 20 7946 0958", { region: "US" }).value, "+442079460958");
  equal(normalizePhone("+442079460958", { region: "DE" }).value, "+442079460958");
});

Deno.test("normalizePhone() gives national, international and formatted forms one value", () => {
  const forms = [
    "+14155552671",
    "+1 415 555 2671",
    "+1 (415) 555-2671",
    "1 (415) 555-2671",
    "(415) 555-2671",
    "415-555-2671",
    "4155552671",
    "001 415 555 2671",
    "tel:+1-415-555-2671",
  ];
  deepEqual([...new Set(forms.map((f) => normalizePhone(f, { region: "US" }).value))], [
    "+14155552671",
  ]);
  const british = ["+44 20 7946 0958", "020 7946 0958", "(020) 7946-0958", "0044 20 79460958"];
  deepEqual([...new Set(british.map((f) => normalizePhone(f, { region: "GB" }).value))], [
    "+442079460958",
  ]);
});

Deno.test("normalizePhone() never makes a short code into an E.164 number", () => {
  equal(normalizePhone("12345").value, "sc:12345");
  notStrictEqual(normalizePhone("12345").value, "+112345");
  for (const digits of ["000", "112", "5551234", "44844", "123456", "12345678"]) {
    equal(normalizePhone(digits, { region: "US" }).value, "sc:" + digits);
  }
  // Only a number libphonenumber holds valid in the region becomes E.164 (in
  // US/CA, 310-XXXX is a Canadian 7-digit number); anything else stays a code.
  fc.assert(
    fc.property(
      fc.stringMatching(/^[0-9]{3,8}$/),
      fc.constantFrom("US", "GB", "DE", "FR", "IN", "BR"),
      (digits, region) => {
        const got = normalizePhone(digits, { region });
        if (got.kind === "e164") ok(isValidPhoneNumber(got.value), `${digits} in ${region}`);
        else equal(got.value, "sc:" + digits);
      },
    ),
  );
});

Deno.test("normalizePhone() rejects what it cannot classify, naming the value and reason", () => {
  const table: [string, string, string][] = [
    ["", "US", "empty"],
    ["  ", "US", "empty"],
    ["tel:", "US", "empty"],
    ["12", "US", "too short for a number or a short code"],
    ["+12345", "US", "not a possible international number"],
    ["+1 415 555 267", "US", "not a possible international number"],
    ["+999 1234567", "US", "not a possible international number"],
    ["+0 1234567", "US", "not a possible international number"],
    ["+1 415 555 2671#", "US", "only digits may follow '+'"],
    ["123456789", "US", "not a possible number in region US"],
    ["*123#", "US", "not a number, short code or sender id"],
    ["ThisIsTooLong", "US", "a sender id has at most 11 characters"],
    [
      "+1 415 555 2671 ext. 9",
      "US",
      "a sender id may contain only letters A-Z, digits, spaces and . & _ -",
    ],
    ["Café", "US", "a sender id may contain only letters A-Z, digits, spaces and . & _ -"],
    ["id:1234", "US", "a sender id needs at least one letter"],
    ["id: ", "US", "empty sender id"],
    ["sc:12", "US", "a short code has 3 to 8 digits"],
    ["sc:123456789", "US", "a short code has 3 to 8 digits"],
  ];
  for (const [input, region, reason] of table) {
    throws(() => normalizePhone(input, { region }), (err: unknown) => {
      ok(err instanceof RangeError, input);
      equal(err.message, `Cannot parse phone number: current value is '${input}' (${reason})`);
      return true;
    });
  }
});

Deno.test("normalizePhone() never returns a value that normalizes to another", () => {
  // libphonenumber strips a national prefix after the country code, so these
  // would drift one digit per pass; they are rejected instead.
  throws(() => normalizePhone("+4900000000"), /not a possible international number/);
  throws(() => normalizePhone("000000000", { region: "DE" }), /not a possible number in region DE/);
  throws(
    () => normalizePhone("0000000000", { region: "IN" }),
    /not a possible number in region IN/,
  );
});

Deno.test("normalizePhone() rejects an unknown region", () => {
  throws(
    () => normalizePhone("4155552671", { region: "XX" }),
    /Cannot use phone region: current value is 'XX'/,
  );
  throws(() => normalizePhone("4155552671", { region: "us" }), RangeError);
});

Deno.test("normalizePhone() serves repeats from its cache, frozen, errors included", () => {
  clearPhoneCache();
  const first = normalizePhone("(415) 555-2671");
  strictEqual(normalizePhone("(415) 555-2671"), first);
  ok(Object.isFrozen(first));
  // The region is part of the cache key.
  equal(normalizePhone("07911 123456", { region: "GB" }).value, "+447911123456");
  equal(tryNormalize("07911 123456", "US"), undefined);
  for (let i = 0; i < 2; i++) throws(() => normalizePhone("12"), /too short/);
});

Deno.test("normalizePhone() cache evicts the least recently used entry", () => {
  clearPhoneCache();
  const kept = normalizePhone("Kept");
  for (let i = 1; i < 10_000; i++) normalizePhone(`A${i}`); // cache now full
  strictEqual(normalizePhone("Kept"), kept); // a hit: now the most recent
  normalizePhone("B0"); // evicts A1, the least recently used
  strictEqual(normalizePhone("Kept"), kept);
  // 10 000 new entries push out everything before them, "Kept" last.
  for (let i = 1; i < 10_000; i++) normalizePhone(`C${i}`);
  strictEqual(normalizePhone("Kept"), kept, "still there after 9 999");
  for (let i = 0; i < 10_000; i++) normalizePhone(`D${i}`);
  const again = normalizePhone("Kept");
  notStrictEqual(again, kept);
  deepEqual(again, kept);
});

const digit = (from: number) => fc.integer({ min: from, max: 9 }).map(String);
const usNumber = fc.tuple(digit(2), digit(0), digit(0), digit(2), digit(0), digit(0))
  .chain((head) =>
    fc.stringMatching(/^[0-9]{4}$/).map((tail) => {
      const d = head.join("") + tail;
      return { npa: d.slice(0, 3), nxx: d.slice(3, 6), line: d.slice(6) };
    })
  );

Deno.test("normalizePhone() gives every format of a US number the same E.164", () => {
  fc.assert(
    fc.property(usNumber, fc.constantFrom("US", "CA", "GB"), ({ npa, nxx, line }, region) => {
      const want = `+1${npa}${nxx}${line}`;
      const international = [
        `+1${npa}${nxx}${line}`,
        `+1 (${npa}) ${nxx}-${line}`,
        `+1.${npa}.${nxx}.${line}`,
        `tel:+1-${npa}-${nxx}-${line}`,
        `001 ${npa} ${nxx} ${line}`,
      ];
      const national = [
        `(${npa}) ${nxx}-${line}`,
        `${npa}${nxx}${line}`,
        `1-${npa}-${nxx}-${line}`,
      ];
      for (const form of [...international, ...(region === "GB" ? [] : national)]) {
        equal(normalizePhone(form, { region }).value, want, form);
      }
    }),
  );
});

const phoneInput = fc.oneof(
  usNumber.map(({ npa, nxx, line }) => `(${npa}) ${nxx}-${line}`),
  fc.stringMatching(/^\+?[0-9 ()-]{1,18}$/),
  fc.stringMatching(/^(tel:|sms:|00)?[0-9]{3,12}$/),
  fc.stringMatching(/^[018]?0?[0-9]{6,11}$/),
  fc.stringMatching(/^[A-Za-z0-9 .&_-]{1,14}$/),
  fc.string({ maxLength: 16 }),
);

// Main regions of their calling code and others sharing one (CA: +1, GG: +44,
// KZ: +7), which libphonenumber parses with different metadata.
const regions = fc.constantFrom("US", "GB", "DE", "IN", "CA", "GG", "KZ");

Deno.test("normalizePhone() is idempotent, in any region", () => {
  let normalized = 0;
  fc.assert(
    fc.property(
      phoneInput,
      regions,
      regions,
      (input, region, otherRegion) => {
        const once = tryNormalize(input, region);
        if (once === undefined) return;
        normalized++;
        assertStorable(once);
        equal(normalizePhone(once, { region }).value, once);
        equal(normalizePhone(once, { region: otherRegion }).value, once);
      },
    ),
    { numRuns: 2000 },
  );
  ok(normalized > 500, `only ${normalized} of 2000 generated inputs normalized`);
});

Deno.test("normalizePhone() output always fits the database CHECK", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), phoneInput, (noise, input) => {
      for (const candidate of [noise, input]) {
        const got = tryNormalize(candidate, "US");
        if (got !== undefined) match(got, /^(\+|sc:|id:)/);
        if (got !== undefined) assertStorable(got);
      }
    }),
    { numRuns: 2000 },
  );
});
