/**
 * `--participant ADDR`: any spelling of a phone number or email address, in
 * the normalized form ingest stores in `conversations.participants`.
 *
 * @module
 */
import { normalizeAddress } from "../normalize/address.ts";

/** Options of {@link normalizeParticipant}. */
export interface ParticipantOptions {
  /** The channel, when known; else an address with `@` is email, any other a phone. */
  channel?: "sms" | "email";
  /** Region for national phone numbers (ISO 3166); default `US`. */
  region?: string;
}

/**
 * Normalizes a participant address with the code ingest uses
 * ({@link normalizeAddress}), guessing the channel from an `@` when none is given.
 *
 * @throws {RangeError} when the address cannot be normalized.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeParticipant } from "./participant.ts";
 * assert.equal(normalizeParticipant("(415) 555-0100"), "+14155550100");
 * assert.equal(normalizeParticipant("+1 415-555-0100"), "+14155550100");
 * assert.equal(normalizeParticipant("Jane.Doe+tag@Example.COM"), "jane.doe@example.com");
 * assert.equal(normalizeParticipant("020 7946 0958", { region: "GB" }), "+442079460958");
 * ```
 */
export function normalizeParticipant(value: string, options: ParticipantOptions = {}): string {
  const channel = options.channel ?? (value.includes("@") ? "email" : "sms");
  return normalizeAddress(channel, value, { region: options.region });
}
