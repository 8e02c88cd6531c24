-- messages_customer_id_idx was the referencing side's index of
-- messages_customer_id_fkey, which 20261203180000_message_customer_fk dropped:
-- no foreign key needs it now, and no query reads it (legacy rows are found
-- through messages_legacy_idx, a customer's messages through its providers and
-- messages_provider_id_provider_message_id_key, whose first column is
-- provider_id). Yet every message written inserted an entry into it.
drop index if exists messages_customer_id_idx;
