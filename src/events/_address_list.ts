/**
 * Splits an email address-list header value (`To`, `Cc`, `From`) into its addresses.
 *
 * @module
 */

/**
 * Returns the addr-specs of an RFC 5322 address list, in order: display names, quoted
 * strings and comments are dropped; commas inside quotes, angle brackets or comments do
 * not split; group syntax (`Team: a@x.com, b@y.com;`, `undisclosed-recipients:;`)
 * yields the members. The addresses are raw (not lowercased, not validated).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAddressList } from "./_address_list.ts";
 * assert.deepEqual(
 *   parseAddressList('"Doe, Jane" <Jane+Ops@Example.com>, bob@example.org (Bob)'),
 *   ["Jane+Ops@Example.com", "bob@example.org"],
 * );
 * assert.deepEqual(parseAddressList("undisclosed-recipients:;"), []);
 * ```
 */
export function parseAddressList(text: string): string[] {
  const out: string[] = [];
  let plain = "";
  let angle: string | null = null;
  let inAngle = false;
  let inQuote = false;
  let inLiteral = false;
  let comment = 0;
  const flush = () => {
    const address = (angle ?? plain).trim();
    if (address !== "") out.push(address);
    plain = "";
    angle = null;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuote) {
      if (ch === "\\") i++;
      else if (ch === '"') inQuote = false;
      continue;
    }
    if (comment > 0) {
      if (ch === "\\") i++;
      else if (ch === "(") comment++;
      else if (ch === ")") comment--;
      continue;
    }
    if (inAngle) {
      if (ch === ">") inAngle = false;
      else angle = (angle ?? "") + ch;
      continue;
    }
    if (inLiteral) {
      // A domain literal, `[IPv6:::1]`: its colons are not group syntax.
      if (ch === "]") inLiteral = false;
      plain += ch;
      continue;
    }
    switch (ch) {
      case '"':
        inQuote = true;
        break;
      case "(":
        comment = 1;
        break;
      case "<":
        inAngle = true;
        angle = "";
        break;
      case ",":
      case ";":
        flush();
        break;
      case "[":
        inLiteral = true;
        plain += ch;
        break;
      case ":":
        // A group's display name ends here; its members follow.
        plain = "";
        break;
      default:
        plain += ch;
    }
  }
  flush();
  return out;
}
