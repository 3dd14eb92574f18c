-- The account's settings version (`SettingsVersion`): raised by every change of its event
-- definitions and by every token revocation, checked by writes that rely on settings a node
-- kept in memory.
ALTER TABLE accounts ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 0;
