//! Stamping: the newest event by time (then arrival) sets the CRM property, whatever the
//! arrival order, within a call, across calls and from two nodes at once.

use std::sync::Arc;

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::timeline::event_type::PropertyType;
use serde_json::json;

use super::*;
use crate::timeline::TimelineStore;

/// A contact type whose `plan` token stamps `firstname`.
async fn stamping_type(store: &PostgresStore) -> StoredEventType {
    type_of(store, StandardType::Contacts, |d| {
        d.properties
            .push(property("plan", PropertyType::String, Some("firstname")));
    })
    .await
}

fn plan(ty: &StoredEventType, contact: ObjectId, at: i64, value: &str) -> NewTimelineEvent {
    event(
        ty,
        json!({"objectId": contact.0, "timestamp": at, "tokens": {"plan": value}}),
    )
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn the_newest_event_sets_the_property_whatever_the_arrival_order() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = stamping_type(&store).await;
    let ada = record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "ada@example.com")],
    )
    .await;
    let firstname = || crm_property(&store, a, StandardType::Contacts, ada, "firstname");
    for (at, value) in [(3_000, "C"), (1_000, "A"), (2_000, "B")] {
        store
            .store_timeline_events(a, vec![plan(&ty, ada, at, value)], t(at))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(firstname().await.as_deref(), Some("C"));
    // Within one call, out of order.
    store
        .store_timeline_events(
            a,
            vec![plan(&ty, ada, 4_000, "E"), plan(&ty, ada, 3_500, "D")],
            t(10),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(firstname().await.as_deref(), Some("E"));
    // The same time: the one stored later wins.
    store
        .store_timeline_events(
            a,
            vec![plan(&ty, ada, 5_000, "F"), plan(&ty, ada, 5_000, "G")],
            t(11),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(firstname().await.as_deref(), Some("G"));
    // An older event is stored but does not stamp.
    let late = store
        .store_timeline_events(a, vec![plan(&ty, ada, 100, "old")], t(12))
        .await
        .unwrap()
        .unwrap();
    stored(&late[0]);
    assert_eq!(firstname().await.as_deref(), Some("G"));
    // Each stamp that won went through the CRM path: history, newest first.
    let history = store
        .object_history(a, StandardType::Contacts.type_id(), ada)
        .await
        .unwrap();
    let values: Vec<&str> = history["firstname"]
        .iter()
        .map(|h| h.value.as_str())
        .collect();
    assert_eq!(values, ["G", "E", "C"]);
    let updated = store
        .get_objects(a, StandardType::Contacts.type_id(), &[ada], false)
        .await
        .unwrap();
    assert_eq!(updated[0].updated_at, t(11));
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_contact_the_event_creates_is_stamped_and_other_types_stamp_their_records() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = stamping_type(&store).await;
    let deals = type_of(&store, StandardType::Deals, |d| {
        d.properties
            .push(property("stage", PropertyType::String, Some("dealstage")));
    })
    .await;
    let deal = record(&store, a, StandardType::Deals, &[("dealname", "Big")]).await;
    let writes = store
        .store_timeline_events(
            a,
            vec![
                event(
                    &ty,
                    json!({"email": "new@example.com", "tokens": {"plan": "Pro"}}),
                ),
                event(
                    &deals,
                    json!({"objectId": deal.0, "tokens": {"stage": "closedwon"}}),
                ),
            ],
            t(0),
        )
        .await
        .unwrap()
        .unwrap();
    let contact = stored(&writes[0]).object_id.unwrap();
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, contact, "firstname")
            .await
            .as_deref(),
        Some("Pro")
    );
    assert_eq!(
        crm_property(&store, a, StandardType::Deals, deal, "dealstage")
            .await
            .as_deref(),
        Some("closedwon")
    );
}

