/**
 * The pure parts: planAssignments() gives a legacy row the conversation ingest
 * gives the same addresses (planConversation, conversationKey), whatever the
 * order of its addresses; bad rows are reported with the reason; the progress
 * line; messageSnippet() as ingest computed it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { planAssignments } from "../../src/backfill/plan.ts";
import { renderProgress } from "../../src/backfill/progress.ts";
import { planConversation } from "../../src/conversations/plan.ts";
import { messageSnippet } from "../../src/conversations/snippet.ts";
import { conversationKey } from "../../src/normalize/conversation_key.ts";
import { hash64 } from "../../src/normalize/hash.ts";

const OURS = "+14155550100";
const route = { kind: "sms" as const, customerId: 1n, providerId: 9n };
const phone = (i: number) => `+1415555${String(1000 + i).padStart(4, "0")}`;

Deno.test("planAssignments() keys a legacy row like conversationKey over all its addresses, in any order", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 5 }),
      fc.boolean(),
      fc.constantFrom("sms", "mms"),
      (others, outbound, channel) => {
        const values = new Map<bigint, string>([[hash64(OURS), OURS]]);
        for (const i of others) values.set(hash64(phone(i)), phone(i));
        const theirs = others.map((i) => hash64(phone(i)));
        const ours = hash64(OURS);
        const row = {
          id: 1n,
          customerId: 1n,
          channel,
          fromId: outbound ? ours : theirs[0],
          toIds: outbound ? theirs : [ours, ...theirs.slice(1)],
          ccIds: [],
        };
        const plan = planAssignments([row], {
          address: (kind, id) => (kind === "phone" ? values.get(id) : undefined),
          lookup: (a) => (a.value === OURS ? [route] : []),
        });
        assert.equal(plan.unassignable.length, 0);
        const [c] = [...plan.conversations.values()];
        const expected = conversationKey(channel, [OURS, ...others.map(phone)]);
        assert.equal(c.key, expected.key);
        assert.deepEqual(c.participants, expected.participants);
        assert.deepEqual(
          plan.messages[0].contacts.sort(),
          theirs.map((k) => `1|phone|${k}`).sort(),
        );
      },
    ),
  );
});

Deno.test("planConversation() counts an address as ours only when a route belongs to this customer", () => {
  const a = { kind: "phone" as const, key: 1n, value: OURS };
  const b = { kind: "phone" as const, key: 2n, value: phone(1) };
  const otherCustomer = { ...route, customerId: 2n };
  const c = planConversation({ customerId: 1n, channel: "sms", participants: [a, b] }, {
    lookup: (x) => (x.key === 1n ? [otherCustomer] : []),
  });
  assert.deepEqual(c.contacts.map(([ref]) => ref), ["1|phone|1", "1|phone|2"]);
  assert.equal(c.contacts[0][1].displayName, null);
});

Deno.test("planAssignments() reports an unknown channel, a missing address and a row without addresses", () => {
  const values = new Map([[1n, OURS]]);
  const base = { customerId: 1n, toIds: [1n], ccIds: [] };
  const plan = planAssignments([
    { ...base, id: 1n, channel: "fax", fromId: 1n },
    { ...base, id: 2n, channel: "email", fromId: 1n },
    { id: 3n, customerId: 1n, channel: "sms", fromId: null, toIds: [], ccIds: [] },
    { ...base, id: 4n, channel: "sms", fromId: 1n },
  ], {
    address: (kind, id) => (kind === "phone" ? values.get(id) : undefined),
    lookup: () => [route],
  });
  assert.deepEqual(plan.unassignable.map((u) => [u.messageId, u.reason]), [
    [1n, "unknown channel 'fax'"],
    [2n, "address id 1 not found in email_addresses"],
    [3n, "Cannot compute conversation key: current participants are '' (none)"],
  ]);
  assert.deepEqual(plan.messages.map((m) => m.id), [4n]);
});

Deno.test("messageSnippet() is the body, else the subject, else the attachment count", () => {
  fc.assert(
    fc.property(
      fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
      fc.option(fc.string(), { nil: null }),
      fc.nat(5),
      (body, subject, attachments) => {
        const got = messageSnippet({ body, subject, attachments }, { length: 10 });
        if (body) assert.ok(got !== null && [...got].length <= 10 + 1);
        else if (attachments === 0 && !subject?.trim()) assert.equal(got, null);
        else assert.ok(got !== null);
      },
    ),
  );
  assert.equal(messageSnippet({ attachments: 1 }), "[1 attachment]");
});

Deno.test("renderProgress() says ? for the ETA before any rate, and caps at 100 %", () => {
  assert.match(renderProgress({ total: 10, scanned: 0, elapsedMs: 0 }), /ETA \?$/);
  assert.match(renderProgress({ total: 10, scanned: 12, elapsedMs: 1000 }), /100% 12\/10/);
});
