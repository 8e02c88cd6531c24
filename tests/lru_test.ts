import { deepEqual, equal, throws } from "node:assert/strict";
import fc from "fast-check";
import { LruCache } from "../src/lru.ts";

Deno.test("LruCache evicts the least recently used entry", () => {
  const cache = new LruCache<string, number>(3);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("c", 3);
  equal(cache.get("a"), 1); // order now b, c, a
  cache.set("d", 4); // evicts b
  equal(cache.get("b"), undefined);
  deepEqual(["a", "c", "d"].map((k) => cache.get(k)), [1, 3, 4]);
  equal(cache.size, 3);
});

Deno.test("LruCache.set() of a present key updates it and makes it most recent", () => {
  const cache = new LruCache<string, number>(2);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("a", 10); // order now b, a
  cache.set("c", 3); // evicts b
  equal(cache.get("a"), 10);
  equal(cache.get("b"), undefined);
  equal(cache.size, 2);
});

Deno.test("LruCache.clear() empties it", () => {
  const cache = new LruCache<number, number>(2);
  cache.set(1, 1);
  cache.clear();
  equal(cache.size, 0);
  equal(cache.get(1), undefined);
  cache.set(2, 2);
  equal(cache.get(2), 2);
});

Deno.test("LruCache rejects a capacity below 1", () => {
  throws(() => new LruCache(0), RangeError);
  throws(() => new LruCache(1.5), /current capacity is '1.5'/);
});

Deno.test("LruCache behaves like a list-based LRU model", () => {
  const op = fc.oneof(
    fc.record({ get: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ set: fc.integer({ min: 0, max: 9 }), value: fc.integer() }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (cap, ops) => {
      const cache = new LruCache<number, number>(cap);
      let model: [number, number][] = []; // oldest first
      for (const o of ops) {
        if ("get" in o) {
          const at = model.findIndex(([k]) => k === o.get);
          const want = at < 0 ? undefined : model[at][1];
          if (at >= 0) model.push(...model.splice(at, 1));
          equal(cache.get(o.get), want);
        } else {
          model = model.filter(([k]) => k !== o.set);
          model.push([o.set, o.value]);
          if (model.length > cap) model.shift();
          cache.set(o.set, o.value);
        }
        equal(cache.size, model.length);
      }
    }),
    { numRuns: 500 },
  );
});
