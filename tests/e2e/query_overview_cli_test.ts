/**
 * `convo query-overview` run in-process against a real PostgreSQL: every
 * format parses back, pages chain through the printed cursor, the table
 * aligns wide characters, bad input exits 2 with one line.
 */
import assert from "node:assert/strict";
import { displayWidth } from "../../src/cli/_width.ts";
import { runCli } from "../_helpers/cli.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { groundTruth, ingest, mixedLines, setupDatabase, sms } from "../overview/_seed.ts";

/** An RFC 4180 reader (LF or CRLF records). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
      } else {
        field += c;
        i++;
      }
    } else if (c === '"') {
      quoted = true;
      i++;
    } else if (c === ",") {
      record.push(field);
      field = "";
      i++;
    } else if (c === "\n" || c === "\r") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      field += c;
      i++;
    }
  }
  assert(!quoted && field === "" && record.length === 0, "the CSV ends with a record");
  return records;
}

/** The cursor of the `next page:` line on stderr, if any. */
function nextCursor(stderr: string): string | undefined {
  return /^next page: convo query-overview .*--cursor (\S+)$/m.exec(stderr)?.[1];
}

async function seeded(url: string, sql: Parameters<typeof groundTruth>[0]) {
  const env = await setupDatabase(url);
  const wide = await runCli([
    "endpoint",
    "add",
    "--customer",
    "日本商事",
    "--provider",
    "twilio",
    "--kind",
    "sms",
    "+14155550177",
  ], { env });
  assert.equal(wide.code, 0, wide.stderr);
  await ingest(env, [
    ...mixedLines(40),
    sms(
      "+14155550123",
      "+14155550177",
      "2024-05-01T12:09:00Z",
      '東京からこんにちは 👋🏽, "quoted"\nline two',
    ),
  ]);
  return { env, truth: (await groundTruth(sql)).map((r) => String(r.conversation_id)) };
}

Deno.test("convo query-overview --format json: one object per page; next_cursor chains every conversation once", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const { env, truth } = await seeded(url, sql);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0;; pages++) {
      assert(pages < 100);
      const args = ["query-overview", "--format", "json", "--limit", "4"];
      const r = await runCli(cursor ? [...args, "--cursor", cursor] : args, { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      const page = JSON.parse(r.stdout) as {
        conversations: Record<string, unknown>[];
        next_cursor: string | null;
      };
      assert.deepEqual(Object.keys(page), ["conversations", "next_cursor"]);
      for (const c of page.conversations) {
        assert.equal(typeof c.conversation_id, "string");
        assert.equal(typeof c.message_count, "string");
        assert(Array.isArray(c.participants));
        seen.push(c.conversation_id as string);
      }
      cursor = page.next_cursor;
      if (cursor === null) break;
    }
    assert.deepEqual(seen, truth);
  });
});

Deno.test("convo query-overview --format ndjson and csv parse back; the next page's command is on stderr", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const { env, truth } = await seeded(url, sql);
    for (const format of ["ndjson", "csv"] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let snippets = 0;
      for (let pages = 0;; pages++) {
        assert(pages < 100);
        const args = ["query-overview", "--format", format, "--limit", "5"];
        const r = await runCli(cursor ? [...args, "--cursor", cursor] : args, { env });
        assert.equal(r.code, 0, r.stderr);
        if (format === "ndjson") {
          for (const line of r.stdout.split("\n").filter((l) => l !== "")) {
            const row = JSON.parse(line);
            seen.push(row.conversation_id);
            if (/, "quoted" line two$/.test(row.snippet)) snippets++;
          }
        } else {
          const [header, ...records] = parseCsv(r.stdout);
          assert.deepEqual(header, [
            "conversation_id",
            "customer_id",
            "customer",
            "channel",
            "participants",
            "participant_count",
            "message_count",
            "last_message_at",
            "snippet",
          ]);
          for (const rec of records) {
            assert.equal(rec.length, header.length);
            seen.push(rec[0]);
            assert(Array.isArray(JSON.parse(rec[4])));
            if (/, "quoted" line two$/.test(rec[8])) snippets++;
          }
        }
        cursor = nextCursor(r.stderr);
        if (cursor === undefined) {
          assert.equal(r.stderr, "");
          break;
        }
        assert.match(r.stderr, new RegExp(`--limit 5 --format ${format} --cursor`));
      }
      assert.deepEqual(seen, truth, format);
      assert.equal(snippets, 1, format);
    }
    // A raw body with quotes, commas and a line break survives CSV.
    const [{ id }] = await sql<{ id: bigint }[]>`
      select id from conversations where participants @> array['+14155550177']`;
    const r = await runCli(["query-overview", "--messages", String(id), "--format", "csv"], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const [header, row, ...rest] = parseCsv(r.stdout);
    assert.equal(rest.length, 0);
    assert.equal(row[header.indexOf("body")], '東京からこんにちは 👋🏽, "quoted"\nline two');
  });
});

