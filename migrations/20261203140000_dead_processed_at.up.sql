-- From now on `processed_at` is when an event finished: done, or dead (so
-- `convo queue prune --dead-older-than` can tell how long ago it died). Dead
-- events from before have none: their last claim's end (`available_at`, the
-- claim time plus the visibility timeout) is the closest record of it.
update inbound_events set processed_at = available_at
where status = 'dead' and processed_at is null;
