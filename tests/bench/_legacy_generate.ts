/**
 * Deterministic generator of legacy messages (`conversation_id IS NULL`) for the
 * conversation benchmarks: `customers × conversationsPerCustomer` participant
 * sets, `messagesPerConversation` messages each (1M messages in 100k
 * conversations for 100 customers by default), written set-based so that a
 * million rows take seconds, not minutes.
 *
 * The shape of the data:
 * - each customer has one SMS number and one support mailbox (endpoint
 *   mappings, with their providers);
 * - of its conversations, 60 % are 1:1 SMS threads, 20 % group MMS threads
 *   (two or three contacts) and 20 % email threads (one contact, half of them
 *   with a second contact on Cc);
 * - every participant set is distinct, so every conversation is one the
 *   backfill must create; messages alternate inbound and outbound, a minute
 *   apart, each thread starting at its own time; bodies come from a pool.
 *
 * Addresses are written already normalized (as ingest stores them), with
 * `id = hash64(value)`.
 *
 * @module
 */
import type { Sql } from "../../src/db/connect.ts";
import { hash64 } from "../../src/normalize/hash.ts";
import { mulberry32 } from "../_helpers/prng.ts";

/** Options of {@link generateLegacy}. */
export interface LegacyOptions {
  customers?: number;
  conversationsPerCustomer?: number;
  messagesPerConversation?: number;
  seed?: number;
}

/** What was generated. */
export interface LegacySummary {
  customers: number;
  conversations: number;
  messages: number;
  /** Customer names, `bench-000` … */
  names: string[];
}

const START = Date.UTC(2024, 0, 1);
const WORDS = [
  "hello",
  "thanks",
  "tomorrow",
  "invoice",
  "delivery",
  "question",
  "appointment",
  "please",
  "confirm",
  "schedule",
  "order",
  "refund",
  "ticket",
  "update",
  "see you",
];

const s = (v: bigint) => v.toString();
const ids = (values: readonly bigint[]) => `{${values.join(",")}}`;

