//! The PostgreSQL backend (`--database-url postgres://…`), through a sqlx pool. Any number of
//! Chronik nodes may share one database: every invariant is a constraint or a conditional
//! statement here, and migrations take an advisory lock so two nodes starting together apply
//! each version once.
//!
//! The SQL of each API family is in its own file (`tenancy.rs`, `crm.rs`, `custom_events.rs`),
//! as in `sqlite/`; `single_sends.rs` groups the single completions that arrive together into
//! one transaction, as SQLite's writer does for every write.

mod app_objects;
mod crm;
mod custom_events;
mod single_sends;
mod tenancy;
mod timeline;

use std::str::FromStr;
use std::sync::Arc;

use chronik_domain::AccountId;
use chrono::{DateTime, Utc};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgConnection, PgPool};

use crate::migrate::Migration;
use crate::{Store, StoreError};

const MIGRATIONS: &[Migration] = &[
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
        name: "settings_version",
        sql: include_str!("migrations/0005_settings_version.sql"),
    },
    Migration {
        version: 6,
        name: "app_objects",
        sql: include_str!("migrations/0006_app_objects.sql"),
    },
    Migration {
        version: 7,
        name: "app_icons_time_zone",
        sql: include_str!("migrations/0007_app_icons_time_zone.sql"),
    },
    Migration {
        version: 8,
        name: "timeline",
        sql: include_str!("migrations/0008_timeline.sql"),
    },
    Migration {
        version: 9,
        name: "visitor_tokens_by_contact",
        sql: include_str!("migrations/0009_visitor_tokens_by_contact.sql"),
    },
];

/// Any constant works; it only has to be the same on every node.
const MIGRATION_LOCK_KEY: i64 = 0x0043_4852_4f4e_494b;

/// How long one statement may run: PostgreSQL's `statement_timeout` on every pooled
/// connection, the same budget as a SQLite read's (`sqlite/readers.rs`). A statement past it is
/// cancelled by the database and answered [`StoreError::ReadBudgetExceeded`], so no request can
/// hold a connection and a core for long. Chronik's statements take milliseconds (a batch of
/// 500 completions about ten); only migrations, which may rewrite large tables, run without it.
pub const STATEMENT_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The connection options with [`STATEMENT_BUDGET`] set.
fn with_statement_budget(options: PgConnectOptions) -> PgConnectOptions {
    options.options([(
        "statement_timeout",
        format!("{}ms", STATEMENT_BUDGET.as_millis()),
    )])
}

/// The PostgreSQL store. Clones share the pool and the single sends waiting.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    single_sends: Arc<single_sends::SingleSends>,
}

/// The URL with its password replaced, for logs and `Debug`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    format!("{}{user}:[redacted]{}", &url[..scheme_end + 3], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub(crate) fn db(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(ref d) => match d.kind() {
            sqlx::error::ErrorKind::UniqueViolation => StoreError::Conflict {
                constraint: "unique",
                existing_id: None,
            },
            sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::NotFound,
            // query_canceled: the statement ran past statement_timeout.
            _ if d.code().as_deref() == Some("57014") => StoreError::ReadBudgetExceeded {
                budget: STATEMENT_BUDGET,
            },
            // serialization_failure, deadlock_detected: the transaction lost a race and was
            // rolled back whole; running it again may well succeed.
            _ if matches!(d.code().as_deref(), Some("40001" | "40P01")) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::internal(e),
        },
        e => StoreError::internal(e),
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

/// Raises the account's settings version, as the first statement of a change of its settings
/// (an event definition, a token): its row lock (`FOR NO KEY UPDATE`) waits for the sends under
/// way, which hold `FOR SHARE` on the account until they commit, and holds off new ones until
/// this change commits; those then read the new version and are refused if they were checked
/// against the old one. `NotFound` when there is no such account.
async fn raise_settings_version(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<(), StoreError> {
    let raised = sqlx::query(
        "UPDATE accounts SET settings_version = settings_version + 1 WHERE account_id = $1",
    )
    .bind(account.0)
    .execute(conn)
    .await
    .map_err(db)?
    .rows_affected();
    if raised == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

async fn account_exists(conn: &mut PgConnection, account: AccountId) -> Result<(), StoreError> {
    // FOR KEY SHARE keeps the account from disappearing under a concurrent write.
    sqlx::query("SELECT 1 FROM accounts WHERE account_id = $1 FOR KEY SHARE")
        .bind(account.0)
        .fetch_one(conn)
        .await
        .map_err(db)?;
    Ok(())
}

impl PostgresStore {
    /// Connects to `url`, applies pending migrations and returns the store.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::internal(format!("invalid database URL {}: {e}", redact_url(url)))
        })?;
        Self::connect_with(options, max_connections).await
    }

    /// Connects with prepared options (tests use this to pick a schema).
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(with_statement_budget(options))
            .await
            .map_err(db)?;
        let store = PostgresStore {
            pool,
            single_sends: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // A migration may rewrite a large table, and waits for another node's: no budget.
        tx.execute("SET LOCAL statement_timeout = 0")
            .await
            .map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at BIGINT NOT NULL
             )",
        )
        .await
        .map_err(db)?;
        let current: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            tx.execute(m.sql).await.map_err(db)?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            tracing::info!(
                version = m.version,
                name = m.name,
                "postgres migration applied"
            );
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    /// Counts a committed transaction and its rows, as the SQLite writer does.
    fn committed(rows: u64) {
        metrics::counter!("chronik_store_commits_total", "backend" => "postgres").increment(1);
        metrics::counter!("chronik_store_rows_written_total", "backend" => "postgres")
            .increment(rows);
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;

    #[test]
    fn password_is_redacted() {
        assert_eq!(
            redact_url("postgres://chronik:hunter2@127.0.0.1:5432/db"),
            "postgres://chronik:[redacted]@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact_url("postgres://127.0.0.1/db"),
            "postgres://127.0.0.1/db"
        );
    }

    async fn connection() -> PgConnection {
        let url = std::env::var("CHRONIK_TEST_DATABASE_URL")
            .expect("the #[postgres] gate runs this only with a test database");
        let options = PgConnectOptions::from_str(&url).expect("a valid test database URL");
        PgConnection::connect_with(&with_statement_budget(options))
            .await
            .expect("the test database answers")
    }

    #[chronik_test_macros::postgres]
    #[tokio::test]
    async fn every_connection_has_the_statement_budget() {
        let mut conn = connection().await;
        let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
            .fetch_one(&mut conn)
            .await
            .expect("SHOW answers");
        assert_eq!(timeout, "10s");
    }

    #[chronik_test_macros::postgres]
    #[tokio::test]
    async fn a_statement_past_its_budget_is_the_budget_error() {
        let mut conn = connection().await;
        // The same cancellation, sooner: a 50 ms budget for this session.
        conn.execute("SET statement_timeout = '50ms'")
            .await
            .expect("SET answers");
        let e = sqlx::query("SELECT pg_sleep(5)")
            .execute(&mut conn)
            .await
            .expect_err("the sleep is cancelled");
        match db(e) {
            StoreError::ReadBudgetExceeded { budget } => assert_eq!(budget, STATEMENT_BUDGET),
            other => panic!("expected the budget error, got {other:?}"),
        }
    }
}
