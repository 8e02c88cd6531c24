/**
 * `convo enqueue` fed a hostile file: thousands of broken, mistyped, oversized,
 * badly encoded and booby-trapped lines among valid ones, from a seeded
 * generator. Every invalid line must be reported with its line number, every
 * valid one stored exactly, the exit code 2, and the process's peak memory
 * bounded whatever the lines' sizes (a resource bound, not a timing one).
 */
import assert from "node:assert/strict";
import { V8_FLAGS } from "../../src/build/v8_flags.ts";
import { spawnCli } from "../_helpers/cli.ts";
import { outputWithPeakRss } from "../_helpers/rss.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { mulberry32 } from "../_helpers/prng.ts";
import { migrate } from "../_helpers/seed.ts";

const LINES = 12_000;
const PEAK_RSS_LIMIT_MB = 300;
const enc = new TextEncoder();

type Expect = "valid" | "invalid" | "either";
interface Line {
  bytes: Uint8Array;
  expect: Expect;
  kind: string;
  /** Idempotency key, when the line carries one. */
  key?: string;
  /** The payload it must be stored as (valid lines). */
  payload?: unknown;
}

const NASTY = [
  "'; drop table messages; --",
  '" or 1=1 --',
  "$(rm -rf /)",
  "`id`",
  "&& echo pwned | sh",
  "%s%n%x",
  "${HOME}",
  "\\\\server\\share",
  "<script>alert(1)</script>",
  "ؐ‮RTL‬ 🙂 👩‍👩‍👧",
  "\t tabs \t and  spaces ",
];

function payloadFor(i: number, body: string): Record<string, unknown> {
  return {
    channel: "sms",
    provider_message_id: `SMh${i}`,
    from: "+14155550142",
    to: "+14155550100",
    body,
    sent_at: "2024-05-01T16:00:03Z",
  };
}

function envelope(i: number, payload: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event_type: "message.received",
    payload,
    idempotency_key: `k-${i}`,
    ...extra,
  });
}

/** The generated file's lines (1-based line n is lines[n - 1]). */
function generate(seed: number): Line[] {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const out: Line[] = [];
  for (let i = 0; i < LINES; i++) {
    const body = `${pick(NASTY)} ${i} ${pick(NASTY)}`;
    const p = payloadFor(i, body);
    const key = `k-${i}`;
    const text = (s: string, expect: Expect, kind: string, payload?: unknown): Line => ({
      bytes: enc.encode(s),
      expect,
      kind,
      key,
      payload,
    });
    const r = rand();
    if (r < 0.55) {
      out.push(text(envelope(i, p), "valid", "valid", p));
      continue;
    }
    const kinds: (() => Line)[] = [
      () => {
        const s = envelope(i, p);
        return text(s.slice(0, 1 + Math.floor(rand() * (s.length - 2))), "invalid", "truncated");
      },
      () => text(envelope(i, "a string"), "invalid", "payload not an object"),
      () => text(envelope(i, p).replace('"message.received"', "42"), "invalid", "type a number"),
      () => text(envelope(i, { ...p, sent_at: 12 }), "invalid", "sent_at a number"),
      () => text(envelope(i, { ...p, to: { a: 1 } }), "invalid", "to an object"),
      () => text(pick(["[]", "null", '"str"', "123", "true", "{}"]), "invalid", "not an envelope"),
      () =>
        text(
          envelope(i, p).replace('"sent_at":"2024', '"sent_at":1e400,"x":"'),
          "invalid",
          "1e400",
        ),
      () =>
        text(
          envelope(i, p).replace("message.received", "message.exploded"),
          "invalid",
          "unknown type",
        ),
      () => {
        // A raw NUL byte inside a JSON string: a control character, not JSON;
        // convo may take it as the documented U+0000 replacement.
        const s = enc.encode(envelope(i, p));
        const at = enc.encode(envelope(i, p).split('"body":"')[0] + '"body":"').length;
        const b = new Uint8Array(s.length + 1);
        b.set(s.subarray(0, at));
        b[at] = 0;
        b.set(s.subarray(at), at + 1);
        return { bytes: b, expect: "either", kind: "raw NUL", key };
      },
      () => {
        const s = enc.encode(envelope(i, { ...p, body: "XX" }));
        const at = s.findIndex((c, j) => c === 0x58 && s[j + 1] === 0x58);
        const b = s.slice();
        b[at] = pick([0xff, 0xc3, 0x80, 0xed]);
        b[at + 1] = pick([0x28, 0xfe]);
        return { bytes: b, expect: "invalid", kind: "invalid UTF-8", key };
      },
      () =>
        text(
          `{"event_type":"message.received","payload":${"[".repeat(10_000)}${
            "]".repeat(10_000)
          },"idempotency_key":"${key}"}`,
          "invalid",
          "10k-deep nesting",
        ),
      () => {
        // Over the 256 KiB payload cap; a few much larger.
        const size = rand() < 0.1 ? 4 << 20 : 300 << 10;
        return text(envelope(i, { ...p, body: "x".repeat(size) }), "invalid", "over the cap");
      },
      () => text(envelope(i, p, { ["k".repeat(100_000)]: 1 }), "invalid", "long envelope key"),
      () =>
        text(
          envelope(i, p).replace("{", '{"__proto__":{"polluted":1},'),
          "invalid",
          "__proto__ envelope key",
        ),
      () =>
        text(
          envelope(i, p, { constructor: { prototype: { x: 1 } } }),
          "invalid",
          "constructor key",
        ),
      // Valid, with content the store must transform exactly as documented.
      () => {
        const q = { ...p, body: `nul\u0000here ${i}` };
        return text(envelope(i, q), "valid", "\\u0000 escape", {
          ...q,
          body: `nul\ufffdhere ${i}`,
        });
      },
      () => {
        const s = envelope(i, { ...p, body: "LONE" }).replace("LONE", "lone \\ud800 x \\udc00");
        return text(s, "valid", "lone surrogates", { ...p, body: "lone \ufffd x \ufffd" });
      },
      // Not pinned down by the documentation: reported or stored, never both or neither.
      () => text("\ufeff" + envelope(i, p), "either", "BOM mid-file"),
      () =>
        text(
          envelope(i, p).replace("{", '{"event_type":"message.sent",'),
          "either",
          "duplicate key",
        ),
      () => text(envelope(i, { ...p, ["q".repeat(100_000)]: 1 }), "either", "long payload key"),
      () =>
        text(envelope(i, { ...p, __proto__: { polluted: 1 } }), "either", "__proto__ in payload"),
    ];
    out.push(pick(kinds)());
  }
  return out;
}

