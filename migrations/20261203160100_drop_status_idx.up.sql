-- inbound_events_status_available_at_idx (the data model's index) serves no
-- query that needs it: the claim reads inbound_events_claim_idx (partial, open
-- events only), queue status counts pending and processing through that index
-- and done/dead through inbound_events_finished_idx, and prune walks the latter.
-- Yet every enqueue inserted into it and every claim and done-mark (non-HOT
-- updates: status and available_at change) inserted into it again.
drop index if exists inbound_events_status_available_at_idx;
