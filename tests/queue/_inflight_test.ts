import assert from "node:assert/strict";
import fc from "fast-check";
import { type BatchRows, emptyRows } from "../../src/queue/_enqueue_insert.ts";
import { InFlight } from "../../src/queue/_inflight.ts";

/** Rows with these keys, numbered from line 1. */
function rowsOf(keys: readonly (string | null)[]): BatchRows {
  const rows = emptyRows();
  keys.forEach((key, i) => {
    rows.elements.push(`{"n":${i + 1}}`);
    rows.types.push("twilio.message");
    rows.keys.push(key);
    rows.sources.push(0);
    rows.lineNos.push(i + 1);
  });
  return rows;
}

/** A batch the test commits by hand. */
function batch(flights: InFlight, keys: readonly (string | null)[]) {
  let commit!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    commit = resolve;
    fail = reject;
  });
  let isSettled = false;
  flights.track(keys, (settled) =>
    done.then(
      () => {
        settled();
        isSettled = true;
      },
      (error) => {
        settled();
        isSettled = true;
        throw error;
      },
    ));
  return { commit, fail, settled: () => isSettled };
}

Deno.test("InFlight.split() sends everything when no batch is in flight", () => {
  const flights = new InFlight(2);
  const rows = rowsOf(["a", "a", null]);
  const { send, hold } = flights.split(rows);
  assert.equal(send, rows);
  assert.deepEqual(hold, emptyRows());
});

Deno.test("InFlight.split() holds the keys of a batch until it settles, in line order", async () => {
  const flights = new InFlight(2);
  const first = batch(flights, ["a", null, "b"]);
  const { send, hold } = flights.split(rowsOf(["x", "a", null, "b", "y", "a"]));
  assert.deepEqual(send.keys, ["x", null, "y"]);
  assert.deepEqual(send.lineNos, [1, 3, 5]);
  assert.deepEqual(hold.keys, ["a", "b", "a"]);
  assert.deepEqual(hold.lineNos, [2, 4, 6]);
  assert.deepEqual(hold.elements, ['{"n":2}', '{"n":4}', '{"n":6}']);

  first.commit();
  await flights.waitForBusy();
  assert.ok(first.settled());
  assert.deepEqual(flights.split(hold).hold.keys, []);
});

Deno.test("InFlight with one slot remembers no keys: nothing is ever held", () => {
  const flights = new InFlight(1);
  batch(flights, ["a"]);
  assert.deepEqual(flights.split(rowsOf(["a"])).hold.keys, []);
});

Deno.test("InFlight.freeSlot() waits for the oldest batch once every slot is taken", async () => {
  const flights = new InFlight(2);
  const first = batch(flights, ["a"]);
  batch(flights, ["b"]);
  let free = false;
  const slot = flights.freeSlot().then(() => free = true);
  await Promise.resolve();
  assert.equal(free, false);
  first.commit();
  await slot;
  assert.ok(free);
  // The second batch is still in flight: its key is still held, the first one's is not.
  assert.deepEqual(flights.split(rowsOf(["a", "b"])).hold.keys, ["b"]);
});

Deno.test("InFlight.waitForAll() rejects as a failed batch does, and frees its keys", async () => {
  const flights = new InFlight(3);
  const failing = batch(flights, ["a"]);
  const ok = batch(flights, ["b"]);
  failing.fail(new Error("boom"));
  ok.commit();
  await assert.rejects(() => flights.waitForAll(), /boom/);
  assert.deepEqual(flights.split(rowsOf(["a", "b"])).hold.keys, []);
});

Deno.test("new InFlight() refuses a slot count below one", () => {
  assert.throws(() => new InFlight(0), RangeError);
  assert.throws(() => new InFlight(1.5), /maxInFlight must be ≥ 1, current value is '1.5'/);
});

Deno.test("InFlight.split() keeps order and holds exactly the rows keyed in flight (property)", () => {
  const key = fc.option(fc.constantFrom("a", "b", "c", "d", "e"), { nil: null });
  fc.assert(
    fc.property(fc.array(key), fc.array(fc.array(key)), (keys, batches) => {
      const flights = new InFlight(batches.length + 2);
      for (const b of batches) batch(flights, b);
      const busy = new Set<string>(batches.flat().filter((k) => k !== null));
      const rows = rowsOf(keys);
      const { send, hold } = flights.split(rows);
      // Every row lands on exactly one side, each side in line order.
      assert.deepEqual([...send.lineNos, ...hold.lineNos].sort((x, y) => x - y), rows.lineNos);
      for (const side of [send, hold]) {
        assert.deepEqual(side.lineNos, [...side.lineNos].sort((x, y) => x - y));
        side.lineNos.forEach((n, i) => {
          assert.equal(side.keys[i], rows.keys[n - 1]);
          assert.equal(side.elements[i], rows.elements[n - 1]);
        });
      }
      assert.ok(hold.keys.every((k) => k !== null && busy.has(k)));
      assert.ok(send.keys.every((k) => k === null || !busy.has(k)));
    }),
  );
});
