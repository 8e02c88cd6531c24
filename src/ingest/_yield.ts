/**
 * A turn of the event loop in which sockets are read, for long synchronous work that
 * shares the thread with database round trips.
 *
 * The worker prepares the next batch (parse, validate, normalize: ~50 ms of JavaScript
 * for 500 events) while the current batch's transaction runs. A drain's timeline showed
 * that transaction as the critical path, and a round trip's result that arrived during
 * the preparation waited for all of it before the next statement was sent. Preparing in
 * slices, with a turn of the event loop between them, lets that result be handled when it
 * arrives.
 *
 * Not every way of yielding reads sockets in Deno (measured with a query answered while a
 * loop of 1 ms slices yields after each): `setTimeout(0)` does, but is clamped to ~2 ms a
 * turn; `setImmediate` (node:timers) and `MessageChannel` do not (the query's result
 * waited for the whole loop); a promise does not. The completion of an asynchronous
 * operation does, at ~50 µs: here, a digest of one byte, which needs no permission.
 *
 * @module
 */

const ONE_BYTE = new Uint8Array(1);

/**
 * Resolves after a turn of the event loop that has read whatever the sockets hold.
 *
 * @example Usage
 * ```ts
 * import { yieldToIo } from "./_yield.ts";
 * for (let i = 0; i < 3; i++) await yieldToIo();
 * ```
 */
export async function yieldToIo(): Promise<void> {
  await crypto.subtle.digest("SHA-1", ONE_BYTE);
}