#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_stamping_at_once_leave_the_newest_value() {
    let db = Schema::fresh().await;
    let nodes = [Arc::new(db.node().await), Arc::new(db.node().await)];
    let a = account(&nodes[0], "acme").await;
    let ty = Arc::new(stamping_type(&nodes[0]).await);
    let ada = record(
        &nodes[0],
        a,
        StandardType::Contacts,
        &[("email", "ada@example.com")],
    )
    .await;
    let bob = record(
        &nodes[0],
        a,
        StandardType::Contacts,
        &[("email", "bob@example.com")],
    )
    .await;
    const CALLS: i64 = 48;
    let mut tasks = Vec::new();
    for n in 0..CALLS {
        // A permutation of 0..CALLS: the times arrive shuffled.
        let at = (n * 29) % CALLS;
        let node = Arc::clone(&nodes[n as usize % 2]);
        // Both records in each call, in either order: the stamp rows are locked in one order.
        let mut events = vec![
            plan(&ty, ada, 1_000 + at * 10, &format!("ada at {at}")),
            plan(
                &ty,
                bob,
                1_000 + (CALLS - 1 - at) * 10,
                &format!("bob at {at}"),
            ),
        ];
        if n % 3 == 0 {
            events.reverse();
        }
        tasks.push(tokio::spawn(async move {
            node.store_timeline_events(a, events, t(n)).await
        }));
    }
    for task in tasks {
        let writes = task.await.unwrap().unwrap().unwrap();
        assert!(writes.iter().all(|w| matches!(w, EventWrite::Stored(_))));
    }
    let newest = CALLS - 1;
    assert_eq!(
        crm_property(&nodes[1], a, StandardType::Contacts, ada, "firstname")
            .await
            .unwrap(),
        format!("ada at {newest}")
    );
    assert_eq!(
        crm_property(&nodes[1], a, StandardType::Contacts, bob, "firstname")
            .await
            .unwrap(),
        "bob at 0"
    );
    let stamp: (i64, String) =
        sqlx::query_as("SELECT occurred_at_ms, value FROM timeline_stamps WHERE object_id = $1")
            .bind(ada.0)
            .fetch_one(&mut db.conn().await)
            .await
            .unwrap();
    assert_eq!(stamp, (1_000 + newest * 10, format!("ada at {newest}")));
}

#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_utks_and_stamping_one_contact_from_two_nodes_never_deadlock() {
    let db = Schema::fresh().await;
    let nodes = [Arc::new(db.node().await), Arc::new(db.node().await)];
    let a = account(&nodes[0], "acme").await;
    let ty = Arc::new(stamping_type(&nodes[0]).await);
    let ada = record(
        &nodes[0],
        a,
        StandardType::Contacts,
        &[("email", "ada@example.com")],
    )
    .await;
    const CALLS: i64 = 32;
    let mut tasks = Vec::new();
    for n in 0..CALLS {
        let at = 1_000 + (n * 13) % CALLS;
        let node = Arc::clone(&nodes[n as usize % 2]);
        // Each links a utk of its own to the contact (a foreign key to its row) and stamps it.
        let events = vec![event(
            &ty,
            json!({"objectId": ada.0, "utk": format!("utk-{n}"), "timestamp": at,
                   "tokens": {"plan": format!("at {at}")}}),
        )];
        tasks.push(tokio::spawn(async move {
            node.store_timeline_events(a, events, t(n)).await
        }));
    }
    for task in tasks {
        let writes = task.await.unwrap().unwrap().unwrap();
        stored(&writes[0]);
    }
    assert_eq!(
        crm_property(&nodes[1], a, StandardType::Contacts, ada, "firstname")
            .await
            .unwrap(),
        format!("at {}", 1_000 + CALLS - 1)
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM visitor_tokens").await,
        CALLS
    );
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn a_stamped_unique_value_moves_its_claim_unless_another_record_holds_it() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let ty = type_of(&store, StandardType::Contacts, |d| {
        d.properties
            .push(property("work", PropertyType::String, Some("email")));
        d.properties
            .push(property("plan", PropertyType::String, Some("firstname")));
    })
    .await;
    let ada = record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "ada@example.com"), ("firstname", "Ada")],
    )
    .await;
    record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "bob@example.com")],
    )
    .await;
    let writes = store
        .store_timeline_events(
            a,
            vec![
                event(
                    &ty,
                    json!({"objectId": ada.0, "timestamp": 1_000, "tokens": {"work": "BOB@example.com"}}),
                ),
                event(
                    &ty,
                    json!({"objectId": ada.0, "timestamp": 2_000, "tokens": {"work": "ada@work.example", "plan": ""}}),
                ),
            ],
            t(1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(writes[0], EventWrite::EmailTaken("BOB@example.com".into()));
    stored(&writes[1]);
    assert_eq!(count(&db, "SELECT count(*) FROM timeline_events").await, 1);
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, ada, "email")
            .await
            .as_deref(),
        Some("ada@work.example")
    );
    // An empty value clears the property.
    assert_eq!(
        crm_property(&store, a, StandardType::Contacts, ada, "firstname").await,
        None
    );
    // The claim moved: the new email finds ada, the old one is free for a new contact.
    let by_email = store
        .store_timeline_events(
            a,
            vec![
                event(&ty, json!({"email": "ADA@work.example"})),
                event(&ty, json!({"email": "ada@example.com"})),
            ],
            t(2),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored(&by_email[0]).object_id, Some(ada));
    assert_ne!(stored(&by_email[1]).object_id, Some(ada));
}
