/**
 * Plain text from HTML, for an email that has no text part: enough for a body
 * key and a snippet, not a renderer.
 *
 * @module
 */

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
};

/**
 * Drops `<head>`, `<style>`, `<script>` and comments, turns block ends into
 * line breaks, removes tags and decodes common entities.
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
  return html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(head|style|script)\b[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<br\s*\/?>|<\/(p|div|li|tr|h[1-6]|blockquote)\s*>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, e: string) => {
      if (e[0] === "#") {
        const cp = e[1] === "x" || e[1] === "X"
          ? parseInt(e.slice(2), 16)
          : parseInt(e.slice(1), 10);
        return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
      }
      return ENTITIES[e.toLowerCase()] ?? all;
    })
    .trim();
}
