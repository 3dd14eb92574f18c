//! PostgreSQL tests of [`TimelineStore`]: each on a fresh schema of the test database; two
//! [`PostgresStore`]s on one schema are two nodes sharing a database.

#![allow(clippy::unwrap_used)]

mod events;
mod types;

use std::str::FromStr;

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::timeline::event_type::{
    EventObjectType, EventProperty, EventTypeDefinition, Origin, PropertyOption, PropertyType,
};
use chronik_domain::{AppId, TokenHash};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor};

use super::super::PostgresStore;
use crate::tenancy::{NewApp, TenancyStore};

/// A fresh schema, dropped at the end of the test.
struct Schema {
    base: PgConnectOptions,
    name: String,
    options: PgConnectOptions,
}

impl Schema {
    async fn fresh() -> Schema {
        let url = std::env::var("CHRONIK_TEST_DATABASE_URL")
            .expect("the #[postgres] gate runs this only with a test database");
        let base = PgConnectOptions::from_str(&url).expect("a valid test database URL");
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect_with(&base).await.unwrap();
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .await
            .unwrap();
        conn.close().await.ok();
        let options = base.clone().options([("search_path", name.as_str())]);
        Schema {
            base,
            name,
            options,
        }
    }

    /// A node: a store with a pool of its own.
    async fn node(&self) -> PostgresStore {
        PostgresStore::connect_with(self.options.clone(), 8)
            .await
            .unwrap()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // The test's runtime cannot be blocked on: a thread with its own runtime cleans up.
        let base = self.base.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect_with(&base).await {
                    let _ = conn
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {name} CASCADE"
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A time in whole milliseconds (what the store keeps), `ms` after 2023-11-14.
fn t(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
}

async fn new_app(store: &PostgresStore, name: &str) -> AppId {
    store
        .create_app(
            NewApp {
                name: name.into(),
                developer_key: TokenHash::of(&format!("{name}-key")),
                client_id: format!("{name}-client"),
                client_secret: TokenHash::of(&format!("{name}-secret")),
            },
            t(0),
        )
        .await
        .unwrap()
        .id
}

fn property(name: &str, property_type: PropertyType, stamps: Option<&str>) -> EventProperty {
    EventProperty {
        name: name.into(),
        label: format!("{name} label"),
        property_type,
        options: if property_type == PropertyType::Enumeration {
            vec![
                PropertyOption {
                    label: "Gold".into(),
                    value: "gold".into(),
                },
                PropertyOption {
                    label: "Silver".into(),
                    value: "silver".into(),
                },
            ]
        } else {
            Vec::new()
        },
        object_property_name: stamps.map(str::to_owned),
        created_at: t(0),
        updated_at: t(0),
    }
}

/// A webinar registration template of `object_type`, one token stamping `firstname` (or,
/// for other types, `name`/`dealname`…: see the callers).
fn definition(name: &str, object_type: StandardType) -> EventTypeDefinition {
    EventTypeDefinition {
        name: name.into(),
        object_type: EventObjectType::parse_v3("objectType", object_type.plural()).unwrap(),
        header_template: Some("Registered for [{{webinarName}}](https://example.com)".into()),
        detail_template: Some("{{#each extraData.questions}}{{this}} {{/each}}".into()),
        properties: vec![
            property("webinarName", PropertyType::String, None),
            property("tier", PropertyType::Enumeration, None),
            property("seats", PropertyType::Number, None),
        ],
        origin: Origin::Http,
    }
}
