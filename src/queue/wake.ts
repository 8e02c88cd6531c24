/**
 * How a long-running worker wakes up: LISTEN on the queue's channel
 * ({@link QUEUE_CHANNEL}), and every idle loop waiting in `waitForWork` is woken
 * by the next notification, or by its poll timeout, or by its abort signal,
 * whichever is first. Without LISTEN (refused, or a drain run) the loops just
 * poll.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { QUEUE_CHANNEL } from "./channel.ts";

/** Wakes idle loops. */
export interface Wake {
  /**
   * Resolves on a notification, after `ms`, or when `signal` aborts: at once if it
   * already has (a stop that came while the loop was claiming).
   */
  waitForWork(ms: number, signal: AbortSignal): Promise<void>;
  /** Wakes every waiting loop now. */
  notify(): void;
  /** Stops listening (idempotent). */
  close(): Promise<void>;
}

/**
 * Makes a wake-up with no LISTEN: loops wake on {@link Wake.notify}, their
 * timeout or their signal.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { createWake } from "./wake.ts";
 * const wake = createWake();
 * const waiting = wake.waitForWork(60_000, new AbortController().signal);
 * wake.notify();
 * assert.equal(await waiting, undefined);
 * ```
 */
export function createWake(onClose: () => Promise<void> = () => Promise.resolve()): Wake {
  const waiting = new Set<() => void>();
  return {
    waitForWork: (ms, abort) =>
      new Promise<void>((resolve) => {
        // An abort event has already fired: waiting for one would wait out `ms`.
        if (abort.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          abort.removeEventListener("abort", done);
          waiting.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        abort.addEventListener("abort", done, { once: true });
        waiting.add(done);
      }),
    notify: () => [...waiting].forEach((w) => w()),
    close: onClose,
  };
}

/**
 * LISTENs on the queue's channel and wakes idle loops on each notification.
 * When LISTEN fails, `onListenError` is told and the loops poll only.
 */
export async function listenForWork(
  sql: Sql,
  onListenError: (err: unknown) => void,
): Promise<Wake> {
  let unlisten: (() => Promise<void>) | undefined;
  const wake = createWake(async () => {
    await unlisten?.().catch(() => {});
    unlisten = undefined;
  });
  try {
    const listener = await sql.listen(QUEUE_CHANNEL, () => wake.notify());
    unlisten = () => listener.unlisten();
  } catch (err) {
    onListenError(err);
  }
  return wake;
}
