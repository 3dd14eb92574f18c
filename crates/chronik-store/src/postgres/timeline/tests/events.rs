//! Storing events: each [`EventWrite`], ids, type versions and deletion, unknown stamped
//! properties; association outcomes are in `association.rs`.

use std::sync::Arc;

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::ObjectId;
use serde_json::json;

use super::*;
use crate::timeline::{TimelineQuery, TimelineRefusal, TimelineStore};
use crate::StoreError;

pub(super) fn timeline(id: ObjectId) -> TimelineQuery {
    TimelineQuery {
        record: (StandardType::Contacts.type_id(), id),
        type_ids: Vec::new(),
        occurred_after: None,
        occurred_before: None,
        limit: 50,
        before: None,
    }
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn events_are_stored_as_sent_and_read_by_id() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let contacts = type_of(&store, StandardType::Contacts, |_| {}).await;
    let deals = type_of(&store, StandardType::Deals, |_| {}).await;
    let deal = record(&store, a, StandardType::Deals, &[("dealname", "Big one")]).await;
    let writes = store
        .store_timeline_events(
            a,
            vec![
                event(
                    &contacts,
                    json!({
                        "id": "reg-1", "email": "Ada@Example.com", "timestamp": "2023-11-14T22:13:20.500Z",
                        "tokens": {"webinarName": "Rust 101", "tier": "gold", "seats": 3},
                        "extraData": {"questions": ["Why?", "How?"]}
                    }),
                ),
                event(
                    &deals,
                    json!({"id": "deal-1", "objectId": deal.0, "timestamp": 1_700_000_001_000_i64}),
                ),
            ],
            t(5_000),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(writes.len(), 2);
    let first = stored(&writes[0]);
    assert_eq!(first.type_id, contacts.id);
    assert_eq!(first.id, "reg-1");
    assert_eq!(first.object_type_id, StandardType::Contacts.type_id());
    assert_eq!(first.cursor.occurred_at_ms, 1_700_000_000_500);
    assert_eq!(first.body.tokens["seats"], "3");
    assert_eq!(first.body.email.as_deref(), Some("Ada@Example.com"));
    assert_eq!(
        first.body.extra_data,
        Some(json!({"questions": ["Why?", "How?"]}))
    );
    assert_eq!(first.created_at, t(5_000));
    // The email created its contact.
    let contact = first.object_id.unwrap();
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, contact, "email")
            .await
            .as_deref(),
        Some("Ada@Example.com")
    );
    let second = stored(&writes[1]);
    assert_eq!(second.object_id, Some(deal));
    assert!(second.cursor.seq > first.cursor.seq);

    assert_eq!(
        &store
            .get_timeline_event(a, contacts.id, "reg-1")
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        &store
            .get_timeline_event(a, deals.id, "deal-1")
            .await
            .unwrap(),
        second
    );
    // Ids are per type and account.
    assert!(matches!(
        store.get_timeline_event(a, deals.id, "reg-1").await,
        Err(StoreError::NotFound)
    ));
    let b = account(&store, "other").await;
    assert!(matches!(
        store.get_timeline_event(b, contacts.id, "reg-1").await,
        Err(StoreError::NotFound)
    ));
    // An unknown account stores nothing.
    let unknown = store
        .store_timeline_events(
            chronik_domain::AccountId(9_999_999),
            vec![event(&contacts, json!({"email": "x@example.com"}))],
            t(0),
        )
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_record_that_does_not_exist_is_refused_and_the_others_are_stored() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let contacts = type_of(&store, StandardType::Contacts, |_| {}).await;
    let company = record(&store, a, StandardType::Companies, &[("name", "Acme")]).await;
    let writes = store
        .store_timeline_events(
            a,
            vec![
                event(&contacts, json!({"objectId": 987_654_321})),
                // A company is not a contact.
                event(&contacts, json!({"objectId": company.0})),
                event(&contacts, json!({"id": "ok", "email": "grace@example.com"})),
            ],
            t(0),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(writes[0], EventWrite::RecordNotFound);
    assert_eq!(writes[1], EventWrite::RecordNotFound);
    assert_eq!(stored(&writes[2]).id, "ok");
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_events").await, 1);
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_repeated_id_keeps_the_first_event_in_a_call_and_across_calls() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |_| {}).await;
    let sent = |name: &str| {
        event(
            &ty,
            json!({"id": "same", "email": "ada@example.com", "tokens": {"webinarName": name}}),
        )
    };
    let writes = store
        .store_timeline_events(a, vec![sent("first"), sent("second")], t(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored(&writes[0]).body.tokens["webinarName"], "first");
    assert_eq!(writes[1], EventWrite::DuplicateId);
    let later = store
        .store_timeline_events(a, vec![sent("third")], t(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later, vec![EventWrite::DuplicateId]);
    let kept = store.get_timeline_event(a, ty.id, "same").await.unwrap();
    assert_eq!(kept.body.tokens["webinarName"], "first");
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_events").await, 1);
}

#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_id_sent_from_two_nodes_at_once_is_stored_exactly_once() {
    let db = Schema::fresh().await;
    let nodes = [Arc::new(db.node().await), Arc::new(db.node().await)];
    let a = account(&nodes[0], "acme").await;
    let ty = type_of(&nodes[0], StandardType::Contacts, |_| {}).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let node = Arc::clone(&nodes[n % 2]);
        let e = event(
            &ty,
            json!({"id": "race", "email": "ada@example.com", "tokens": {"webinarName": format!("try {n}")}}),
        );
        tasks.push(tokio::spawn(async move {
            node.store_timeline_events(a, vec![e], t(n as i64)).await
        }));
    }
    let mut kept = Vec::new();
    let mut duplicates = 0;
    for task in tasks {
        match task.await.unwrap().unwrap().unwrap().pop().unwrap() {
            EventWrite::Stored(e) => kept.push(e.body.tokens["webinarName"].clone()),
            EventWrite::DuplicateId => duplicates += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((kept.len(), duplicates), (1, 15));
    let read = nodes[1].get_timeline_event(a, ty.id, "race").await.unwrap();
    assert_eq!(read.body.tokens["webinarName"], kept[0]);
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_events").await, 1);
    // One contact for the email, however many calls raced to create it.
    assert_eq!(count(&db, "SELECT count(*) FROM crm_objects").await, 1);
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_type_changed_since_the_check_refuses_the_call_and_writes_nothing() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |_| {}).await;
    let other = type_of(&store, StandardType::Contacts, |_| {}).await;
    let checked = vec![
        event(&other, json!({"email": "first@example.com"})),
        event(&ty, json!({"email": "ada@example.com"})),
    ];
    store
        .modify_event_type(ty.app, ty.id, Box::new(|d| Ok(d.clone())), t(1))
        .await
        .unwrap()
        .unwrap();
    let refused = store.store_timeline_events(a, checked, t(2)).await.unwrap();
    assert_eq!(refused, Err(TimelineRefusal::TypeChanged(ty.id)));
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_events").await, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM crm_objects").await, 0);
    // Checked again against version 2, it is stored.
    let again = store.get_event_type(ty.id).await.unwrap();
    let writes = store
        .store_timeline_events(
            a,
            vec![event(&again, json!({"email": "ada@example.com"}))],
            t(3),
        )
        .await
        .unwrap()
        .unwrap();
    stored(&writes[0]);
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_deleted_type_takes_no_events_leaves_timelines_and_stays_readable_by_id() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |_| {}).await;
    let kept = type_of(&store, StandardType::Contacts, |_| {}).await;
    let writes = store
        .store_timeline_events(
            a,
            vec![
                event(
                    &ty,
                    json!({"id": "gone", "email": "ada@example.com", "timestamp": 2_000}),
                ),
                event(
                    &kept,
                    json!({"id": "stays", "email": "ada@example.com", "timestamp": 1_000}),
                ),
            ],
            t(0),
        )
        .await
        .unwrap()
        .unwrap();
    let contact = stored(&writes[0]).object_id.unwrap();
    assert_eq!(
        store
            .query_timeline_events(a, &timeline(contact))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    store.delete_event_type(ty.app, ty.id, t(1)).await.unwrap();
    let page = store
        .query_timeline_events(a, &timeline(contact))
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["stays"]
    );
    assert_eq!(
        store.get_timeline_event(a, ty.id, "gone").await.unwrap(),
        *stored(&writes[0])
    );
    let after = store
        .store_timeline_events(
            a,
            vec![
                event(&ty, json!({"id": "late", "email": "new@example.com"})),
                event(&kept, json!({"id": "fine", "email": "ada@example.com"})),
            ],
            t(2),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after[0], EventWrite::TypeDeleted);
    stored(&after[1]);
    // The refused event created no contact.
    assert_eq!(count(&db, "SELECT count(*) FROM crm_objects").await, 1);
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_stamp_of_a_property_the_type_lacks_stores_nothing_of_that_event() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |d| {
        d.properties.push(property(
            "color",
            PropertyType::String,
            Some("favorite_color"),
        ));
        d.properties
            .push(property("made", PropertyType::Date, Some("createdate")));
    })
    .await;
    let writes = store
        .store_timeline_events(
            a,
            vec![
                event(
                    &ty,
                    json!({"email": "ada@example.com", "tokens": {"color": "teal"}}),
                ),
                event(
                    &ty,
                    json!({"email": "bob@example.com", "tokens": {"made": "1700000000000"}}),
                ),
                event(
                    &ty,
                    json!({"email": "eve@example.com", "tokens": {"webinarName": "x"}}),
                ),
            ],
            t(0),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        writes[0],
        EventWrite::UnknownProperty("favorite_color".into())
    );
    // Read-only: set by Chronik only.
    assert_eq!(writes[1], EventWrite::UnknownProperty("createdate".into()));
    let eve = stored(&writes[2]).object_id.unwrap();
    // Neither refused event created its contact.
    assert_eq!(count(&db, "SELECT count(*) FROM crm_objects").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_events").await, 1);

    // Once the account defines the property, the same event is taken and stamps it.
    store
        .create_property(
            a,
            StandardType::Contacts.type_id(),
            &custom_property("favorite_color"),
            t(1),
        )
        .await
        .unwrap();
    let writes = store
        .store_timeline_events(
            a,
            vec![event(
                &ty,
                json!({"email": "eve@example.com", "tokens": {"color": "teal"}}),
            )],
            t(2),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored(&writes[0]).object_id, Some(eve));
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, eve, "favorite_color")
            .await
            .as_deref(),
        Some("teal")
    );
}

fn custom_property(name: &str) -> chronik_domain::crm::property::PropertyDefinition {
    chronik_domain::crm::property::PropertyDefinition {
        name: name.into(),
        label: "Favorite color".into(),
        property_type: chronik_domain::crm::property::PropertyType::String,
        field_type: "text".into(),
        group_name: "contactinformation".into(),
        description: String::new(),
        options: Vec::new(),
        has_unique_value: false,
        hidden: false,
        display_order: -1,
        form_field: true,
        hubspot_defined: false,
        read_only_value: false,
        returned_by_default: false,
    }
}
