-- Dedup tables (seed 004): each distinct normalized value is stored once and
-- referenced by its 64-bit key. The id IS the key (id = hash, computed by the
-- application as hash64 of the normalized form), so a message can reference a
-- body or address without a round trip.
--
-- Normalization lives in TypeScript only (src/normalize/); these CHECK
-- constraints guard its invariants instead of re-implementing it in triggers,
-- because two implementations would drift apart and corrupt the keys.

create table phone_numbers (
  id bigint primary key,
  raw text not null,
  -- E.164 (+digits), a short code (sc:digits) or an alphanumeric sender id (id:NAME).
  e164 text not null,
  hash bigint not null,
  constraint phone_numbers_hash_key unique (hash),
  constraint phone_numbers_id_is_hash check (id = hash),
  constraint phone_numbers_e164_check check (
    e164 ~ '^\+[1-9][0-9]{1,14}$'
    or e164 ~ '^sc:[0-9]{3,8}$'
    or (e164 ~ '^id:[A-Z0-9 .&_-]{1,11}$' and e164 ~ '[A-Z]')
  )
);

create table email_addresses (
  id bigint primary key,
  raw text not null,
  -- Lowercased, +tag stripped, punycode domain (gmail: dots removed).
  lowered text not null,
  hash bigint not null,
  constraint email_addresses_hash_key unique (hash),
  constraint email_addresses_id_is_hash check (id = hash),
  constraint email_addresses_lowered_check check (
    lowered !~ '[A-Z]'
    and lowered ~ '^[^@[:space:]]+@[^@[:space:]]+$'
    and length(lowered) <= 254
  )
);

create table email_bodies (
  id bigint primary key,
  raw text not null,
  -- NFC, line endings unified, whitespace runs collapsed to one space, trimmed.
  normalized text not null,
  hash bigint not null,
  constraint email_bodies_hash_key unique (hash),
  constraint email_bodies_id_is_hash check (id = hash),
  constraint email_bodies_normalized_check check (
    normalized <> ''
    and normalized = btrim(normalized)
    and strpos(normalized, '  ') = 0
    and normalized !~ '[\r\n\t]'
  )
);

create table xms_bodies (
  id bigint primary key,
  raw text not null,
  normalized text not null,
  hash bigint not null,
  constraint xms_bodies_hash_key unique (hash),
  constraint xms_bodies_id_is_hash check (id = hash),
  constraint xms_bodies_normalized_check check (
    normalized <> ''
    and normalized = btrim(normalized)
    and strpos(normalized, '  ') = 0
    and normalized !~ '[\r\n\t]'
  )
);

create table attachment_urls (
  id bigint primary key,
  raw text not null,
  hash bigint not null,
  constraint attachment_urls_hash_key unique (hash),
  constraint attachment_urls_id_is_hash check (id = hash),
  constraint attachment_urls_raw_check check (raw <> '')
);
