-- no-transaction
drop index concurrently if exists conversations_last_message_at_id_idx;
