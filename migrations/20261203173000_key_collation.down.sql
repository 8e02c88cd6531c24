alter table inbound_events alter column idempotency_key type text collate "default";
