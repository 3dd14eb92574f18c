//! PostgreSQL tests of [`TimelineStore`]: each on a fresh schema of the test database; two
//! [`PostgresStore`]s on one schema are two nodes sharing a database.

#![allow(clippy::unwrap_used)]

mod association;
mod events;
mod query;
mod stamping;
mod types;

use std::borrow::Cow;
use std::str::FromStr;

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::timeline::event::{check_event, EventInput};
use chronik_domain::timeline::event_type::{
    EventObjectType, EventProperty, EventTypeDefinition, Origin, PropertyOption, PropertyType,
};
use chronik_domain::{AccountId, AppId, ObjectId, TokenHash};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor};

use super::super::PostgresStore;
use crate::crm::{CrmStore, NewObject};
use crate::tenancy::{NewApp, TenancyStore};
use crate::timeline::{EventWrite, NewTimelineEvent, StoredEventType, StoredTimelineEvent};

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
        // Named after the schema, so that the cleanup finds the nodes' connections.
        let options = base
            .clone()
            .options([("search_path", name.as_str())])
            .application_name(&name);
        Schema {
            base,
            name,
            options,
        }
    }

    /// A connection of its own, for looking at the tables.
    async fn conn(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect_with(&self.options)
            .await
            .unwrap()
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
                    // A node's connection may still hold a transaction whose rollback waits for
                    // the test's runtime, which this drop blocks: end those connections first.
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE application_name = $1",
                    )
                    .bind(&name)
                    .execute(&mut conn)
                    .await;
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

async fn account(store: &PostgresStore, name: &str) -> AccountId {
    store.create_account(name, t(0)).await.unwrap().id
}

/// A record of `object_type` with these properties (a contact's `email` claimed, as the CRM
/// endpoints do).
async fn record(
    store: &PostgresStore,
    account: AccountId,
    object_type: StandardType,
    properties: &[(&str, &str)],
) -> ObjectId {
    let properties: std::collections::BTreeMap<String, String> = properties
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let unique = properties
        .get("email")
        .filter(|_| object_type == StandardType::Contacts)
        .map(|e| vec![chronik_domain::crm::object::UniqueValue::new("email", e)])
        .unwrap_or_default();
    let mut created = store
        .create_objects(
            account,
            object_type.type_id(),
            vec![NewObject { properties, unique }],
            t(0),
        )
        .await
        .unwrap();
    created.pop().unwrap().unwrap().id
}

/// The CRM property `name` of a record.
async fn crm_property(
    store: &PostgresStore,
    account: AccountId,
    object_type: StandardType,
    id: ObjectId,
    name: &str,
) -> Option<String> {
    let objects = store
        .get_objects(account, object_type.type_id(), &[id], false)
        .await
        .unwrap();
    objects.first()?.properties.get(name).cloned()
}

/// An event of `ty` as an API call sends it (`id`, `objectId`, `email`, `utk`, `timestamp`,
/// `tokens`, `extraData`), checked by the domain's rules.
fn event(ty: &StoredEventType, sent: Value) -> NewTimelineEvent {
    let text = |key: &str| -> Option<Cow<'_, str>> {
        sent.get(key).map(|v| match v {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_string()),
        })
    };
    let input = EventInput {
        id: sent.get("id").and_then(Value::as_str),
        object_id: text("objectId"),
        email: sent.get("email").and_then(Value::as_str),
        utk: sent.get("utk").and_then(Value::as_str),
        domain: None,
        timestamp: text("timestamp"),
        values: sent.get("tokens").and_then(Value::as_object),
        extra_data: sent.get("extraData"),
        iframe: None,
        serialized_bytes: sent.to_string().len(),
    };
    NewTimelineEvent {
        type_id: ty.id,
        type_version: ty.version,
        object_type_id: ty.definition.object_type.type_id,
        event: check_event(&ty.definition, &input, "", "tokens", t(0)).unwrap(),
    }
}

/// The stored event of an answer.
fn stored(write: &EventWrite) -> &StoredTimelineEvent {
    match write {
        EventWrite::Stored(e) => e,
        other => panic!("expected the event stored, got {other:?}"),
    }
}

/// Rows of a table in the test schema.
async fn count(db: &Schema, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&mut db.conn().await)
        .await
        .unwrap()
}

/// An app with one event type of `object_type` built by `def` (see [`definition`]).
async fn type_of(
    store: &PostgresStore,
    object_type: StandardType,
    change: impl FnOnce(&mut EventTypeDefinition),
) -> StoredEventType {
    use crate::timeline::TimelineStore;
    let app = new_app(store, &format!("app-{}", uuid::Uuid::new_v4().simple())).await;
    let mut def = definition("Webinar", object_type);
    change(&mut def);
    store.create_event_type(app, &def, 750, t(0)).await.unwrap()
}
