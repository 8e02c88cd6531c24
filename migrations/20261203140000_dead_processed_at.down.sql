-- The dead events' processed_at is harmless to older versions (they never read
-- it for dead events) and cannot be told apart from the backfill: kept.
select 1;
