/**
 * Email address normalization: the form stored in `email_addresses.lowered`,
 * hashed into its key and used in conversation keys.
 *
 * @module
 */

/** An email address in normalized form, with what was taken out of it. */
export interface NormalizedEmail {
  /**
   * `local@domain`: lowercase, no whitespace, one `@`, domain in ASCII
   * (punycode), `+tag` removed; gmail.com and googlemail.com as gmail.com
   * with the dots of the local part removed. At most 254 characters.
   */
  address: string;
  /** The `+tag` of the local part, without the `+`, as written (NFC). */
  tag?: string;
  /** The display name (`"Jane Doe" <jane@x.com>` → `Jane Doe`), unquoted. */
  displayName?: string;
}

const MAX_LENGTH = 254;
// The RFC 5321 path limit, checked on the address as given and as normalized.

// Characters never allowed unquoted in a local part (RFC 5322 `specials`
// without `.` and `@`, which are handled apart), controls and whitespace.
// Dots are allowed anywhere: some providers hand out `a..b` or `a.` and
// rejecting them would dead-letter real mail.
// deno-lint-ignore no-control-regex
const LOCAL_FORBIDDEN = /[\s\x00-\x1f\x7f-\x9f()<>\[\]:;\\,"]/;
const ASCII_DOMAIN = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
// Characters the URL parser would read as something other than a host
// (port, path, query, credentials, percent-escapes) or as whitespace.
const DOMAIN_FORBIDDEN = /[\s\/\\?#@:\[\]%<>"]/;
const NUMERIC_LABEL = /(?:^|\.)[0-9]+$/;
const GMAIL = new Set(["gmail.com", "googlemail.com"]);

function fail(value: string, reason: string): never {
  const shown = value.length > 100 ? value.slice(0, 100) + "…" : value;
  throw new RangeError(`Cannot parse email address: current value is '${shown}' (${reason})`);
}

/** Splits `Name <addr>` into its parts; a bare address has no display name. */
function splitDisplayName(input: string): { addr: string; displayName?: string } {
  if (!input.endsWith(">")) return { addr: input };
  const open = input.lastIndexOf("<");
  if (open < 0) fail(input, "'>' without '<'");
  let name = input.slice(0, open).trim();
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) {
    name = name.slice(1, -1).replace(/\\(.)/g, "$1").trim();
  }
  return {
    addr: input.slice(open + 1, -1).trim(),
    displayName: name === "" ? undefined : name.normalize("NFC"),
  };
}

function asciiDomain(domain: string, input: string): string {
  if (ASCII_DOMAIN.test(domain) && !domain.includes("xn--")) {
    if (NUMERIC_LABEL.test(domain)) fail(input, "domain is not a host name");
    return domain;
  }
  if (DOMAIN_FORBIDDEN.test(domain)) fail(input, "bad character in domain");
  // The WHATWG URL host parser does IDNA (UTS #46): maps (case, width, NFC),
  // encodes punycode and validates `xn--` labels. Checked in Deno 2.9:
  // `node:url` domainToASCII gives the same results (and "" on error).
  let host: string;
  try {
    host = new URL("http://" + domain).hostname;
  } catch {
    fail(input, "domain is not a valid internationalized domain name");
  }
  if (!ASCII_DOMAIN.test(host)) {
    fail(input, host.split(".").includes("") ? "empty label in domain" : "bad character in domain");
  }
  if (NUMERIC_LABEL.test(host)) fail(input, "domain is not a host name");
  return host;
}

/**
 * Normalizes an email address, with or without a display name.
 *
 * Steps: trim; split off a display name (`"Jane Doe" <Jane@X.com>`); NFC and
 * lowercase; domain to ASCII punycode; `+tag` removed from the local part and
 * returned apart (not when the local part would be left empty);
 * googlemail.com → gmail.com and, for gmail, dots removed from the local part.
 *
 * @throws {RangeError} naming the value and the reason, for a quoted local part,
 * no `@` or more than one, an empty local part or domain, a character not
 * allowed, a bad domain, or more than 254 characters.
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { normalizeEmail } from "./email.ts";
 * const n = normalizeEmail('"Jane Doe" <Jane.Doe+News@GoogleMail.com>');
 * equal(n.address, "janedoe@gmail.com");
 * equal(n.tag, "News");
 * equal(n.displayName, "Jane Doe");
 * equal(normalizeEmail("bob@Bücher.de").address, "bob@xn--bcher-kva.de");
 * ```
 */
export function normalizeEmail(input: string): NormalizedEmail {
  const trimmed = input.trim();
  const parts = splitDisplayName(trimmed);
  const displayName = parts.displayName;
  if (!parts.addr.isWellFormed()) fail(input, "not well-formed Unicode");
  // NFC before any check: it can map a character to one the checks forbid
  // (U+037E GREEK QUESTION MARK is canonically ';').
  const addr = parts.addr.normalize("NFC");
  if (addr === "") fail(input, "empty address");
  if (addr.length > MAX_LENGTH) fail(input, `longer than ${MAX_LENGTH} characters`);
  if (addr.startsWith('"')) fail(input, "quoted local part");
  const at = addr.indexOf("@");
  if (at < 0) fail(input, "no '@'");
  if (addr.indexOf("@", at + 1) >= 0) fail(input, "more than one '@'");
  let local = addr.slice(0, at);
  let domain = addr.slice(at + 1);
  if (local === "") fail(input, "empty local part");
  if (domain === "") fail(input, "empty domain");
  if (LOCAL_FORBIDDEN.test(local)) fail(input, "character not allowed in local part");

  let tag: string | undefined;
  const plus = local.indexOf("+");
  if (plus > 0) {
    tag = local.slice(plus + 1);
    local = local.slice(0, plus);
  }
  local = local.toLowerCase();
  domain = asciiDomain(domain.toLowerCase(), input);
  if (GMAIL.has(domain)) {
    domain = "gmail.com";
    local = local.replaceAll(".", "");
    if (local === "") fail(input, "empty local part");
  }
  // Lowercasing and removing dots can each leave a string that is not NFC
  // ("K.\u0301" → "k\u0301" → "ḱ"), so NFC comes last.
  local = local.normalize("NFC");

  const address = local + "@" + domain;
  if (address.length > MAX_LENGTH) {
    fail(input, `longer than ${MAX_LENGTH} characters once normalized`);
  }
  const result: NormalizedEmail = { address };
  if (tag !== undefined) result.tag = tag;
  if (displayName !== undefined) result.displayName = displayName;
  return result;
}
