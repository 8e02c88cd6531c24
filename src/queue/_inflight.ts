/**
 * The batches of one `enqueue` run that are in the database, and the idempotency keys they
 * hold: which rows may go in the next batch, and which must wait.
 *
 * A row whose key is in a batch not yet committed waits for that batch: were it sent in a
 * second batch on another connection, that transaction would wait on the first one's
 * unique-index entry (two of ours could even deadlock), and the later line could be the one
 * stored. Holding it back keeps the first occurrence of a key the stored one and keeps our
 * own transactions from waiting on each other.
 *
 * No SQL here: a batch is a promise, so tests drive this with promises they settle.
 *
 * @module
 */
import { type BatchRows, emptyRows } from "./_enqueue_insert.ts";

/** A batch sent and not yet awaited, with the idempotency keys it holds. */
interface Flight {
  done: Promise<void>;
  keys: Set<string>;
  settled: boolean;
}

/**
 * Batches in the database at once (at most `maxInFlight`) and the keys of those not yet
 * settled.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { InFlight } from "./_inflight.ts";
 * import { emptyRows } from "./_enqueue_insert.ts";
 * const flights = new InFlight(2);
 * let commit = () => {};
 * flights.track(["k1"], (settled) =>
 *   new Promise<void>((resolve) => {
 *     commit = () => {
 *       settled();
 *       resolve();
 *     };
 *   }));
 * const rows = emptyRows();
 * for (const key of ["k1", "k2", null]) {
 *   rows.elements.push("{}");
 *   rows.types.push("twilio.message");
 *   rows.keys.push(key);
 *   rows.sources.push(0);
 *   rows.lineNos.push(rows.keys.length);
 * }
 * assert.deepEqual(flights.split(rows).hold.keys, ["k1"]);
 * commit();
 * await flights.waitForAll();
 * assert.deepEqual(flights.split(rows).hold.keys, []);
 * ```
 */
export class InFlight {
  readonly #max: number;
  /** In the order sent; the oldest leaves first when a slot is wanted. */
  readonly #flights: Flight[] = [];

  /** Tracks up to `maxInFlight` batches at once. */
  constructor(maxInFlight: number) {
    if (!(Number.isSafeInteger(maxInFlight) && maxInFlight >= 1)) {
      throw new RangeError(
        `Cannot track batches: maxInFlight must be ≥ 1, current value is '${maxInFlight}'`,
      );
    }
    this.#max = maxInFlight;
  }

  /**
   * Waits until fewer than `maxInFlight` batches are tracked, awaiting the oldest first.
   * Rejects as a batch's promise does.
   */
  async freeSlot(): Promise<void> {
    while (this.#flights.length >= this.#max) await this.#flights.shift()!.done;
  }

  /**
   * Splits rows into those that can be sent now and those whose key is in a batch not yet
   * settled (`hold`), each in the rows' order. A row without a key is never held.
   */
  split(rows: BatchRows): { send: BatchRows; hold: BatchRows } {
    const busy = this.#flights.filter((f) => !f.settled);
    if (busy.length === 0) return { send: rows, hold: emptyRows() };
    return partition(rows, (key) => busy.some((f) => f.keys.has(key)));
  }

  /** Waits for the batches not yet settled. Rejects as a batch's promise does. */
  async waitForBusy(): Promise<void> {
    for (const f of this.#flights.filter((f) => !f.settled)) await f.done;
  }

  /** Waits for every batch tracked. Rejects as a batch's promise does. */
  async waitForAll(): Promise<void> {
    for (const f of this.#flights) await f.done;
  }

  /**
   * Tracks a batch holding `keys`: `start` sends it and calls `settled` as soon as the
   * database is done with it (before anything else its handlers do), which frees its keys.
   * Call {@link freeSlot} first.
   */
  track(
    keys: readonly (string | null)[],
    start: (settled: () => void) => Promise<void>,
  ): void {
    const flight: Flight = { done: Promise.resolve(), keys: new Set(), settled: false };
    // With one batch in flight at a time nothing is ever held: no keys to remember.
    if (this.#max > 1) { for (const key of keys) if (key !== null) flight.keys.add(key); }
    flight.done = start(() => {
      flight.settled = true;
    });
    this.#flights.push(flight);
  }
}

/** Splits rows into those to send now and those whose key `isHeld`, keeping order. */
function partition(
  rows: BatchRows,
  isHeld: (key: string) => boolean,
): { send: BatchRows; hold: BatchRows } {
  const send = emptyRows();
  const hold = emptyRows();
  for (let i = 0; i < rows.elements.length; i++) {
    const key = rows.keys[i];
    const to = key !== null && isHeld(key) ? hold : send;
    to.elements.push(rows.elements[i]);
    to.types.push(rows.types[i]);
    to.keys.push(key);
    to.sources.push(rows.sources[i]);
    to.lineNos.push(rows.lineNos[i]);
  }
  return { send, hold };
}
