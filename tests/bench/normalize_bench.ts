/**
 * Throughput of the normalizers the ingest worker calls for every message.
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 *   deno run -A tests/bench/normalize_bench.ts [--json] [--runs N]
 *
 * Each case runs once to warm up, then N times (default 7); each run lasts at
 * least ~200 ms, except "phone (cold)", which is one pass over inputs never
 * seen, with the cache emptied first. Reported: ops/s median, min and max.
 *
 * @module
 */
import { conversationKey } from "../../src/normalize/conversation_key.ts";
import { normalizeBody } from "../../src/normalize/body.ts";
import { normalizeEmail } from "../../src/normalize/email.ts";
import { hash64 } from "../../src/normalize/hash.ts";
import { clearPhoneCache, normalizePhone } from "../../src/normalize/phone.ts";
import { snippet } from "../../src/normalize/snippet.ts";
import { mulberry32 as rng } from "../_helpers/prng.ts";

/** The figures of one case. */
export interface BenchResult {
  /** What was measured. */
  name: string;
  /** Median operations per second over the runs. */
  median: number;
  /** Slowest run. */
  min: number;
  /** Fastest run. */
  max: number;
  /** The target, operations per second, if it sets one. */
  target?: number;
  /** Runs measured (after one warm-up). */
  runs: number;
}

function digits(rand: () => number, n: number, first = "0123456789"): string {
  let s = first[Math.floor(rand() * first.length)];
  for (let i = 1; i < n; i++) s += Math.floor(rand() * 10);
  return s;
}

const pick = <T>(rand: () => number, items: readonly T[]): T =>
  items[Math.floor(rand() * items.length)];

/** Distinct US, GB and DE numbers in the formats providers and people use. */
function phoneInputs(count: number, seed: number): string[] {
  const rand = rng(seed);
  const out = new Set<string>();
  while (out.size < count) {
    const kind = rand();
    let s: string;
    if (kind < 0.6) {
      const npa = digits(rand, 3, "23456789");
      const nxx = digits(rand, 3, "23456789");
      const line = digits(rand, 4);
      s = pick(rand, [
        `+1${npa}${nxx}${line}`,
        `+1 (${npa}) ${nxx}-${line}`,
        `(${npa}) ${nxx}-${line}`,
        `${npa}.${nxx}.${line}`,
        `1-${npa}-${nxx}-${line}`,
        `tel:+1${npa}${nxx}${line}`,
      ]);
    } else if (kind < 0.8) {
      const mobile = `7${digits(rand, 3, "4579")} ${digits(rand, 6)}`;
      const london = `20 ${digits(rand, 4, "378")} ${digits(rand, 4)}`;
      s = pick(rand, [`+44 ${mobile}`, `+44${london.replaceAll(" ", "")}`, `0044 ${london}`]);
    } else {
      const berlin = `30 ${digits(rand, 8, "123456789")}`;
      const mobile = `15${digits(rand, 1, "1279")} ${digits(rand, 8)}`;
      s = pick(rand, [`+49 ${berlin}`, `+49 (0)${berlin}`, `+49${mobile.replace(" ", "")}`]);
    }
    out.add(s);
  }
  return [...out];
}

/** Addresses with display names, plus tags, mixed case, gmail and IDN domains. */
function emailInputs(count: number, seed: number): string[] {
  const rand = rng(seed);
  const first = ["jane", "John", "amy", "Bob", "li.wei", "o'brien", "MARIA", "sam_k"];
  const domains = ["example.com", "Gmail.com", "googlemail.com", "corp.example.co.uk", "x.org"];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const local = `${pick(rand, first)}${Math.floor(rand() * 10000)}`;
    const tag = rand() < 0.3 ? `+${pick(rand, ["news", "Orders", "x1"])}` : "";
    const domain = rand() < 0.03 ? "bücher.de" : pick(rand, domains);
    const addr = `${local}${tag}@${domain}`;
    const r = rand();
    out.push(
      r < 0.4 ? addr : r < 0.7 ? `"${local} Doe" <${addr}>` : r < 0.85 ? `<${addr}>` : ` ${addr} `,
    );
  }
  return out;
}

function opsPerSecond(fn: () => number, minMs: number): number {
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    ops += fn();
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return ops / (elapsed / 1000);
}

function summarize(
  name: string,
  samples: number[],
  target: number | undefined,
): BenchResult {
  const sorted = samples.slice().sort((a, b) => a - b);
  return {
    name,
    median: sorted[Math.floor(sorted.length / 2)],
    min: sorted[0],
    max: sorted[sorted.length - 1],
    target,
    runs: samples.length,
  };
}

// Sinks the optimizer cannot see through.
let sink = 0;
let keySink = 0n;

