-- The data model's views (seed 004). Counts and last activity come from the
-- counters ingest keeps exact (conversations.message_count, last_message_at),
-- so the overview does not aggregate messages.
create view conversation_overview as
select
  c.id as conversation_id,
  c.customer_id,
  c.last_message_at,
  c.message_count,
  (
    select count(distinct p.contact_id)
    from conversation_participants p
    where p.conversation_id = c.id
  ) as participant_count,
  c.channel,
  c.participants,
  c.topic,
  c.last_snippet,
  c.created_at,
  c.updated_at
from conversations c;

-- body_text resolves the polymorphic body_id by channel: email_bodies for
-- email, xms_bodies for sms/mms (the raw text as received).
create view conversation_messages as
select
  m.conversation_id,
  m.id as message_id,
  m.direction,
  m.provider_id,
  m.sent_at,
  m.received_at,
  coalesce(eb.raw, xb.raw) as body_text,
  (
    select count(*) from message_attachments ma where ma.message_id = m.id
  ) as attachments_count,
  m.customer_id,
  m.channel,
  m.subject,
  m.provider_message_id
from messages m
left join email_bodies eb on m.channel = 'email' and eb.id = m.body_id
left join xms_bodies xb on m.channel <> 'email' and xb.id = m.body_id;
