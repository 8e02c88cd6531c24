-- The dedup tables' unique (hash) constraints duplicate their primary keys: the
-- id IS the hash (check id_is_hash), so the primary key already makes hash
-- unique, and every new row paid a second unique index. Without them
-- `insert … on conflict do nothing` (no target) has one arbiter, the primary
-- key, and the collision check joins on id. The hash column and its check stay.
alter table phone_numbers drop constraint phone_numbers_hash_key;
alter table email_addresses drop constraint email_addresses_hash_key;
alter table email_bodies drop constraint email_bodies_hash_key;
alter table xms_bodies drop constraint xms_bodies_hash_key;
alter table attachment_urls drop constraint attachment_urls_hash_key;
