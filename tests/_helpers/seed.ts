/**
 * Seeding test databases without the CLI: endpoint mappings through
 * `addEndpoint` (what `convo endpoint add` calls), and queue events written
 * straight into the table the way `convo enqueue` stores them.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { addEndpoint } from "../../src/endpoints/add.ts";
import type { EndpointKind } from "../../src/endpoints/types.ts";
import { parseEventLine } from "../../src/events/envelope.ts";
import { createLogger } from "../../src/log/logger.ts";
import { embeddedMigrations } from "../../src/migrate/embedded.ts";
import { migrateUp } from "../../src/migrate/runner.ts";
import { type TestDatabase, withTestDatabase } from "./db.ts";

/** Applies the whole schema. */
export async function migrate(sql: Sql): Promise<void> {
  await migrateUp(sql, await embeddedMigrations(), {
    logger: createLogger({ level: "error", write: () => {} }),
  });
}

/** An endpoint to map. */
export interface EndpointSeed {
  customer: string;
  provider: string;
  kind: EndpointKind;
  address: string;
}

/**
 * Maps endpoints through `addEndpoint` (creating customers and providers by
 * name, and the address's dedup row); returns customer ids by name.
 */
export async function seedEndpoints(
  sql: Sql,
  endpoints: readonly EndpointSeed[],
): Promise<Map<string, bigint>> {
  const customers = new Map<string, bigint>();
  for (const e of endpoints) {
    const r = await addEndpoint(sql, e);
    customers.set(e.customer, r.customerId);
  }
  return customers;
}

/** Stores NDJSON lines as queue events (invalid and blank lines are skipped). */
export async function seedEvents(sql: Sql, lines: readonly string[]): Promise<number> {
  let stored = 0;
  for (const line of lines) {
    const r = parseEventLine(line, { maxPayloadBytes: 1 << 20 });
    if (r.ok !== true) continue;
    const res = await sql`
      insert into inbound_events (event_type, payload, idempotency_key)
      values (${r.event.eventType}, ${
      sql.json(r.event.payload as never)
    }, ${r.event.idempotencyKey})
      on conflict (idempotency_key) do nothing`;
    stored += res.count;
  }
  return stored;
}

/**
 * {@link seedEvents} for benchmarks: one statement per 5 000 lines, so the rows of a
 * statement share their `received_at`.
 */
export async function seedEventsInBulk(sql: Sql, lines: readonly string[]): Promise<number> {
  let stored = 0;
  for (let i = 0; i < lines.length; i += 5000) {
    const types: string[] = [];
    const payloads: string[] = [];
    const keys: (string | null)[] = [];
    for (const line of lines.slice(i, i + 5000)) {
      const r = parseEventLine(line, { maxPayloadBytes: 1 << 20 });
      if (r.ok !== true) continue;
      types.push(r.event.eventType);
      payloads.push(JSON.stringify(r.event.payload));
      keys.push(r.event.idempotencyKey);
    }
    const res = await sql`
      insert into inbound_events (event_type, payload, idempotency_key)
      select t, p::jsonb, k from unnest(${types}::text[], ${payloads}::text[], ${keys}::text[])
        as x(t, p, k)
      on conflict do nothing`;
    stored += res.count;
  }
  return stored;
}

/** The fixture endpoints of tests/fixtures/events/mixed.ndjson. */
export const FIXTURE_ENDPOINTS: EndpointSeed[] = [
  { customer: "acme", provider: "twilio", kind: "sms", address: "+14155550100" },
  { customer: "acme", provider: "postmark", kind: "email", address: "support@example.org" },
];

/**
 * Envelope lines of SMS/MMS traffic built to collide: few contacts, shared
 * group conversations, both directions, so concurrent workers fight over the
 * same contacts and conversations.
 */
export function contendedLines(
  n: number,
  options: { contacts?: number; seed?: number } = {},
): string[] {
  const contacts = options.contacts ?? 30;
  let x = options.seed ?? 42;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  const phone = (i: number) => `+1415555${String(1000 + i).padStart(4, "0")}`;
  const ours = "+14155550100";
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = phone(Math.floor(rand() * contacts));
    const group = rand() < 0.25;
    const others = group ? [phone(Math.floor(rand() * 4)), phone(4 + Math.floor(rand() * 3))] : [];
    const outbound = !group && rand() < 0.4;
    const payload = {
      channel: group ? "mms" : "sms",
      provider_message_id: `SM${String(i).padStart(8, "0")}`,
      from: outbound ? ours : a,
      to: outbound ? [a] : [ours, ...others.filter((o) => o !== a)],
      body: `message ${i}`,
      sent_at: new Date(Date.UTC(2024, 4, 1) + i * 1000).toISOString(),
      ...(group ? { attachments: [{ url: `https://media.example.com/${i % 50}.jpg` }] } : {}),
    };
    lines.push(
      JSON.stringify({ event_type: outbound ? "message.sent" : "message.received", payload }),
    );
  }
  return lines;
}

