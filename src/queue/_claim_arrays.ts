/**
 * The `(id, attempts)` arrays that identify claims in the queue's batched statements.
 *
 * @module
 */

/** Ids (as text, for `::bigint[]`) and attempts of claimed events, in the given order. */
export function claimArrays(
  events: readonly { id: bigint; attempts: number }[],
): { ids: string[]; attempts: number[] } {
  return { ids: events.map((e) => e.id.toString()), attempts: events.map((e) => e.attempts) };
}
