/**
 * Phone-side address normalization for SMS and MMS: E.164 numbers, short codes
 * and alphanumeric sender ids, classified before any parsing so a short code
 * never turns into a made-up E.164 number.
 *
 * @module
 */
import {
  type CountryCode,
  getCountryCallingCode,
  isSupportedCountry,
  Metadata,
  parsePhoneNumberFromString,
  type PhoneNumber,
} from "libphonenumber-js/max";
import { LruCache } from "../lru.ts";

/** A normalized SMS/MMS address. */
export interface NormalizedPhone {
  /** What the address is. */
  kind: "e164" | "shortcode" | "sender_id";
  /**
   * `+<digits>` (E.164: `^\+[1-9][0-9]{1,14}$`), `sc:<3–8 digits>`, or
   * `id:<1–11 of A–Z 0–9 space . & _ ->` with at least one letter.
   */
  value: string;
}

/** Options of {@link normalizePhone}. */
export interface PhoneOptions {
  /** ISO 3166 region for numbers without a country code. Default `US`. */
  region?: string;
}

/** The default region for national numbers. */
export const DEFAULT_REGION = "US";

/**
 * Whether `region` is a two-letter ISO 3166 region (upper case) with a
 * numbering plan: the one check of a phone region, for config, CLI options and
 * {@link normalizePhone}.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPhoneRegion } from "./phone.ts";
 * assert.equal(isPhoneRegion("GB"), true);
 * assert.equal(isPhoneRegion("gb"), false);
 * assert.equal(isPhoneRegion("XX"), false);
 * ```
 */
export function isPhoneRegion(region: string): region is CountryCode {
  return /^[A-Z]{2}$/.test(region) && isSupportedCountry(region as CountryCode);
}

/** Entries kept by the parse cache (the same numbers recur in a batch). */
const CACHE_SIZE = 10_000;
// key: see cacheKey; value: the frozen result or the error reason.
const cache = new LruCache<string, NormalizedPhone | string>(CACHE_SIZE);

/**
 * The cache key of `input` in `region`: `region + "\0" + input`, or the input alone in the
 * default region when it holds no U+0000 (then it cannot equal another region's key, which
 * holds one). The concatenation was a new string to flatten and hash at every lookup: the
 * default region is nearly every lookup, and the input's hash is kept on the string.
 */
function cacheKey(input: string, region: string): string {
  return region === DEFAULT_REGION && !input.includes("\0") ? input : region + "\0" + input;
}

const URI_SCHEME = /^(?:tel|sms):(?:\/\/)?/i;
/** `whatsapp:+1…`, `messenger:123`: a URI-scheme-like prefix (`tel:`, `sms:`, `sc:`, `id:` are ours). */
const SCHEME_PREFIX = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const PHONE_SCHEMES = new Set(["tel", "sms", "sc", "id"]);
const KNOWN_CHANNELS = new Set(["whatsapp", "messenger", "rcs", "apple", "line", "viber"]);
// Digits libphonenumber reads besides ASCII: full-width, Arabic-Indic, Eastern Arabic-Indic.
// Each block starts at a code point ending in 0, so `& 0xf` is the digit.
const OTHER_DIGITS = /[\uff10-\uff19\u0660-\u0669\u06f0-\u06f9]/g;
const NOT_PLAIN_ASCII = /[^\x20-\x7e\t\n\r]/;
const URI_PARAMS = /[;?].*$/s;
const SHORT_CODE_PREFIX = /^sc:/i;
const SENDER_ID_PREFIX = /^id:/i;
const LETTER = /\p{L}/u;
const ASCII_LETTER = /[A-Za-z]/;
// Visual separators people and providers put in numbers: whitespace (NBSP
// included), parentheses, dots, ASCII and Unicode hyphens and the minus sign.
const FORMATTING = /[\s().\-\u2010-\u2015\u2212]/g;
const DIGITS = /^[0-9]+$/;
const SHORT_CODE = /^[0-9]{3,8}$/;
const E164 = /^\+[1-9][0-9]{1,14}$/;
const SENDER_ID = /^[A-Za-z0-9 .&_-]+$/;
const WHITESPACE_RUN = /\s+/g;

function fail(input: string, reason: string): never {
  const shown = input.length > 100 ? input.slice(0, 100) + "…" : input;
  throw new RangeError(`Cannot parse phone number: current value is '${shown}' (${reason})`);
}

function senderId(text: string): NormalizedPhone | string {
  const id = text.replace(WHITESPACE_RUN, " ").trim();
  if (id === "") return "empty sender id";
  if (!SENDER_ID.test(id)) {
    return "a sender id may contain only letters A-Z, digits, spaces and . & _ -";
  }
  if (!ASCII_LETTER.test(id)) return "a sender id needs at least one letter";
  if (id.length > 11) return "a sender id has at most 11 characters";
  return { kind: "sender_id", value: "id:" + id.toUpperCase() };
}

