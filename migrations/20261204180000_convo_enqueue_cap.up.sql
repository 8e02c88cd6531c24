-- convo_enqueue() refuses a payload over the size cap, as convo enqueue refuses a line
-- over CONVO_MAX_PAYLOAD_BYTES: the cap is the setting convo.max_payload_bytes (default
-- 262144, the CLI's default), measured on the payload's text as the worker reads it.
--
-- Why the text: jsonb keeps a number as numeric and writes it out in full. '1e131071' is
-- 22 bytes stored and 131,072 digits read back, so a small payload of such numbers was
-- stored, then failed every claim that reached it ("out of memory", SQLSTATE 54000) and
-- stopped the queue behind it. Measuring it here costs what rendering the payload costs
-- (the claim pays it again to budget its batch); a payload whose text is over
-- PostgreSQL's 1 GB limit fails the measure itself, with that error: refused either way.
create or replace function convo_enqueue(
  event_type text,
  payload jsonb,
  idempotency_key text default null
) returns boolean
language plpgsql as $$
declare
  stored integer;
  cap bigint;
  bytes bigint;
begin
  if event_type is null
     or event_type not in ('message.received', 'message.sent', 'twilio.message',
                           'postmark.inbound') then
    raise exception using
      errcode = '22023',
      message = format('convo_enqueue: unknown event_type %s', coalesce(quote_literal(event_type), 'null')),
      hint = 'expected one of message.received, message.sent, twilio.message, postmark.inbound';
  end if;
  if payload is null or jsonb_typeof(payload) <> 'object' then
    raise exception using
      errcode = '22023',
      message = format('convo_enqueue: payload: expected a JSON object, got %s',
                       coalesce(jsonb_typeof(payload), 'null'));
  end if;
  cap := coalesce(nullif(current_setting('convo.max_payload_bytes', true), '')::bigint, 262144);
  bytes := octet_length(payload::text);
  if bytes > cap then
    raise exception using
      errcode = '22023',
      message = format('convo_enqueue: payload is %s bytes as text, over the %s-byte cap', bytes, cap),
      hint = 'the database writes numbers out in full (1e6 as 1000000): send such numbers as strings; '
             'the cap is the setting convo.max_payload_bytes';
  end if;
  if idempotency_key is not null then
    if idempotency_key !~ '\S' then
      raise exception using
        errcode = '22023',
        message = 'convo_enqueue: idempotency_key: must not be empty or blank',
        hint = 'pass null for no idempotency key';
    end if;
    if length(idempotency_key) > 200 then
      raise exception using
        errcode = '22023',
        message = 'convo_enqueue: idempotency_key: over the 200-character limit';
    end if;
    if starts_with(idempotency_key, 'convo:') then
      raise exception using
        errcode = '22023',
        message = 'convo_enqueue: idempotency_key: the prefix ''convo:'' is reserved for derived keys',
        hint = 'send your own key, e.g. the provider''s message id scoped by your account';
    end if;
  end if;
  insert into inbound_events (event_type, payload, idempotency_key)
  values (convo_enqueue.event_type, convo_enqueue.payload, convo_enqueue.idempotency_key)
  on conflict on constraint inbound_events_idempotency_key_key do nothing;
  get diagnostics stored = row_count;
  return stored = 1;
end;
$$;

comment on function convo_enqueue(text, jsonb, text) is
  'Enqueues one inbound event as convo enqueue does; true when new, false when the idempotency key was already queued. Keys starting with convo: are reserved; a payload over convo.max_payload_bytes (default 262144) as text is refused.';
