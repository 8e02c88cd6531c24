import { ok } from "node:assert/strict";
import { yieldToIo } from "../../src/ingest/_yield.ts";
import { withTestDatabase } from "../_helpers/db.ts";

// A query's result must be handled between two slices of synchronous work that yield
// with yieldToIo, not only after the whole loop (as with setImmediate or a promise).
// No timing threshold: the loop runs until the result is in, or for 5000 slices.
Deno.test("yieldToIo() lets a query's result in between slices of synchronous work", async () => {
  await withTestDatabase(async ({ sql }) => {
    await sql`select 1`;
    let answered = false;
    const query = sql`select pg_sleep(0.005)`.then(() => {
      answered = true;
    });
    let slices = 0;
    while (!answered && slices < 5000) {
      const end = performance.now() + 1;
      while (performance.now() < end) { /* 1 ms of synchronous work */ }
      slices++;
      await yieldToIo();
    }
    await query;
    ok(answered && slices < 5000, `the result waited for all ${slices} slices`);
  });
});
