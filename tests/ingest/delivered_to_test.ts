/**
 * Routing by the address the provider delivered to (Postmark `OriginalRecipient`, canonical
 * `delivered_to`): mail that reached us by Bcc, a list or forwarding is routed to the
 * mailbox it was delivered to, and that mailbox is a participant of the conversation.
 */
import assert from "node:assert/strict";
import { withTestDatabase } from "../_helpers/db.ts";
import { drainBatch as drain } from "../_helpers/ingest.ts";
import { assertCountersExact, migrate, seedEndpoints } from "../_helpers/seed.ts";

const mail = (id: string, to: string, originalRecipient: string, cc = "") => ({
  MessageID: id,
  From: "jane@example.com",
  FromFull: { Email: "jane@example.com", Name: "Jane" },
  To: to,
  Cc: cc,
  OriginalRecipient: originalRecipient,
  Subject: "Hello",
  TextBody: `body ${id}`,
  Date: "Wed, 1 May 2024 09:12:44 -0700",
});

Deno.test("ingest: mail is routed by the address the provider delivered to", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    const customers = await seedEndpoints(sql, [
      { customer: "acme", provider: "postmark", kind: "email", address: "support@acme.example" },
      { customer: "bloom", provider: "postmark", kind: "email", address: "help@bloom.example" },
      {
        customer: "bloom",
        provider: "postmark-fwd",
        kind: "email",
        address: "f00d@inbound.postmarkapp.com",
      },
    ]);
    const events = [
      // Bcc: our address is on neither To nor Cc.
      mail("bcc-1", "someone@else.example", "support@acme.example"),
      // To two tenants: each copy goes to the tenant it was delivered to.
      mail("two-1", "support@acme.example, help@bloom.example", "support@acme.example"),
      mail("two-1", "support@acme.example, help@bloom.example", "help@bloom.example"),
      // Forwarded to Postmark's inbound address (To keeps the original mailbox).
      mail("fwd-1", "team@bloom.example", "f00d@inbound.postmarkapp.com"),
      // Delivered to an address nobody mapped: To and Cc are tried next.
      mail("cc-1", "someone@else.example", "unknown@nowhere.example", "help@bloom.example"),
    ];
    for (const payload of events) {
      await sql`insert into inbound_events (event_type, payload)
        values ('postmark.inbound', ${sql.json(payload)})`;
    }
    const r = await drain(sql);
    assert.deepEqual(r, { done: 5, retried: 0, dead: 0, inserted: 5 });
    const rows = await sql<
      { id: string; customer: string; provider: string; participants: string[] }[]
    >`
      select m.provider_message_id as id, cu.name as customer, p.name as provider,
             c.participants
      from messages m join customers cu on cu.id = m.customer_id
      join providers p on p.id = m.provider_id
      join conversations c on c.id = m.conversation_id
      order by m.provider_message_id, cu.name`;
    assert.deepEqual(rows.map((x) => [x.id, x.customer, x.provider, x.participants.join(" ")]), [
      ["bcc-1", "acme", "postmark", "jane@example.com someone@else.example support@acme.example"],
      [
        "cc-1",
        "bloom",
        "postmark",
        "help@bloom.example jane@example.com someone@else.example unknown@nowhere.example",
      ],
      [
        "fwd-1",
        "bloom",
        "postmark-fwd",
        "f00d@inbound.postmarkapp.com jane@example.com team@bloom.example",
      ],
      ["two-1", "acme", "postmark", "help@bloom.example jane@example.com support@acme.example"],
      ["two-1", "bloom", "postmark", "help@bloom.example jane@example.com support@acme.example"],
    ]);
    // The delivered-to address is ours: not a contact of its customer.
    const contacts = await sql<{ customer: string; address: string }[]>`
      select cu.name as customer, e.lowered as address from contact_addresses ca
      join customers cu on cu.id = ca.customer_id
      join email_addresses e on e.id = ca.address_id
      where e.lowered in ('support@acme.example', 'f00d@inbound.postmarkapp.com')`;
    assert.deepEqual(contacts.map((c) => `${c.customer} ${c.address}`), [
      "bloom support@acme.example",
    ]);
    assert.ok(customers.size === 2);
    await assertCountersExact(sql);
  });
});

Deno.test("ingest: canonical delivered_to routes an inbound message first", async () => {
  await withTestDatabase(async ({ sql }) => {
    await migrate(sql);
    await seedEndpoints(sql, [
      { customer: "acme", provider: "twilio", kind: "sms", address: "+14155550100" },
      { customer: "bloom", provider: "twilio", kind: "sms", address: "+14155550190" },
    ]);
    await sql`insert into inbound_events (event_type, payload) values ('message.received',
      ${
      sql.json({
        channel: "sms",
        provider_message_id: "G1",
        from: "+14155550142",
        to: ["+14155550100", "+14155550190"],
        delivered_to: "tel:+1-415-555-0190",
        body: "group text",
        sent_at: "2024-05-01T18:00:00Z",
      })
    })`;
    assert.deepEqual(await drain(sql), { done: 1, retried: 0, dead: 0, inserted: 1 });
    const [row] =
      await sql`select cu.name from messages m join customers cu on cu.id = m.customer_id`;
    assert.equal(row.name, "bloom");
  });
});
