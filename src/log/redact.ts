/**
 * Keeping secrets and personal data out of output: database URL passwords are
 * replaced (a connection string that is not an unambiguous URL is never
 * echoed, only described), email addresses and phone numbers are masked.
 *
 * @module
 */

// A query parameter that carries a secret (libpq's password and sslpassword,
// anything named like one), up to its value.
const SECRET_PARAM = /[?&][^=&]*(?:pass|pwd|secret|token|sslkey)[^=&]*=/i;
// `scheme://` at the start of a connection string.
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
// libpq's other form: `host=db user=app password=…`.
const KEYWORD_FORM = /^[a-z_][a-z0-9_]*\s*=/i;
const ENCODE_HINT = "in the user name and password, write / ? # @ : as %2F %3F %23 %40 %3A";

/**
 * What is wrong with a connection string that cannot be shown as a URL with
 * its password hidden, described by its shape and never by its text; or
 * `undefined` for a URL whose user name, password, host and query are
 * unambiguous. Ambiguous means the password could end up printed as part of
 * the host, path, query or fragment: `postgres://app:pa/ss@db/convo` is host
 * `app`, port `pa`; `postgres://app:1/ss@db/convo` is host `app`, port 1 and a
 * database named `ss@db/convo`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionStringProblem } from "./redact.ts";
 * assert.equal(connectionStringProblem("postgres://app:pw@db/convo"), undefined);
 * assert.match(connectionStringProblem("host=db password=pw")!, /key=value/);
 * assert.match(connectionStringProblem("postgres://app:1/pw@db/convo")!, /%2F/);
 * ```
 */
export function connectionStringProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (KEYWORD_FORM.test(trimmed)) {
    return "a libpq key=value string (host=… user=… password=…), not a URL";
  }
  const scheme = SCHEME.exec(trimmed);
  if (!scheme) return "not a URL: it does not start with a scheme such as postgres://";
  try {
    new URL(trimmed);
  } catch {
    return `a URL that cannot be parsed (is the port a number from 1 to 65535? ${ENCODE_HINT})`;
  }
  // The authority ends at the first '/', '?' or '#'; an '@' after that is one
  // of those characters, unencoded, in the user name or password.
  const rest = trimmed.slice(scheme[0].length);
  const end = rest.search(/[/?#]/);
  if (end >= 0 && rest.includes("@", end)) return `an ambiguous URL (${ENCODE_HINT})`;
  return undefined;
}

/**
 * A connection URL safe to print: the password replaced with `***`, and the
 * query from the first secret parameter's value on (`password=`,
 * `sslpassword=`…), the fragment dropped. A
 * string that is not an unambiguous URL is never echoed, not even in part:
 * its shape is described instead (see {@link connectionStringProblem}), so it
 * is safe to call on anything a user typed.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "./redact.ts";
 * assert.equal(
 *   redactUrl("postgres://app:hunter2@db:5432/convo"),
 *   "postgres://app:***@db:5432/convo",
 * );
 * assert.equal(
 *   redactUrl("host=db password=hunter2"),
 *   "(a libpq key=value string (host=… user=… password=…), not a URL; not shown)",
 * );
 * ```
 */
export function redactUrl(text: string): string {
  const problem = connectionStringProblem(text);
  if (problem !== undefined) return `(${problem}; not shown)`;
  const url = new URL(text.trim());
  if (url.password !== "") url.password = "***";
  url.hash = "";
  // From a secret's value on, the query is hidden: an unencoded '&' in it
  // would otherwise leave the part after it on show.
  const secret = SECRET_PARAM.exec(url.search);
  if (secret) url.search = url.search.slice(0, secret.index + secret[0].length) + "***";
  return url.href;
}

// `password=…` in free text (a libpq key=value string, a query string).
const KEYWORD_SECRET =
  /\b((?:ssl)?password|pass|pwd)(\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|\S*)/gi;
const URL_END = /[\s'"<>`]/;

/**
 * Hides connection secrets in free text (an error message, a stack trace):
 * in every word (a run without spaces or quotes) shaped like
 * `[scheme://]user:password@host`, what lies between the user name's `:` and
 * the last `@` (so a password with an unencoded `/`, `?`, `#` or `@` is hidden
 * whole); and the value of every `password=…`. Linear in the text.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactSecrets } from "./redact.ts";
 * assert.equal(
 *   redactSecrets("Invalid URL: 'postgres://app:pa/ss@db/convo' (host=db password=x user=a)"),
 *   "Invalid URL: 'postgres://app:***@db/convo' (host=db password=*** user=a)",
 * );
 * ```
 */
export function redactSecrets(text: string): string {
  let out = "";
  let copied = 0;
  let end = 0;
  while (end < text.length) {
    if (URL_END.test(text[end])) {
      end++;
      continue;
    }
    // One word: the user name's ':' (the first one after any scheme's '://'
    // and before any '@'), and the last '@'.
    let colon = -1;
    let at = -1;
    // Whether the word so far could be a scheme (a letter, then letters,
    // digits, '+', '-', '.').
    let schemeLike = /[a-z]/i.test(text[end]);
    for (; end < text.length && !URL_END.test(text[end]); end++) {
      const c = text[end];
      if (c === "@") at = end;
      else if (c === ":" && at < 0) {
        if (schemeLike && text.startsWith("//", end + 1)) end += 2;
        else if (colon < 0) colon = end;
      }
      schemeLike &&= /[a-z0-9+.-]/i.test(c);
    }
    if (colon >= 0 && colon < at) {
      out += text.slice(copied, colon + 1) + "***";
      copied = at;
    }
  }
  out += text.slice(copied);
  return out.replace(KEYWORD_SECRET, "$1$2***");
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

/**
 * Masks every email- or phone-like text in a JSON value's strings with
 * {@link maskText}, walking its objects and arrays: the structure, the keys,
 * numbers, booleans and nulls stay as they are (a payload shown with its
 * addresses masked is still the same JSON shape).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskJson } from "./redact.ts";
 * assert.deepEqual(
 *   maskJson({ From: "+14155550142", ToFull: [{ Email: "jane@example.com", Name: "Jane" }], n: 1 }),
 *   { From: "+1******0142", ToFull: [{ Email: "j***@example.com", Name: "Jane" }], n: 1 },
 * );
 * ```
 */
export function maskJson(value: unknown): unknown {
  if (typeof value === "string") return maskText(value);
  if (Array.isArray(value)) return value.map(maskJson);
  if (typeof value === "object" && value !== null) {
    // fromEntries defines properties: a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskJson(v)]));
  }
  return value;
}