// Whether a region is the main one of its calling code (US for +1, GB for +44),
// whose metadata libphonenumber uses to parse `+<code>…`. `getCountryCodeForCallingCode`
// is not in the typings; without it every region counts as not main, which
// only costs speed (see stableE164).
const mainRegions = new Map<string, boolean>();
function isMainRegion(region: CountryCode): boolean {
  let main = mainRegions.get(region);
  if (main === undefined) {
    const metadata = new Metadata() as unknown as {
      getCountryCodeForCallingCode?: (callingCode: string) => string | undefined;
    };
    main = typeof metadata.getCountryCodeForCallingCode === "function" &&
      metadata.getCountryCodeForCallingCode(getCountryCallingCode(region)) === region;
    mainRegions.set(region, main);
  }
  return main;
}

/** What a parse was made from, for {@link stableE164}. */
interface ParseSource {
  /** The `+digits` parsed, for an international input. */
  international?: string;
  /** The digits parsed, for a national input, and their region. */
  national?: string;
  region?: CountryCode;
}

/**
 * The E.164 form of a parse, if it is one that parses to itself again. Some
 * are not: libphonenumber strips a national prefix after the country code, so
 * `+4900000000` → `+490000000` → `+49000000` …; keeping such a value would make
 * normalization not idempotent (a stored value that normalizes to another key).
 *
 * Parsing again costs as much as the first parse (~8 µs for +1 numbers), so it
 * is skipped where the answer is known: the input was this very `+digits`; or
 * it was national digits from which nothing was stripped, in the main region of
 * the calling code, so parsing `+<code><digits>` repeats the same steps with
 * the same metadata on the same digits.
 */
function stableE164(parsed: PhoneNumber | undefined, source: ParseSource): string | undefined {
  if (!parsed || !parsed.isPossible()) return undefined;
  const number = parsed.number;
  if (!E164.test(number)) return undefined;
  if (number === source.international) return number;
  if (
    source.national !== undefined && parsed.nationalNumber === source.national &&
    source.region !== undefined && isMainRegion(source.region)
  ) {
    return number;
  }
  return parsePhoneNumberFromString(number, { extract: false })?.number === number
    ? number
    : undefined;
}

/**
 * Why an address is not a phone spelling at all, or `undefined` when it may be one: the one
 * decision, shared by {@link normalizePhone} and every event schema that takes a phone
 * number, that an address prefixed with another channel (`whatsapp:+1…`, `messenger:…`)
 * is not an SMS/MMS address. `tel:`, `sms:` (RFC 3966 / 5724 URIs) and the normalized
 * `sc:` / `id:` forms are phone spellings.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { notPhoneSpelling } from "./phone.ts";
 * assert.equal(notPhoneSpelling("tel:+14152753122"), undefined);
 * assert.equal(notPhoneSpelling("\uff0b\uff11\uff14\uff11\uff15"), undefined);
 * assert.equal(
 *   notPhoneSpelling("whatsapp:+14155550101"),
 *   "channel 'whatsapp' is not supported (sms and mms only)",
 * );
 * ```
 */
export function notPhoneSpelling(address: string): string | undefined {
  const prefix = SCHEME_PREFIX.exec(address.trim());
  if (!prefix) return undefined;
  const name = prefix[1].toLowerCase();
  if (PHONE_SCHEMES.has(name)) return undefined;
  return KNOWN_CHANNELS.has(name)
    ? `channel '${name}' is not supported (sms and mms only)`
    : "a channel-prefixed address is not supported (sms and mms only)";
}

/** Full-width forms to ASCII (NFKC), and the other digit blocks libphonenumber reads. */
function foldDigits(text: string): string {
  return text.normalize("NFKC").replace(
    OTHER_DIGITS,
    (d) => String.fromCharCode(48 + (d.charCodeAt(0) & 0xf)),
  );
}

