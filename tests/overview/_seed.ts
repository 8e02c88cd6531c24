/**
 * Conversations for the overview tests, made through the real ingest path
 * (`convo enqueue` then `convo work --drain`, in-process), and the ground
 * truth computed with plain SQL over the base tables.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { runCli } from "../_helpers/cli.ts";
import { mulberry32 } from "../_helpers/prng.ts";

/** Our endpoints: acme's number and mailbox, globex's number. */
export const ACME_SMS = "+14155550100";
export const ACME_EMAIL = "support@example.org";
export const GLOBEX_SMS = "+14155550199";

/** Migrates and maps the endpoints; returns the env to run convo with. */
export async function setupDatabase(url: string): Promise<Record<string, string>> {
  const env = { DATABASE_URL: url };
  const run = async (...args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, r.stderr);
  };
  await run("migrate", "up");
  await run(
    "endpoint",
    "add",
    "--customer",
    "acme",
    "--provider",
    "twilio",
    "--kind",
    "sms",
    ACME_SMS,
  );
  await run(
    "endpoint",
    "add",
    "--customer",
    "acme",
    "--provider",
    "postmark",
    "--kind",
    "email",
    ACME_EMAIL,
  );
  await run(
    "endpoint",
    "add",
    "--customer",
    "globex",
    "--provider",
    "twilio",
    "--kind",
    "sms",
    GLOBEX_SMS,
  );
  return env;
}

/** Enqueues envelope lines and drains the queue; every event must be done. */
export async function ingest(env: Record<string, string>, lines: readonly string[]): Promise<void> {
  const enq = await runCli(["enqueue", "-"], { env, stdin: lines.join("\n") + "\n" });
  assert.equal(enq.code, 0, enq.stderr);
  const work = await runCli(["work", "--drain"], { env });
  assert.equal(work.code, 0, work.stderr);
  assert.match(work.stdout + work.stderr, /dead 0/);
}

let sequence = 0;

/** An inbound SMS from `from` to `to` (ours first), with a body and optional media. */
export function sms(
  from: string,
  to: string | string[],
  sentAt: string,
  body: string,
  mediaUrls: string[] = [],
): string {
  const payload = {
    channel: mediaUrls.length ? "mms" : "sms",
    provider_message_id: `SMovw${++sequence}-${crypto.randomUUID()}`,
    from,
    to,
    body,
    sent_at: sentAt,
    ...(mediaUrls.length ? { attachments: mediaUrls.map((url) => ({ url })) } : {}),
  };
  return JSON.stringify({ event_type: "message.received", payload });
}

/** An outbound email from our mailbox. */
export function email(
  to: string,
  sentAt: string,
  subject: string,
  body: string,
  attachments = 0,
): string {
  const payload = {
    channel: "email",
    provider_message_id: `<ovw${++sequence}-${crypto.randomUUID()}@mail.example.org>`,
    from: ACME_EMAIL,
    to: [to],
    subject,
    body,
    sent_at: sentAt,
    attachments: Array.from({ length: attachments }, (_, i) => ({
      url: `https://files.example.org/${sequence}/${i}.pdf`,
    })),
  };
  return JSON.stringify({ event_type: "message.sent", payload });
}

/** A contact's phone number, `+1415555` and four digits. */
export function phone(i: number): string {
  return `+1415555${String(2000 + i).padStart(4, "0")}`;
}

/**
 * Lines for `n` messages over about `n / 3` conversations of two customers,
 * both channels, with times drawn from a few minutes so that many
 * conversations tie on their last message time (the id breaks the tie).
 */
export function mixedLines(n: number, seed = 7): string[] {
  const rand = mulberry32(seed);
  const lines: string[] = [];
  const contacts = Math.max(3, Math.floor(n / 3));
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * contacts);
    const at = new Date(Date.UTC(2024, 4, 1, 12, Math.floor(rand() * 5))).toISOString();
    const kind = c % 5;
    if (kind === 0) {
      lines.push(
        email(`person${c}@example.com`, at, `Order ${c}`, `Hello, "${c}", here, too\nbye`),
      );
    } else if (kind === 1) {
      lines.push(sms(phone(c), GLOBEX_SMS, at, `globex ${c}`));
    } else {
      lines.push(sms(phone(c), ACME_SMS, at, `acme ${c} 日本語 👍`));
    }
  }
  return lines;
}

/** A conversation as the ground truth has it. */
export interface TruthRow {
  conversation_id: bigint;
  customer: string;
  channel: string;
  participants: string[];
  participant_count: bigint;
  message_count: bigint;
  last_message_at: Date | null;
}

/**
 * Every conversation, from the base tables alone (counting messages and
 * contacts, not reading the counters), in the overview's order.
 */
export async function groundTruth(sql: Sql): Promise<TruthRow[]> {
  const rows = await sql<TruthRow[]>`
    select c.id as conversation_id, cu.name as customer, c.channel, c.participants,
      (select count(distinct contact_id) from conversation_participants p
        where p.conversation_id = c.id) as participant_count,
      (select count(*) from messages m where m.conversation_id = c.id) as message_count,
      (select max(convo_message_activity_at(sent_at, received_at, created_at)) from messages m
        where m.conversation_id = c.id) as last_message_at
    from conversations c join customers cu on cu.id = c.customer_id
    order by 7 desc nulls last, c.id desc`;
  return [...rows];
}

/**
 * A conversation without messages (as a backfill could leave one before its
 * counters are written): ingest never makes one.
 */
export async function insertEmptyConversation(sql: Sql, participant: string): Promise<bigint> {
  const [{ id }] = await sql<{ id: bigint }[]>`
    insert into conversations (customer_id, channel, participants_key, participants)
    select id, 'sms', (random() * 1e15)::bigint, array[${ACME_SMS}, ${participant}]
    from customers where name = 'acme'
    returning id`;
  return id;
}
