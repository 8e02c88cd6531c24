import { deepEqual, equal, notEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { normalizeAddress } from "../../src/normalize/address.ts";
import { conversationKey } from "../../src/normalize/conversation_key.ts";
import { hash64 } from "../../src/normalize/hash.ts";

Deno.test("conversationKey() hashes the DESIGN key string", () => {
  const got = conversationKey("email", ["zoe@x.com", "amy@x.com", "amy@x.com"]);
  deepEqual(got.participants, ["amy@x.com", "zoe@x.com"]);
  equal(got.channel, "email");
  equal(got.key, hash64("email\namy@x.com\nzoe@x.com"));
});

Deno.test("conversationKey() threads MMS with SMS", () => {
  const sms = conversationKey("sms", ["+14155552671", "sc:12345"]);
  const mms = conversationKey("mms", ["sc:12345", "+14155552671"]);
  deepEqual(mms, sms);
  equal(mms.channel, "sms");
});

Deno.test("conversationKey() separates channels", () => {
  notEqual(conversationKey("sms", ["a"]).key, conversationKey("email", ["a"]).key);
});

Deno.test("conversationKey() sorts by code unit, not locale", () => {
  const got = conversationKey("email", ["b@x.com", "B@x.com", "é@x.com", "e@x.com", "+1@x.com"]);
  deepEqual(got.participants, ["+1@x.com", "B@x.com", "b@x.com", "e@x.com", "é@x.com"]);
});

Deno.test("conversationKey() rejects no participants, an empty one or a line feed", () => {
  throws(() => conversationKey("sms", []), RangeError);
  throws(() => conversationKey("sms", ["+14155552671", ""]), /empty or has a line feed/);
  throws(() => conversationKey("email", ["a@x.com\nb@x.com"]), /empty or has a line feed/);
  throws(() => conversationKey("fax" as "sms", ["a"]), /current channel is 'fax'/);
});

Deno.test("conversationKey() returns a copy, leaving the input alone", () => {
  const input = ["b", "a"];
  conversationKey("sms", input);
  deepEqual(input, ["b", "a"]);
});

const mailbox = fc.record({
  local: fc.stringMatching(/^[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,4})?$/),
  domain: fc.constantFrom("example.com", "gmail.com", "x.org", "bücher.de"),
});
const tag = fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/), { nil: undefined });
const shout = fc.boolean();

Deno.test("conversationKey() ignores participant order, duplicates, case and +tags", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(mailbox, {
        minLength: 1,
        maxLength: 5,
        selector: (m) => `${m.local}@${m.domain}`,
      }),
      fc.array(fc.tuple(tag, shout), { minLength: 5, maxLength: 5 }),
      fc.integer({ min: 0, max: 4 }),
      (boxes, variants, dupes) => {
        const plain = boxes.map((m) => `${m.local}@${m.domain}`);
        const varied = boxes.map((m, i) => {
          const [t, loud] = variants[i];
          const raw = `${m.local}${t === undefined ? "" : "+" + t}@${m.domain}`;
          return loud ? raw.toUpperCase() : raw;
        });
        const shuffled = [...varied, ...varied.slice(0, dupes)].reverse();
        const a = conversationKey("email", plain.map((p) => normalizeAddress("email", p)));
        const b = conversationKey("email", shuffled.map((p) => normalizeAddress("email", p)));
        deepEqual(b, a);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("conversationKey() gives one key to a phone pair in any format and order", () => {
  const ours = ["+1 415 555 2671", "(415) 555-2671", "tel:4155552671"];
  const theirs = ["+44 20 7946 0958", "0044 20 7946 0958", "011 44 20 7946 0958"];
  const keys = new Set<bigint>();
  for (const a of ours) {
    for (const b of theirs) {
      for (const channel of ["sms", "mms"] as const) {
        keys.add(conversationKey(channel, [b, a].map((p) => normalizeAddress(channel, p))).key);
        keys.add(conversationKey(channel, [a, b, a].map((p) => normalizeAddress(channel, p))).key);
      }
    }
  }
  deepEqual([...keys], [hash64("sms\n+14155552671\n+442079460958")]);
});

Deno.test("conversationKey() differs when a participant differs", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.stringMatching(/^\+1[2-9][0-9]{9}$/), { minLength: 2, maxLength: 4 }),
      (numbers) => {
        notEqual(
          conversationKey("sms", numbers).key,
          conversationKey("sms", numbers.slice(1)).key,
        );
      },
    ),
  );
});
