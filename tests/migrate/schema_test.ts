/**
 * The schema holds its invariants: seed 004's sample inserts (adapted to the
 * additions) work, and foreign keys, uniques and CHECK constraints refuse what
 * they must.
 */
import assert from "node:assert/strict";
import type { Sql } from "../../src/db/connect.ts";
import { withMigratedDatabase } from "../_helpers/seed.ts";

async function rejectsWith(sql: Sql, code: string, constraint: string | null, query: string) {
  await assert.rejects(
    () => sql.unsafe(query),
    (err: { code?: string; constraint_name?: string }) => {
      assert.equal(err.code, code, query);
      if (constraint) assert.equal(err.constraint_name, constraint, query);
      return true;
    },
  );
}

Deno.test("schema: seed 004's sample inserts work (customer, contact, conversation, message)", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const [{ id: customerId }] = await sql`
      insert into customers (name) values ('Acme, Inc.') returning id`;
    const [{ id: contactId }] = await sql`
      insert into contacts (customer_id, display_name) values (${customerId}, 'Jane Doe') returning id`;
    const [{ id: conversationId }] = await sql`
      insert into conversations (customer_id, topic, channel, participants_key, participants)
      values (${customerId}, 'Onboarding', 'email', 42, array['acme@example.com', 'jane@example.com'])
      returning id`;
    const inserted = await sql`
      insert into conversation_participants (conversation_id, contact_id, role)
      values (${conversationId}, ${contactId}, 'contact'), (${conversationId}, ${contactId}, 'customer')
      on conflict do nothing returning role`;
    assert.equal(inserted.length, 2);
    const again = await sql`
      insert into conversation_participants (conversation_id, contact_id, role)
      values (${conversationId}, ${contactId}, 'contact') on conflict do nothing returning role`;
    assert.equal(again.length, 0, "the primary key refuses a duplicate role");
    const [{ id: providerId }] = await sql`
      insert into providers (customer_id, kind, name) values (${customerId}, 'email', 'Sendgrid')
      returning id`;
    await sql`
      insert into messages (customer_id, conversation_id, provider_id, direction, channel, sent_at)
      values (${customerId}, ${conversationId}, ${providerId}, 'outbound', 'email', now()),
             (${customerId}, ${conversationId}, ${providerId}, 'inbound', 'email', now() - interval '1 hour')`;
    // Messages of a conversation, newest first, through the index the data model asks for.
    const rows = await sql`
      select direction from messages where conversation_id = ${conversationId} order by sent_at desc`;
    assert.deepEqual(rows.map((r) => r.direction), ["outbound", "inbound"]);
    const overview = await sql`select * from conversation_overview`;
    assert.equal(overview.length, 1);
    assert.equal(overview[0].participant_count, 1n);
    const cm = await sql`select * from conversation_messages order by sent_at desc`;
    assert.deepEqual(Object.keys(cm[0]).slice(0, 8), [
      "conversation_id",
      "message_id",
      "direction",
      "provider_id",
      "sent_at",
      "received_at",
      "body_text",
      "attachments_count",
    ]);
  });
});

Deno.test("schema: foreign keys refuse orphans and cross-customer references", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await sql.unsafe(`
      insert into customers (id, name) values (1, 'a'), (2, 'b');
      insert into providers (id, customer_id, kind, name) values (10, 1, 'sms', 'twilio');
      insert into contacts (id, customer_id) values (100, 1);`);
    await rejectsWith(sql, "23503", null, `insert into contacts (customer_id) values (99)`);
    // A provider of customer 1 cannot carry customer 2's messages or endpoints.
    await rejectsWith(
      sql,
      "23503",
      "messages_provider_fkey",
      `insert into messages (customer_id, provider_id, direction, channel, sent_at)
       values (2, 10, 'inbound', 'sms', now())`,
    );
    // No key of its own checks messages.customer_id (migration
    // 20261203180000): the provider key refuses a customer that does not exist.
    await rejectsWith(
      sql,
      "23503",
      "messages_provider_fkey",
      `insert into messages (customer_id, provider_id, direction, channel, sent_at)
       values (99, 10, 'inbound', 'sms', now())`,
    );
    // …and a customer with messages cannot go, through its providers.
    await sql.unsafe(`
      insert into customers (id, name) values (3, 'c');
      insert into providers (id, customer_id, kind, name) values (30, 3, 'sms', 'twilio');
      insert into messages (customer_id, provider_id, direction, channel, sent_at)
        values (3, 30, 'inbound', 'sms', now());`);
    await rejectsWith(
      sql,
      "23503",
      "providers_customer_id_fkey",
      `delete from customers where id = 3`,
    );
    await rejectsWith(
      sql,
      "23503",
      "endpoint_mappings_provider_fkey",
      `insert into endpoint_mappings (customer_id, provider_id, kind, address, normalized, hash)
       values (2, 10, 'sms', '+1 415 555 0100', '+14155550100', 1)`,
    );
    await rejectsWith(
      sql,
      "23503",
      "contact_addresses_contact_fkey",
      `insert into contact_addresses (customer_id, kind, address_id, contact_id) values (2, 'phone', 5, 100)`,
    );
    await rejectsWith(
      sql,
      "23503",
      null,
      `insert into attachments (customer_id, url_id) values (1, 12345)`,
    );
  });
});

