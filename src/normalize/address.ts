/**
 * One entry point for "normalize this participant address" by channel.
 *
 * @module
 */
import { normalizeEmail } from "./email.ts";
import { normalizePhone, type PhoneOptions } from "./phone.ts";

/**
 * The channel of a message. MMS addresses are phone addresses, like SMS, and
 * MMS threads with SMS in conversations, but is kept apart on a message.
 */
export type Channel = "sms" | "mms" | "email";

/** The channels, for validation and help texts. */
export const CHANNELS: readonly Channel[] = ["sms", "mms", "email"];

/**
 * Normalizes a participant address for its channel: email → the normalized
 * address of {@link normalizeEmail}; sms/mms → the value of
 * {@link normalizePhone} (`+E.164`, `sc:…` or `id:…`).
 *
 * @throws {RangeError} when the address cannot be normalized or the channel is unknown.
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { normalizeAddress } from "./address.ts";
 * equal(normalizeAddress("email", "Jane <Jane+x@X.com>"), "jane@x.com");
 * equal(normalizeAddress("mms", "(415) 555-2671"), "+14155552671");
 * equal(normalizeAddress("sms", "07911 123456", { region: "GB" }), "+447911123456");
 * ```
 */
export function normalizeAddress(
  channel: Channel,
  raw: string,
  options: PhoneOptions = {},
): string {
  switch (channel) {
    case "email":
      return normalizeEmail(raw).address;
    case "sms":
    case "mms":
      return normalizePhone(raw, options).value;
    default:
      throw new RangeError(
        `Cannot normalize address: current channel is '${channel}' (expected sms, mms or email)`,
      );
  }
}
