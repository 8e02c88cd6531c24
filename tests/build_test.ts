import assert from "node:assert/strict";
import meta from "../deno.json" with { type: "json" };
import { V8_FLAGS } from "../src/build/v8_flags.ts";

Deno.test("deno task start runs with the heap settings the binary is compiled with", () => {
  assert.ok(meta.tasks.start.includes(`--v8-flags=${V8_FLAGS} `), meta.tasks.start);
});
