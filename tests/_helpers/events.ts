/** Helpers for the event adapter tests. */
import assert from "node:assert/strict";
import { EventPayloadError } from "../../src/events/errors.ts";
import { hash64, hashHex } from "../../src/normalize/hash.ts";

/** The message of the `EventPayloadError` that `convert()` throws; fails when it does not. */
export function rejectionReason(convert: () => unknown): string {
  try {
    convert();
  } catch (error) {
    assert.ok(error instanceof EventPayloadError, String(error));
    return error.message;
  }
  assert.fail("expected the payload to be rejected");
}

/**
 * The key `convo enqueue` derives, restated from the README's rule: `ours` are our side's
 * addresses, already normalized; `account` a Twilio AccountSid.
 */
export function derivedKey(type: string, ours: string[], id: string, account?: string): string {
  const scope = [...new Set(ours)].sort();
  if (account !== undefined) scope.push(`account:${account}`);
  return `convo:v1:${type}:${hashHex(hash64(scope.join("\n")))}:${id}`;
}
