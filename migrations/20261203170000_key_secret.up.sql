-- The per-database secret of fallback keys (src/dedup/keys.ts). A dedup row's id is
-- hash64 of its value, and XXH64 with seed 0 can be forged: a sender could pre-claim the
-- key of an address, body or URL not yet seen. A value whose key already holds another
-- value is stored under the first free of its fallback keys instead, each the first 8
-- bytes of HMAC-SHA256(secret, table, probe, value): unforgeable without this secret.
-- Conversations use the same for their participants_key.
--
-- Least privilege: the worker role reads it; the read-only role must not (README).
create table convo_key_secret (
  id boolean primary key default true,
  -- Two version-4 UUIDs: 244 random bits from the server's strong random source.
  secret text not null default (gen_random_uuid()::text || gen_random_uuid()::text),
  created_at timestamptz not null default now(),
  constraint convo_key_secret_one_row check (id)
);

insert into convo_key_secret default values;
