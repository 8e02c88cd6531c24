import { equal, ok } from "node:assert/strict";
import fc from "fast-check";
import { normalizeBody } from "../../src/normalize/body.ts";

/** The database CHECK on normalized bodies (for a non-empty one). */
function assertStorable(body: string): void {
  ok(!/[\r\n\t]/.test(body), "no CR, LF or tab");
  ok(!body.includes("  "), "no two consecutive spaces");
  equal(body, body.replace(/^ +| +$/g, ""), "equal to its btrim");
  ok(!body.includes("\0"), "no U+0000");
  ok(body.isWellFormed(), "well-formed");
  equal(body, body.normalize("NFC"), "NFC");
}

Deno.test("normalizeBody() normalizes the awkward cases", () => {
  const table: [string, string][] = [
    ["hello", "hello"],
    ["  hello  ", "hello"],
    ["line one\r\nline two\rline three\nend", "line one line two line three end"],
    ["a\r\n\r\n\r\nb", "a b"],
    ["tabs\t\tand\vfeeds\f!", "tabs and feeds !"],
    [
      "no\u00a0break\u2003em\u3000ideographic\u2028ls\u2029ps\ufeffbom",
      "no break em ideographic ls ps bom",
    ],
    ["nul\0removed", "nulremoved"],
    ["nul \0 between spaces", "nul between spaces"],
    ["cafe\u0301", "caf\u00e9"],
    ["e\0\u0301", "\u00e9"],
    ["\u1100\u1161", "\uac00"],
    ["lone \ud800 surrogate", "lone \ufffd surrogate"],
    ["👨‍👩‍👧 family", "👨‍👩‍👧 family"],
    ["", ""],
    [" \r\n\t\0 ", ""],
  ];
  for (const [input, want] of table) {
    const got = normalizeBody(input);
    equal(got, want, JSON.stringify(input));
    assertStorable(got);
  }
});

Deno.test("normalizeBody() keeps characters JS does not count as whitespace", () => {
  // U+0085 (NEL) and U+200B (zero width space) are not JS `\s`.
  equal(normalizeBody("a\u0085b\u200bc"), "a\u0085b\u200bc");
});

const bodyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({
    unit: fc.constantFrom(
      "a",
      "é",
      "e",
      "\u0301",
      " ",
      "\t",
      "\r",
      "\n",
      "\0",
      "\u00a0",
      "👍",
      "\u200d",
      "\ud800",
    ),
    maxLength: 40,
  }),
);

Deno.test("normalizeBody() is idempotent", () => {
  fc.assert(
    fc.property(bodyText, (text) => {
      const once = normalizeBody(text);
      equal(normalizeBody(once), once);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("normalizeBody() output always fits the database CHECK", () => {
  fc.assert(
    fc.property(bodyText, (text) => assertStorable(normalizeBody(text))),
    { numRuns: 2000 },
  );
});

Deno.test("normalizeBody() changes nothing but whitespace, U+0000 and canonical form", () => {
  fc.assert(
    fc.property(bodyText, (text) => {
      const strip = (s: string) => s.toWellFormed().replace(/[\s\0]/g, "").normalize("NFD");
      equal(strip(normalizeBody(text)), strip(text));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("normalizeBody() skips the whitespace fold only where the fold changes nothing", () => {
  // The definition, written out: the fold skipped for text without a foldable run must
  // give what folding it would.
  const reference = (text: string) =>
    text.replace(/\0/g, "").toWellFormed().normalize("NFC").replace(/\s+/g, " ").trim();
  fc.assert(
    fc.property(bodyText, (text) => equal(normalizeBody(text), reference(text))),
    { numRuns: 3000 },
  );
  for (const text of ["a b", "a  b", "a\u00a0b", "a \u2003b", " a", "a\u3000", "a\u0085b"]) {
    equal(normalizeBody(text), reference(text), JSON.stringify(text));
  }
});
