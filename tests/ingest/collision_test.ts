/**
 * 64-bit collisions inside one batch or one message are refused, like those against rows
 * already stored, never merged. Real XXH64 collisions cannot be found for a test: the keys
 * of prepared messages are forced equal instead.
 */
import assert from "node:assert/strict";
import { KeyCollisionError } from "../../src/ingest/errors.ts";
import { planBatch } from "../../src/ingest/plan.ts";
import { prepareEvent, uniqueAddresses } from "../../src/ingest/prepare.ts";
import type { AddressRef, PreparedMessage } from "../../src/ingest/types.ts";
import { conversationKey } from "../../src/normalize/conversation_key.ts";
import type { ClaimedEvent } from "../../src/queue/types.ts";

const OPTIONS = { region: "US", snippetLength: 120 };
const OURS = "+14155550100";
const route = { kind: "sms" as const, customerId: 1n, providerId: 7n };
const lookup = (a: { value: string }) => (a.value === OURS ? [route] : []);

function event(id: number, payload: Record<string, unknown>): ClaimedEvent {
  return {
    id: BigInt(id),
    eventType: "message.received",
    payload: {
      channel: "sms",
      provider_message_id: `M${id}`,
      to: OURS,
      sent_at: "2024-05-01T12:00:00Z",
      ...payload,
    },
    attempts: 1,
    receivedAt: new Date("2024-05-01T12:00:01Z"),
  } as ClaimedEvent;
}

/** `p` with the address `value` re-keyed to `key` (a forced collision). */
function rekey(p: PreparedMessage, value: string, key: bigint): PreparedMessage {
  const fix = (a: AddressRef): AddressRef => (a.value === value ? { ...a, key } : a);
  return {
    ...p,
    from: fix(p.from),
    to: p.to.map(fix),
    participants: p.participants.map(fix),
  };
}

Deno.test("planBatch() refuses an address whose key an earlier event holds with another value", () => {
  const a = prepareEvent(event(1, { from: "+14155550142", body: "a" }), OPTIONS);
  const b = rekey(
    prepareEvent(event(2, { from: "+14155550143", body: "b" }), OPTIONS),
    "+14155550143",
    a.from.key,
  );
  const { plan, failures } = planBatch(
    [{ index: 0, prepared: a }, { index: 1, prepared: b }],
    lookup,
  );
  assert.deepEqual(plan.messages.map((m) => m.index), [0]);
  assert.equal(
    plan.phones.get(a.from.key)?.value,
    "+14155550142",
    "the first value is not replaced",
  );
  assert.equal(failures.length, 1);
  assert.equal(failures[0].index, 1);
  assert.ok(failures[0].error instanceof KeyCollisionError);
  assert.match(
    failures[0].error.message,
    /^64-bit key collision: phone_numbers id -?\d+ \(within one batch\)/,
  );
});

Deno.test("planBatch() refuses a body or conversation key held with another value in the batch", () => {
  const a = prepareEvent(event(1, { from: "+14155550142", body: "yes" }), OPTIONS);
  const b0 = prepareEvent(event(2, { from: "+14155550142", body: "no" }), OPTIONS);
  const b = { ...b0, body: { ...b0.body!, key: a.body!.key } };
  let r = planBatch([{ index: 0, prepared: a }, { index: 1, prepared: b }], lookup);
  assert.match(r.failures[0]?.error.message ?? "", /xms_bodies id .* \(within one batch\)/);

  // Another participant set under the first one's conversation key.
  const c = prepareEvent(event(3, { from: "+14155550143", body: "yes" }), OPTIONS);
  const forced: typeof conversationKey = (channel, participants) => ({
    ...conversationKey(channel, participants),
    key: conversationKey(channel, [OURS, "+14155550142"]).key,
  });
  r = planBatch([{ index: 0, prepared: a }, { index: 1, prepared: c }], lookup, {
    conversationKey: forced,
  });
  assert.match(r.failures[0]?.error.message ?? "", /conversations key .* \(within one batch\)/);
  assert.equal(r.plan.conversations.size, 1);
});

Deno.test("uniqueAddresses() refuses two addresses of one message under one key", () => {
  const p = prepareEvent(event(1, { from: "+14155550142", body: "a" }), OPTIONS);
  const forged = { ...p.to[0], key: p.from.key };
  assert.throws(() => uniqueAddresses([p.from, forged]), {
    name: "KeyCollisionError",
    message: /^64-bit key collision: phone_numbers id -?\d+ \(two addresses of one message\)/,
  });
  // The same address twice is one participant.
  assert.deepEqual(uniqueAddresses([p.from, p.to[0], { ...p.from }]), [p.from, p.to[0]]);
});
