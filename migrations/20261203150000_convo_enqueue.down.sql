drop function if exists convo_enqueue(text, jsonb, text);
