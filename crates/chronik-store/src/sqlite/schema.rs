//! The main database file's migrations and how they run (at open, on the writer's connection).

use rusqlite::Connection;

use crate::migrate::Migration;
use crate::StoreError;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "chronik.sqlite3";

pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tenancy",
        sql: include_str!("migrations/0001_tenancy.sql"),
    },
    Migration {
        version: 2,
        name: "crm",
        sql: include_str!("migrations/0002_crm.sql"),
    },
    Migration {
        version: 3,
        name: "custom_events",
        sql: include_str!("migrations/0003_custom_events.sql"),
    },
    Migration {
        version: 4,
        name: "event_completions",
        sql: include_str!("migrations/0004_event_completions.sql"),
    },
    Migration {
        version: 5,
        name: "completion_property_bits",
        sql: include_str!("migrations/0005_completion_property_bits.sql"),
    },
    Migration {
        version: 6,
        name: "staged_completions",
        sql: include_str!("migrations/0006_staged_completions.sql"),
    },
    Migration {
        version: 7,
        name: "settings_version",
        sql: include_str!("migrations/0007_settings_version.sql"),
    },
    Migration {
        version: 8,
        name: "app_objects",
        sql: include_str!("migrations/0008_app_objects.sql"),
    },
    Migration {
        version: 9,
        name: "app_icons_time_zone",
        sql: include_str!("migrations/0009_app_icons_time_zone.sql"),
    },
    Migration {
        version: 10,
        name: "timeline",
        sql: include_str!("migrations/0010_timeline.sql"),
    },
];

pub(super) fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at INTEGER NOT NULL
         )",
    )
    .map_err(StoreError::internal)?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::internal)?;
    for m in migrations.iter().filter(|m| m.version > current) {
        let tx = conn.transaction().map_err(StoreError::internal)?;
        tx.execute_batch(m.sql).map_err(StoreError::internal)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, chrono::Utc::now().timestamp_millis()],
        )
        .map_err(StoreError::internal)?;
        tx.commit().map_err(StoreError::internal)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "sqlite migration applied"
        );
    }
    Ok(())
}
