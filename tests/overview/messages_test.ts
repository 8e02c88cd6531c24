/**
 * listMessages() against a real PostgreSQL: bodies resolved by channel,
 * senders, attachment counts, paging, and bad input.
 */
import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import { listConversations } from "../../src/overview/conversations.ts";
import { listMessages, type MessageRow } from "../../src/overview/messages.ts";
import { withTestDatabase } from "../_helpers/db.ts";
import { ACME_EMAIL, ACME_SMS, email, ingest, setupDatabase, sms } from "./_seed.ts";

Deno.test("listMessages() resolves sms and email bodies, senders and attachment counts, newest first", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    await ingest(env, [
      sms("(415) 555-0123", ACME_SMS, "2024-05-01T12:00:00Z", "first 日本語"),
      sms("+14155550123", ACME_SMS, "2024-05-01T12:01:00Z", "two photos", [
        "https://media.example.com/1.jpg",
        "https://media.example.com/2.jpg",
      ]),
      email(
        "Dana.Lee+x@Example.com",
        "2024-05-01T12:02:00Z",
        "Invoice",
        'Hello,\n"Dana", see attached',
        1,
      ),
    ]);
    const { rows: conversations } = await listConversations(sql);
    const smsConversation = conversations.find((c) => c.channel === "sms")!;
    const emailConversation = conversations.find((c) => c.channel === "email")!;

    const smsPage = await listMessages(sql, String(smsConversation.conversation_id));
    assert.equal(smsPage.nextCursor, null);
    assert.deepEqual(
      smsPage.rows.map((r) => [r.direction, r.channel, r.sender, r.subject, r.body, r.attachments]),
      [
        ["inbound", "mms", "+14155550123", null, "two photos", 2n],
        ["inbound", "sms", "+14155550123", null, "first 日本語", 0n],
      ],
    );
    const emailPage = await listMessages(sql, String(emailConversation.conversation_id));
    assert.deepEqual(
      emailPage.rows.map((
        r,
      ) => [r.direction, r.channel, r.sender, r.subject, r.body, r.attachments]),
      [["outbound", "email", ACME_EMAIL, "Invoice", 'Hello,\n"Dana", see attached', 1n]],
    );
    assert.deepEqual(emailPage.rows[0].sent_at, new Date("2024-05-01T12:02:00Z"));
  });
});

Deno.test("listMessages() pages by cursor through ties on sent_at, each message once, in order", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    // 23 messages over 4 distinct times: most of them tie.
    await ingest(
      env,
      Array.from(
        { length: 23 },
        (_, i) => sms("+14155550123", ACME_SMS, `2024-05-01T12:0${i % 4}:00Z`, `m${i}`),
      ),
    );
    const [{ id }] = await sql<{ id: bigint }[]>`select id from conversations`;
    const truth = await sql<{ id: bigint }[]>`
      select id from messages where conversation_id = ${id} order by sent_at desc, id desc`;
    for (const limit of [1, 4, 5, 23, 50]) {
      const seen: MessageRow[] = [];
      let cursor: string | undefined;
      for (let pages = 0;; pages++) {
        assert(pages < 30);
        const page = await listMessages(sql, String(id), { limit, cursor });
        seen.push(...page.rows);
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      assert.deepEqual(seen.map((r) => r.message_id), truth.map((r) => r.id), `limit ${limit}`);
    }
    // since/until bound sent_at.
    const bounded = await listMessages(sql, String(id), {
      since: "2024-05-01T12:01:00Z",
      until: "2024-05-01T12:02:00Z",
    });
    assert.equal(bounded.rows.length, 12);
  });
});

Deno.test("listMessages() refuses an unknown or malformed conversation id and a foreign cursor", async () => {
  await withTestDatabase(async ({ url, sql }) => {
    const env = await setupDatabase(url);
    await ingest(env, [
      sms("+14155550123", ACME_SMS, "2024-05-01T12:00:00Z", "a"),
      sms("+14155550123", ACME_SMS, "2024-05-01T12:01:00Z", "b"),
      sms("+14155550124", ACME_SMS, "2024-05-01T12:02:00Z", "c"),
    ]);
    const [one, two] = await sql<{ id: bigint }[]>`
      select id from conversations order by message_count desc`;
    const page = await listMessages(sql, String(one.id), { limit: 1 });
    assert(page.nextCursor);
    const overview = await listConversations(sql, { limit: 1 });
    const cases: [string, string | undefined, RegExp][] = [
      ["999", undefined, /^no conversation with id 999$/],
      ["abc", undefined, /^invalid --messages: current value is 'abc'$/],
      [String(two.id), page.nextCursor, /it pages conversation/],
      [String(one.id), overview.nextCursor!, /invalid --cursor: .*not of --messages/],
      [String(one.id), "Zm9v", /invalid --cursor/],
    ];
    for (const [conversation, cursor, message] of cases) {
      await assert.rejects(listMessages(sql, conversation, { cursor }), (err: unknown) => {
        assert(err instanceof UsageError, String(err));
        assert.match(err.message, message);
        return true;
      });
    }
    // And a --messages cursor is refused by the overview.
    await assert.rejects(
      listConversations(sql, { cursor: page.nextCursor }),
      /invalid --cursor: .*not of the conversation list/,
    );
  });
});