/** JSON with object keys sorted (jsonb does not keep their order). */
function canonical(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : x,
  );
}

Deno.test("convo enqueue: 12k hostile lines among valid ones: each invalid one reported by line, each valid one stored exactly, exit 2, bounded memory", async () => {
  const lines = generate(9_117);
  const file = await Deno.makeTempFile({ prefix: "convo_hostile_", suffix: ".ndjson" });
  try {
    // Mixed line endings; the file ends without a newline.
    const rand = mulberry32(7);
    const f = await Deno.open(file, { write: true });
    const w = f.writable.getWriter();
    for (let n = 0; n < lines.length; n++) {
      await w.write(lines[n].bytes);
      if (n < lines.length - 1) await w.write(enc.encode(rand() < 0.3 ? "\r\n" : "\n"));
    }
    await w.close();

    await withTestDatabase(async ({ sql, url }) => {
      await migrate(sql);
      const child = spawnCli(["enqueue", file], {
        // The heap settings convo ships with (src/build/v8_flags.ts).
        env: { DATABASE_URL: url, DENO_V8_FLAGS: V8_FLAGS },
      });
      const { out, peakMb: peak } = await outputWithPeakRss(child, 180_000);
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 2, stdout + stderr.slice(0, 2000));

      const reported = new Map<number, string>();
      for (const l of stderr.split("\n")) {
        const m = /^(.*):(\d+): (.*)$/.exec(l);
        if (m && m[1] === file) reported.set(Number(m[2]), m[3]);
      }
      const rows = await sql<{ key: string; payload: unknown }[]>`
        select idempotency_key as key, payload from inbound_events`;
      const stored = new Map(rows.map((r) => [r.key, r.payload]));

      const problems: string[] = [];
      const counts: Record<string, number> = {};
      const either: Record<string, number> = {};
      let valid = 0;
      let invalid = 0;
      lines.forEach((line, idx) => {
        const n = idx + 1;
        counts[line.kind] = (counts[line.kind] ?? 0) + 1;
        const isReported = reported.has(n);
        const isStored = line.key !== undefined && stored.has(line.key);
        const say = (what: string) => problems.push(`line ${n} (${line.kind}): ${what}`);
        if (isReported && isStored) say("both reported and stored");
        if (!isReported && !isStored) say("neither reported nor stored");
        if (line.expect === "invalid" && !isReported) say("not reported");
        if (line.expect === "valid") {
          if (isReported) say(`reported: ${reported.get(n)}`);
          else if (canonical(stored.get(line.key!)) !== canonical(line.payload)) {
            say(`stored as ${canonical(stored.get(line.key!)).slice(0, 300)}`);
          }
        }
        if (line.expect === "either") {
          const k = `${line.kind}: ${isStored ? "stored" : "reported"}`;
          either[k] = (either[k] ?? 0) + 1;
        }
        if (isReported) invalid++;
        if (isStored) valid++;
      });
      assert.deepEqual(problems.slice(0, 30), [], `${problems.length} problem(s)`);
      assert.equal(reported.size, invalid, "no report names a line that does not exist");
      assert.equal(stored.size, valid, "nothing stored that the file does not hold");
      assert.match(
        stdout,
        new RegExp(
          `^read ${LINES} lines: stored ${valid}, duplicates 0, invalid ${invalid}, blank 0`,
        ),
      );
      assert.ok(peak > 0, "peak RSS was measured");
      assert.ok(peak < PEAK_RSS_LIMIT_MB, `peak RSS ${peak.toFixed(0)} MB`);
      console.log(
        `hostile_enqueue_test: ${LINES} lines (${(await Deno.stat(file)).size >> 20} MB), ` +
          `stored ${valid}, reported ${invalid}; peak RSS ${peak.toFixed(0)} MB; kinds ${
            JSON.stringify(counts)
          }; undocumented cases ${JSON.stringify(either)}`,
      );
    });
  } finally {
    await Deno.remove(file);
  }
});