/** Runs every case and returns the figures. */
export function runNormalizeBench(options: { runs?: number; minMs?: number } = {}): BenchResult[] {
  const runs = options.runs ?? 7;
  const minMs = options.minMs ?? 200;
  const results: BenchResult[] = [];

  const timed = (name: string, target: number | undefined, batch: () => number) => {
    opsPerSecond(batch, minMs); // warm-up
    const samples: number[] = [];
    for (let r = 0; r < runs; r++) samples.push(opsPerSecond(batch, minMs));
    results.push(summarize(name, samples, target));
  };

  // hash64: distinct 48-byte ASCII strings (the size of a key string for 3 phones).
  const strings48 = Array.from({ length: 4096 }, (_, i) => {
    const s = `sms\n+1415555${String(i).padStart(4, "0")}\n+442079460958\nx`;
    return s.padEnd(48, "z").slice(0, 48);
  });
  timed("hash64 (48-byte strings)", 1_500_000, () => {
    for (const s of strings48) keySink ^= hash64(s);
    return strings48.length;
  });

  const emails = emailInputs(4096, 1);
  timed("normalizeEmail", 300_000, () => {
    for (const e of emails) sink += normalizeEmail(e).address.length;
    return emails.length;
  });

  // Cold: every input is new to the cache (emptied before each pass).
  const cold = Array.from({ length: runs + 1 }, (_, i) => phoneInputs(20_000, 100 + i));
  for (const set of cold) for (const p of set) normalizePhone(p); // drop the bad ones early
  const coldSamples: number[] = [];
  for (let r = 0; r <= runs; r++) {
    clearPhoneCache();
    const set = cold[r];
    const start = performance.now();
    for (const p of set) sink += normalizePhone(p).value.length;
    const ops = set.length / ((performance.now() - start) / 1000);
    if (r > 0) coldSamples.push(ops); // the first pass is the warm-up
  }
  results.push(summarize("normalizePhone (cold, cache missed)", coldSamples, 80_000));

  // Warm: a working set of 1 000 numbers that recur.
  const warm = phoneInputs(1000, 7);
  clearPhoneCache();
  timed("normalizePhone (warm, cache hit)", undefined, () => {
    for (const p of warm) sink += normalizePhone(p).value.length;
    return warm.length;
  });

  // Conversation key: 3 normalized participants (ours, theirs, a cc).
  const triples = Array.from({ length: 4096 }, (_, i) => [
    `+1415555${String(i).padStart(4, "0")}`,
    "+442079460958",
    `+4930${String(1_000_000 + i * 7)}`,
  ]);
  timed("conversationKey (3 participants)", 200_000, () => {
    for (const t of triples) keySink ^= conversationKey("sms", t).key;
    return triples.length;
  });

  // Extras the worker also runs per message (no targets in the issue).
  const rand = rng(3);
  const words = ["hello", "Ok", "see you", "at", "5pm", "café", "👍", "\r\n", "  ", "tomorrow!"];
  const bodies = Array.from(
    { length: 2048 },
    () => Array.from({ length: 30 }, () => pick(rand, words)).join(" "),
  );
  timed("normalizeBody (~160 chars)", undefined, () => {
    for (const b of bodies) sink += normalizeBody(b).length;
    return bodies.length;
  });
  const normalizedBodies = bodies.map(normalizeBody);
  timed("snippet (with emoji: segmenter)", undefined, () => {
    for (const b of normalizedBodies) sink += snippet(b).length;
    return normalizedBodies.length;
  });
  const plainBodies = normalizedBodies.map((b) => b.replaceAll("👍", "ok").replaceAll("é", "e"));
  timed("snippet (below U+0300: by index)", undefined, () => {
    for (const b of plainBodies) sink += snippet(b).length;
    return plainBodies.length;
  });

  return results;
}

function format(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

if (import.meta.main) {
  const json = Deno.args.includes("--json");
  const runsAt = Deno.args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 7;
  const results = runNormalizeBench({ runs });
  if (json) {
    console.log(
      JSON.stringify({ deno: Deno.version.deno, results, sink: (sink + Number(keySink & 1n)) % 2 }),
    );
  } else {
    const rows = [["case", "median ops/s", "min", "max", "target", ""]];
    for (const r of results) {
      rows.push([
        r.name,
        format(r.median),
        format(r.min),
        format(r.max),
        r.target === undefined ? "-" : `≥ ${format(r.target)}`,
        r.target === undefined ? "" : r.median >= r.target ? "met" : "MISSED",
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    for (const row of rows) {
      console.log(
        row.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ")
          .trimEnd(),
      );
    }
    console.log(`\nDeno ${Deno.version.deno}, ${runs} runs per case (median, min, max)`);
  }
}
