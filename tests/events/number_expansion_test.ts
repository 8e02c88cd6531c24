/**
 * Numbers that PostgreSQL writes out in full (`1e131071` → 131,072 digits): `convo enqueue`
 * counts them against the payload cap, so that a short line cannot become an event the
 * worker's claim cannot read (it used to stop the queue: "out of memory (SQLSTATE 54000)").
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { numberExpansion } from "../../src/events/_number_expansion.ts";
import { parseEventLine } from "../../src/events/envelope.ts";
import { withTestDatabase } from "../_helpers/db.ts";

const CAP = 262_144;
const sms = {
  channel: "sms",
  provider_message_id: "m-1",
  from: "+14155550101",
  to: "+14155550100",
  sent_at: "2024-05-01T12:00:00Z",
};
const line = (extra: string) =>
  `{"event_type":"message.received","payload":{${
    JSON.stringify(sms).slice(1, -1)
  },"extra":${extra}}}`;

Deno.test("parseEventLine refuses a short line whose numbers the database writes out past the cap", () => {
  // 81 KB as written, ~1.2 GB as stored text: this line stopped every claim.
  const poison = line(`[${Array(9000).fill("1e131071").join(",")}]`);
  assert.ok(poison.length < CAP);
  const result = parseEventLine(poison, { maxPayloadBytes: CAP });
  assert.equal(result.ok, false);
  if (result.ok === false) {
    assert.match(result.reason, /^line is up to \d+ bytes as stored: the database writes numbers/);
    assert.match(result.reason, /over the 262144-byte cap; send such numbers as strings$/);
  }
  // Raw payloads (--type) too.
  const raw = `{${JSON.stringify(sms).slice(1, -1)},"x":[${Array(3).fill("1e99999").join(",")}]}`;
  const typed = parseEventLine(raw, { maxPayloadBytes: CAP, type: "message.received" });
  assert.equal(typed.ok, false);
  if (typed.ok === false) assert.match(typed.reason, /^payload is up to \d+ bytes as stored/);
});

Deno.test("parseEventLine keeps exponents that fit, and exponent-like text in strings", () => {
  // 62k numbers like 1e1 fill the cap and shrink when written out ("10").
  const many = `[${Array(62_000).fill("1e1").join(",")}]`;
  assert.equal(parseEventLine(line(many), { maxPayloadBytes: CAP }).ok, true);
  for (
    const extra of [
      "1.5e3",
      "[1e-9, 2E+10, -3.25e2]",
      `"1e131071"`,
      `{"note":"a:1e131071, b:[2e99999]"}`,
    ]
  ) {
    assert.equal(parseEventLine(line(extra), { maxPayloadBytes: CAP }).ok, true, extra);
  }
});

Deno.test("numberExpansion is 0 without a number with an exponent, whatever the strings hold", () => {
  fc.assert(
    fc.property(
      fc.jsonValue({ maxDepth: 3 }).filter((v) => !/e/i.test(JSON.stringify(v) ?? "")),
      fc.string(),
      (value, text) => {
        const json = JSON.stringify({ value, text: `${text}:1e99,[2e5` });
        assert.equal(numberExpansion(json), 0);
      },
    ),
  );
});

Deno.test("numberExpansion bounds what PostgreSQL's jsonb text adds to every number", async () => {
  await withTestDatabase(async ({ sql }) => {
    const numbers = fc.tuple(
      fc.constantFrom("", "-"),
      fc.stringMatching(/^(0|[1-9]\d{0,5})$/),
      fc.option(fc.stringMatching(/^\d{1,6}$/), { nil: undefined }),
      fc.constantFrom("e", "E"),
      fc.constantFrom("", "+", "-"),
      fc.integer({ min: 0, max: 3000 }),
    ).map(([sign, int, frac, e, esign, exp]) =>
      `${sign}${int}${frac === undefined ? "" : `.${frac}`}${e}${esign}${exp}`
    );
    const samples = fc.sample(fc.array(numbers, { minLength: 1, maxLength: 5 }), {
      numRuns: 300,
      seed: 3,
    });
    for (const tokens of samples) {
      const json = `[${tokens.join(",")}]`;
      const [{ stored }] = await sql<{ stored: number }[]>`
        select octet_length(${json}::text::jsonb::text) as stored`;
      // jsonb's text puts a space after each comma; the bound is on the numbers.
      const added = stored - json.length - (tokens.length - 1);
      assert.ok(
        numberExpansion(json) >= added,
        `${json}: PostgreSQL adds ${added}, the bound is ${numberExpansion(json)}`,
      );
      // Exact for a single number whose mantissa does not start with a zero.
      if (tokens.length === 1 && !/^-?0/.test(tokens[0]) && added >= 0) {
        assert.equal(numberExpansion(json), added, json);
      }
    }
  });
});
