-- The producer contract (DESIGN "Producers other than convo enqueue"): a webhook
-- handler in any language enqueues one event with
--
--   select convo_enqueue('twilio.message', $1::jsonb, 'twilio:AC…:SM…');
--
-- true when the event was new, false when its idempotency key was already queued.
-- The insert fires inbound_events_notify like convo enqueue's, so long-running
-- workers wake at once.
--
-- Idempotency, and why the key is the producer's: without an idempotency_key,
-- convo enqueue derives one in TypeScript (`convo:v1:…`, src/events/
-- idempotency_key.ts: our side's addresses normalized by libphonenumber and the
-- email rules, then XXH64). SQL cannot reproduce that normalization, and a
-- second implementation would drift from the first. So this function treats the
-- key exactly as convo enqueue treats an explicit `idempotency_key`: non-blank,
-- at most 200 characters, never starting with the reserved prefix `convo:`; the
-- same key through either path is one event. A null key means no queue-level
-- dedup: the event is always stored, and the worker's unique
-- (provider_id, provider_message_id) still makes a replay add nothing.
--
-- The payload is not validated here (the schemas are zod, in TypeScript): an
-- invalid payload is stored, and the worker marks the event dead with the reason.
create function convo_enqueue(
  event_type text,
  payload jsonb,
  idempotency_key text default null
) returns boolean
language plpgsql as $$
declare
  stored integer;
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
  'Enqueues one inbound event as convo enqueue does; true when new, false when the idempotency key was already queued. Keys starting with convo: are reserved.';
