//! A record's timeline: newest first, cursor pages, time and type filters; and what a reset
//! of the account removes.

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::timeline::event_type::PropertyType;
use chronik_domain::ObjectId;
use serde_json::json;

use super::*;
use crate::tenancy::TenancyStore;
use crate::timeline::{TimelineQuery, TimelineStore};
use crate::StoreError;

fn ids(page: &crate::timeline::TimelinePage) -> Vec<&str> {
    page.items.iter().map(|e| e.id.as_str()).collect()
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_timeline_pages_newest_first_with_time_and_type_filters() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let webinars = type_of(&store, StandardType::Contacts, |_| {}).await;
    let demos = type_of(&store, StandardType::Contacts, |_| {}).await;
    let ada = record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "ada@example.com")],
    )
    .await;
    let bob = record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "bob@example.com")],
    )
    .await;
    let on = |ty: &StoredEventType, id: &str, who: ObjectId, at: i64| {
        event(ty, json!({"id": id, "objectId": who.0, "timestamp": at}))
    };
    store
        .store_timeline_events(
            a,
            vec![
                on(&webinars, "w1", ada, 1_000),
                on(&demos, "d1", ada, 2_000),
                // Two at one time: the one stored later comes first.
                on(&webinars, "w2", ada, 3_000),
                on(&webinars, "w3", ada, 3_000),
                on(&demos, "d2", ada, 4_000),
                on(&webinars, "bob", bob, 5_000),
            ],
            t(0),
        )
        .await
        .unwrap()
        .unwrap();
    // Waiting for a utk that is then linked to ada: on her timeline in time order.
    store
        .store_timeline_events(
            a,
            vec![event(
                &demos,
                json!({"id": "u1", "utk": "utk-ada", "timestamp": 2_500}),
            )],
            t(1),
        )
        .await
        .unwrap()
        .unwrap();
    store
        .link_visitor(
            a,
            "utk-ada",
            &chronik_domain::tenancy::Email::parse("email", "ada@example.com").unwrap(),
            t(2),
        )
        .await
        .unwrap();
    let all = |limit| TimelineQuery {
        record: (StandardType::Contacts.type_id(), ada),
        type_ids: Vec::new(),
        occurred_after: None,
        occurred_before: None,
        limit,
        before: None,
    };
    let page = store.query_timeline_events(a, &all(50)).await.unwrap();
    assert_eq!(ids(&page), ["d2", "w3", "w2", "u1", "d1", "w1"]);
    assert!(!page.more);

    // Pages of 2, each continuing strictly before the last one's cursor.
    let mut seen = Vec::new();
    let mut query = all(2);
    loop {
        let page = store.query_timeline_events(a, &query).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|e| e.id.clone()));
        if !page.more {
            break;
        }
        query.before = Some(page.items.last().unwrap().cursor);
    }
    assert_eq!(seen, ["d2", "w3", "w2", "u1", "d1", "w1"]);
    // At the limit: exactly the page, no more.
    let exact = store.query_timeline_events(a, &all(6)).await.unwrap();
    assert_eq!((exact.items.len(), exact.more), (6, false));
    let short = store.query_timeline_events(a, &all(5)).await.unwrap();
    assert_eq!((short.items.len(), short.more), (5, true));

    // Times are inclusive at both ends.
    let mut between = all(50);
    between.occurred_after = Some(chrono::DateTime::from_timestamp_millis(2_000).unwrap());
    between.occurred_before = Some(chrono::DateTime::from_timestamp_millis(3_000).unwrap());
    let page = store.query_timeline_events(a, &between).await.unwrap();
    assert_eq!(ids(&page), ["w3", "w2", "u1", "d1"]);

    let mut only_demos = all(50);
    only_demos.type_ids = vec![demos.id];
    let page = store.query_timeline_events(a, &only_demos).await.unwrap();
    assert_eq!(ids(&page), ["d2", "u1", "d1"]);

    // Another account sees nothing of it.
    let other = account(&store, "other").await;
    let page = store.query_timeline_events(other, &all(50)).await.unwrap();
    assert!(page.items.is_empty());
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_reset_removes_the_accounts_events_and_stamps_and_keeps_the_types() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let b = account(&store, "other").await;
    let ty = type_of(&store, StandardType::Contacts, |d| {
        d.properties
            .push(property("plan", PropertyType::String, Some("firstname")));
    })
    .await;
    for acc in [a, b] {
        store
            .store_timeline_events(
                acc,
                vec![event(
                    &ty,
                    json!({"id": "e", "email": "ada@example.com", "tokens": {"plan": "Pro"}}),
                )],
                t(0),
            )
            .await
            .unwrap()
            .unwrap();
    }
    store.reset_account(a).await.unwrap();
    assert!(matches!(
        store.get_timeline_event(a, ty.id, "e").await,
        Err(StoreError::NotFound)
    ));
    store.get_timeline_event(b, ty.id, "e").await.unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_events").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_stamps").await, 1);
    assert_eq!(store.get_event_type(ty.id).await.unwrap().version, 1);
    // The id is free again in the reset account, and stamps start over.
    let again = store
        .store_timeline_events(
            a,
            vec![event(
                &ty,
                json!({"id": "e", "email": "ada@example.com", "timestamp": 1_000, "tokens": {"plan": "Basic"}}),
            )],
            t(1),
        )
        .await
        .unwrap()
        .unwrap();
    let contact = stored(&again[0]).object_id.unwrap();
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, contact, "firstname")
            .await
            .as_deref(),
        Some("Basic")
    );
}
