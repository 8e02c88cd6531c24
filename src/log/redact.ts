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
  const digits = address.replace(/\D/g, "");
  if (digits.length <= 4) return "*".repeat(address.length);
  const head = address.startsWith("+") ? `+${digits.slice(0, 1)}` : "";
  const tail = digits.slice(-4);
  return head + "*".repeat(digits.length - tail.length - (head ? 1 : 0)) + tail;
}

const EMAIL_IN_TEXT = /[^\s'"<>(),;:@]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const PHONE_IN_TEXT = /\+?\d[\d ().-]{5,}\d/g;

/**
 * Masks every email address and phone number found in free text (an error
 * message naming a value), so it can go to a log.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskText } from "./redact.ts";
 * assert.equal(
 *   maskText("no endpoint for jane@example.com or +1 415 555 0100"),
 *   "no endpoint for j***@example.com or +1******0100",
 * );
 * assert.equal(maskText("event 12 failed"), "event 12 failed");
 * ```
 */
export function maskText(text: string): string {
  return text.replace(EMAIL_IN_TEXT, (m) => maskAddress(m))
    .replace(PHONE_IN_TEXT, (m) => maskAddress(m.replace(/[^\d+]/g, "")));
}
