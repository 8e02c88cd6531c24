drop table inbound_events;
