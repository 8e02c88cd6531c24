/**
 * Keeping secrets and personal data out of output: database URL passwords are
 * replaced, email addresses and phone numbers are masked.
 *
 * @module
 */

/**
 * Replaces the password of a connection URL with `***`. Also works on text that
 * is not a valid URL (a malformed `--database-url`), so it is safe to call on
 * anything a user typed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "./redact.ts";
 * assert(
 *   redactUrl("postgres://app:hunter2@db:5432/convo") === "postgres://app:***@db:5432/convo",
 * );
 * ```
 */
export function redactUrl(url: string): string {
  // scheme://user:password@host — the password runs to the last '@' of the
  // authority, which may itself contain '@' or ':' when not percent-encoded.
  return url.replace(
    /^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:)([^/?#]*)@/i,
    (_all, head: string) => `${head}***@`,
  ).replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, "$1***");
}

/**
 * Masks an email address or phone number for logs: enough to tell two apart
 * while debugging, not enough to read them.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskAddress } from "./redact.ts";
 * assert(maskAddress("jane.doe@example.com") === "j***@example.com");
 * assert(maskAddress("+14155550123") === "+1******0123");
 * assert(maskAddress("sc:12345") === "sc:12345");
 * ```
 */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf("@");
  if (at > 0) return `${address.slice(0, 1)}***${address.slice(at)}`;
  // Short codes and sender ids are public, not personal.
  if (address.startsWith("sc:") || address.startsWith("id:")) return address;
  // Any script's digits (full-width, Arabic-Indic, …), not only ASCII.
  const digits = [...address.replace(NOT_DIGIT, "")];
  if (digits.length <= 4) return "*".repeat(address.length);
  const head = /^[+\uff0b]/.test(address) ? `+${digits[0]}` : "";
  const tail = digits.slice(-4).join("");
  return head + "*".repeat(digits.length - 4 - (head ? 1 : 0)) + tail;
}

const NOT_DIGIT = /\P{Nd}/gu;
// Email-like: any run holding an `@`, well-formed or not (`jane.doe@@example.com`,
// `jane@example..com`, `jane@localhost`): the text around a malformed address is an
// error message quoting it, and that is where it must not leak.
// A lone `@` (as in "more than one '@'") is not an address.
const EMAIL =
  /[^\s'"`<>()[\]{},;@]+@[^\s'"`<>()[\]{},;]*|@[^\s'"`<>()[\]{},;@][^\s'"`<>()[\]{},;]*/gu;
// Phone-like: an optional + (or full-width ＋), then digits of any script (ASCII,
// full-width, Arabic-Indic, …) with spaces, dots, hyphens or parentheses (ASCII or
// full-width) between them; not inside a word or an id, not the fraction of a time
// (10:00:00.123456), and not a short code (sc:…).
const PHONE =
  /(?<![\p{L}\p{N}_+\uff0b])(?<!\p{Nd}[:.])(?<!sc:)[+\uff0b]?[(\uff08\p{Nd}][\p{Nd} ().\-\u3000\uff08\uff09\uff0d\uff0e]*\p{Nd}(?![\p{L}\p{N}_])/gu;
const DATE = /^\d{4}-\d{2}-\d{2}/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * Masks what looks like an email address or a phone number in free text
 * (an error message), with `maskAddress`: `j***@example.com`,
 * `+1******0123`. An email address is any run holding an `@`, malformed ones
 * included (`jane.doe@@example.com` → `j***@example.com`). A phone number is a
 * run of 7 or more digits of any script (full-width, Arabic-Indic), optionally
 * after `+`, with spaces, dots, hyphens or parentheses between them; dates
 * (`2026-11-21`) and IPv4 addresses are left alone, as are short codes
 * (`sc:12345`) and runs of fewer than 7 digits. It errs on the side of
 * masking: a long number that is not a phone number is masked too.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskText } from "./redact.ts";
 * assert.equal(
 *   maskText("no endpoint for +14155550123 or Jane.Doe@example.com at 2026-11-21 10:00"),
 *   "no endpoint for +1******0123 or J***@example.com at 2026-11-21 10:00",
 * );
 * assert.equal(maskText("call (415) 555-0123"), "call ******0123");
 * assert.equal(maskText("attempt 3 of 5, short code sc:12345"), "attempt 3 of 5, short code sc:12345");
 * ```
 */
export function maskText(text: string): string {
  return text
    .replace(EMAIL, (email) => maskAddress(email))
    .replace(PHONE, (run) => {
      const digits = run.replace(NOT_DIGIT, "").length;
      // More than 15 digits is not one number, but may be two side by side.
      if (digits < 7 || DATE.test(run) || IPV4.test(run)) return run;
      return maskAddress(run);
    });
}
