import { equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { normalizeBody } from "../../src/normalize/body.ts";
import { DEFAULT_SNIPPET_LENGTH, snippet } from "../../src/normalize/snippet.ts";

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const graphemes = (s: string) => [...segmenter.segment(s)].map((g) => g.segment);

Deno.test("snippet() keeps a short text whole", () => {
  equal(snippet("Hello world"), "Hello world");
  equal(snippet("Hello", { length: 5 }), "Hello");
  equal(snippet(""), "");
});

Deno.test("snippet() cuts at N graphemes counting the ellipsis", () => {
  equal(snippet("Hello world", { length: 6 }), "Hello…");
  equal(snippet("abcdef", { length: 5 }), "abcd…");
  equal(snippet("abcdef", { length: 1 }), "…");
  equal(snippet("x".repeat(200)), "x".repeat(DEFAULT_SNIPPET_LENGTH - 1) + "…");
});

Deno.test("snippet() drops the space before the ellipsis", () => {
  equal(snippet("Hello world again", { length: 7 }), "Hello…");
});

Deno.test("snippet() never splits a grapheme cluster", () => {
  const family = "👨‍👩‍👧‍👦"; // ZWJ sequence, 11 code units
  const flag = "🇫🇷"; // two regional indicators
  const thumb = "👍🏽"; // emoji + skin tone modifier
  const combined = "e\u0301\u0323"; // base + two combining marks (not precomposable to one)
  const pair = "𝄞"; // one surrogate pair
  const text = family + flag + thumb + combined + pair + "tail";
  equal(snippet(text, { length: 2 }), family + "…");
  equal(snippet(text, { length: 3 }), family + flag + "…");
  equal(snippet(text, { length: 4 }), family + flag + thumb + "…");
  equal(snippet(text, { length: 5 }), family + flag + thumb + combined + "…");
  equal(snippet(text, { length: 6 }), family + flag + thumb + combined + pair + "…");
  equal(snippet(family + flag, { length: 2 }), family + flag);
});

Deno.test("snippet() may cut below U+0300 by index: each code unit is a cluster", () => {
  // snippet() cuts text without CR and without code units ≥ U+0300 by index.
  // Proof by exhaustion: in a+b+a+b… for every a, b < U+0300, the only pair the
  // segmenter joins is CR LF.
  for (let a = 0; a < 0x300; a++) {
    let text = "";
    for (let b = 0; b < 0x300; b++) text += String.fromCharCode(a, b);
    const joined = text.length - graphemes(text).length;
    equal(joined, a === 0x0d || a === 0x0a ? 1 : 0, `U+${a.toString(16)}`);
  }
  equal(snippet("©®\u00ad\u02ffabc", { length: 4 }), "©®\u00ad…");
  equal(snippet("abc\u0301def", { length: 4 }), "abc\u0301…");
});

Deno.test("snippet() rejects a length below 1 or not an integer", () => {
  throws(() => snippet("abc", { length: 0 }), RangeError);
  throws(() => snippet("abc", { length: 2.5 }), /current length is '2.5'/);
});

const anyText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.string({
    unit: fc.constantFrom("a", " ", "e\u0301", "👨‍👩‍👧", "🇫🇷", "👍🏽", "\u0301", "\u200d", "𝄞", "\n"),
    maxLength: 40,
  }),
);

Deno.test("snippet() stays within N graphemes, a well-formed prefix of the body", () => {
  fc.assert(
    fc.property(anyText, fc.integer({ min: 1, max: 30 }), (raw, length) => {
      const body = normalizeBody(raw);
      const cut = snippet(body, { length });
      ok(graphemes(cut).length <= length, `${graphemes(cut).length} > ${length}`);
      ok(cut.isWellFormed());
      const head = cut.endsWith("…") && cut !== body ? cut.slice(0, -1) : cut;
      ok(body.startsWith(head), "a prefix of the body");
      // A cut falls between clusters of the body.
      const bodyClusters = graphemes(body);
      equal(graphemes(head).join(""), bodyClusters.slice(0, graphemes(head).length).join(""));
      if (graphemes(body).length <= length) equal(cut, body);
      else ok(cut.endsWith("…"));
    }),
    { numRuns: 2000 },
  );
});

/** The definition: clusters counted by the segmenter over the whole text. */
function referenceSnippet(text: string, length: number): string {
  const clusters = graphemes(text.toWellFormed());
  if (clusters.length <= length) return text.toWellFormed();
  return clusters.slice(0, length - 1).join("").trimEnd() + "…";
}

Deno.test("snippet() equals the segmenter's cut wherever complex clusters fall around it", () => {
  // Plain text, then clusters the segmenter must join, starting just before, at or past
  // the cut: the by-index path may only be taken when it gives the same result.
  const tail = fc.string({
    unit: fc.constantFrom("a", " ", "\r\n", "\r", "e\u0301", "\u0301", "👍🏽", "🇫🇷", "\u200d", "한"),
    maxLength: 8,
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: -3, max: 3 }),
      tail,
      fc.string({ unit: "grapheme-ascii", maxLength: 10 }),
      (length, shift, complex, rest) => {
        const plain = "x".repeat(Math.max(0, length + shift));
        const text = plain + complex + rest;
        equal(snippet(text, { length }), referenceSnippet(text, length));
      },
    ),
    { numRuns: 3000 },
  );
});
