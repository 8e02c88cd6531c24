/**
 * Output of row lists in four formats, shared by the commands that list things
 * (`endpoint list`, the conversation overview):
 *
 * - `table`: a header and aligned columns, for people;
 * - `json`: one JSON array of objects;
 * - `ndjson`: one JSON object per line (streams into `jq -c`, log shippers);
 * - `csv`: RFC 4180 (header row, fields quoted when they hold `"`, `,`, CR or LF).
 *
 * Values: `bigint` → decimal string (JSON numbers would lose digits past 2^53),
 * `Date` → ISO 8601 in UTC, `null`/`undefined` → JSON `null`, an empty CSV field
 * (an empty string is `""`, as PostgreSQL's `COPY … CSV` writes them), an empty
 * table cell.
 *
 * @module
 */
import { displayWidth } from "./_width.ts";

/** The output formats of {@link formatRows}. */
export const OUTPUT_FORMATS = ["table", "json", "ndjson", "csv"] as const;

/** One of {@link OUTPUT_FORMATS}. */
export type OutputFormat = typeof OUTPUT_FORMATS[number];

/** A column of {@link formatRows}: a key of the row type `R`, with how to show it. */
export interface Column<R extends object = Record<string, unknown>> {
  /** The row's property; also the JSON key and the CSV header. */
  key: Extract<keyof R, string>;
  /** The table header; default the key in capitals, `_` → space (`created_at` → `CREATED AT`). */
  header?: string;
  /** Table alignment; default `left`. Numbers usually read better on the `right`. */
  align?: "left" | "right";
}

/** A row as the formatter reads it. */
type Row = Readonly<Record<string, unknown>>;
/** A column as the formatter reads it. */
type AnyColumn = Omit<Column, "key"> & { key: string };

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const CSV_QUOTE = /[",\r\n]|^\s|\s$/;

function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** A value as JSON sees it: bigint → string, Date → ISO 8601 (via toJSON), undefined → null. */
function toJsonValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return isoString(value);
  return value;
}

function isoString(d: Date): string | null {
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** A value as text (table cells, CSV fields); `undefined` for nothing. */
function toText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  if (value instanceof Date) return isoString(value) ?? undefined;
  return JSON.stringify(value, jsonValue);
}

/**
 * A table cell: control characters (which would break the alignment or drive
 * the terminal: data can hold anything) are shown escaped, `\n`, `\t`, `\u001b`.
 */
function cell(value: unknown): string {
  const text = toText(value) ?? "";
  return text.replace(CONTROL, (c) => {
    switch (c) {
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    }
  });
}

/** Columns a text takes on a terminal: CJK and emoji two, combining marks none. */
const width = displayWidth;

function headerOf(column: AnyColumn): string {
  return column.header ?? column.key.toUpperCase().replaceAll("_", " ");
}

function table(rows: readonly Row[], columns: readonly AnyColumn[]): string {
  return formatGrid([
    columns.map(headerOf),
    ...rows.map((row) => columns.map((c) => cell(row[c.key]))),
  ], columns.map((c) => c.align ?? "left"));
}

/**
 * Text cells as aligned columns, two spaces apart, by display width (CJK and
 * emoji take two columns); the one table printer, also for tables without a
 * header row. `align` is per column, default left.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGrid } from "./_format.ts";
 * assert.equal(formatGrid([["a", "1"], ["bbb", "22"]], ["left", "right"]), "a     1\nbbb  22\n");
 * ```
 */
export function formatGrid(
  grid: readonly (readonly string[])[],
  align: readonly ("left" | "right")[] = [],
): string {
  if (grid.length === 0) return "";
  const widths = grid[0].map((_, i) => Math.max(...grid.map((r) => width(r[i]))));
  return grid.map((r) =>
    r.map((text, i) => {
      const pad = " ".repeat(widths[i] - width(text));
      return align[i] === "right" ? pad + text : text + pad;
    }).join("  ").trimEnd()
  ).join("\n") + "\n";
}

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, a comma, CR or LF
 * (and when it starts or ends with whitespace, which some readers trim, or is
 * empty, to tell it from null), with quotes doubled.
 *
 * Fields starting with `=`, `+`, `-` or `@` are not defused against spreadsheet
 * formula injection: E.164 numbers start with `+`, and prefixing them would
 * change the data. Open untrusted CSV in a spreadsheet with care.
 */
function csvField(value: unknown): string {
  const text = toText(value);
  // As PostgreSQL's COPY … CSV: null is an empty field, an empty string "".
  if (text === undefined) return "";
  return text === "" || CSV_QUOTE.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function jsonObject(row: Row, columns: readonly AnyColumn[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c.key] = toJsonValue(row[c.key]);
  return out;
}

/**
 * Formats rows in one of the {@link OUTPUT_FORMATS}. Only the given columns
 * are printed, in their order. The result ends with a newline unless it is
 * empty (`ndjson` of no rows). With no rows: `table` and `csv` print just the
 * header, `json` prints `[]`.
 *
 * Records end with LF, also in CSV (RFC 4180 says CRLF; every CSV reader we
 * know accepts LF, and LF is what Unix tools expect). Line breaks inside a
 * CSV field are kept as they are, inside quotes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Column, formatRows } from "./_format.ts";
 * const rows = [
 *   { name: "acme", key: -5n, at: new Date(Date.UTC(2026, 0, 2)) },
 *   { name: 'say "hi", bob', key: 12n, at: null },
 * ];
 * const columns: Column<typeof rows[number]>[] = [
 *   { key: "name" },
 *   { key: "key", align: "right" },
 *   { key: "at" },
 * ];
 * assert.equal(
 *   formatRows(rows, columns, "table"),
 *   "NAME           KEY  AT\n" +
 *     "acme            -5  2026-01-02T00:00:00.000Z\n" +
 *     'say "hi", bob   12\n',
 * );
 * assert.equal(
 *   formatRows(rows, columns, "csv"),
 *   'name,key,at\nacme,-5,2026-01-02T00:00:00.000Z\n"say ""hi"", bob",12,\n',
 * );
 * assert.deepEqual(JSON.parse(formatRows(rows, columns, "json")), [
 *   { name: "acme", key: "-5", at: "2026-01-02T00:00:00.000Z" },
 *   { name: 'say "hi", bob', key: "12", at: null },
 * ]);
 * assert.equal(formatRows(rows, columns, "ndjson").split("\n").length, 3);
 * ```
 */
export function formatRows<R extends object>(
  rows: readonly R[],
  columns: readonly Column<R>[],
  format: OutputFormat,
): string {
  if (columns.length === 0) throw new RangeError("Cannot format rows: no columns");
  return format_(rows as readonly Row[], columns as readonly AnyColumn[], format);
}

function format_(
  rows: readonly Row[],
  columns: readonly AnyColumn[],
  format: OutputFormat,
): string {
  switch (format) {
    case "table":
      return table(rows, columns);
    case "json":
      return JSON.stringify(rows.map((r) => jsonObject(r, columns)), jsonValue) + "\n";
    case "ndjson":
      return rows.map((r) => JSON.stringify(jsonObject(r, columns), jsonValue) + "\n").join("");
    case "csv":
      return [
        columns.map((c) => csvField(c.key)).join(","),
        ...rows.map((r) => columns.map((c) => csvField(r[c.key])).join(",")),
      ].join("\n") + "\n";
    default:
      throw new RangeError(
        `Cannot format rows: current format is '${format}' (expected ${OUTPUT_FORMATS.join(", ")})`,
      );
  }
}
