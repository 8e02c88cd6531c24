drop table attachment_urls;
drop table xms_bodies;
drop table email_bodies;
drop table email_addresses;
drop table phone_numbers;
