-- The account's settings version (`SettingsVersion`): raised by every change of its event
-- definitions and by every token revocation, checked by writes that rely on settings a node
-- kept in memory (see postgres/custom_events.rs for the locks).
ALTER TABLE accounts ADD COLUMN settings_version BIGINT NOT NULL DEFAULT 0;
