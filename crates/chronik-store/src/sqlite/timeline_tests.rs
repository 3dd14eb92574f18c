//! Tests of [`TimelineStore`] on SQLite: event types (quota, versions, deletion) and events
//! (association, stamping, waiting for a utk, the timeline query, reset).

use std::sync::Arc;

use chronik_domain::timeline::event_type::{
    add_property, EventObjectType, EventProperty, EventTypeDefinition, Origin, PropertyOption,
    PropertyType, MAX_EVENT_TYPES_PER_APP,
};
use chronik_domain::{AppId, DomainError, EventTypeId, TokenHash};
use chrono::{DateTime, Utc};

use super::SqliteStore;
use crate::{NewApp, StoreError, TenancyStore, TimelineStore, EVENT_TYPES_QUOTA};

pub(super) fn t(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000 + ms).expect("a valid time")
}

pub(super) async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().to_path_buf())
        .await
        .expect("the store opens");
    (dir, store)
}

pub(super) async fn app(store: &SqliteStore, name: &str) -> AppId {
    let hash = |s: &str| TokenHash::of(&format!("{name}-{s}"));
    store
        .create_app(
            NewApp {
                name: name.into(),
                developer_key: hash("key"),
                client_id: format!("{name}-client"),
                client_secret: hash("secret"),
            },
            t(0),
        )
        .await
        .expect("an app")
        .id
}

