import assert from "node:assert/strict";
import fc from "fast-check";
import { type Line, NOT_UTF8, readLineBatches, readLines } from "../../src/queue/lines.ts";

const enc = new TextEncoder();

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

async function collect(chunks: Uint8Array[], maxLineBytes = 1024): Promise<Line[]> {
  const lines: Line[] = [];
  for await (const line of readLines(streamOf(chunks), { maxLineBytes })) lines.push(line);
  return lines;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The obvious, whole-buffer reading the streaming reader must agree with. */
function reference(input: Uint8Array, maxLineBytes: number): Line[] {
  let bytes = input;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  if (bytes.length === 0) return [];
  const segments: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      segments.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) segments.push(bytes.subarray(start));
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  return segments.map((seg, i): Line => {
    const lineNo = i + 1;
    const s = seg[seg.length - 1] === 0x0d ? seg.subarray(0, -1) : seg;
    if (s.length > maxLineBytes) return { lineNo, tooLong: s.length };
    try {
      return { lineNo, text: decoder.decode(s) };
    } catch {
      return { lineNo, invalid: NOT_UTF8 };
    }
  });
}

Deno.test("readLines() yields numbered lines, with a last line lacking its newline", async () => {
  const lines = await collect([enc.encode("a\nbb\n\nccc")]);
  assert.deepEqual(lines, [
    { lineNo: 1, text: "a" },
    { lineNo: 2, text: "bb" },
    { lineNo: 3, text: "" },
    { lineNo: 4, text: "ccc" },
  ]);
});

Deno.test("readLines() yields nothing after a final newline, and nothing for empty input", async () => {
  assert.deepEqual(await collect([enc.encode("a\n")]), [{ lineNo: 1, text: "a" }]);
  assert.deepEqual(await collect([]), []);
  assert.deepEqual(await collect([new Uint8Array(0)]), []);
  assert.deepEqual(await collect([enc.encode("\n")]), [{ lineNo: 1, text: "" }]);
});

Deno.test("readLines() drops the \\r of CRLF line endings, only before a newline or at the end", async () => {
  const lines = await collect([enc.encode("a\r\nb\rc\r\n\r\nd\r")]);
  assert.deepEqual(lines, [
    { lineNo: 1, text: "a" },
    { lineNo: 2, text: "b\rc" },
    { lineNo: 3, text: "" },
    { lineNo: 4, text: "d" },
  ]);
});

Deno.test("readLines() skips a byte order mark at the start only, even split across chunks", async () => {
  const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
  const body = enc.encode("x\n\uFEFFy\n");
  const expected = [{ lineNo: 1, text: "x" }, { lineNo: 2, text: "\uFEFFy" }];
  assert.deepEqual(await collect([concat([bom, body])]), expected);
  assert.deepEqual(
    await collect([bom.subarray(0, 1), bom.subarray(1, 2), bom.subarray(2), body]),
    expected,
  );
  assert.deepEqual(await collect([bom]), []);
  // Two bytes of a BOM and then something else are data (here: not UTF-8).
  assert.deepEqual(await collect([bom.subarray(0, 2), enc.encode("z\n")]), [
    { lineNo: 1, invalid: NOT_UTF8 },
  ]);
});

Deno.test("readLines() reports a line with invalid UTF-8 and goes on with the next", async () => {
  const input = concat([
    enc.encode("ok\n"),
    new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]),
    enc.encode("\né\n"),
  ]);
  assert.deepEqual(await collect([input]), [
    { lineNo: 1, text: "ok" },
    { lineNo: 2, invalid: NOT_UTF8 },
    { lineNo: 3, text: "é" },
  ]);
});

Deno.test("readLines() keeps a multi-byte character split across chunks", async () => {
  const bytes = enc.encode("a😀b\n");
  assert.deepEqual(await collect([bytes.subarray(0, 3), bytes.subarray(3)]), [
    { lineNo: 1, text: "a😀b" },
  ]);
});

