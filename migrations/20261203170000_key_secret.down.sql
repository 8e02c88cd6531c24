-- Warning: a later `up` makes a new secret. Values stored under a fallback key (only
-- ever after a 64-bit collision) are then no longer found under it: a new event with
-- such a value stores it a second time.
drop table if exists convo_key_secret;
