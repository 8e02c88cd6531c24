/**
 * listConversations() against a real PostgreSQL, with conversations made by
 * the real ingest path, compared with ground truth from the base tables.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { UsageError } from "../../src/errors.ts";
import {
  type ConversationRow,
  listConversations,
  type ListConversationsOptions,
} from "../../src/overview/conversations.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import {
  ACME_EMAIL,
  ACME_SMS,
  email,
  GLOBEX_SMS,
  groundTruth,
  ingest,
  insertEmptyConversation,
  mixedLines,
  phone,
  setupDatabase,
  sms,
  type TruthRow,
} from "./_seed.ts";

/** Every page of a listing, following the cursors; fails past `maxPages`. */
async function walk(
  sql: Sql,
  options: ListConversationsOptions,
  between?: (page: number) => Promise<void>,
  maxPages = 1000,
): Promise<ConversationRow[][]> {
  const pages: ConversationRow[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listConversations(sql, { ...options, cursor });
    pages.push(page.rows);
    assert(pages.length <= maxPages, "the walk did not end");
    if (page.nextCursor === null) return pages;
    assert(page.rows.length === options.limit, "a page before the last is full");
    cursor = page.nextCursor;
    await between?.(pages.length);
  }
}

const OURS = new Set([ACME_SMS, ACME_EMAIL, GLOBEX_SMS]);

/** A new message in an existing two-party conversation (ours and a contact). */
function touch(r: TruthRow, at: string, body: string): string {
  const theirs = r.participants.find((p) => !OURS.has(p))!;
  const ours = r.participants.find((p) => OURS.has(p))!;
  return r.channel === "email" ? email(theirs, at, "Re", body) : sms(theirs, ours, at, body);
}

const ids = (rows: readonly { conversation_id: bigint }[]) => rows.map((r) => r.conversation_id);

Deno.test("listConversations() equals the ground truth over the base tables", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    await ingest(env, mixedLines(120));
    await insertEmptyConversation(sql, phone(900));
    await insertEmptyConversation(sql, phone(901));
    const truth = await groundTruth(sql);
    assert(truth.length > 30);
    const { rows, nextCursor } = await listConversations(sql, { limit: 1000 });
    assert.equal(nextCursor, null);
    assert.deepEqual(
      rows.map((r) => ({
        conversation_id: r.conversation_id,
        customer: r.customer,
        channel: r.channel,
        participants: r.participants,
        participant_count: r.participant_count,
        message_count: r.message_count,
        last_message_at: r.last_message_at,
      })),
      truth,
    );
    // The two without messages come last, higher id first.
    assert.deepEqual(rows.slice(-2).map((r) => r.last_message_at), [null, null]);
    assert(rows.at(-2)!.conversation_id > rows.at(-1)!.conversation_id);
    // Snippets are the latest message's.
    const [latest] = await sql<{ raw: string }[]>`
      select xb.raw from messages m join xms_bodies xb on xb.id = m.body_id
      where m.conversation_id = ${rows[0].conversation_id} and m.channel <> 'email'
      order by m.sent_at desc, m.id desc limit 1`;
    if (latest && rows[0].channel === "sms") assert.equal(rows[0].snippet, latest.raw);
  });
});

Deno.test("listConversations() cursor walk with a small limit visits each conversation once, in order", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    await ingest(env, mixedLines(90, 11));
    await insertEmptyConversation(sql, phone(900));
    await insertEmptyConversation(sql, phone(901));
    await insertEmptyConversation(sql, phone(902));
    const truth = ids(await groundTruth(sql));
    for (const limit of [1, 2, 3, 7]) {
      const pages = await walk(sql, { limit });
      assert.deepEqual(ids(pages.flat()), truth, `limit ${limit}`);
    }
    // Filtered walks equal the filtered truth.
    const acme = await walk(sql, { limit: 4, customer: "acme", channel: "sms" });
    const acmeTruth = (await groundTruth(sql)).filter((r) =>
      r.customer === "acme" && r.channel === "sms"
    );
    assert.deepEqual(ids(acme.flat()), ids(acmeTruth));
    const since = new Date(Date.UTC(2024, 4, 1, 12, 2)).toISOString();
    const until = new Date(Date.UTC(2024, 4, 1, 12, 3)).toISOString();
    const timed = await walk(sql, { limit: 2, since, until });
    const timedTruth = (await groundTruth(sql)).filter((r) =>
      r.last_message_at !== null && r.last_message_at.toISOString() >= since &&
      r.last_message_at.toISOString() <= until
    );
    assert(timedTruth.length > 0);
    assert.deepEqual(ids(timed.flat()), ids(timedTruth));
  });
});