Deno.test("readLines() reports a line over maxLineBytes by its byte length, CR excluded", async () => {
  const lines = await collect([enc.encode("12345\n123456\r\n1234\n€€\n")], 5);
  assert.deepEqual(lines, [
    { lineNo: 1, text: "12345" },
    { lineNo: 2, tooLong: 6 },
    { lineNo: 3, text: "1234" },
    { lineNo: 4, tooLong: 6 },
  ]);
  // The same lines fed byte by byte (the carried-line path).
  const bytes = enc.encode("12345\n123456\r\n12345\r\n€€");
  assert.deepEqual(await collect([...bytes].map((b) => new Uint8Array([b])), 5), [
    { lineNo: 1, text: "12345" },
    { lineNo: 2, tooLong: 6 },
    { lineNo: 3, text: "12345" },
    { lineNo: 4, tooLong: 6 },
  ]);
});

Deno.test("readLines() rejects a bad maxLineBytes", async () => {
  await assert.rejects(() => collect([enc.encode("x")], -1), RangeError);
});

Deno.test("readLineBatches() yields the lines each chunk completes, one array per chunk", async () => {
  const batches: Line[][] = [];
  const stream = streamOf([enc.encode("a\nb"), enc.encode("c\nd\ne"), enc.encode("f")]);
  for await (const b of readLineBatches(stream, { maxLineBytes: 10 })) batches.push(b);
  assert.deepEqual(batches, [
    [{ lineNo: 1, text: "a" }],
    [{ lineNo: 2, text: "bc" }, { lineNo: 3, text: "d" }],
    [{ lineNo: 4, text: "ef" }],
  ]);
});

Deno.test("readLines() cancels its source when the consumer stops early", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(enc.encode("line\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const line of readLines(stream, { maxLineBytes: 100 })) {
    if (line.lineNo === 3) break;
  }
  assert.equal(cancelled, true);
});

Deno.test("readLines() skips a 2 GB line holding at most the cap in memory", async () => {
  const chunk = new Uint8Array(1 << 20).fill(0x61); // reused: the reader must copy what it keeps
  const total = 2048;
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent === total) {
        c.enqueue(enc.encode("\r\nnext"));
        c.close();
        return;
      }
      sent++;
      c.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  const before = Deno.memoryUsage().rss;
  let peak = before;
  const lines: Line[] = [];
  for await (const batch of readLineBatches(stream, { maxLineBytes: 262_144 })) {
    lines.push(...batch);
  }
  // Sampled at the end too: nothing of the line may remain.
  peak = Math.max(peak, Deno.memoryUsage().rss);
  assert.deepEqual(lines, [{ lineNo: 1, tooLong: total * (1 << 20) }, { lineNo: 2, text: "next" }]);
  assert.ok(peak - before < 256 * 1024 * 1024, `RSS grew by ${peak - before} bytes`);
});

const token = fc.constantFrom(
  [0x61],
  [0x62, 0x63],
  [0x0a],
  [0x0d],
  [0x0d, 0x0a],
  [0xef, 0xbb, 0xbf], // a BOM (data unless at the start)
  [0xc3, 0xa9], // é
  [0xe2, 0x82, 0xac], // €
  [0xf0, 0x9f, 0x98, 0x80], // 😀
  [0xff], // never valid
  [0x80], // a lone continuation byte
  [0xe2, 0x82], // a truncated sequence
  [0x7b, 0x22, 0x7d], // {"}
);
const input = fc.array(token, { maxLength: 60 }).map((ts) => Uint8Array.from(ts.flat()));

/** Splits bytes at the given offsets (sorted, deduplicated, in range). */
function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p)); // empty chunks included on purpose
    prev = p;
  }
  return chunks;
}

Deno.test("readLines() gives the same lines whatever the chunk boundaries (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      input,
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.integer({ min: 0, max: 16 }),
      async (bytes, cuts, max) => {
        const expected = reference(bytes, max);
        assert.deepEqual(await collect([bytes], max), expected);
        assert.deepEqual(await collect(splitAt(bytes, cuts), max), expected);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("readLines() byte by byte equals one chunk (property)", async () => {
  await fc.assert(
    fc.asyncProperty(input, fc.integer({ min: 0, max: 16 }), async (bytes, max) => {
      const bytewise = [...bytes].map((b) => new Uint8Array([b]));
      assert.deepEqual(await collect(bytewise, max), reference(bytes, max));
    }),
    { numRuns: 500 },
  );
});
