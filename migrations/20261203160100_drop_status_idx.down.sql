create index if not exists inbound_events_status_available_at_idx
  on inbound_events (status, available_at);
