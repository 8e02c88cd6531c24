alter table phone_numbers add constraint phone_numbers_hash_key unique (hash);
alter table email_addresses add constraint email_addresses_hash_key unique (hash);
alter table email_bodies add constraint email_bodies_hash_key unique (hash);
alter table xms_bodies add constraint xms_bodies_hash_key unique (hash);
alter table attachment_urls add constraint attachment_urls_hash_key unique (hash);
