//! Storage conformance: every case runs against SQLite and against PostgreSQL in one
//! `cargo test`. Each case gets a fresh temp dir or a fresh PostgreSQL schema.
//!
//! The PostgreSQL half reads `CHRONIK_TEST_DATABASE_URL`. When it is missing the case prints
//! that it skipped, except under `CI=true`, where a missing database is a failure.

// Test helpers outside #[test] functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used)]

mod app_objects;
mod completions;
mod crm;
mod custom_events;
mod fixture;
mod settings;
mod tenancy;

/// Turns `async fn case(fx: &Fixture)` into a `sqlite::case` and a `postgres::case` test.
#[macro_export]
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fx = $crate::fixture::Fixture::sqlite();
                    super::$case(&fx).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(fx) = $crate::fixture::Fixture::postgres(stringify!($case)).await else {
                        return;
                    };
                    super::$case(&fx).await;
                    fx.drop_schema().await;
                }
            )*
        }
    };
}
