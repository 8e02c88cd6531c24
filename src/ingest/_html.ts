/**
 * Plain text from HTML, for an email that has no text part: enough for a body
 * key and a snippet, not a renderer.
 *
 * Linear in the input, whatever the input: an email body is attacker-chosen.
 * The regexes this replaces were quadratic on unterminated constructs
 * (`"<".repeat(40000)` took 1.7 s, 80 000 took 8 s; a 262 KB HTML-only email
 * held `work --drain` for 40 s, past its claim). The lexing is htmlparser2's
 * `Tokenizer`, a single-pass state machine; its `Parser` and `html-to-text` on
 * top of it are not used because they are not linear here: the Parser keeps
 * open elements in an array it `unshift`s and `indexOf`s (160 000 nested
 * `<div>` took 17 s, 320 000 took 73 s), and html-to-text walks the tree
 * recursively (20 000 nested `<div>` overflow the stack). What we need from a
 * tree (skip `<head>`, `<style>`, `<script>`; line breaks at block ends) needs
 * no stack: a counter for the element being skipped is enough.
 *
 * @module
 */
import { Tokenizer } from "htmlparser2";

// Elements whose content is not message text.
const SKIP = new Set(["head", "style", "script", "title", "template"]);
// Elements that start and end a line.
const BLOCK = new Set([
  "address",
  "article",
  "blockquote",
  "center",
  "dd",
  "div",
  "dl",
  "dt",
  "footer",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "header",
  "hr",
  "li",
  "ol",
  "p",
  "pre",
  "section",
  "table",
  "tr",
  "ul",
]);
// Table cells: separated by a space, so "<td>a</td><td>b</td>" is not "ab".
const CELL = new Set(["td", "th"]);

/**
 * Drops `<head>`, `<style>`, `<script>`, `<title>` and comments, puts block
 * elements and `<br>` on lines of their own, removes tags and decodes entities
 * (every HTML5 named entity, numeric ones). Runs in time linear in the input.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { htmlToText } from "./_html.ts";
 * assert.equal(
 *   htmlToText("<style>p{}</style><p>Hi &amp; bye</p><p>x&#39;y &#x41;</p>"),
 *   "Hi & bye\nx'y A",
 * );
 * ```
 */
export function htmlToText(html: string): string {
  const out: string[] = [];
  // Whether the last piece written ends a line (nothing written counts too:
  // no leading blank line).
  let atLineStart = true;
  const write = (text: string) => {
    if (text === "") return;
    out.push(text);
    atLineStart = text.endsWith("\n");
  };
  const lineBreak = () => {
    if (!atLineStart) write("\n");
  };
  // The element whose content is being dropped, and how many of it are open.
  let skipping: string | undefined;
  let skipDepth = 0;
  let tagName = "";
  const name = (start: number, end: number) => html.slice(start, end).toLowerCase();

  const openTag = (selfClosing: boolean) => {
    if (skipping !== undefined) {
      if (tagName === skipping && !selfClosing) skipDepth++;
      // A body element ends a head that was never closed.
      else if (skipping === "head" && tagName === "body") skipping = undefined;
      return;
    }
    // The tokenizer does not switch to raw text for `<script/>`, so neither
    // does this: a self-closed skip element has no content to skip.
    if (SKIP.has(tagName) && !selfClosing) {
      skipping = tagName;
      skipDepth = 1;
    } else if (tagName === "br") write("\n");
    else if (BLOCK.has(tagName)) lineBreak();
  };

  const tokenizer = new Tokenizer({ decodeEntities: true }, {
    ontext(start, end) {
      if (skipping === undefined) write(html.slice(start, end));
    },
    ontextentity(codePoint) {
      if (skipping === undefined) write(String.fromCodePoint(codePoint));
    },
    onopentagname(start, end) {
      tagName = name(start, end);
    },
    onopentagend() {
      openTag(false);
    },
    onselfclosingtag() {
      openTag(true);
    },
    onclosetag(start, end) {
      const closed = name(start, end);
      if (skipping !== undefined) {
        if (closed === skipping && --skipDepth === 0) skipping = undefined;
      } else if (BLOCK.has(closed)) lineBreak();
      else if (CELL.has(closed)) write(" ");
    },
    // Attributes, comments, CDATA, declarations and processing instructions
    // carry no message text.
    onattribdata() {},
    onattribentity() {},
    onattribend() {},
    onattribname() {},
    oncdata() {},
    oncomment() {},
    ondeclaration() {},
    onprocessinginstruction() {},
    onend() {},
  });
  tokenizer.write(html);
  tokenizer.end();
  return out.join("").trim();
}
