/**
 * `enqueue()` against a real PostgreSQL: what is stored, what is counted, what is
 * reported, line by line.
 */
import { derivedKey } from "../_helpers/events.ts";
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { createLogger } from "../../src/log/logger.ts";
import {
  enqueue,
  type EnqueueOptions,
  type EnqueueSource,
  type EnqueueSummary,
  type InvalidLine,
} from "../../src/queue/enqueue.ts";
import { smsLine as sms, withMigratedDatabase } from "../_helpers/seed.ts";

const enc = new TextEncoder();
const FIXTURES = new URL("../fixtures/events/", import.meta.url);
const MIXED = new URL("mixed.ndjson", FIXTURES);
const CAP = 262_144;

const withQueue = (fn: (sql: Sql) => Promise<void>) => withMigratedDatabase(({ sql }) => fn(sql));

function source(name: string, input: string | Uint8Array | Uint8Array[]): EnqueueSource {
  const chunks = Array.isArray(input)
    ? input
    : [typeof input === "string" ? enc.encode(input) : input];
  return { name, stream: ReadableStream.from(chunks) };
}

async function run(
  sql: Sql,
  sources: EnqueueSource[],
  options: Partial<EnqueueOptions> = {},
): Promise<{ summary: EnqueueSummary; invalid: InvalidLine[] }> {
  const invalid: InvalidLine[] = [];
  const summary = await enqueue(sql, sources, {
    maxPayloadBytes: CAP,
    onInvalid: (l) => invalid.push(l),
    ...options,
  });
  return { summary, invalid };
}

function counts(s: EnqueueSummary) {
  const { elapsedMs: _, ...rest } = s;
  return rest;
}

interface Row {
  id: bigint;
  event_type: string;
  idempotency_key: string | null;
  payload: Record<string, unknown>;
  status: string;
}

function rows(sql: Sql): Promise<Row[]> {
  return sql<Row[]>`
    select id, event_type, idempotency_key, payload, status from inbound_events order by id`;
}

const mixedLines = async () => (await Deno.readTextFile(MIXED)).split("\n");

