/** Helpers for the event adapter tests. */
import assert from "node:assert/strict";
import { EventPayloadError } from "../../src/events/errors.ts";

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
