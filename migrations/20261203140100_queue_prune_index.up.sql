-- no-transaction
-- `convo queue prune` deletes done (and, with --dead-older-than, dead) events
-- finished before a cutoff, walking them in (processed_at, id) order. Without
-- this index every batch scanned the whole table for `status = 'done' and
-- processed_at < cutoff`; with it a batch reads only the rows it deletes.
-- Concurrently: building it does not block enqueue or the workers.
create index concurrently if not exists inbound_events_finished_idx
  on inbound_events (status, processed_at, id) where status in ('done', 'dead');