pub(super) fn token(name: &str, t: PropertyType, stamps: Option<&str>) -> EventProperty {
    EventProperty {
        name: name.into(),
        label: name.into(),
        property_type: t,
        options: if t == PropertyType::Enumeration {
            vec![
                PropertyOption {
                    label: "Dog".into(),
                    value: "dog".into(),
                },
                PropertyOption {
                    label: "Cat".into(),
                    value: "cat".into(),
                },
            ]
        } else {
            Vec::new()
        },
        object_property_name: stamps.map(str::to_owned),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn t0() -> DateTime<Utc> {
    t(0)
}

/// HubSpot's PetSpot example template: a contact's pet, whose name stamps `firstname`.
pub(super) fn pet_template(object_type: &str) -> EventTypeDefinition {
    let def = EventTypeDefinition {
        name: "PetSpot Registration".into(),
        object_type: EventObjectType::parse_v3("objectType", object_type).expect("an object type"),
        header_template: Some(
            "Registered [{{petName}}](https://petspot.com/pets/{{petName}})".into(),
        ),
        detail_template: Some("Pet: {{petName}}, {{petAge}} years, a {{petColor}}".into()),
        properties: vec![
            token("petName", PropertyType::String, Some("firstname")),
            token("petAge", PropertyType::Number, None),
            token("petColor", PropertyType::Enumeration, None),
        ],
        origin: Origin::Http,
    };
    def.check().expect("the template is valid");
    def
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_types_are_created_listed_and_read_with_version_one() {
    let (_dir, store) = open().await;
    let app = app(&store, "petspot").await;
    let other = self::app(&store, "other").await;
    let def = pet_template("contacts");
    let a = store
        .create_event_type(app, &def, MAX_EVENT_TYPES_PER_APP, t(1))
        .await
        .expect("created");
    let b = store
        .create_event_type(app, &pet_template("DEAL"), MAX_EVENT_TYPES_PER_APP, t(2))
        .await
        .expect("created");
    store
        .create_event_type(other, &def, MAX_EVENT_TYPES_PER_APP, t(3))
        .await
        .expect("created");
    assert_eq!(
        (a.version, a.app, a.created_at, a.updated_at),
        (1, app, t(1), t(1))
    );
    assert!(b.id > a.id, "ids grow across the database");
    assert_eq!(a.deleted_at, None);
    let listed = store.list_event_types(app).await.expect("listed");
    assert_eq!(listed, vec![a.clone(), b.clone()]);
    assert_eq!(store.get_event_type(a.id).await.expect("read"), a);
    assert_eq!(
        store
            .get_event_type(b.id)
            .await
            .expect("read")
            .definition
            .object_type
            .as_sent,
        "DEAL",
        "objectType is kept as sent"
    );
    assert!(matches!(
        store.get_event_type(EventTypeId(42)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .create_event_type(AppId(7), &def, MAX_EVENT_TYPES_PER_APP, t(1))
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_has_at_most_750_live_event_types() {
    let (_dir, store) = open().await;
    let store = Arc::new(store);
    let app = app(&store, "petspot").await;
    let other = self::app(&store, "other").await;
    let def = pet_template("contacts");
    // Concurrently: group commit keeps this fast, and the count stays exact.
    let tasks: Vec<_> = (0..MAX_EVENT_TYPES_PER_APP)
        .map(|_| {
            let (store, def) = (Arc::clone(&store), def.clone());
            tokio::spawn(async move {
                store
                    .create_event_type(app, &def, MAX_EVENT_TYPES_PER_APP, t(1))
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(
            task.await
                .expect("the task ran")
                .expect("under the limit")
                .id,
        );
    }
    assert_eq!(
        store.list_event_types(app).await.expect("listed").len() as u64,
        MAX_EVENT_TYPES_PER_APP
    );
    let past = store
        .create_event_type(app, &def, MAX_EVENT_TYPES_PER_APP, t(2))
        .await
        .expect_err("past the limit");
    assert!(
        matches!(past, StoreError::QuotaExceeded { quota, limit: 750 } if quota == EVENT_TYPES_QUOTA),
        "{past:?}"
    );
    // Another app's quota is its own; a deleted type frees a place.
    store
        .create_event_type(other, &def, MAX_EVENT_TYPES_PER_APP, t(2))
        .await
        .expect("another app's");
    store
        .delete_event_type(app, ids[0], t(3))
        .await
        .expect("deleted");
    store
        .create_event_type(app, &def, MAX_EVENT_TYPES_PER_APP, t(4))
        .await
        .expect("a place again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_stores_the_next_version_and_a_refusal_stores_nothing() {
    let (_dir, store) = open().await;
    let app = app(&store, "petspot").await;
    let other = self::app(&store, "other").await;
    let created = store
        .create_event_type(app, &pet_template("contacts"), 10, t(1))
        .await
        .expect("created");
    let changed = store
        .modify_event_type(
            app,
            created.id,
            Box::new(|current| {
                add_property(current, token("petOwner", PropertyType::String, None), t(5))
                    .map(|(next, _)| next)
            }),
            t(5),
        )
        .await
        .expect("stored")
        .expect("accepted");
    assert_eq!((changed.version, changed.updated_at), (2, t(5)));
    assert_eq!(changed.created_at, t(1));
    assert!(changed.definition.property("petOwner").is_some());
    assert_eq!(
        store.get_event_type(created.id).await.expect("read"),
        changed
    );

    let refused = store
        .modify_event_type(
            app,
            created.id,
            Box::new(|_| Err(DomainError::Conflict("no".into()))),
            t(6),
        )
        .await
        .expect("carried out");
    assert!(matches!(refused, Err(DomainError::Conflict(_))));
    assert_eq!(
        store
            .get_event_type(created.id)
            .await
            .expect("read")
            .version,
        2
    );

    // Another app's type, or a deleted one, is not found.
    let keep = |_: &EventTypeDefinition| -> Result<EventTypeDefinition, DomainError> {
        Err(DomainError::Conflict("unreachable".into()))
    };
    assert!(matches!(
        store
            .modify_event_type(other, created.id, Box::new(keep), t(7))
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_event_type(app, created.id, t(8))
        .await
        .expect("deleted");
    assert!(matches!(
        store
            .modify_event_type(app, created.id, Box::new(keep), t(9))
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_are_applied_one_after_the_other() {
    let (_dir, store) = open().await;
    let store = Arc::new(store);
    let app = app(&store, "petspot").await;
    let created = store
        .create_event_type(app, &pet_template("contacts"), 10, t(1))
        .await
        .expect("created");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .modify_event_type(
                        app,
                        created.id,
                        Box::new(move |current| {
                            let p = token(&format!("extra{i}"), PropertyType::String, None);
                            add_property(current, p, t(2)).map(|(next, _)| next)
                        }),
                        t(2),
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("ran").expect("stored").expect("accepted");
    }
    let last = store.get_event_type(created.id).await.expect("read");
    assert_eq!(last.version, 21);
    assert_eq!(last.definition.properties.len(), 3 + 20, "no change lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_type_leaves_the_list_and_stays_readable_by_id() {
    let (_dir, store) = open().await;
    let app = app(&store, "petspot").await;
    let other = self::app(&store, "other").await;
    let created = store
        .create_event_type(app, &pet_template("contacts"), 10, t(1))
        .await
        .expect("created");
    assert!(matches!(
        store.delete_event_type(other, created.id, t(2)).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_event_type(app, created.id, t(3))
        .await
        .expect("deleted");
    assert!(store
        .list_event_types(app)
        .await
        .expect("listed")
        .is_empty());
    let read = store
        .get_event_type(created.id)
        .await
        .expect("still readable");
    assert_eq!(read.deleted_at, Some(t(3)));
    assert_eq!(read.definition, created.definition);
    assert!(matches!(
        store.delete_event_type(app, created.id, t(4)).await,
        Err(StoreError::NotFound)
    ));
}