/** Stores many lines fast (one statement). */
export async function seedManyEvents(sql: Sql, lines: readonly string[]): Promise<void> {
  const types: string[] = [];
  const payloads: string[] = [];
  for (const l of lines) {
    const env = JSON.parse(l);
    types.push(env.event_type);
    payloads.push(JSON.stringify(env.payload));
  }
  await sql`insert into inbound_events (event_type, payload)
    select t, p::jsonb from unnest(${types}::text[], ${payloads}::text[]) as x(t, p)`;
}

/** Counters must equal what they count. */
export async function assertCountersExact(sql: Sql): Promise<void> {
  const wrong = await sql`
    select c.id, c.message_count, count(m.id) as actual, c.last_message_at, max(convo_message_activity_at(m.sent_at, m.received_at, m.created_at)) as last
    from conversations c left join messages m on m.conversation_id = c.id
    group by c.id having c.message_count <> count(m.id)
      or c.last_message_at is distinct from max(convo_message_activity_at(m.sent_at, m.received_at, m.created_at))`;
  assert.equal(
    wrong.length,
    0,
    `counters differ from the messages: ${
      JSON.stringify([...wrong], (_k, v) => typeof v === "bigint" ? String(v) : v)
    }`,
  );
}

/** Counts conversations whose counters differ from their messages, and the messages. */
export async function countersExact(sql: Sql): Promise<{ wrong: number; messages: number }> {
  const [r] = await sql<{ wrong: number; messages: number }[]>`
    select
      (select count(*)::int from (
        select c.id from conversations c left join messages m on m.conversation_id = c.id
        group by c.id
        having c.message_count <> count(m.id) or c.last_message_at is distinct from max(convo_message_activity_at(m.sent_at, m.received_at, m.created_at))
      ) w) as wrong,
      (select count(*)::int from messages) as messages`;
  return r;
}

/** A row of `inbound_events` to insert; intervals are PostgreSQL interval text. */
export interface EventSpec {
  status: "pending" | "processing" | "done" | "dead";
  /** received_at = now() - this; default now. */
  receivedAgo?: string;
  /** available_at = now() + this (negative: in the past); default now (processing: lockedIn). */
  availableIn?: string;
  /** locked_until = now() + this (processing only). */
  lockedIn?: string;
  /** processed_at = now() - this (done only); default now. */
  processedAgo?: string;
  attempts?: number;
  lastError?: string;
  eventType?: string;
}

/** Inserts one event and returns its id. */
export async function insertEvent(sql: Sql, spec: EventSpec): Promise<bigint> {
  const processing = spec.status === "processing";
  const lockedIn = processing ? (spec.lockedIn ?? "30 seconds") : null;
  const availableIn = spec.availableIn ?? lockedIn ?? "0 seconds";
  const [{ id }] = await sql<{ id: bigint }[]>`
    insert into inbound_events
      (event_type, payload, status, attempts, last_error, received_at, available_at,
       locked_until, processed_at)
    values (
      ${spec.eventType ?? "message.received"}, '{}', ${spec.status}, ${spec.attempts ?? 0},
      ${spec.lastError ?? null},
      now() - ${spec.receivedAgo ?? "0 seconds"}::interval,
      now() + ${availableIn}::interval,
      ${lockedIn === null ? null : sql`now() + ${lockedIn}::interval`},
      ${spec.status === "done" ? sql`now() - ${spec.processedAgo ?? "0 seconds"}::interval` : null}
    )
    returning id`;
  return id;
}

/** Runs `fn` with a fresh database that has the whole schema, dropped afterwards. */
export async function withMigratedDatabase(fn: (db: TestDatabase) => Promise<void>): Promise<void> {
  await withTestDatabase(async (db) => {
    await migrate(db.sql);
    await fn(db);
  });
}

/** A canonical SMS line with the given id (and optional extra payload fields). */
export function smsLine(id: string, extra: Record<string, unknown> = {}, key?: string): string {
  const payload = {
    channel: "sms",
    provider_message_id: id,
    from: "+14155550142",
    to: "+14155550100",
    body: `message ${id}`,
    sent_at: "2024-05-01T16:00:03Z",
    ...extra,
  };
  return JSON.stringify({
    event_type: "message.received",
    payload,
    ...(key ? { idempotency_key: key } : {}),
  });
}
