drop function convo_message_activity_at(timestamptz, timestamptz, timestamptz);