/** Fills an empty, migrated database with legacy messages. */
export async function generateLegacy(
  sql: Sql,
  options: LegacyOptions = {},
): Promise<LegacySummary> {
  const customers = options.customers ?? 100;
  const perCustomer = options.conversationsPerCustomer ?? 1000;
  const perConversation = options.messagesPerConversation ?? 10;
  const random = mulberry32(options.seed ?? 1);
  const names = Array.from({ length: customers }, (_, c) => `bench-${String(c).padStart(3, "0")}`);

  // Customers, their providers and endpoints.
  const customerIds = (await sql<{ id: bigint }[]>`
    insert into customers (name) select unnest(${names}::text[]) returning id`).map((r) => r.id);
  const smsProviders = (await sql<{ id: bigint }[]>`
    insert into providers (customer_id, kind, name)
    select unnest(${customerIds.map(s)}::bigint[]), 'sms', 'twilio' returning id`).map((r) => r.id);
  const mailProviders = (await sql<{ id: bigint }[]>`
    insert into providers (customer_id, kind, name)
    select unnest(${customerIds.map(s)}::bigint[]), 'email', 'postmark' returning id`).map((r) =>
    r.id
  );
  const phones = new Map<bigint, string>();
  const emails = new Map<bigint, string>();
  const phone = (v: string) => {
    const k = hash64(v);
    phones.set(k, v);
    return k;
  };
  const email = (v: string) => {
    const k = hash64(v);
    emails.set(k, v);
    return k;
  };
  const ourPhone = names.map((_, c) => phone(`+1415555${String(1000 + c).padStart(4, "0")}`));
  const ourMail = names.map((_, c) => email(`support@c${c}.example.org`));
  const endpoints = customerIds.flatMap((id, c) => [
    [id, smsProviders[c], "sms", phones.get(ourPhone[c])!, ourPhone[c]] as const,
    [id, mailProviders[c], "email", emails.get(ourMail[c])!, ourMail[c]] as const,
  ]);

  // Conversations: (customer, provider, channel, our address, contacts, cc).
  const conv = {
    customer: [] as string[],
    provider: [] as string[],
    channel: [] as string[],
    ours: [] as string[],
    contacts: [] as string[],
    cc: [] as string[],
    start: [] as string[],
  };
  for (let c = 0; c < customers; c++) {
    const area = 200 + (c % 700);
    for (let j = 0; j < perCustomer; j++) {
      const kind = j % 10;
      const contactPhone = (k: number) =>
        phone(
          `+1${area}${String(5550000 + c * 10 + Math.floor(k / 10000)).slice(-3)}${
            String(k % 10000).padStart(4, "0")
          }`,
        );
      let channel: string, ours: bigint, contacts: bigint[], cc: bigint[] = [];
      if (kind < 6) {
        channel = "sms";
        ours = ourPhone[c];
        contacts = [contactPhone(j)];
      } else if (kind < 8) {
        channel = "mms";
        ours = ourPhone[c];
        contacts = [contactPhone(j), contactPhone(j + perCustomer)];
        if (kind === 7) contacts.push(contactPhone(j + 2 * perCustomer));
      } else {
        channel = "email";
        ours = ourMail[c];
        contacts = [email(`contact${j}@c${c}.example.com`)];
        if (kind === 9) cc = [email(`colleague${j}@c${c}.example.net`)];
      }
      conv.customer.push(s(customerIds[c]));
      conv.provider.push(s(channel === "email" ? mailProviders[c] : smsProviders[c]));
      conv.channel.push(channel);
      conv.ours.push(s(ours));
      conv.contacts.push(ids(contacts));
      conv.cc.push(ids(cc));
      conv.start.push(
        new Date(START + Math.floor(random() * 300 * 86_400_000)).toISOString(),
      );
    }
  }

  const xms = new Map<bigint, string>();
  const mails = new Map<bigint, string>();
  for (let i = 0; i < 500; i++) {
    const words = Array.from(
      { length: 3 + (i % 12) },
      () => WORDS[Math.floor(random() * WORDS.length)],
    );
    const text = `${words.join(" ")} #${i}`;
    xms.set(hash64(text), text);
    const mail = `Hi, ${words.join(" ")}. Regards, team #${i}`;
    mails.set(hash64(mail), mail);
  }
  const byId = <T>(m: Map<bigint, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

  await sql.begin(async (tx) => {
    const t = tx as unknown as Sql;
    const p = byId(phones);
    await t`insert into phone_numbers (id, raw, e164, hash)
      select id, v, v, id from unnest(${p.map(([k]) => s(k))}::bigint[], ${
      p.map(([, v]) => v)
    }::text[]) as x(id, v)`;
    const e = byId(emails);
    await t`insert into email_addresses (id, raw, lowered, hash)
      select id, v, v, id from unnest(${e.map(([k]) => s(k))}::bigint[], ${
      e.map(([, v]) => v)
    }::text[]) as x(id, v)`;
    const xb = byId(xms);
    await t`insert into xms_bodies (id, raw, normalized, hash)
      select id, v, v, id from unnest(${xb.map(([k]) => s(k))}::bigint[], ${
      xb.map(([, v]) => v)
    }::text[]) as x(id, v)`;
    const eb = byId(mails);
    await t`insert into email_bodies (id, raw, normalized, hash)
      select id, v, v, id from unnest(${eb.map(([k]) => s(k))}::bigint[], ${
      eb.map(([, v]) => v)
    }::text[]) as x(id, v)`;
    await t`insert into endpoint_mappings (customer_id, provider_id, kind, address, normalized, hash)
      select * from unnest(${endpoints.map((x) => s(x[0]))}::bigint[],
        ${endpoints.map((x) => s(x[1]))}::bigint[], ${endpoints.map((x) => x[2])}::text[],
        ${endpoints.map((x) => x[3])}::text[], ${endpoints.map((x) => x[3])}::text[],
        ${endpoints.map((x) => s(x[4]))}::bigint[])`;
    // Messages: per conversation, `perConversation` rows alternating direction.
    // The sender is the first contact (inbound) or our address (outbound); the
    // recipients are everyone else; bodies are picked by message number.
    const xIds = xb.map(([k]) => s(k));
    const eIds = eb.map(([k]) => s(k));
    const chunk = 20_000;
    for (let i = 0; i < conv.customer.length; i += chunk) {
      const part = <T>(a: T[]) => a.slice(i, i + chunk);
      await t`
        insert into messages (customer_id, provider_id, direction, channel, provider_message_id,
                              from_address_id, to_address_ids, cc_address_ids, body_id, sent_at)
        select v.customer_id, v.provider_id,
               case when n % 2 = 1 then 'inbound' else 'outbound' end,
               v.channel,
               'legacy-' || v.ord || '-' || n,
               case when n % 2 = 1 then v.contacts[1] else v.ours end,
               case when n % 2 = 1 then array[v.ours] || v.contacts[2:] else v.contacts end,
               v.cc,
               case when v.channel = 'email'
                    then (${eIds}::bigint[])[1 + (v.ord * 7 + n) % ${eIds.length}]
                    else (${xIds}::bigint[])[1 + (v.ord * 7 + n) % ${xIds.length}] end,
               v.start + make_interval(mins => n::int)
        from unnest(${part(conv.customer)}::bigint[], ${part(conv.provider)}::bigint[],
                    ${part(conv.channel)}::text[], ${part(conv.ours)}::bigint[],
                    ${part(conv.contacts)}::text[], ${part(conv.cc)}::text[],
                    ${part(conv.start)}::timestamptz[])
               with ordinality as u(customer_id, provider_id, channel, ours, contacts_t, cc_t,
                                    start, ord0)
        cross join lateral (select u.customer_id, u.provider_id, u.channel, u.ours,
                                   u.contacts_t::bigint[] as contacts, u.cc_t::bigint[] as cc,
                                   u.start, u.ord0 + ${i} as ord) v
        cross join generate_series(1, ${perConversation}) as n`;
    }
  });
  await sql`analyze`;
  return {
    customers,
    conversations: conv.customer.length,
    messages: conv.customer.length * perConversation,
    names,
  };
}
