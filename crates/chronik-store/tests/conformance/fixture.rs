//! A fresh, isolated database per case, on either backend, that can be reopened to check that
//! data survives a restart.

use std::str::FromStr;
use std::sync::Arc;

use chronik_store::postgres::PostgresStore;
use chronik_store::sqlite::SqliteStore;
use chronik_store::Store;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor};

#[allow(clippy::large_enum_variant)] // one fixture per test; size does not matter
pub enum Fixture {
    Sqlite {
        dir: tempfile::TempDir,
    },
    Postgres {
        options: PgConnectOptions,
        base: PgConnectOptions,
        schema: String,
    },
}

impl Fixture {
    pub fn sqlite() -> Self {
        Fixture::Sqlite {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A fresh schema in the test database. The PostgreSQL halves are `#[ignore]`d when built
    /// without `CHRONIK_TEST_DATABASE_URL` (see `chronik_test_macros::postgres`), so a case that
    /// gets here and finds no URL fails: it was built to run (the URL was set, or CI) or was
    /// asked for with `--ignored`.
    pub async fn postgres(case: &str) -> Self {
        let url = std::env::var("CHRONIK_TEST_DATABASE_URL").unwrap_or_default();
        if url.trim().is_empty() {
            panic!(
                "postgres::{case}: CHRONIK_TEST_DATABASE_URL is not set, and this PostgreSQL case was \
                 built to run (the URL or CI was set when it was built, or --ignored asked for it)"
            );
        }
        let base = PgConnectOptions::from_str(&url).expect("CHRONIK_TEST_DATABASE_URL parses");
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect_with(&base)
            .await
            .expect("connect to test database");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .expect("create schema");
        conn.close().await.ok();
        let options = base.clone().options([("search_path", schema.as_str())]);
        Fixture::Postgres {
            options,
            base,
            schema,
        }
    }

    /// Opens (or reopens) the store on this fixture's data.
    pub async fn open(&self) -> Arc<dyn Store> {
        match self {
            Fixture::Sqlite { dir } => Arc::new(
                SqliteStore::open(dir.path().to_path_buf())
                    .await
                    .expect("open sqlite"),
            ),
            Fixture::Postgres { options, .. } => Arc::new(
                PostgresStore::connect_with(options.clone(), 8)
                    .await
                    .expect("open postgres"),
            ),
        }
    }

    pub async fn drop_schema(&self) {
        if let Fixture::Postgres { base, schema, .. } = self {
            if let Ok(mut conn) = sqlx::PgConnection::connect_with(base).await {
                let _ = conn
                    .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .await;
            }
        }
    }
}
