-- A completion's property bits (property_bits.rs), carried in the event-type index: a query
-- that filters by property values scans that index alone (an index-only scan) for the
-- completions that may match, then reads each of their rows by (account_id, seq) for the exact
-- comparison. NULL (completions stored before) means unknown: always read.
ALTER TABLE event_completions ADD COLUMN property_bits BIGINT;
ALTER TABLE event_completions ADD PRIMARY KEY (account_id, seq);
DROP INDEX event_completions_by_type;
CREATE INDEX event_completions_by_type
    ON event_completions (account_id, definition_id, occurred_at, seq) INCLUDE (property_bits);