Deno.test("schema: uniques give one conversation per key, one message per provider id", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    await sql.unsafe(`
      insert into customers (id, name) values (1, 'a');
      insert into providers (id, customer_id, kind, name) values (10, 1, 'sms', 'twilio');
      insert into conversations (customer_id, channel, participants_key, participants)
        values (1, 'sms', 7, '{+14155550100,+14155550101}');
      insert into messages (customer_id, provider_id, direction, channel, provider_message_id, sent_at)
        values (1, 10, 'inbound', 'sms', 'SM1', now());`);
    await rejectsWith(
      sql,
      "23505",
      "conversations_customer_id_channel_participants_key_key",
      `insert into conversations (customer_id, channel, participants_key, participants)
       values (1, 'sms', 7, '{x}')`,
    );
    // The same key on another channel is another conversation.
    await sql`insert into conversations (customer_id, channel, participants_key, participants)
      values (1, 'email', 7, '{a@example.com}')`;
    await rejectsWith(
      sql,
      "23505",
      "messages_provider_id_provider_message_id_key",
      `insert into messages (customer_id, provider_id, direction, channel, provider_message_id, sent_at)
       values (1, 10, 'inbound', 'sms', 'SM1', now())`,
    );
    await rejectsWith(
      sql,
      "23505",
      "customers_name_key",
      `insert into customers (id, name) values (3, 'a')`,
    );
    await rejectsWith(
      sql,
      "23505",
      "inbound_events_idempotency_key_key",
      `insert into inbound_events (event_type, payload, idempotency_key)
       values ('message.received', '{}', 'k'), ('message.received', '{}', 'k')`,
    );
  });
});

Deno.test("schema: CHECK constraints guard the normalized forms and the id = hash rule", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const good = [
      `insert into phone_numbers values (1, '(415) 555-0100', '+14155550100', 1)`,
      `insert into phone_numbers values (2, '12345', 'sc:12345', 2)`,
      `insert into phone_numbers values (3, 'Acme Ltd', 'id:ACME LTD', 3)`,
      `insert into email_addresses values (4, 'Jane <Jane+x@X.com>', 'jane@x.com', 4)`,
      `insert into xms_bodies values (5, E'  Hi\\r\\n there ', 'Hi there', 5)`,
      `insert into email_bodies values (6, 'Hello', 'Hello', 6)`,
      `insert into attachment_urls values (7, 'https://example.com/a.jpg', 7)`,
    ];
    for (const q of good) await sql.unsafe(q);
    const bad: [string, string][] = [
      [`insert into phone_numbers values (10, 'x', '+112345x', 10)`, "phone_numbers_e164_check"],
      [`insert into phone_numbers values (11, 'x', '14155550100', 11)`, "phone_numbers_e164_check"],
      [`insert into phone_numbers values (12, 'x', 'sc:12', 12)`, "phone_numbers_e164_check"],
      [`insert into phone_numbers values (13, 'x', 'id:12345', 13)`, "phone_numbers_e164_check"],
      [`insert into phone_numbers values (14, 'x', 'id:acme', 14)`, "phone_numbers_e164_check"],
      [
        `insert into phone_numbers values (15, 'x', '+14155550199', 16)`,
        "phone_numbers_id_is_hash",
      ],
      [
        `insert into email_addresses values (20, 'x', 'Jane@x.com', 20)`,
        "email_addresses_lowered_check",
      ],
      [`insert into email_addresses values (21, 'x', 'jane', 21)`, "email_addresses_lowered_check"],
      [
        `insert into email_addresses values (22, 'x', 'a@b@c', 22)`,
        "email_addresses_lowered_check",
      ],
      [`insert into xms_bodies values (30, 'x', ' x', 30)`, "xms_bodies_normalized_check"],
      [`insert into xms_bodies values (31, 'x', 'a  b', 31)`, "xms_bodies_normalized_check"],
      [`insert into xms_bodies values (32, 'x', E'a\\nb', 32)`, "xms_bodies_normalized_check"],
      [`insert into email_bodies values (33, 'x', E'a\\tb', 33)`, "email_bodies_normalized_check"],
      [`insert into email_bodies values (34, 'x', '', 34)`, "email_bodies_normalized_check"],
      [
        `insert into inbound_events (event_type, payload, status) values ('x', '{}', 'lost')`,
        "inbound_events_status_check",
      ],
    ];
    for (const [q, constraint] of bad) await rejectsWith(sql, "23514", constraint, q);
  });
});

Deno.test("schema: updated_at follows updates", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const [c] = await sql`
      insert into customers (name) values ('a') returning id, updated_at`;
    await sql`select pg_sleep(0.01)`;
    const [after] =
      await sql`update customers set name = 'b' where id = ${c.id} returning updated_at`;
    assert.ok(after.updated_at > c.updated_at);
  });
});

Deno.test("schema: inbound_events defaults make an insert claimable at once", async () => {
  await withMigratedDatabase(async ({ sql }) => {
    const [e] = await sql`
      insert into inbound_events (event_type, payload) values ('message.received', '{"a":1}')
      returning status, attempts, available_at <= now() as ready, received_at is not null as stamped`;
    assert.deepEqual({ ...e }, { status: "pending", attempts: 0, ready: true, stamped: true });
  });
});
