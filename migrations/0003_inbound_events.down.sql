drop table inbound_events;
drop function convo_notify_inbound_events();
