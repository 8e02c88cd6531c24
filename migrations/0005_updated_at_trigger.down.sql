drop trigger conversations_set_updated_at on conversations;
drop trigger contacts_set_updated_at on contacts;
drop trigger providers_set_updated_at on providers;
drop trigger customers_set_updated_at on customers;
drop function convo_set_updated_at();
