import assert from "node:assert/strict";
import fc from "fast-check";
import { type Column, formatRows, OUTPUT_FORMATS } from "../../src/cli/_format.ts";

/**
 * A small RFC 4180 reader, written from the RFC independently of the writer:
 * records separated by CRLF or LF, fields by commas; a quoted field may hold
 * commas, line breaks and doubled quotes.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  let fieldStarted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = text[i];
        if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
          throw new Error(`character after closing quote at ${i}`);
        }
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (fieldStarted || field !== "") throw new Error(`quote inside unquoted field at ${i}`);
      quoted = true;
      fieldStarted = true;
      i++;
    } else if (c === ",") {
      record.push(field);
      field = "";
      fieldStarted = false;
      i++;
    } else if (c === "\r" || c === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      fieldStarted = false;
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new Error("unterminated quoted field");
  if (field !== "" || fieldStarted || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

Deno.test("parseCsv() (the test's reader) reads RFC 4180 quoting", () => {
  assert.deepEqual(parseCsv('a,"b,c","d""e"\r\n"x\ny",,z\n'), [
    ["a", "b,c", 'd"e'],
    ["x\ny", "", "z"],
  ]);
  assert.throws(() => parseCsv('"a"b\n'));
  assert.throws(() => parseCsv('a"b\n'));
  assert.throws(() => parseCsv('"ab\n'));
});

type R = { a: unknown; b: unknown; c: unknown };
const COLUMNS: Column<R>[] = [{ key: "a" }, { key: "b" }, { key: "c" }];

Deno.test("formatRows() csv round-trips any strings through an RFC 4180 reader", () => {
  const text = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 12 }),
    fc.string({
      unit: fc.constantFrom('"', ",", "\n", "\r", " ", "a", "é", "😀", "\t", "\u0000"),
      maxLength: 8,
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(text, text, text), { maxLength: 6 }), (tuples) => {
      const rows = tuples.map(([a, b, c]) => ({ a, b, c }));
      const parsed = parseCsv(formatRows(rows, COLUMNS, "csv"));
      assert.deepEqual(parsed, [["a", "b", "c"], ...tuples]);
    }),
    { numRuns: 500 },
  );
});

Deno.test("formatRows() json and ndjson round-trip strings, numbers, booleans and null", () => {
  const value = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 10 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
  );
  fc.assert(
    fc.property(
      fc.array(fc.record({ a: value, b: value, c: value }), { maxLength: 5 }),
      (records) => {
        // fast-check's records have no prototype; JSON.parse's do.
        const rows = records.map((r) => ({ ...r }));
        assert.deepEqual(JSON.parse(formatRows(rows, COLUMNS, "json")), rows);
        const lines = formatRows(rows, COLUMNS, "ndjson").split("\n");
        assert.equal(lines.pop(), "");
        assert.deepEqual(lines.map((l) => JSON.parse(l)), rows);
      },
    ),
  );
});

Deno.test("formatRows() writes bigint as decimal strings and Date as ISO 8601 UTC in every format", () => {
  const big = -(2n ** 63n);
  const at = new Date(Date.UTC(2026, 10, 21, 19, 42, 56, 410));
  const rows = [{ a: big, b: at, c: 2n ** 64n - 1n }];
  assert.deepEqual(JSON.parse(formatRows(rows, COLUMNS, "json")), [
    { a: "-9223372036854775808", b: "2026-11-21T19:42:56.410Z", c: "18446744073709551615" },
  ]);
  assert.equal(
    formatRows(rows, COLUMNS, "ndjson"),
    '{"a":"-9223372036854775808","b":"2026-11-21T19:42:56.410Z","c":"18446744073709551615"}\n',
  );
  assert.equal(
    formatRows(rows, COLUMNS, "csv"),
    "a,b,c\n-9223372036854775808,2026-11-21T19:42:56.410Z,18446744073709551615\n",
  );
  assert.equal(
    formatRows(rows, COLUMNS, "table"),
    "A                     B                         C\n" +
      "-9223372036854775808  2026-11-21T19:42:56.410Z  18446744073709551615\n",
  );
});

Deno.test("formatRows() writes null and undefined as null, empty fields and empty cells", () => {
  const rows = [{ a: null, b: undefined, c: "x" }];
  assert.equal(formatRows(rows, COLUMNS, "json"), '[{"a":null,"b":null,"c":"x"}]\n');
  assert.equal(formatRows(rows, COLUMNS, "csv"), "a,b,c\n,,x\n");
  assert.equal(formatRows(rows, COLUMNS, "table"), "A  B  C\n      x\n");
});

Deno.test("formatRows() writes nested values as JSON (bigint inside as strings)", () => {
  const rows = [{ a: [1n, 2n], b: { k: "v" }, c: true }];
  assert.deepEqual(JSON.parse(formatRows(rows, COLUMNS, "json")), [
    { a: ["1", "2"], b: { k: "v" }, c: true },
  ]);
  assert.equal(formatRows(rows, COLUMNS, "csv"), 'a,b,c\n"[""1"",""2""]","{""k"":""v""}",true\n');
  assert.equal(
    formatRows(rows, COLUMNS, "table"),
    'A          B          C\n["1","2"]  {"k":"v"}  true\n',
  );
});

Deno.test("formatRows() prints only the given columns, in their order, with their headers", () => {
  const rows = [{ id: 1, name: "acme", secret: "no" }];
  const columns: Column<typeof rows[number]>[] = [
    { key: "name", header: "CUSTOMER" },
    { key: "id" },
  ];
  assert.equal(formatRows(rows, columns, "table"), "CUSTOMER  ID\nacme      1\n");
  assert.equal(formatRows(rows, columns, "csv"), "name,id\nacme,1\n");
  assert.equal(formatRows(rows, columns, "json"), '[{"name":"acme","id":1}]\n');
});

Deno.test("formatRows() table aligns columns, right-aligns on request, has no trailing spaces", () => {
  const rows = [
    { name: "a", n: 5, note: "" },
    { name: "longer name", n: 12345, note: "x" },
  ];
  const columns: Column<typeof rows[number]>[] = [
    { key: "name" },
    { key: "n", align: "right" },
    { key: "note" },
  ];
  assert.equal(
    formatRows(rows, columns, "table"),
    "NAME             N  NOTE\n" +
      "a                5\n" +
      "longer name  12345  x\n",
  );
});

Deno.test("formatRows() table counts a combining mark as no column and an emoji sequence as two", () => {
  const rows = [{ a: "e\u0301", b: 1 }, { a: "👩‍👩‍👧", b: 2 }, { a: "abc", b: 3 }];
  const columns: Column<typeof rows[number]>[] = [{ key: "a" }, { key: "b" }];
  assert.equal(
    formatRows(rows, columns, "table"),
    "A    B\n" +
      "e\u0301    1\n" +
      "👩‍👩‍👧   2\n" +
      "abc  3\n",
  );
});

Deno.test("formatRows() table escapes control characters so data cannot break lines or drive the terminal", () => {
  const rows = [{ a: "x\ny\tz\r\u001b[31mred\u0000", b: "\u2028" }];
  const columns: Column<typeof rows[number]>[] = [{ key: "a" }, { key: "b" }];
  const out = formatRows(rows, columns, "table");
  const escaped = "x\\ny\\tz\\r\\u001b[31mred\\u0000";
  assert.equal(
    out,
    `${"A".padEnd(escaped.length)}  B\n${escaped}  \\u2028\n`,
  );
  assert.equal(out.split("\n").length, 3);
});

Deno.test("formatRows() with no rows: header only for table and csv, [] for json, nothing for ndjson", () => {
  assert.equal(formatRows([], COLUMNS, "table"), "A  B  C\n");
  assert.equal(formatRows([], COLUMNS, "csv"), "a,b,c\n");
  assert.equal(formatRows([], COLUMNS, "json"), "[]\n");
  assert.equal(formatRows([], COLUMNS, "ndjson"), "");
});

Deno.test("formatRows() refuses an unknown format and no columns", () => {
  assert.throws(() => formatRows([], COLUMNS, "xml" as "csv"), /current format is 'xml'/);
  assert.throws(() => formatRows([], [], "csv"), /no columns/);
  assert.deepEqual([...OUTPUT_FORMATS], ["table", "json", "ndjson", "csv"]);
});

Deno.test("formatRows() csv quotes fields with leading or trailing whitespace and keeps them", () => {
  const rows = [{ a: " x", b: "y ", c: "a b" }];
  assert.equal(formatRows(rows, COLUMNS, "csv"), 'a,b,c\n" x","y ",a b\n');
});

Deno.test("formatRows() csv tells an empty string from null, as COPY … CSV does", () => {
  const rows = [{ a: "", b: null, c: "" }];
  assert.equal(formatRows(rows, COLUMNS, "csv"), 'a,b,c\n"",,""\n');
  // A one-column CSV of an empty string is not a blank line.
  assert.equal(formatRows([{ a: "" }], [{ key: "a" }], "csv"), 'a\n""\n');
});
