import assert from "node:assert/strict";
import { htmlToText } from "../../src/ingest/_html.ts";

Deno.test("htmlToText() keeps the text, drops markup, head, style, script and comments", () => {
  const cases: [string, string][] = [
    ["<p>Hi &amp; bye</p><p>x&#39;y &#x41;</p>", "Hi & bye\nx'y A"],
    [
      "<html><head><title>Invoice</title><style>p{color:red}</style></head>" +
      "<body><p>Hi,</p><p>3 boxes, we got 2.</p><!-- tracking --><p>Dana</p></body></html>",
      "Hi,\n3 boxes, we got 2.\nDana",
    ],
    ["<SCRIPT type='x'>alert('<p>')</SCRIPT>Hello<BR>World", "Hello\nWorld"],
    ["line one<br/>line two<br><br>three", "line one\nline two\n\nthree"],
    ["<div>outer<div>inner</div>tail</div>", "outer\ninner\ntail"],
    [
      "<table><tr><td>Qty</td><td>2</td></tr><tr><td>Total</td><td>$4</td></tr></table>",
      "Qty 2 \nTotal $4",
    ],
    ["caf&eacute; &hellip; &euro;5 &nbsp;x &#128512;", "café … €5 \u00a0x 😀"],
    ["a < b and c > d, 1<2", "a < b and c > d, 1<2"],
    ["&unknown; &amp &#0; &#xFFFFFFF;", "&unknown; & \ufffd \ufffd"],
    // A head never closed ends at the body, as in a browser.
    ["<head><title>t</title><body>Hello", "Hello"],
    // A self-closed script has no content (the tokenizer does not enter raw text).
    ["<script/>Hello", "Hello"],
    ['<a href="https://x.example/?a=1&amp;b=2" title="<p>">link</a>', "link"],
    ["", ""],
  ];
  for (const [html, text] of cases) assert.equal(htmlToText(html), text, html);
});

Deno.test("htmlToText() handles nesting deeper than any stack", () => {
  // html-to-text overflows the call stack at 20 000 nested elements; the
  // tokenizer keeps no stack at all.
  const n = 200_000;
  assert.equal(htmlToText("<div>".repeat(n) + "x" + "</div>".repeat(n)), "x");
  assert.equal(htmlToText("<style>".repeat(n) + "x"), "");
  assert.equal(htmlToText("<b>".repeat(n) + "x" + "</i>".repeat(n)), "x");
});

// Adversarial inputs of about `n` characters: unterminated tags, comments and
// raw-text elements (quadratic for the regexes this replaced), deep nesting and
// unmatched end tags (quadratic for htmlparser2's Parser, which keeps open
// elements in an array it unshifts and searches), entity and attribute spam.
const ADVERSARIAL: Record<string, (n: number) => string> = {
  "<": (n) => "<".repeat(n),
  "</": (n) => "</".repeat(n / 2),
  "<!--": (n) => "<!--".repeat(n / 4),
  "<style": (n) => "<style".repeat(n / 6),
  "<head>": (n) => "<head>".repeat(n / 6),
  "<div>": (n) => "<div>".repeat(n / 5),
  "<b>…</i>": (n) => "<b>".repeat(n / 7) + "</i>".repeat(n / 7),
  "<table><tr><td>": (n) => "<table><tr><td>".repeat(n / 15),
  "&#": (n) => "&#".repeat(n / 2),
  "&amp": (n) => "&amp".repeat(n / 4),
  "<a b=": (n) => "<a" + " b=".repeat(n / 3),
};

function elapsed(repeat: number, fn: () => void): number {
  const start = performance.now();
  for (let r = 0; r < repeat; r++) fn();
  return performance.now() - start;
}

Deno.test("htmlToText() does the same work per character on 8× the adversarial input", () => {
  // How this is measured, and why: there is no deterministic step count to
  // read (the work happens inside htmlparser2's tokenizer and V8's string
  // functions), so this times, but it sets no wall-clock threshold. It
  // compares the same number of input characters processed two ways: 8 runs
  // on n characters against 1 run on 8n. Machine speed and load cancel out:
  // linear work gives a ratio near 1, quadratic work a ratio near 8 (the
  // regexes this replaced gave 8–60 here). Each span is made at least 30 ms
  // long, after a warm-up, so timer resolution and JIT tiers do not count;
  // load only ever adds time, so each side is the best of 5 interleaved
  // trials. A ratio of 3 sits far from both.
  const n = 8_000;
  for (const [name, make] of Object.entries(ADVERSARIAL)) {
    const small = make(n);
    const big = make(8 * n);
    const pair = (repeat: number) => ({
      big: elapsed(repeat, () => htmlToText(big)),
      small: elapsed(8 * repeat, () => htmlToText(small)),
    });
    const warm = Math.max(pair(1).big, pair(1).big, pair(1).big);
    const repeat = Math.max(1, Math.ceil(30 / Math.max(warm, 0.01)));
    let bigMs = Infinity;
    let smallMs = Infinity;
    for (let trial = 0; trial < 5; trial++) {
      const t = pair(repeat);
      bigMs = Math.min(bigMs, t.big);
      smallMs = Math.min(smallMs, t.small);
    }
    const ratio = bigMs / smallMs;
    assert.ok(
      ratio < 3,
      `'${name}': ${big.length} chars took ${ratio.toFixed(1)}× as long as 8 × ${small.length} ` +
        `(${bigMs.toFixed(1)} ms vs ${smallMs.toFixed(1)} ms): work grows faster than the input`,
    );
  }
});
