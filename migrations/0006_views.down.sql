drop view conversation_messages;
drop view conversation_overview;
