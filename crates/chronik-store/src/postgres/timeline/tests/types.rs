//! Event types: create, list, get, modify, delete; the per-app quota, also from two nodes.

use std::sync::Arc;

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::timeline::event_type::PropertyType;
use chronik_domain::{AppId, DomainError, EventTypeId, ValidationError};

use super::*;
use crate::timeline::{TimelineStore, EVENT_TYPES_QUOTA};
use crate::StoreError;

#[chronik_test_macros::postgres]
#[tokio::test]
async fn event_types_are_created_listed_read_changed_and_deleted() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let app = new_app(&store, "webinars").await;
    let other = new_app(&store, "other").await;
    let webinar = definition("Webinar", StandardType::Contacts);
    let created = store
        .create_event_type(app, &webinar, 750, t(1_000))
        .await
        .unwrap();
    assert_eq!(created.app, app);
    assert_eq!(created.definition, webinar);
    assert_eq!(created.version, 1);
    assert_eq!(
        (created.created_at, created.updated_at),
        (t(1_000), t(1_000))
    );
    assert_eq!(created.deleted_at, None);
    let second = store
        .create_event_type(app, &definition("Demo", StandardType::Deals), 750, t(2_000))
        .await
        .unwrap();
    assert!(second.id.0 > created.id.0);
    store
        .create_event_type(
            other,
            &definition("Elsewhere", StandardType::Contacts),
            750,
            t(0),
        )
        .await
        .unwrap();

    let listed = store.list_event_types(app).await.unwrap();
    assert_eq!(listed, vec![created.clone(), second.clone()]);
    assert_eq!(store.get_event_type(created.id).await.unwrap(), created);

    let changed = store
        .modify_event_type(
            app,
            created.id,
            Box::new(|d| {
                let mut next = d.clone();
                next.name = "Webinar registration".into();
                next.properties
                    .push(property("source", PropertyType::String, Some("firstname")));
                Ok(next)
            }),
            t(3_000),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.version, 2);
    assert_eq!(changed.definition.name, "Webinar registration");
    assert_eq!(changed.definition.properties.len(), 4);
    assert_eq!(
        (changed.created_at, changed.updated_at),
        (t(1_000), t(3_000))
    );
    assert_eq!(store.get_event_type(created.id).await.unwrap(), changed);

    // A refused change stores nothing.
    let refused = store
        .modify_event_type(
            app,
            created.id,
            Box::new(|_| {
                Err(DomainError::from(ValidationError::new(
                    "tokens[0].name",
                    "IMMUTABLE",
                    "no",
                )))
            }),
            t(4_000),
        )
        .await
        .unwrap();
    assert!(matches!(refused, Err(DomainError::Invalid(_))));
    assert_eq!(store.get_event_type(created.id).await.unwrap(), changed);

    // Another app's type is not this app's to change or delete.
    let not_mine = store
        .modify_event_type(other, created.id, Box::new(|d| Ok(d.clone())), t(4_000))
        .await;
    assert!(matches!(not_mine, Err(StoreError::NotFound)));
    assert!(matches!(
        store.delete_event_type(other, created.id, t(4_000)).await,
        Err(StoreError::NotFound)
    ));

    store
        .delete_event_type(app, created.id, t(5_000))
        .await
        .unwrap();
    assert_eq!(store.list_event_types(app).await.unwrap(), vec![second]);
    let deleted = store.get_event_type(created.id).await.unwrap();
    assert_eq!(deleted.deleted_at, Some(t(5_000)));
    assert_eq!(deleted.version, 2);
    assert_eq!(deleted.definition, changed.definition);
    assert!(matches!(
        store.delete_event_type(app, created.id, t(6_000)).await,
        Err(StoreError::NotFound)
    ));
    let after = store
        .modify_event_type(app, created.id, Box::new(|d| Ok(d.clone())), t(6_000))
        .await;
    assert!(matches!(after, Err(StoreError::NotFound)));
    assert!(matches!(
        store.get_event_type(EventTypeId(999_999)).await,
        Err(StoreError::NotFound)
    ));
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn an_unknown_app_gets_not_found_and_lists_nothing() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let created = store
        .create_event_type(
            AppId(42),
            &definition("Webinar", StandardType::Contacts),
            750,
            t(0),
        )
        .await;
    assert!(matches!(created, Err(StoreError::NotFound)));
    assert!(store.list_event_types(AppId(42)).await.unwrap().is_empty());
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn the_quota_allows_its_limit_and_refuses_one_more() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let app = new_app(&store, "webinars").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let def = definition(&format!("Type {n}"), StandardType::Contacts);
        ids.push(
            store
                .create_event_type(app, &def, 3, t(n))
                .await
                .unwrap()
                .id,
        );
    }
    let past = store
        .create_event_type(app, &definition("Fourth", StandardType::Contacts), 3, t(9))
        .await;
    match past {
        Err(StoreError::QuotaExceeded { quota, limit }) => {
            assert_eq!(quota, EVENT_TYPES_QUOTA);
            assert_eq!(limit, 3);
        }
        other => panic!("expected the quota, got {other:?}"),
    }
    // Live types count: deleting one makes room.
    store.delete_event_type(app, ids[0], t(10)).await.unwrap();
    store
        .create_event_type(app, &definition("Fourth", StandardType::Contacts), 3, t(11))
        .await
        .unwrap();
    assert_eq!(store.list_event_types(app).await.unwrap().len(), 3);
}

#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_on_two_nodes_never_exceed_the_quota() {
    let db = Schema::fresh().await;
    let nodes = [Arc::new(db.node().await), Arc::new(db.node().await)];
    let app = new_app(&nodes[0], "webinars").await;
    const LIMIT: u64 = 5;
    let mut tasks = Vec::new();
    for n in 0..24 {
        let node = Arc::clone(&nodes[n % 2]);
        tasks.push(tokio::spawn(async move {
            let def = definition(&format!("Type {n}"), StandardType::Contacts);
            node.create_event_type(app, &def, LIMIT, t(n as i64)).await
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::QuotaExceeded { limit: LIMIT, .. }) => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((created, refused), (5, 19));
    assert_eq!(nodes[1].list_event_types(app).await.unwrap().len(), 5);
}

#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_on_two_nodes_each_see_the_others() {
    let db = Schema::fresh().await;
    let nodes = [Arc::new(db.node().await), Arc::new(db.node().await)];
    let app = new_app(&nodes[0], "webinars").await;
    let id = nodes[0]
        .create_event_type(
            app,
            &definition("Webinar", StandardType::Contacts),
            750,
            t(0),
        )
        .await
        .unwrap()
        .id;
    let mut tasks = Vec::new();
    for n in 0..12 {
        let node = Arc::clone(&nodes[n % 2]);
        tasks.push(tokio::spawn(async move {
            node.modify_event_type(
                app,
                id,
                Box::new(move |d| {
                    let mut next = d.clone();
                    next.properties.push(property(
                        &format!("added{n}"),
                        PropertyType::String,
                        None,
                    ));
                    Ok(next)
                }),
                t(n as i64),
            )
            .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap().unwrap();
    }
    let last = nodes[1].get_event_type(id).await.unwrap();
    assert_eq!(last.version, 13);
    assert_eq!(last.definition.properties.len(), 3 + 12);
}
