/**
 * Endpoint kinds: what our own numbers and mailboxes are.
 *
 * @module
 */
import { type Channel, CHANNELS } from "../normalize/address.ts";

/** What an endpoint is: a phone-side address (sms, mms) or a mailbox (email). */
export type EndpointKind = Channel;

/** The endpoint kinds, for validation and help texts. */
export const ENDPOINT_KINDS: readonly EndpointKind[] = CHANNELS;
