create index if not exists messages_customer_id_idx on messages (customer_id);
