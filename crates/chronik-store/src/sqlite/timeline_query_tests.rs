//! Tests of reading timeline events on SQLite: the timeline query (order, pages, filters), its
//! plan and its speed on a large store, and what a reset deletes.

use chronik_domain::ObjectId;

use super::timeline::{events_sql, Half};
use super::timeline_event_tests::{by_email, by_id, by_utk, event, setup, CONTACTS};
use super::timeline_tests::{pet_template, t};
use super::DATABASE_FILE;
use crate::{StoreError, TenancyStore, TimelineCursor, TimelineQuery, TimelineStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeline_pages_newest_first_with_type_and_time_filters() {
    let s = setup().await;
    let other = s
        .store
        .create_event_type(s.pets.app, &pet_template("contacts"), 10, t(0))
        .await
        .expect("a type");
    let contact = s.contact("p@pets.io").await;
    let elsewhere = s.contact("q@pets.io").await;
    let mut batch = Vec::new();
    for i in 0..10 {
        let ty = if i % 2 == 0 { &s.pets } else { &other };
        // Two events share each time: seq breaks the tie.
        batch.push(event(
            ty,
            &format!("e{i}"),
            by_id(contact),
            (i / 2) * 10,
            "Rex",
        ));
    }
    batch.push(event(&s.pets, "x", by_id(elsewhere), 5, "Rex"));
    s.store(batch).await;
    let q = |limit, before| TimelineQuery {
        record: (CONTACTS, contact),
        type_ids: Vec::new(),
        occurred_after: None,
        occurred_before: None,
        limit,
        before,
    };
    let (first, more, cursors) = s.page(q(4, None)).await;
    assert_eq!(first, ["e9", "e8", "e7", "e6"]);
    assert!(more);
    let (second, more, _) = s.page(q(4, cursors.last().copied())).await;
    assert_eq!(second, ["e5", "e4", "e3", "e2"]);
    assert!(more);
    let (all, more, _) = s.page(q(10, None)).await;
    assert_eq!((all.len(), more), (10, false));
    let (typed, _, _) = s
        .page(TimelineQuery {
            type_ids: vec![other.id],
            ..q(10, None)
        })
        .await;
    assert_eq!(typed, ["e9", "e7", "e5", "e3", "e1"]);
    let (ranged, _, _) = s
        .page(TimelineQuery {
            occurred_after: Some(t(10)),
            occurred_before: Some(t(20)),
            ..q(10, None)
        })
        .await;
    assert_eq!(ranged, ["e5", "e4", "e3", "e2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeline_page_walks_the_records_index_without_sorting() {
    let s = setup().await;
    let conn = rusqlite::Connection::open(s._dir.path().join(DATABASE_FILE)).expect("opens");
    for (half, index) in [
        (Half::Record, "timeline_events_by_record"),
        (Half::Waiting, "timeline_events_waiting"),
    ] {
        let query = TimelineQuery {
            record: (CONTACTS, ObjectId(1)),
            type_ids: vec![s.pets.id],
            occurred_after: Some(t(0)),
            occurred_before: Some(t(100)),
            limit: 50,
            before: Some(TimelineCursor {
                occurred_at_ms: 1_700_000_000_050,
                seq: 7,
            }),
        };
        let (sql, args) = events_sql(s.account, &query, half);
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepares");
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .expect("runs")
            .collect::<Result<_, _>>()
            .expect("rows");
        let plan = plan.join("\n");
        assert!(plan.contains(index), "{half:?}: {plan}");
        assert!(!plan.contains("SCAN"), "{half:?} scans: {plan}");
        if let Half::Record = half {
            // Waiting events of several utks are merged by a sort: they are few.
            assert!(!plan.contains("TEMP B-TREE"), "{half:?} sorts: {plan}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_deletes_the_accounts_events_and_stamps_and_keeps_the_types() {
    let s = setup().await;
    let e = s
        .store_one(event(&s.pets, "r1", by_email("r@pets.io"), 100, "Rex"))
        .await;
    let waiting = s
        .store_one(event(&s.pets, "r2", by_utk("utk-r"), 10, "Rex"))
        .await;
    assert_eq!(waiting.object_id, None);
    s.store.reset_account(s.account).await.expect("reset");
    for id in ["r1", "r2"] {
        assert!(matches!(
            s.store.get_timeline_event(s.account, s.pets.id, id).await,
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(
        s.store.get_event_type(s.pets.id).await.expect("kept"),
        s.pets
    );
    // The stamp went too: an older event than the one before the reset stamps again.
    let again = s
        .store_one(event(&s.pets, "r1", by_email("r@pets.io"), 50, "Max"))
        .await;
    assert!(again.cursor.seq > e.cursor.seq, "seq is never reused");
    let contact = again.object_id.expect("a record");
    assert_eq!(
        s.property(contact, "firstname").await.as_deref(),
        Some("Max")
    );
}

/// The first page of a contact with 10,000 events in a store of 1,000,000 (rows inserted
/// directly), and the first page of a type that 1 in 100 of them have: a few milliseconds even
/// in a debug build. `cargo test -p chronik-store --lib first_page_of_a_large -- --ignored
/// --nocapture` prints the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "builds a million rows; run by hand"]
async fn first_page_of_a_large_store_is_fast() {
    let s = setup().await;
    let rare = s
        .store
        .create_event_type(s.pets.app, &pet_template("contacts"), 10, t(0))
        .await
        .expect("a type");
    let contact = s.contact("big@pets.io").await;
    let body = serde_json::to_string(&event(&s.pets, "x", by_id(contact), 0, "Rex").event.body)
        .expect("json");
    let conn = rusqlite::Connection::open(s._dir.path().join(DATABASE_FILE)).expect("opens");
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
         INSERT INTO timeline_events
             (seq, account_id, event_type_id, event_id, object_type_id, object_id, utk,
              occurred_at, body, created_at)
         SELECT i, ?1, CASE WHEN i % 10000 = 0 THEN ?5 ELSE ?2 END, 'e' || i, '0-1',
                CASE WHEN i % 100 = 0 THEN ?3 ELSE 1000000 + i % 99991 END,
                NULL, 1700000000000 + (i * 7919) % 100000000, ?4, 0
         FROM n",
        rusqlite::params![s.account.0, s.pets.id.0, contact.0, body, rare.id.0],
    )
    .expect("inserted");
    conn.execute(
        "UPDATE id_sequences SET last_value = 1000000 WHERE name = 'timeline_seq'",
        [],
    )
    .expect("updated");
    drop(conn);
    for (what, type_ids) in [("any type", vec![]), ("a rare type", vec![rare.id])] {
        let query = TimelineQuery {
            record: (CONTACTS, contact),
            type_ids,
            occurred_after: None,
            occurred_before: None,
            limit: 50,
            before: None,
        };
        let mut took = Vec::new();
        for _ in 0..100 {
            let started = std::time::Instant::now();
            let page = s
                .store
                .query_timeline_events(s.account, &query)
                .await
                .expect("read");
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
}
