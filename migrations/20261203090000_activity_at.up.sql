-- A message's activity time: when it counts as its conversation's latest activity
-- (conversations.last_message_at, and whose snippet is last_snippet). sent_at is the
-- sender's time (an email's Date header): one email dated 9999 would keep its
-- conversation on top of the overview forever. So it counts for at most a day after the
-- message reached us (received_at) or was written (created_at); the message keeps its
-- sent_at as given. least() skips nulls (received_at is null on some outbound messages).
--
-- The same rule in TypeScript: messageActivityAt() in src/conversations/activity.ts; ingest
-- moves the counters with it, and a recount from messages uses this function:
--   last_message_at = max(convo_message_activity_at(sent_at, received_at, created_at))
-- Immutable: adding whole hours to a timestamptz does not depend on the time zone.
-- created_at is cut to milliseconds, the precision ingest computes the same rule in
-- (JavaScript dates), so a recount and ingest agree to the microsecond.
create function convo_message_activity_at(
  sent_at timestamptz, received_at timestamptz, created_at timestamptz
) returns timestamptz
language sql immutable parallel safe
return least(
  sent_at,
  received_at + interval '24 hours',
  date_trunc('milliseconds', created_at) + interval '24 hours'
);
