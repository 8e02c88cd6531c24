/**
 * `convo enqueue` as a user runs it: files and stdin, output, exit codes, what ends up in
 * the queue.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { execCli, runCli } from "../_helpers/cli.ts";
import { derivedKey } from "../_helpers/events.ts";
import type { TestDatabase } from "../_helpers/db.ts";
import { smsLine as sms, withMigratedDatabase } from "../_helpers/seed.ts";

const FIXTURES = new URL("../fixtures/events/", import.meta.url);
const MIXED_PATH = decodeURIComponent(new URL("mixed.ndjson", FIXTURES).pathname);
const SUMMARY = /^read (\d+) lines?: (.*) \((\d+(?:\.\d)?m?s), \d+ lines\/s\)\n$/;

const MIXED_REASONS = [
  "13: invalid JSON: Unexpected end of JSON input",
  "14: payload.to: expected a string or an array of strings",
  "16: payload.sent_at: timestamp has no time zone (ambiguous): add Z or an offset like +02:00",
];

async function withQueue(fn: (db: TestDatabase, dir: string) => Promise<void>): Promise<void> {
  await withMigratedDatabase(async (db) => {
    const dir = await Deno.makeTempDir({ prefix: "convo_enqueue_" });
    try {
      await fn(db, dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

async function count(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from inbound_events`;
  return n;
}

Deno.test("convo enqueue mixed.ndjson: 10 stored, 2 duplicates, 3 invalid lines reported, exit 2", async () => {
  await withQueue(async ({ url, sql }) => {
    const env = { DATABASE_URL: url };
    const first = await execCli(["enqueue", MIXED_PATH], { env });
    assert.equal(first.code, 2, first.stderr);
    const m = SUMMARY.exec(first.stdout);
    assert.ok(m, first.stdout);
    assert.equal(m[1], "16");
    assert.equal(m[2], "stored 10, duplicates 2, invalid 3, blank 1; replaced 1 U+0000");
    assert.equal(
      first.stderr,
      MIXED_REASONS.map((r) => `${MIXED_PATH}:${r}\n`).join("") +
        "error: 3 invalid line(s); the lines reported above were not stored; " +
        "fix them and enqueue them again\n",
    );
    // Reasons name fields, never values.
    for (const value of ["+14155550142", "Wrong type for to", "Zone-less", "Gate code"]) {
      assert.ok(!first.stderr.includes(value), value);
    }
    assert.equal(await count(sql), 10);
    const [nul] = await sql`
      select payload->>'body' as body from inbound_events
      where idempotency_key = ${
      derivedKey("message.received", ["+14155550100"], "SM5f1a0c2b9e8d4f7a6b3c2d1e0f9a0015")
    }`;
    assert.equal(nul.body, "Gate code is 40\uFFFD12, thanks");

    const second = await execCli(["enqueue", MIXED_PATH], { env });
    assert.equal(second.code, 2);
    assert.equal(
      SUMMARY.exec(second.stdout)?.[2],
      "stored 0, duplicates 12, invalid 3, blank 1; replaced 1 U+0000",
    );
    assert.equal(await count(sql), 10);
  });
});

Deno.test("convo enqueue reads stdin for - and for no argument, reporting lines as stdin:N", async () => {
  await withQueue(async ({ url, sql }) => {
    const stdin = await Deno.readTextFile(MIXED_PATH);
    for (const args of [["enqueue", "-"], ["enqueue"]]) {
      await sql`truncate inbound_events`;
      const r = await execCli(args, { env: { DATABASE_URL: url }, stdin });
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(
        r.stderr.split("\n").filter((l) => l.startsWith("stdin:")),
        MIXED_REASONS.map((x) => `stdin:${x}`),
      );
      assert.equal(await count(sql), 10);
    }
  });
});

Deno.test("convo enqueue --json prints the summary as one JSON object", async () => {
  await withQueue(async ({ url }) => {
    const r = await runCli(["enqueue", "--json", MIXED_PATH], { env: { DATABASE_URL: url } });
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.stdout);
    assert.equal(typeof doc.elapsed_ms, "number");
    delete doc.elapsed_ms;
    assert.deepEqual(doc, {
      read: 16,
      valid: 12,
      stored: 10,
      duplicates: 2,
      invalid: 3,
      blank: 1,
      nul_replaced: 1,
      lone_surrogates_replaced: 0,
      rolled_back: false,
    });
  });
});

Deno.test("convo enqueue exits 0 when every line is valid", async () => {
  await withQueue(async ({ url, sql }, dir) => {
    const file = `${dir}/ok.ndjson`;
    await Deno.writeTextFile(file, [sms("SM-1"), sms("SM-2"), sms("SM-1")].join("\n") + "\n");
    const r = await runCli(["enqueue", file], { env: { DATABASE_URL: url } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(SUMMARY.exec(r.stdout)?.[2], "stored 2, duplicates 1, invalid 0, blank 0");
    assert.equal(await count(sql), 2);
  });
});

Deno.test("convo enqueue --type twilio.message stores raw webhook payloads", async () => {
  await withQueue(async ({ url, sql }, dir) => {
    const lines = await Promise.all(
      ["twilio_sms.json", "twilio_mms.json"].map(async (f) =>
        JSON.stringify(JSON.parse(await Deno.readTextFile(new URL(f, FIXTURES))))
      ),
    );
    const file = `${dir}/twilio.ndjson`;
    await Deno.writeTextFile(file, lines.join("\n"));
    const r = await runCli(["enqueue", "--type", "twilio.message", file], {
      env: { DATABASE_URL: url },
    });
    assert.equal(r.code, 0, r.stderr);
    const rows = await sql`select event_type, idempotency_key from inbound_events order by id`;
    assert.deepEqual(rows.map((x) => [x.event_type, x.idempotency_key]), [
      [
        "twilio.message",
        derivedKey(
          "twilio.message",
          ["+14155550100"],
          "SM5f1a0c2b9e8d4f7a6b3c2d1e0f9a0003",
          "AC0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        ),
      ],
      [
        "twilio.message",
        derivedKey(
          "twilio.message",
          ["+14155550100"],
          "MM5f1a0c2b9e8d4f7a6b3c2d1e0f9a0006",
          "AC0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        ),
      ],
    ]);
  });
});

Deno.test("convo enqueue rejects a bad --type or --batch-size before reading anything", async () => {
  const bad = await runCli(["enqueue", "--type", "twilio.sms", "nope.ndjson"]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    "error: invalid --type: current value is 'twilio.sms'; expected one of message.received, " +
      "message.sent, twilio.message, postmark.inbound\n",
  );
  const size = await runCli(["enqueue", "--batch-size", "0", "nope.ndjson"]);
  assert.equal(size.code, 2);
  assert.match(
    size.stderr,
    /^error: invalid --batch-size: current value is '0'; expected an integer 1…100000\n$/,
  );
});

Deno.test("convo enqueue with a missing file exits 2, names it, and stores nothing", async () => {
  await withQueue(async ({ url, sql }, dir) => {
    const good = `${dir}/good.ndjson`;
    await Deno.writeTextFile(good, sms("SM-1") + "\n");
    const r = await execCli(["enqueue", good, `${dir}/missing.ndjson`], {
      env: { DATABASE_URL: url },
    });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `error: cannot read '${dir}/missing.ndjson': no such file; check the path; nothing was stored\n`,
    );
    assert.equal(r.stdout, "");
    assert.equal(await count(sql), 0);

    const asDir = await runCli(["enqueue", dir], { env: { DATABASE_URL: url } });
    assert.equal(asDir.code, 2);
    assert.match(asDir.stderr, /cannot read '.*': it is a directory/);

    const twice = await runCli(["enqueue", "-", "-"], { env: { DATABASE_URL: url } });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /standard input \(-\) is given more than once/);
    assert.equal(await count(sql), 0);
  });
});

Deno.test("convo enqueue reads several files in order, numbering lines per file", async () => {
  await withQueue(async ({ url, sql }, dir) => {
    await Deno.writeTextFile(`${dir}/a.ndjson`, [sms("SM-a1"), "{oops", sms("SM-a3")].join("\n"));
    await Deno.writeTextFile(`${dir}/b.ndjson`, ["", "[]", sms("SM-b3")].join("\n"));
    const r = await runCli(["enqueue", "a.ndjson", "b.ndjson"], {
      env: { DATABASE_URL: url },
      cwd: dir,
    });
    assert.equal(r.code, 2);
    assert.deepEqual(r.stderr.split("\n").slice(0, 2), [
      "a.ndjson:2: invalid JSON: Expected property name or '}' in JSON at position 1",
      "b.ndjson:2: envelope: expected a JSON object, got array",
    ]);
    assert.equal(SUMMARY.exec(r.stdout)?.[2], "stored 3, duplicates 0, invalid 2, blank 1");
    const rows =
      await sql`select payload->>'provider_message_id' as id from inbound_events order by id`;
    assert.deepEqual(rows.map((x) => x.id), ["SM-a1", "SM-a3", "SM-b3"]);
  });
});

Deno.test("convo enqueue --strict stores nothing if a line is invalid, everything otherwise", async () => {
  await withQueue(async ({ url, sql }, dir) => {
    const env = { DATABASE_URL: url };
    const bad = await execCli(["enqueue", "--strict", MIXED_PATH], { env });
    assert.equal(bad.code, 2);
    assert.equal(
      SUMMARY.exec(bad.stdout)?.[2],
      "nothing stored (--strict); valid 12, invalid 3, blank 1; replaced 1 U+0000",
    );
    assert.match(bad.stderr, /error: 3 invalid line\(s\); nothing was stored \(--strict\)/);
    assert.equal(await count(sql), 0);

    const file = `${dir}/ok.ndjson`;
    await Deno.writeTextFile(file, [sms("SM-1"), sms("SM-2")].join("\n"));
    const ok = await runCli(["enqueue", "--strict", "--batch-size", "1", file], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await count(sql), 2);
  });
});

Deno.test("convo enqueue rejects a line over CONVO_MAX_PAYLOAD_BYTES, and a 20 MB line", async () => {
  await withQueue(async ({ url, sql }, dir) => {
    const file = `${dir}/sizes.ndjson`;
    const big = sms("SM-2", { body: "x".repeat(1500) });
    const huge = sms("SM-3", { body: "y".repeat(20 * 1024 * 1024) });
    await Deno.writeTextFile(file, [sms("SM-1"), big, huge, sms("SM-4")].join("\n") + "\n");
    const small = await execCli(["enqueue", file], {
      env: { DATABASE_URL: url, CONVO_MAX_PAYLOAD_BYTES: "1024" },
    });
    assert.equal(small.code, 2);
    assert.deepEqual(small.stderr.split("\n").slice(0, 2), [
      `${file}:2: line is ${big.length} bytes, over the 1024-byte cap`,
      `${file}:3: line is ${huge.length} bytes, over the 1024-byte cap`,
    ]);
    assert.equal(await count(sql), 2);

    const dflt = await runCli(["enqueue", file], { env: { DATABASE_URL: url } });
    assert.equal(dflt.code, 2);
    assert.match(
      dflt.stderr,
      new RegExp(`:3: line is ${huge.length} bytes, over the 262144-byte cap\n`),
    );
    assert.equal(await count(sql), 3);
  });
});

Deno.test("convo enqueue reads CRLF with a BOM, and reports bytes that are not UTF-8", async () => {
  await withQueue(async ({ url, sql }, dir) => {
    const file = `${dir}/win.ndjson`;
    const enc = new TextEncoder();
    const bytes = [
      new Uint8Array([0xef, 0xbb, 0xbf]),
      enc.encode(sms("SM-1") + "\r\n"),
      enc.encode('{"event_type":"message.received","payload":{"body":"'),
      new Uint8Array([0xc3, 0x28]),
      enc.encode('"}}\r\n'),
      enc.encode(sms("SM-3") + "\r\n"),
    ];
    await Deno.writeFile(file, new Uint8Array(bytes.flatMap((b) => [...b])));
    const r = await runCli(["enqueue", file], { env: { DATABASE_URL: url } });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split("\n")[0], `${file}:2: not valid UTF-8`);
    assert.equal(await count(sql), 2);
  });
});

Deno.test("convo enqueue --help describes the input format and every flag", async () => {
  const r = await runCli(["enqueue", "--help"]);
  assert.equal(r.code, 0);
  for (const text of ["--type", "--strict", "--batch-size", "--json", "event_type", "stdin"]) {
    assert.ok(r.stdout.includes(text), text);
  }
});
