-- no-transaction
drop index concurrently if exists inbound_events_finished_idx;
