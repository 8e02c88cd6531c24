alter table messages add constraint messages_customer_id_fkey
  foreign key (customer_id) references customers (id) not valid;
alter table messages validate constraint messages_customer_id_fkey;
