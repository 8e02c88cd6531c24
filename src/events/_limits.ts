/**
 * Size limits of event payloads, shared by the schemas and the tests.
 *
 * @module
 */

/** Most recipients in `to`, and apart in `cc`. */
export const MAX_RECIPIENTS = 100;
/** Most attachments on one message. */
export const MAX_ATTACHMENTS = 50;
/** Longest subject: RFC 5322 caps a header line at 998 characters. */
export const MAX_SUBJECT = 998;
/** Longest address: 64 (local part) + 1 + 255 (domain); phone numbers are far shorter. */
export const MAX_ADDRESS = 320;
/** Longest provider message id (Twilio SIDs are 34, Postmark ids 36). */
export const MAX_MESSAGE_ID = 255;
/** Longest attachment URL (what browsers and CDNs reliably carry). */
export const MAX_URL = 2048;
/** Longest MIME type, attachment name or content id. */
export const MAX_SHORT_TEXT = 255;
/** Longest explicit idempotency key. */
export const MAX_IDEMPOTENCY_KEY = 200;
