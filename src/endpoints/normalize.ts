/**
 * An endpoint address normalized for its kind, as ingest normalizes the same
 * address on an event (so routing finds it).
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { EndpointAddressError } from "./errors.ts";
import { normalizeEmail } from "../normalize/email.ts";
import { normalizePhone } from "../normalize/phone.ts";
import { ENDPOINT_KINDS, type EndpointKind } from "./types.ts";

/**
 * Normalizes an endpoint address for its kind, turning the normalizer's
 * RangeError (which names the value and the reason) into a usage error.
 *
 * @throws {EndpointAddressError} (a usage error) when the address cannot be normalized.
 * @throws {UsageError} when the kind or region is unknown.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeEndpoint } from "./normalize.ts";
 * assert.equal(normalizeEndpoint("sms", "(415) 555-0100"), "+14155550100");
 * assert.equal(normalizeEndpoint("mms", "020 7946 0958", "GB"), "+442079460958");
 * assert.equal(normalizeEndpoint("email", "Support+Web@Example.COM"), "support@example.com");
 * assert.throws(() => normalizeEndpoint("email", "nope"), /no '@'/);
 * ```
 */
export function normalizeEndpoint(kind: EndpointKind, address: string, region?: string): string {
  try {
    switch (kind) {
      case "email":
        return normalizeEmail(address).address;
      case "sms":
      case "mms":
        return normalizePhone(address, { region }).value;
    }
  } catch (err) {
    if (err instanceof RangeError) {
      if (err.message.startsWith("Cannot use phone region")) {
        throw new UsageError(err.message, {
          hint: "give a two-letter ISO 3166 region such as US, GB or DE",
        });
      }
      throw new EndpointAddressError(err.message, {
        kind,
        hint: kind === "email"
          ? "give an email address such as support@example.com"
          : "give a phone number (+14155550100, or national with its region), a short code or a sender id",
      });
    }
    throw err;
  }
  throw new UsageError(`invalid endpoint kind: current value is '${kind}'`, {
    hint: `expected one of ${ENDPOINT_KINDS.join(", ")}`,
  });
}
