/** displayWidth() and the table formatter's alignment of wide characters. */
import assert from "node:assert/strict";
import { formatRows } from "../../src/cli/_format.ts";
import { displayWidth } from "../../src/cli/_width.ts";

Deno.test("displayWidth() counts CJK and emoji as two columns, combining marks as none", () => {
  assert.equal(displayWidth("abc"), 3);
  assert.equal(displayWidth("日本語"), 6);
  assert.equal(displayWidth("한국어"), 6);
  assert.equal(displayWidth("ｶﾀｶﾅ"), 4);
  assert.equal(displayWidth("ＡＢ"), 4);
  assert.equal(displayWidth("👍🏽"), 2);
  assert.equal(displayWidth("🇫🇷"), 2);
  assert.equal(displayWidth("❤️"), 2);
  assert.equal(displayWidth("e\u0301"), 1);
  assert.equal(displayWidth("a\u200db"), 2);
  assert.equal(displayWidth("Ω≈"), 2);
});

Deno.test("formatRows() table pads wide characters by display width", () => {
  const rows = [{ a: "日本語", b: "x" }, { a: "ab", b: "y" }, { a: "👍 ok", b: "z" }];
  const lines = formatRows(rows, [{ key: "a" }, { key: "b" }], "table").trimEnd().split("\n");
  const column = (line: string) => displayWidth(line.slice(0, line.lastIndexOf(" ") + 1));
  assert.deepEqual(lines.map(column), [8, 8, 8, 8]);
});