Deno.test("listConversations() walk while messages arrive never repeats a conversation and ends", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    await ingest(env, mixedLines(60, 3));
    const before = await groundTruth(sql);
    const moved = new Set<bigint>();
    const pages = await walk(sql, { limit: 3 }, async (page) => {
      // A new message in a conversation not yet seen, one in a conversation
      // already seen, and a new conversation, each later than everything:
      // they jump to the top, ahead of the cursor.
      const at = new Date(Date.UTC(2024, 5, 1, 0, page)).toISOString();
      const ahead = before[Math.min(before.length - 1, page * 4)];
      const behind = before[Math.max(0, page * 3 - 2)];
      moved.add(ahead.conversation_id).add(behind.conversation_id);
      await ingest(env, [
        touch(ahead, at, `moved ${page}`),
        touch(behind, at, `again ${page}`),
        sms(phone(500 + page), ACME_SMS, at, `new ${page}`),
      ]);
    });
    const seen = ids(pages.flat());
    assert.equal(new Set(seen).size, seen.length, "no conversation twice");
    // Every conversation that did not move while the walk ran is seen.
    for (const r of before) {
      if (!moved.has(r.conversation_id)) assert(seen.includes(r.conversation_id));
    }
    // The order within the walk never goes back up.
    const rows = pages.flat();
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1], b = rows[i];
      const at = (r: ConversationRow) => r.last_message_at?.getTime() ?? -Infinity;
      assert(
        at(a) > at(b) || at(a) === at(b) && a.conversation_id > b.conversation_id ||
          moved.has(a.conversation_id) || moved.has(b.conversation_id),
      );
    }
  });
});

Deno.test("listConversations() finds a participant by any spelling of a phone or an email", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    await ingest(env, [
      sms("(415) 555-0123", ACME_SMS, "2024-05-01T12:00:00Z", "one"),
      sms("+14155550123", [ACME_SMS, "+14155550124"], "2024-05-01T12:01:00Z", "group"),
      sms("+14155550125", ACME_SMS, "2024-05-01T12:02:00Z", "other"),
      email("jane.doe@example.com", "2024-05-01T12:03:00Z", "Hi", "mail one"),
      email("Jane Doe <Jane.Doe+news@Example.COM>", "2024-05-01T12:04:00Z", "Hi", "mail two"),
      email("john@example.com", "2024-05-01T12:05:00Z", "Hi", "other mail"),
    ]);
    const find = async (participant: string, extra: ListConversationsOptions = {}) =>
      ids((await listConversations(sql, { participant, ...extra })).rows);
    const phoneIds = await find("+14155550123");
    assert.equal(phoneIds.length, 2);
    for (
      const spelling of ["(415) 555-0123", "+1 415-555-0123", "415.555.0123", "tel:+14155550123"]
    ) {
      assert.deepEqual(await find(spelling), phoneIds, spelling);
    }
    const emailIds = await find("jane.doe@example.com");
    assert.equal(emailIds.length, 1);
    for (const spelling of ["Jane.Doe+tag@Example.COM", "Jane <JANE.DOE@example.com>"]) {
      assert.deepEqual(await find(spelling), emailIds, spelling);
    }
    // Our own number: every acme SMS conversation, through the other plan.
    const ours = await find("(415) 555-0100");
    assert.deepEqual(ours, await find(ACME_SMS, { customer: "acme", channel: "sms" }));
    assert.equal(ours.length, 3);
    // A national number of another region, with that region.
    assert.deepEqual(await find("+14155550123", { region: "GB" }), phoneIds);
    await assert.rejects(find("not a number!"), UsageError);
  });
});

Deno.test("listConversations() resolves --customer by id or name; unknown ones are usage errors", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    await ingest(env, mixedLines(30));
    const [{ id }] = await sql<{ id: bigint }[]>`select id from customers where name = 'globex'`;
    const byName = await listConversations(sql, { customer: "globex" });
    const byId = await listConversations(sql, { customer: String(id) });
    assert(byName.rows.length > 0);
    assert.deepEqual(byId, byName);
    assert(byName.rows.every((r) => r.customer === "globex"));
    await assert.rejects(
      listConversations(sql, { customer: "nobody" }),
      /no customer named "nobody"/,
    );
    await assert.rejects(listConversations(sql, { customer: "999" }), /no customer with id 999/);
  });
});

Deno.test("listConversations() refuses a bad cursor, a --messages cursor, a bad time and limit", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    await ingest(env, mixedLines(12));
    const first = await listConversations(sql, { limit: 1 });
    assert(first.nextCursor);
    const cases: [ListConversationsOptions, RegExp][] = [
      [{ cursor: "garbage!" }, /invalid --cursor/],
      [{ cursor: first.nextCursor.slice(0, -3) }, /invalid --cursor/],
      [{ cursor: "eyJ2IjoxfQ" }, /invalid --cursor/],
      [{ since: "yesterday" }, /invalid --since/],
      [{ until: "7" }, /invalid --until/],
      [{ since: "1d", until: "2d" }, /is after --until/],
      [{ limit: 0 }, /invalid --limit/],
      [{ limit: 1001 }, /invalid --limit/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(listConversations(sql, options), (err: unknown) => {
        assert(err instanceof UsageError, String(err));
        assert.match(err.message, message);
        assert(!err.message.includes("\n"));
        return true;
      });
    }
  });
});
