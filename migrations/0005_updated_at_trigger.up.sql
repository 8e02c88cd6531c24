-- updated_at follows every update (seed 004's audit trigger). The data model's
-- other triggers are replaced: normalization by CHECK constraints (see 0001),
-- UTC conversion by timestamptz plus TimeZone=UTC on every connection.
create function convo_set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

create trigger customers_set_updated_at before update on customers
  for each row execute function convo_set_updated_at();
create trigger providers_set_updated_at before update on providers
  for each row execute function convo_set_updated_at();
create trigger contacts_set_updated_at before update on contacts
  for each row execute function convo_set_updated_at();
create trigger conversations_set_updated_at before update on conversations
  for each row execute function convo_set_updated_at();