Deno.test("enqueue() stores mixed.ndjson as its README says, and a second run only duplicates", async () => {
  await withQueue(async (sql) => {
    const text = await Deno.readTextFile(MIXED);
    const first = await run(sql, [source("mixed.ndjson", text)]);
    assert.deepEqual(counts(first.summary), {
      read: 16,
      valid: 12,
      stored: 10,
      duplicates: 2,
      invalid: 3,
      blank: 1,
      nulReplaced: 1,
      loneSurrogatesReplaced: 0,
      rolledBack: false,
    });
    assert.deepEqual(first.invalid, [
      {
        source: "mixed.ndjson",
        lineNo: 13,
        reason: "invalid JSON: Unexpected end of JSON input",
      },
      {
        source: "mixed.ndjson",
        lineNo: 14,
        reason: "payload.to: expected a string or an array of strings",
      },
      {
        source: "mixed.ndjson",
        lineNo: 16,
        reason:
          "payload.sent_at: timestamp has no time zone (ambiguous): add Z or an offset like +02:00",
      },
    ]);

    const stored = await rows(sql);
    const sm = (n: string) => `SM5f1a0c2b9e8d4f7a6b3c2d1e0f9a${n}`;
    const mm = (n: string) => `MM5f1a0c2b9e8d4f7a6b3c2d1e0f9a${n}`;
    assert.deepEqual(stored.map((r) => [r.event_type, r.idempotency_key]), [
      ["message.received", derivedKey("message.received", ["+14155550100"], sm("0001"))],
      ["message.sent", derivedKey("message.sent", ["+14155550100"], sm("0002"))],
      [
        "twilio.message",
        derivedKey(
          "twilio.message",
          ["+14155550100"],
          sm("0003"),
          "AC0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        ),
      ],
      ["message.sent", "outbound-sms-2024-05-01-0004"],
      [
        "message.received",
        derivedKey(
          "message.received",
          ["+14155550100", "+14155550144", "+14155550145"],
          mm("0005"),
        ),
      ],
      [
        "twilio.message",
        derivedKey(
          "twilio.message",
          ["+14155550100"],
          mm("0006"),
          "AC0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        ),
      ],
      [
        "postmark.inbound",
        derivedKey("postmark.inbound", [
          "support@example.org",
          "ops@example.org",
          "billing@example.org",
        ], "73e6d360-66eb-11e1-8e72-a8904824019b"),
      ],
      [
        "message.sent",
        derivedKey(
          "message.sent",
          ["support@example.org"],
          "<20240501171500.1042@mail.example.org>",
        ),
      ],
      [
        "message.received",
        derivedKey("message.received", [
          "support@example.org",
          "ops@example.org",
          "billing@example.org",
        ], "<CAF7x3Q+ab2Zq@mail.example.com>"),
      ],
      ["message.received", derivedKey("message.received", ["+14155550100"], sm("0015"))],
    ]);
    assert.ok(stored.every((r) => r.status === "pending"));

    // Payloads are stored as given (unknown provider fields included), in line order.
    const lines = await mixedLines();
    const expected = [1, 2, 3, 4, 5, 6, 8, 9, 10, 15].map((n) => JSON.parse(lines[n - 1]).payload);
    expected[9].body = "Gate code is 40\uFFFD12, thanks";
    // Postmark attachment content is not stored (the worker never reads it).
    for (const a of expected[6].Attachments) delete a.Content;
    assert.deepEqual(stored.map((r) => r.payload), expected);
    const [nul] = await sql<{ body: string }[]>`
      select payload->>'body' as body from inbound_events
      where idempotency_key = ${derivedKey("message.received", ["+14155550100"], sm("0015"))}`;
    assert.equal(nul.body, "Gate code is 40\uFFFD12, thanks");

    const second = await run(sql, [source("mixed.ndjson", text)]);
    assert.equal(second.summary.stored, 0);
    assert.equal(second.summary.duplicates, 12);
    assert.equal(second.summary.invalid, 3);
    assert.equal((await rows(sql)).length, 10);
  });
});

Deno.test("enqueue() reports malformed JSON, wrong types, oversized and non-UTF-8 lines, storing the rest", async () => {
  await withQueue(async (sql) => {
    const big = sms("SM-big", { body: "x".repeat(3000) });
    const input = [
      enc.encode(sms("SM-1") + "\n"),
      enc.encode('{"event_type":"message.received","payload":{\n'), // 2: malformed
      enc.encode(sms("SM-3", { to: 14155550100 }) + "\n"), // 3: wrong type
      enc.encode(sms("SM-4", { body: "a\u0000b\u0000c" }) + "\n"), // 4: two NULs
      enc.encode(big + "\n"), // 5: over a 2 KiB cap
      new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), // 6: not UTF-8
      enc.encode('{"event_type":"sms.in","payload":{}}\n'), // 7: unknown type
      enc.encode("[1,2]\n"), // 8: not an envelope
      enc.encode(sms("SM-9", { body: "lone \ud800 surrogate" }) + "\n"), // 9
      enc.encode(sms("SM-10")), // 10: no final newline
    ];
    const { summary, invalid } = await run(sql, [source("in", input)], { maxPayloadBytes: 2048 });
    assert.deepEqual(invalid.map((l) => [l.lineNo, l.reason]), [
      [2, "invalid JSON: Expected property name or '}' in JSON at position 44"],
      [3, "payload.to: expected a string or an array of strings"],
      [5, `line is ${enc.encode(big).length} bytes, over the 2048-byte cap`],
      [6, "not valid UTF-8"],
      [
        7,
        "unknown event_type 'sms.in' (expected one of message.received, message.sent, " +
        "twilio.message, postmark.inbound)",
      ],
      [8, "envelope: expected a JSON object, got array"],
    ]);
    assert.equal(summary.read, 10);
    assert.equal(summary.stored, 4);
    assert.equal(summary.nulReplaced, 2);
    assert.equal(summary.loneSurrogatesReplaced, 1);
    const stored = await rows(sql);
    assert.deepEqual(stored.map((r) => r.payload.provider_message_id), [
      "SM-1",
      "SM-4",
      "SM-9",
      "SM-10",
    ]);
    assert.equal(stored[1].payload.body, "a\uFFFDb\uFFFDc");
    assert.equal(stored[2].payload.body, "lone \uFFFD surrogate");
  });
});

Deno.test("enqueue() never echoes payload values in its reasons", async () => {
  await withQueue(async (sql) => {
    const secret = "+14155559876";
    const lines = [
      sms("SM-1", { from: 42, body: secret }),
      sms("SM-2", { sent_at: secret }),
      `{"event_type":"message.received","payload":{"from":"${secret}"`,
      JSON.stringify({ event_type: "twilio.message", payload: { From: secret, Body: secret } }),
    ];
    const { invalid } = await run(sql, [source("in", lines.join("\n"))]);
    assert.equal(invalid.length, 4);
    for (const l of invalid) assert.ok(!l.reason.includes("9876"), l.reason);
  });
});

Deno.test("enqueue() skips a 1 GB line in constant memory and stores its neighbours", async () => {
  await withQueue(async (sql) => {
    const chunk = new Uint8Array(1 << 20).fill(0x20); // reused: whitespace, as if a huge line
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent === 0) c.enqueue(enc.encode(sms("SM-before") + "\n{"));
        if (sent === 1024) {
          c.enqueue(enc.encode("}\r\n" + sms("SM-after") + "\n"));
          c.close();
        } else c.enqueue(chunk);
        sent++;
      },
    }, { highWaterMark: 0 });
    const before = Deno.memoryUsage().rss;
    const { summary, invalid } = await run(sql, [{ name: "huge", stream }]);
    const grown = Deno.memoryUsage().rss - before;
    assert.deepEqual(invalid, [{
      source: "huge",
      lineNo: 2,
      reason: `line is ${1024 * (1 << 20) + 2} bytes, over the ${CAP}-byte cap`,
    }]);
    assert.equal(summary.stored, 2);
    assert.ok(grown < 256 * 1024 * 1024, `RSS grew by ${grown} bytes`);
  });
});

