-- A contact's utks, for the waiting events on its timeline (postgres/timeline/read.rs): the
-- table's key is (account_id, utk), so without this each page read scanned the account's
-- visitor tokens. SQLite's timeline migration has the same index.
CREATE INDEX visitor_tokens_by_contact ON visitor_tokens (account_id, object_id);
