/**
 * The `(id, attempts)` arrays that identify claims in the queue's batched statements.
 *
 * @module
 */
import { bareArray } from "../db/array_literal.ts";

/**
 * Ids and attempts of claimed events, in the given order, as array literals (for
 * `::bigint[]` and `::int[]`: see `db/array_literal.ts`).
 */
export function claimArrays(
  events: readonly { id: bigint; attempts: number }[],
): { ids: string; attempts: string } {
  return { ids: bareArray(events, (e) => e.id), attempts: bareArray(events, (e) => e.attempts) };
}
