-- A completion's property bits (property_bits.rs), at the end of the event-type index: a query
-- that filters by property values checks them in the index and reads the table row only of
-- completions that may match. NULL (completions stored before) means unknown: always read.
-- `seq` is named in the index so that the bits come after the whole (occurred_at, seq) order.
ALTER TABLE event_completions ADD COLUMN property_bits INTEGER;
DROP INDEX event_completions_by_type;
CREATE INDEX event_completions_by_type
    ON event_completions (account_id, definition_id, occurred_at, seq, property_bits);
