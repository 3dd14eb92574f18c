//! Storage conformance: every case runs against SQLite and against PostgreSQL in one
//! `cargo test`. Each case gets a fresh temp dir or a fresh PostgreSQL schema.
//!
//! The PostgreSQL half reads `CHRONIK_TEST_DATABASE_URL`. Built without it, every `postgres::`
//! case is `#[ignore]`d with the reason (`cargo test` reports it `ignored`, never `ok`), except
//! under CI (`CI` set to `true`, `1` or `yes`), where the cases are built to run and a missing
//! database fails them. The rule is `chronik_test_macros::postgres`'s.

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
                #[chronik_test_macros::postgres]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fx = $crate::fixture::Fixture::postgres(stringify!($case)).await;
                    super::$case(&fx).await;
                    fx.drop_schema().await;
                }
            )*
        }
    };
}
