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

/// The first page of a contact with 10,000 events in a store of 1,000,000 (rows inserted
/// directly), of any type and of a type that 1 in 100 of them have, and the plan of the page
/// (the statement `read::query` builds, with no filters). `cargo test -p chronik-store --lib
/// first_page_of_a_large_postgres -- --ignored --nocapture` prints the figures and the plan;
/// it needs `CHRONIK_TEST_DATABASE_URL` (it is ignored whatever the build, so it carries no
/// `#[postgres]`, which would ignore it a second time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "builds a million rows; run by hand"]
async fn first_page_of_a_large_postgres_store_is_fast() {
    let db = Schema::fresh().await;
    let store = db.node().await;
    let a = account(&store, "acme").await;
    let common = type_of(&store, StandardType::Contacts, |_| {}).await;
    let rare = type_of(&store, StandardType::Contacts, |_| {}).await;
    let contact = record(
        &store,
        a,
        StandardType::Contacts,
        &[("email", "big@example.com")],
    )
    .await;
    let body = serde_json::to_string(
        &event(
            &common,
            json!({"email": "x@example.com", "tokens": {"webinarName": "Rust"}}),
        )
        .event
        .body,
    )
    .unwrap();
    let mut conn = db.conn().await;
    sqlx::query(
        "INSERT INTO timeline_events (account_id, event_type_id, event_id, object_type_id,
                                      object_id, occurred_at_ms, body, created_at)
         SELECT $1, CASE WHEN i % 10000 = 0 THEN $5 ELSE $2 END, 'e' || i, '0-1',
                CASE WHEN i % 100 = 0 THEN $3 ELSE 1000000 + i % 99991 END,
                1700000000000 + (i::bigint * 7919) % 100000000, $4::jsonb, 0
         FROM generate_series(1, 1000000) AS g(i)",
    )
    .bind(a.0)
    .bind(common.id.0)
    .bind(contact.0)
    .bind(&body)
    .bind(rare.id.0)
    .execute(&mut conn)
    .await
    .unwrap();
    // 50,000 other contacts with a utk each, so that finding this contact's utks by scanning
    // the account's would show.
    sqlx::query(
        "WITH c AS (
             INSERT INTO crm_objects (account_id, object_id, object_type_id, properties,
                                      created_at, updated_at)
             SELECT $1, 5000000 + i, '0-1', '{}'::jsonb, 0, 0
             FROM generate_series(1, 50000) AS g(i)
             RETURNING object_id)
         INSERT INTO visitor_tokens (account_id, utk, object_id, linked_at)
         SELECT $1, 'utk-' || object_id, object_id, 0 FROM c",
    )
    .bind(a.0)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("ANALYZE timeline_events, visitor_tokens, timeline_event_types")
        .execute(&mut conn)
        .await
        .unwrap();
    for (what, type_ids) in [("any type", vec![]), ("a rare type", vec![rare.id])] {
        let query = TimelineQuery {
            record: (StandardType::Contacts.type_id(), contact),
            type_ids,
            occurred_after: None,
            occurred_before: None,
            limit: 50,
            before: None,
        };
        let mut took = Vec::new();
        for _ in 0..100 {
            let started = std::time::Instant::now();
            let page = store.query_timeline_events(a, &query).await.unwrap();
            took.push(started.elapsed());
            assert_eq!((page.items.len(), page.more), (50, true));
        }
        took.sort();
        eprintln!(
            "first page of 50 of 10,000 in 1,000,000, {what}: p50 {:?}, p99 {:?}",
            took[50], took[98]
        );
        assert!(
            took[50] < std::time::Duration::from_millis(20),
            "{what}: {:?}",
            took[50]
        );
    }
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN ANALYZE SELECT * FROM ((
             SELECT e.event_type_id, e.event_id, e.object_type_id, e.object_id,
                    e.occurred_at_ms, e.seq, e.body, e.created_at
             FROM timeline_events e
             WHERE e.account_id = $1 AND e.object_type_id = '0-1' AND e.object_id = $2
              AND (SELECT t.deleted_at FROM timeline_event_types t
                   WHERE t.event_type_id = e.event_type_id) IS NULL
             ORDER BY e.occurred_at_ms DESC, e.seq DESC LIMIT 51)
           UNION ALL (
             SELECT e.event_type_id, e.event_id, e.object_type_id, v.object_id,
                    e.occurred_at_ms, e.seq, e.body, e.created_at
             FROM visitor_tokens v
             JOIN timeline_events e
                 ON e.account_id = v.account_id AND e.utk = v.utk AND e.object_id IS NULL
             WHERE v.account_id = $1 AND v.object_id = $2
              AND (SELECT t.deleted_at FROM timeline_event_types t
                   WHERE t.event_type_id = e.event_type_id) IS NULL
             ORDER BY e.occurred_at_ms DESC, e.seq DESC LIMIT 51)) page
           ORDER BY occurred_at_ms DESC, seq DESC LIMIT 51",
    )
    .bind(a.0)
    .bind(contact.0)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    eprintln!("{}", plan.join("\n"));
    // The record's index read backwards, stopping at the page: 51 rows of its 10,000.
    let scan = plan
        .iter()
        .find(|l| l.contains("Index Scan Backward using timeline_events_by_record"))
        .expect("the record's index is read backwards");
    assert!(scan.contains("rows=51 loops=1"), "{scan}");
    // The contact's utks come from their index, not from the account's 50,000.
    assert!(
        plan.iter().any(|l| l.contains("visitor_tokens_by_contact")),
        "the contact's utks are found by their index"
    );
}
