//! Versioned migrations, shared shape for both backends: a list of `(version, name, sql)`
//! applied in order at start, each recorded in `schema_migrations`. A migration is never edited
//! once it has landed; a change is a new version.

/// One migration step.
pub struct Migration {
    /// Strictly increasing from 1.
    pub version: i64,
    /// A short description, recorded beside the version.
    pub name: &'static str,
    /// The SQL to run, in the backend's dialect.
    pub sql: &'static str,
}
