-- Indexes of the data model (seed 004) and those the queue, the overview and
-- the backfill need. Foreign keys get an index on the referencing side where
-- parents are deleted or joined from.

-- Messages of a conversation, newest first.
create index messages_conversation_id_sent_at_idx on messages (conversation_id, sent_at desc);
-- Conversations of a contact.
create index conversation_participants_contact_id_idx on conversation_participants (contact_id);
-- Routing an event to its endpoint.
create index endpoint_mappings_customer_id_kind_hash_idx on endpoint_mappings (customer_id, kind, hash);
create index endpoint_mappings_hash_idx on endpoint_mappings (hash);

-- The overview: a customer's conversations by recent activity (keyset pagination).
create index conversations_customer_id_last_message_at_idx
  on conversations (customer_id, last_message_at desc nulls last, id desc);
-- The overview's --participant filter.
create index conversations_participants_idx on conversations using gin (participants);

-- Legacy messages awaiting backfill.
create index messages_legacy_idx on messages (customer_id, id) where conversation_id is null;

-- Referencing sides of foreign keys.
create index contacts_customer_id_idx on contacts (customer_id);
create index contact_addresses_contact_id_idx on contact_addresses (contact_id);
create index attachments_url_id_idx on attachments (url_id);
create index message_attachments_attachment_id_idx on message_attachments (attachment_id);
create index messages_customer_id_idx on messages (customer_id);