Deno.test("enqueue() reads CRLF input with a byte order mark", async () => {
  await withQueue(async (sql) => {
    const text = "\uFEFF" + [sms("SM-1"), "", sms("SM-2"), "\uFEFF" + sms("SM-3")].join("\r\n") +
      "\r\n";
    const { summary, invalid } = await run(sql, [source("crlf", text)]);
    assert.deepEqual(invalid, []);
    assert.equal(summary.blank, 1);
    assert.equal(summary.stored, 3);
    assert.deepEqual((await rows(sql)).map((r) => r.payload.provider_message_id), [
      "SM-1",
      "SM-2",
      "SM-3",
    ]);
  });
});

Deno.test("enqueue() reads several sources in order, numbering lines per source", async () => {
  await withQueue(async (sql) => {
    const { summary, invalid } = await run(sql, [
      source("a.ndjson", [sms("SM-a1"), "not json", sms("SM-a3")].join("\n")),
      source("b.ndjson", ["", sms("SM-b2"), "{"].join("\n")),
    ]);
    assert.deepEqual(invalid.map((l) => `${l.source}:${l.lineNo}`), ["a.ndjson:2", "b.ndjson:3"]);
    assert.equal(summary.read, 6);
    assert.deepEqual((await rows(sql)).map((r) => r.payload.provider_message_id), [
      "SM-a1",
      "SM-a3",
      "SM-b2",
    ]);
  });
});

Deno.test("enqueue() with a type takes raw payloads (Twilio webhook parameters)", async () => {
  await withQueue(async (sql) => {
    const smsPayload = JSON.parse(await Deno.readTextFile(new URL("twilio_sms.json", FIXTURES)));
    const mmsPayload = JSON.parse(await Deno.readTextFile(new URL("twilio_mms.json", FIXTURES)));
    const text = [JSON.stringify(smsPayload), JSON.stringify(mmsPayload), '{"Body":"no sid"}']
      .join("\n");
    const { summary, invalid } = await run(sql, [source("twilio", text)], {
      type: "twilio.message",
    });
    assert.equal(summary.stored, 2);
    assert.equal(invalid.length, 1);
    assert.equal(invalid[0].lineNo, 3);
    const stored = await rows(sql);
    assert.deepEqual(stored.map((r) => [r.event_type, r.idempotency_key]), [
      [
        "twilio.message",
        derivedKey("twilio.message", [smsPayload.To], smsPayload.MessageSid, smsPayload.AccountSid),
      ],
      [
        "twilio.message",
        derivedKey("twilio.message", [mmsPayload.To], mmsPayload.MessageSid, mmsPayload.AccountSid),
      ],
    ]);
    assert.deepEqual(stored[1].payload, mmsPayload);
  });
});

Deno.test("enqueue() with a type reports an oversized payload as a payload", async () => {
  await withQueue(async (sql) => {
    const { invalid } = await run(sql, [source("t", JSON.stringify({ Body: "x".repeat(2000) }))], {
      type: "twilio.message",
      maxPayloadBytes: 1024,
    });
    assert.deepEqual(invalid.map((l) => l.reason), [
      "payload is 2011 bytes, over the 1024-byte cap",
    ]);
  });
});

