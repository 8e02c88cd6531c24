/**
 * Endpoint kinds: what our own numbers and mailboxes are.
 *
 * @module
 */

/** What an endpoint is: a phone-side address (sms, mms) or a mailbox (email). */
export type EndpointKind = "sms" | "mms" | "email";

/** The endpoint kinds, for validation and help texts. */
export const ENDPOINT_KINDS: readonly EndpointKind[] = ["sms", "mms", "email"];
