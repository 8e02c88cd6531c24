-- no-transaction
-- The overview of every customer at once (`convo query-overview` without
-- --customer): a page is an index scan in (last_message_at desc nulls last,
-- id desc) order stopped by its limit. Without it every page sorts all
-- conversations: 1.5 s on 300k rows against well under 1 ms with it.
-- Concurrently: building it does not block ingest on a large table.
create index concurrently if not exists conversations_last_message_at_id_idx
  on conversations (last_message_at desc nulls last, id desc);