Deno.test("enqueue() counts duplicates inside a batch, across batches and against earlier rows; the first one is stored", async () => {
  await withQueue(async (sql) => {
    const lines = [
      sms("SM-1", { body: "first" }),
      sms("SM-1", { body: "replay" }), // same batch
      sms("SM-2", {}, "my-key"),
      sms("SM-3", { body: "third" }),
      sms("SM-4", { body: "other payload, same explicit key" }, "my-key"), // next batch
      sms("SM-1", { body: "late replay" }),
    ];
    for (const batchSize of [1, 2, 3, 1000]) {
      await sql`truncate inbound_events`;
      const { summary } = await run(sql, [source("d", lines.join("\n"))], { batchSize });
      assert.equal(summary.stored, 3, `batchSize ${batchSize}`);
      assert.equal(summary.duplicates, 3, `batchSize ${batchSize}`);
      // Two batches in flight may interleave their ids: compare by key.
      const stored = (await rows(sql)).sort((a, b) =>
        a.idempotency_key!.localeCompare(b.idempotency_key!)
      );
      assert.deepEqual(
        stored.map((r) => [r.idempotency_key, r.payload.body]),
        [
          [derivedKey("message.received", ["+14155550100"], "SM-1"), "first"],
          [derivedKey("message.received", ["+14155550100"], "SM-3"), "third"],
          ["my-key", "message SM-2"],
        ],
        `batchSize ${batchSize}`,
      );
    }
    const again = await run(sql, [source("d", lines.join("\n"))], { batchSize: 2 });
    assert.equal(again.summary.stored, 0);
    assert.equal(again.summary.duplicates, 6);
  });
});

Deno.test("enqueue() with two batches in flight stores each key once, first occurrence first", async () => {
  await withQueue(async (sql) => {
    // Every id comes back many times, at varying distances: batches of 7 in flight two at a
    // time share keys constantly.
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) {
      const id = (i * 7919) % 101;
      lines.push(sms(`SM-${id}`, { body: `line ${i + 1}` }));
    }
    const firstLine = new Map<string, number>();
    lines.forEach((l, i) => {
      const id = JSON.parse(l).payload.provider_message_id;
      if (!firstLine.has(id)) firstLine.set(id, i + 1);
    });
    const { summary } = await run(sql, [source("many", lines.join("\n"))], { batchSize: 7 });
    assert.equal(summary.stored, 101);
    assert.equal(summary.duplicates, 499);
    for (const r of await rows(sql)) {
      assert.equal(
        r.payload.body,
        `line ${firstLine.get(r.payload.provider_message_id as string)}`,
      );
    }
  });
});

Deno.test("enqueue() holds back a key of a batch still in flight: no deadlock between its own batches", async () => {
  await withQueue(async (sql) => {
    // The second batch replays the first one's keys in reverse order: sent while the first
    // is still inserting, it would take the keys in crossing order (a deadlock, or the
    // replay stored instead of the original).
    const n = 2000;
    const first = Array.from({ length: n }, (_, i) => sms(`SM-${i}`, { body: "original" }));
    const replays = Array.from(
      { length: n },
      (_, i) => sms(`SM-${n - 1 - i}`, { body: "replay" }),
    );
    const { summary } = await run(sql, [source("x", [...first, ...replays].join("\n"))], {
      batchSize: n,
    });
    assert.equal(summary.stored, n);
    assert.equal(summary.duplicates, n);
    const [{ replays: stored }] = await sql`
      select count(*)::int as replays from inbound_events where payload->>'body' <> 'original'`;
    assert.equal(stored, 0);
  });
});

Deno.test("enqueue() reports a line the database refuses and stores the rest of its batch", async () => {
  await withQueue(async (sql) => {
    const lines = [sms("SM-1"), sms("SM-2", { extra: 1 }), sms("SM-3"), sms("SM-4"), sms("SM-5")];
    // V8 reads 1e200000 as Infinity; PostgreSQL's numeric cannot hold it (its 200,001
    // digits, within the cap as stored, are over numeric's 131,072).
    lines[1] = lines[1].replace('"extra":1', '"extra":1e200000');
    lines[3] = lines[3].replace('"body":', '"big":1e400,"body":');
    for (const strict of [false, true]) {
      await sql`truncate inbound_events`;
      const { summary, invalid } = await run(sql, [source("n", lines.join("\n"))], { strict });
      assert.deepEqual(invalid, [{
        source: "n",
        lineNo: 2,
        reason: "rejected by the database: value overflows numeric format (SQLSTATE 22003)",
      }]);
      assert.equal(summary.invalid, 1);
      assert.equal(summary.valid, 4);
      if (strict) {
        assert.equal(summary.rolledBack, true);
        assert.equal((await rows(sql)).length, 0);
      } else {
        assert.equal(summary.stored, 4);
        assert.equal(summary.duplicates, 0);
        const stored = await rows(sql);
        assert.deepEqual(stored.map((r) => r.payload.provider_message_id), [
          "SM-1",
          "SM-3",
          "SM-4",
          "SM-5",
        ]);
        // The line's own text was stored: 1e400 kept as a number, not turned into null.
        const [big] = await sql`
          select payload->>'big' as big from inbound_events
          where idempotency_key = ${derivedKey("message.received", ["+14155550100"], "SM-4")}`;
        assert.equal(big.big, "1" + "0".repeat(400));
      }
    }
  });
});

