import assert from "node:assert/strict";
import fc from "fast-check";
import { hasBom, LeadingBomSkipper, stripBom } from "../src/bom.ts";

const BOM_BYTES = [0xef, 0xbb, 0xbf];

Deno.test("stripBom() drops one leading U+FEFF and hasBom() sees only that one", () => {
  assert.equal(stripBom("\uFEFF"), "");
  assert.equal(stripBom(" \uFEFF"), " \uFEFF");
  assert.equal(hasBom("\uFEFFx"), true);
  assert.equal(hasBom("x\uFEFF"), false);
});

Deno.test("LeadingBomSkipper skips the mark at the start only, whatever the chunks (property)", () => {
  const bytes = fc.array(
    fc.oneof(fc.constantFrom(...BOM_BYTES), fc.integer({ min: 0, max: 255 })),
    { maxLength: 12 },
  );
  fc.assert(
    fc.property(fc.boolean(), bytes, fc.array(fc.nat(14)), (withBom, body, cuts) => {
      const input = [...(withBom ? BOM_BYTES : []), ...body];
      const expected = input.slice(0, 3).join() === BOM_BYTES.join() ? input.slice(3) : input;
      const bounds = [0, ...cuts.map((c) => Math.min(c, input.length)).sort((a, b) => a - b)];
      const skipper = new LeadingBomSkipper();
      const out: number[] = [];
      for (let i = 0; i < bounds.length; i++) {
        const chunk = Uint8Array.from(input.slice(bounds[i], bounds[i + 1] ?? input.length));
        const rest = skipper.push(chunk);
        if (rest !== undefined) out.push(...rest);
      }
      out.push(...skipper.end());
      assert.deepEqual(out, expected);
    }),
  );
});