function classify(input: string, region: CountryCode): NormalizedPhone | string {
  // Only text that was refused before can change here: every accepted spelling is ASCII
  // or whitespace and Unicode dashes, which NFKC leaves as formatting.
  let text = (NOT_PLAIN_ASCII.test(input) ? foldDigits(input) : input).trim();
  const otherChannel = notPhoneSpelling(text);
  if (otherChannel) return otherChannel;
  const scheme = URI_SCHEME.exec(text);
  if (scheme) text = text.slice(scheme[0].length).replace(URI_PARAMS, "").trim();
  if (text === "") return "empty";

  // Already normalized forms parse to themselves.
  if (SHORT_CODE_PREFIX.test(text)) {
    const digits = text.slice(3);
    return SHORT_CODE.test(digits)
      ? { kind: "shortcode", value: "sc:" + digits }
      : "a short code has 3 to 8 digits";
  }
  if (SENDER_ID_PREFIX.test(text)) return senderId(text.slice(3));
  if (LETTER.test(text)) return senderId(text);

  const digits = text.replace(FORMATTING, "");
  if (digits.startsWith("+")) {
    if (!DIGITS.test(digits.slice(1))) return "only digits may follow '+'";
    const parsed = parsePhoneNumberFromString(digits, { extract: false });
    const number = stableE164(parsed, { international: digits });
    return number ? { kind: "e164", value: number } : "not a possible international number";
  }
  if (!DIGITS.test(digits)) return "not a number, short code or sender id";
  if (digits.startsWith("00")) {
    // The international prefix of most of the world. "000" and the like are
    // not international numbers: they fall through to the national rules.
    const international = "+" + digits.slice(2);
    const parsed = parsePhoneNumberFromString(international, { extract: false });
    const number = stableE164(parsed, { international });
    if (number) return { kind: "e164", value: number };
  }
  if (digits.length < 3) return "too short for a number or a short code";
  const parsed = parsePhoneNumberFromString(digits, { defaultCountry: region, extract: false });
  if (digits.length <= 8) {
    // Short lengths are where short codes live. Some regions (DE) allow national
    // numbers this short, so "possible" is not enough: only a number valid in
    // the region's plan is a phone number, anything else is a short code.
    const number = parsed?.isValid() ? stableE164(parsed, { national: digits, region }) : undefined;
    return number ? { kind: "e164", value: number } : { kind: "shortcode", value: "sc:" + digits };
  }
  const number = stableE164(parsed, { national: digits, region });
  return number ? { kind: "e164", value: number } : `not a possible number in region ${region}`;
}

/**
 * Normalizes an SMS/MMS address. Classified first:
 *
 * 1. Full-width characters become ASCII (NFKC) and Arabic-Indic digits ASCII digits;
 *    `tel:` / `sms:` prefixes (and URI parameters) are removed; `sc:` and `id:`
 *    (already normalized forms) are kept as they are; another channel's prefix
 *    (`whatsapp:`, see {@link notPhoneSpelling}) is refused.
 * 2. Anything with a letter is an alphanumeric sender id → `id:<UPPERCASE>`
 *    (inner whitespace collapsed, at most 11 characters of A–Z 0–9 space . & _ -).
 * 3. Formatting (whitespace, `()`, `.`, hyphens) is removed. `+…` is an
 *    international number → E.164 if libphonenumber finds it possible, else an
 *    error; so is `00…` when possible (else it goes on to the next rule).
 * 4. Digits only: a possible number of `region` → E.164 (for 3–8 digits it must
 *    also be valid there); otherwise 3–8 digits → short code `sc:<digits>`.
 *
 * Results are cached (bounded LRU, 10 000 entries) and frozen.
 *
 * @throws {RangeError} naming the value and the reason when it is none of these,
 * or when `region` is not a region libphonenumber knows.
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { normalizePhone } from "./phone.ts";
 * equal(normalizePhone("tel:(415) 555-2671").value, "+14155552671");
 * equal(normalizePhone("+44 20 7946 0958").value, "+442079460958");
 * equal(normalizePhone("020 7946 0958", { region: "GB" }).value, "+442079460958");
 * equal(normalizePhone("12345").value, "sc:12345");
 * equal(normalizePhone(" Acme  Bank ").value, "id:ACME BANK");
 * ```
 */
export function normalizePhone(input: string, options: PhoneOptions = {}): NormalizedPhone {
  const region = options.region ?? DEFAULT_REGION;
  const key = cacheKey(input, region);
  let outcome = cache.get(key);
  if (outcome === undefined) {
    if (!isPhoneRegion(region)) {
      throw new RangeError(
        `Cannot use phone region: current value is '${region}' (not an ISO 3166 region with a numbering plan)`,
      );
    }
    outcome = classify(input, region);
    if (typeof outcome !== "string") outcome = Object.freeze(outcome);
    cache.set(key, outcome);
  }
  if (typeof outcome === "string") fail(input, outcome);
  return outcome;
}

/**
 * Empties the parse cache of {@link normalizePhone} (benchmarks and tests).
 *
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { clearPhoneCache, normalizePhone } from "./phone.ts";
 * clearPhoneCache();
 * equal(normalizePhone("911").value, "sc:911");
 * ```
 */
export function clearPhoneCache(): void {
  cache.clear();
}