Deno.test("enqueue() strict stores nothing when one line is invalid, and reports them all", async () => {
  await withQueue(async (sql) => {
    const text = await Deno.readTextFile(MIXED);
    const { summary, invalid } = await run(sql, [source("mixed", text)], {
      strict: true,
      batchSize: 2,
    });
    assert.equal(summary.rolledBack, true);
    assert.equal(summary.stored, 0);
    assert.equal(summary.duplicates, 0);
    assert.equal(summary.valid, 12);
    assert.deepEqual(invalid.map((l) => l.lineNo), [13, 14, 16]);
    assert.equal((await rows(sql)).length, 0);
  });
});

Deno.test("enqueue() strict stores everything when every line is valid", async () => {
  await withQueue(async (sql) => {
    const lines = (await mixedLines()).slice(0, 12);
    const { summary, invalid } = await run(sql, [source("ok", lines.join("\n"))], {
      strict: true,
      batchSize: 3,
    });
    assert.deepEqual(invalid, []);
    assert.equal(summary.rolledBack, false);
    assert.equal(summary.stored, 9);
    assert.equal(summary.duplicates, 2);
    assert.equal((await rows(sql)).length, 9);
  });
});

Deno.test("enqueue() outside strict keeps the batches stored before a failing source", async () => {
  await withQueue(async (sql) => {
    let n = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        n++;
        if (n <= 5) c.enqueue(enc.encode(sms(`SM-${n}`) + "\n"));
        else c.error(new Error("disk went away"));
      },
    });
    await assert.rejects(
      () => run(sql, [{ name: "flaky", stream }], { batchSize: 2 }),
      /disk went away/,
    );
    // Two full batches were sent before the error; the fifth line was still pending. The
    // two batches were in flight at once: their ids may interleave.
    assert.deepEqual((await rows(sql)).map((r) => r.payload.provider_message_id).sort(), [
      "SM-1",
      "SM-2",
      "SM-3",
      "SM-4",
    ]);
  });
});

Deno.test("enqueue() splits batches by bytes as well as by rows", async () => {
  await withQueue(async (sql) => {
    const lines = Array.from({ length: 20 }, (_, i) => sms(`SM-${i}`, { body: "y".repeat(500) }));
    const log: string[] = [];
    const logger = createLogger({ level: "debug", format: "json", write: (l) => log.push(l) });
    const { summary } = await run(sql, [source("b", lines.join("\n"))], {
      batchBytes: 2000,
      logger,
    });
    assert.equal(summary.stored, 20);
    const batches = log.map((l) => JSON.parse(l)).filter((l) => l.msg === "batch inserted");
    assert.ok(batches.length >= 5, `${batches.length} batches`);
    assert.ok(batches.every((b) => b.rows <= 3), JSON.stringify(batches.map((b) => b.rows)));
  });
});

Deno.test("enqueue() of nothing stores nothing", async () => {
  await withQueue(async (sql) => {
    const { summary } = await run(sql, [source("empty", "")]);
    assert.deepEqual(counts(summary), {
      read: 0,
      valid: 0,
      stored: 0,
      duplicates: 0,
      invalid: 0,
      blank: 0,
      nulReplaced: 0,
      loneSurrogatesReplaced: 0,
      rolledBack: false,
    });
  });
});

Deno.test("inbound_events.idempotency_key compares bytes (collation C), whatever the database's locale", async () => {
  await withQueue(async (sql) => {
    const [column] = await sql<{ collation: string | null }[]>`
      select collation_name as collation from information_schema.columns
      where table_name = 'inbound_events' and column_name = 'idempotency_key'`;
    assert.equal(column.collation, "C");
    // Byte order: 'B' (0x42) before 'a' (0x61), and one key per spelling.
    const keys = ["a", "B", "A", "b"];
    const { summary } = await run(sql, [
      source("c", keys.map((k, i) => sms(`SM-${i}`, {}, k)).join("\n")),
    ]);
    assert.equal(summary.stored, 4);
    const stored = await sql<{ k: string }[]>`
      select idempotency_key as k from inbound_events order by idempotency_key`;
    assert.deepEqual(stored.map((r) => r.k), ["A", "B", "a", "b"]);
  });
});