Deno.test("convo query-overview table aligns columns by display width (CJK, emoji)", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const { env } = await seeded(url, sql);
    const r = await runCli(["query-overview", "--limit", "8"], { env });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert(lines.some((l) => l.includes("日本商事")));
    // Where the CHANNEL and LAST MESSAGE columns start, in terminal columns.
    const at = (line: string, pattern: RegExp) => displayWidth(line.slice(0, line.search(pattern)));
    const channel = at(lines[0], /CHANNEL/);
    const last = at(lines[0], /LAST MESSAGE/);
    for (const line of lines.slice(1)) {
      assert.equal(at(line, / (sms|email) /) + 1, channel, line);
      assert.equal(at(line, /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/), last, line);
    }
    assert.match(r.stderr, /^next page: convo query-overview --limit 8 --cursor \S+\n$/);
  });
});

Deno.test("convo query-overview --messages prints bodies; filters by participant spelling agree", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const { env } = await seeded(url, sql);
    const list = async (...args: string[]) => {
      const r = await runCli(["query-overview", "--format", "json", ...args], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const a = await list("--participant", "(415) 555-0123");
    const b = await list("--participant", "+1 415-555-0123");
    assert.deepEqual(a, b);
    assert.equal(a.conversations.length, 1);
    const m = await list("--messages", a.conversations[0].conversation_id);
    assert.equal(m.next_cursor, null);
    assert.equal(m.messages[0].body, '東京からこんにちは 👋🏽, "quoted"\nline two');
    assert.equal(m.messages[0].sender, "+14155550123");
    assert.equal(m.messages[0].attachments, "0");
    const table = await runCli(
      ["query-overview", "--messages", a.conversations[0].conversation_id],
      {
        env,
      },
    );
    assert.match(table.stdout, /^ID +DIR +CHANNEL +SENT AT +SENDER +SUBJECT +BODY +ATT\n/);
    assert.match(table.stdout, /東京からこんにちは 👋🏽, "quoted"\\nline two +0\n$/);
  });
});

Deno.test("convo query-overview: bad input exits 2 with one line", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const { env } = await seeded(url, sql);
    const cases: [string[], RegExp][] = [
      [
        ["--cursor", "garbage"],
        /^error: invalid --cursor: Cannot parse cursor: current value is 'garbage'/,
      ],
      [["--since", "yesterday"], /^error: invalid --since: current value is 'yesterday'/],
      [["--until", "2024-13-01"], /^error: invalid --until/],
      [["--customer", "nobody"], /^error: no customer named "nobody"/],
      [["--customer", "4242"], /^error: no customer with id 4242/],
      [["--messages", "4242"], /^error: no conversation with id 4242/],
      [
        ["--messages", "1", "--customer", "acme"],
        /^error: --customer does not apply to --messages/,
      ],
      [["--limit", "0"], /^error: invalid --limit/],
      [["--limit", "5000"], /^error: invalid --limit/],
      [["--channel", "fax"], /^error: option '--channel <channel>' argument 'fax' is invalid/],
      [["--participant", "not a number!"], /^error: invalid --participant/],
      [["--format", "xml"], /^error: option '--format <format>'/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(["query-overview", ...args], { env });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    }
  });
});
