import assert from "node:assert/strict";
import { EventPayloadError } from "../../src/events/errors.ts";
import { classifyFailure, PermanentEventError } from "../../src/ingest/errors.ts";
import { failureOutcome } from "../../src/ingest/outcome.ts";
import { normalizeEmail } from "../../src/normalize/email.ts";
import type { ClaimedEvent } from "../../src/queue/types.ts";

const event = (attempts: number): ClaimedEvent => ({
  id: 1n,
  eventType: "message.received",
  payload: {},
  attempts,
  receivedAt: new Date(0),
});

Deno.test("classifyFailure() takes a TypeError for our bug: transient, not permanent", () => {
  let bug: unknown;
  try {
    (undefined as unknown as { x: { y: number } }).x.y;
  } catch (err) {
    bug = err;
  }
  assert.ok(bug instanceof TypeError);
  assert.equal(classifyFailure(bug), "transient");
  // Retried with a backoff, dead only after the last attempt, so a fixed
  // deploy can still process the event.
  assert.equal(failureOutcome(event(1), bug, { maxAttempts: 3 }).status, "retry");
  const last = failureOutcome(event(3), bug, { maxAttempts: 3 });
  assert.equal(last.status, "dead");
  assert.match(last.status === "dead" ? last.error : "", /^gave up after 3 attempts: /);
});

Deno.test("classifyFailure() keeps payload and normalizer errors permanent", () => {
  let normalizer: unknown;
  try {
    normalizeEmail("MAILER-DAEMON");
  } catch (err) {
    normalizer = err;
  }
  assert.ok(normalizer instanceof RangeError, "normalizers throw RangeError");
  assert.equal(classifyFailure(normalizer), "permanent");
  assert.equal(classifyFailure(new PermanentEventError("no endpoint mapping")), "permanent");
  assert.equal(
    classifyFailure(
      new EventPayloadError("missing", { path: "payload.from", eventType: "message.received" }),
    ),
    "permanent",
  );
  assert.equal(failureOutcome(event(1), normalizer, { maxAttempts: 3 }).status, "dead");
});
