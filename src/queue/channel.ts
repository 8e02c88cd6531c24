/**
 * The notification channel of the queue: the insert trigger of
 * `inbound_events` (migration 0003) and `queue retry` notify it; long-running
 * workers LISTEN on it. The migration's SQL cannot import this constant, so a
 * test checks that the trigger names the same channel.
 *
 * @module
 */

/** The channel long-running workers LISTEN on. */
export const QUEUE_CHANNEL = "convo_inbound_events";
