//! Custom event completion cases: storing a batch with its records resolved (by id, email,
//! utk, unique value), uuid idempotency (also under racing duplicates), the monthly quota (also
//! under racing batches), reading back with every filter, cursor paging that stays stable while
//! completions arrive, and what deleting a definition or resetting an account removes; all of it
//! the same before and after the store has settled (on SQLite, completions are staged first and
//! merged into the indexed table in the background).

use std::collections::BTreeMap;
use std::sync::Arc;

use chronik_domain::association::RecordRef;
use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::StandardType;
use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::tenancy::Email;
use chronik_domain::{AccountId, EventDefinitionId, ObjectId};
use chronik_store::{
    BatchRefusal, CompletionPage, CompletionQuery, NewCompletion, NewObject, Store, StoreError,
    StoredBatch,
};
use chrono::{DateTime, Duration, Utc};

use crate::conformance;
use crate::fixture::Fixture;

conformance!(
    completions_are_stored_and_read_back_by_type_and_by_record,
    records_are_found_by_email_utk_and_unique_value,
    a_missing_record_refuses_the_whole_batch,
    a_repeated_uuid_stores_nothing_and_is_counted,
    racing_duplicate_uuids_store_one_completion,
    the_monthly_quota_allows_its_limit_and_refuses_one_more,
    racing_batches_never_exceed_the_monthly_quota,
    racing_full_batches_fill_the_quota_exactly,
    filters_by_uuid_property_and_time,
    a_property_filter_compares_exactly_and_pages_both_ways,
    paging_is_stable_while_completions_arrive,
    paging_back_with_before_returns_the_previous_page,
    deleting_a_definition_or_resetting_the_account_removes_completions,
    accounts_see_only_their_own_completions,
    completions_read_alike_before_and_after_the_store_settles,
    deletions_hold_before_and_after_the_store_settles,
);

type Props = BTreeMap<String, String>;

const QUOTA: u64 = 1_000_000;

fn t(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
}

struct Setup {
    store: Arc<dyn Store>,
    account: AccountId,
    definition: EventDefinitionId,
    contacts: Vec<ObjectId>,
}

/// A contact event without properties of its own.
pub(crate) fn definition(name: &str) -> EventDefinition {
    EventDefinition {
        name: name.into(),
        label: name.into(),
        description: String::new(),
        primary_object_type_id: StandardType::Contacts.type_id(),
        include_default_properties: true,
        properties: Vec::new(),
        custom_matching_id: None,
    }
}

async fn setup(fx: &Fixture, contacts: usize) -> Setup {
    let store = fx.open().await;
    let account = store.create_account("acme", Utc::now()).await.unwrap().id;
    let definition = store
        .create_event_definition(account, &definition("signup"), 500, Utc::now())
        .await
        .unwrap()
        .id;
    let inputs = (0..contacts)
        .map(|i| {
            let address = format!("c{i}@example.com");
            let mut properties = Props::new();
            properties.insert("email".into(), address.clone());
            NewObject {
                properties,
                unique: vec![UniqueValue::new("email", &address)],
            }
        })
        .collect();
    let contacts = store
        .create_objects(
            account,
            StandardType::Contacts.type_id(),
            inputs,
            Utc::now(),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().id)
        .collect();
    Setup {
        store,
        account,
        definition,
        contacts,
    }
}

/// A second definition in the setup's account: its id.
async fn another_definition(s: &Setup, name: &str) -> EventDefinitionId {
    s.store
        .create_event_definition(s.account, &definition(name), 500, Utc::now())
        .await
        .unwrap()
        .id
}

fn completion(
    s: &Setup,
    record: RecordRef,
    at: i64,
    uuid: &str,
    props: &[(&str, &str)],
) -> NewCompletion {
    let properties: BTreeMap<&str, &str> = props.iter().copied().collect();
    NewCompletion {
        definition_id: s.definition,
        object_type_id: StandardType::Contacts.type_id(),
        record,
        occurred_at: t(at),
        uuid: uuid.into(),
        properties_json: serde_json::to_string(&properties).unwrap(),
    }
}

async fn store(s: &Setup, batch: Vec<NewCompletion>) -> StoredBatch {
    s.store
        .store_completions(s.account, batch, QUOTA, Utc::now(), None)
        .await
        .unwrap()
        .unwrap()
}

async fn query(s: &Setup, q: CompletionQuery) -> CompletionPage {
    s.store.query_completions(s.account, &q).await.unwrap()
}

fn by_type(s: &Setup, limit: usize) -> CompletionQuery {
    CompletionQuery {
        definition_id: Some(s.definition),
        limit,
        ..Default::default()
    }
}

fn uuids(page: &CompletionPage) -> Vec<&str> {
    page.items.iter().map(|c| c.uuid.as_str()).collect()
}

async fn completions_are_stored_and_read_back_by_type_and_by_record(fx: &Fixture) {
    let s = setup(fx, 2).await;
    let (a, b) = (s.contacts[0], s.contacts[1]);
    let uuid = uuid::Uuid::new_v4().to_string();
    let stored = store(
        &s,
        vec![
            completion(&s, RecordRef::Id(a), 20, &uuid, &[("hs_city", "Berlin")]),
            completion(&s, RecordRef::Id(b), 10, "b-1", &[]),
            completion(&s, RecordRef::Id(a), 30, "a-2", &[("hs_city", "Köln")]),
        ],
    )
    .await;
    assert_eq!(
        stored,
        StoredBatch {
            stored: 3,
            duplicates: 0,
            contacts_created: 0
        }
    );
    let page = query(&s, by_type(&s, 10)).await;
    assert_eq!(
        uuids(&page),
        vec!["b-1", uuid.as_str(), "a-2"],
        "oldest first"
    );
    assert!(!page.more);
    let first = &page.items[1];
    assert_eq!(first.object_id, a);
    assert_eq!(first.object_type_id, StandardType::Contacts.type_id());
    assert_eq!(first.definition_id, s.definition);
    assert_eq!(first.occurred_at(), t(20));
    assert_eq!(first.properties["hs_city"], "Berlin");

    let mut newest = by_type(&s, 10);
    newest.descending = true;
    assert_eq!(
        uuids(&query(&s, newest).await),
        vec!["a-2", uuid.as_str(), "b-1"]
    );

    let mut of_a = CompletionQuery {
        record: Some((StandardType::Contacts.type_id(), a)),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        uuids(&query(&s, of_a.clone()).await),
        vec![uuid.as_str(), "a-2"]
    );
    of_a.record = Some((StandardType::Companies.type_id(), a));
    assert!(
        query(&s, of_a).await.items.is_empty(),
        "the type is part of the record"
    );
    assert_eq!(
        s.store
            .monthly_completions(s.account, Utc::now())
            .await
            .unwrap(),
        3
    );
}

async fn records_are_found_by_email_utk_and_unique_value(fx: &Fixture) {
    let s = setup(fx, 1).await;
    let known = Email::parse("email", "C0@Example.com").unwrap();
    let new = Email::parse("email", "new@example.com").unwrap();
    let link = s
        .store
        .link_visitor(
            s.account,
            "utk-1",
            &Email::parse("email", "v@example.com").unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    let stored = store(
        &s,
        vec![
            completion(&s, RecordRef::Email(known), 1, "e1", &[]),
            completion(&s, RecordRef::Email(new.clone()), 2, "e2", &[]),
            completion(&s, RecordRef::Email(new), 3, "e3", &[]),
            completion(&s, RecordRef::Utk("utk-1".into()), 4, "u1", &[]),
            completion(
                &s,
                RecordRef::Unique(UniqueValue::new("email", " c0@EXAMPLE.com")),
                5,
                "q1",
                &[],
            ),
        ],
    )
    .await;
    assert_eq!(stored.stored, 5);
    assert_eq!(
        stored.contacts_created, 1,
        "one contact for an email sent twice"
    );
    let page = query(&s, by_type(&s, 10)).await;
    let ids: Vec<ObjectId> = page.items.iter().map(|c| c.object_id).collect();
    assert_eq!(ids[0], s.contacts[0]);
    assert_eq!(ids[1], ids[2]);
    assert_ne!(ids[1], s.contacts[0]);
    assert_eq!(ids[3], link.contact);
    assert_eq!(ids[4], s.contacts[0]);
    let created = s
        .store
        .find_by_unique(
            s.account,
            StandardType::Contacts.type_id(),
            &[UniqueValue::new("email", "new@example.com")],
        )
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].id, ids[1]);
}

async fn a_missing_record_refuses_the_whole_batch(fx: &Fixture) {
    let s = setup(fx, 1).await;
    let refused = s
        .store
        .store_completions(
            s.account,
            vec![
                completion(&s, RecordRef::Id(s.contacts[0]), 1, "ok", &[]),
                completion(&s, RecordRef::Id(ObjectId(999_999_999)), 2, "no-id", &[]),
                completion(&s, RecordRef::Utk("nobody".into()), 3, "no-utk", &[]),
                completion(
                    &s,
                    RecordRef::Unique(UniqueValue::new("email", "none@example.com")),
                    4,
                    "no-unique",
                    &[],
                ),
                completion(
                    &s,
                    RecordRef::Email(Email::parse("email", "fresh@example.com").unwrap()),
                    5,
                    "would-create",
                    &[],
                ),
            ],
            QUOTA,
            Utc::now(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(refused, Err(BatchRefusal::RecordsNotFound(vec![1, 2, 3])));
    assert!(
        query(&s, by_type(&s, 10)).await.items.is_empty(),
        "nothing stored"
    );
    let fresh = s
        .store
        .find_by_unique(
            s.account,
            StandardType::Contacts.type_id(),
            &[UniqueValue::new("email", "fresh@example.com")],
        )
        .await
        .unwrap();
    assert!(fresh.is_empty(), "no contact created for a refused batch");
    assert_eq!(
        s.store
            .monthly_completions(s.account, Utc::now())
            .await
            .unwrap(),
        0
    );

    // An archived record is not there either.
    s.store
        .archive_objects(
            s.account,
            StandardType::Contacts.type_id(),
            vec![s.contacts[0]],
            Utc::now(),
        )
        .await
        .unwrap();
    let refused = s
        .store
        .store_completions(
            s.account,
            vec![completion(&s, RecordRef::Id(s.contacts[0]), 1, "x", &[])],
            QUOTA,
            Utc::now(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(refused, Err(BatchRefusal::RecordsNotFound(vec![0])));
}

async fn a_repeated_uuid_stores_nothing_and_is_counted(fx: &Fixture) {
    let s = setup(fx, 1).await;
    let c = s.contacts[0];
    let first = store(
        &s,
        vec![
            completion(&s, RecordRef::Id(c), 1, "same", &[("hs_city", "first")]),
            completion(&s, RecordRef::Id(c), 2, "same", &[("hs_city", "second")]),
        ],
    )
    .await;
    assert_eq!((first.stored, first.duplicates), (1, 1));
    let again = store(
        &s,
        vec![completion(
            &s,
            RecordRef::Id(c),
            3,
            "same",
            &[("hs_city", "third")],
        )],
    )
    .await;
    assert_eq!((again.stored, again.duplicates), (0, 1));
    let page = query(&s, by_type(&s, 10)).await;
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].properties["hs_city"], "first",
        "the first one stays"
    );
    assert_eq!(
        s.store
            .monthly_completions(s.account, Utc::now())
            .await
            .unwrap(),
        1
    );

    // The same uuid in another event type is another completion.
    let other = another_definition(&s, "other").await;
    let mut in_other = completion(&s, RecordRef::Id(c), 4, "same", &[]);
    in_other.definition_id = other;
    assert_eq!(store(&s, vec![in_other]).await.stored, 1);
}

async fn racing_duplicate_uuids_store_one_completion(fx: &Fixture) {
    let s = Arc::new(setup(fx, 1).await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let c = s.contacts[0];
            let batch = vec![
                completion(&s, RecordRef::Id(c), i, "raced", &[]),
                completion(&s, RecordRef::Id(c), i, &format!("own-{i}"), &[]),
            ];
            store(&s, batch).await
        }));
    }
    let mut stored = 0;
    let mut duplicates = 0;
    for task in tasks {
        let b = task.await.unwrap();
        stored += b.stored;
        duplicates += b.duplicates;
    }
    assert_eq!((stored, duplicates), (9, 7));
    let raced = query(
        &s,
        CompletionQuery {
            uuids: vec!["raced".into()],
            limit: 10,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(raced.items.len(), 1);
    assert_eq!(
        s.store
            .monthly_completions(s.account, Utc::now())
            .await
            .unwrap(),
        9
    );
}

async fn the_monthly_quota_allows_its_limit_and_refuses_one_more(fx: &Fixture) {
    let s = setup(fx, 1).await;
    let c = s.contacts[0];
    let batch = |from: usize, n: usize| {
        (from..from + n)
            .map(|i| completion(&s, RecordRef::Id(c), i as i64, &format!("q{i}"), &[]))
            .collect::<Vec<_>>()
    };
    let now = Utc::now();
    let ok = s
        .store
        .store_completions(s.account, batch(0, 3), 5, now, None)
        .await
        .unwrap();
    assert_eq!(ok.unwrap().stored, 3);
    // Duplicates do not count: 2 new + 1 repeated reaches exactly 5.
    let mut to_limit = batch(3, 2);
    to_limit.push(completion(&s, RecordRef::Id(c), 0, "q0", &[]));
    let ok = s
        .store
        .store_completions(s.account, to_limit, 5, now, None)
        .await
        .unwrap();
    assert_eq!(ok.unwrap().stored, 2);
    let past = s
        .store
        .store_completions(s.account, batch(5, 1), 5, now, None)
        .await;
    assert!(
        matches!(past, Err(StoreError::QuotaExceeded { limit: 5, .. })),
        "{past:?}"
    );
    assert_eq!(
        query(&s, by_type(&s, 10)).await.items.len(),
        5,
        "the refused one is not stored"
    );
    assert_eq!(
        s.store.monthly_completions(s.account, now).await.unwrap(),
        5
    );
    // A new calendar month starts from zero.
    let next_month = now + Duration::days(32);
    let ok = s
        .store
        .store_completions(s.account, batch(5, 1), 5, next_month, None)
        .await
        .unwrap();
    assert_eq!(ok.unwrap().stored, 1);
    assert_eq!(
        s.store
            .monthly_completions(s.account, next_month)
            .await
            .unwrap(),
        1
    );
}

async fn racing_batches_never_exceed_the_monthly_quota(fx: &Fixture) {
    let s = Arc::new(setup(fx, 1).await);
    let accepted = race_batches(&s, 8, 3, 10, "r").await;
    assert_eq!(accepted, 9, "three batches of three fit under 10");
    assert_eq!(query(&s, by_type(&s, 100)).await.items.len(), 9);
    assert_eq!(
        s.store
            .monthly_completions(s.account, Utc::now())
            .await
            .unwrap(),
        9
    );
}

/// Sends `batches` batches of `size` completions at once against a monthly `quota`; each is
/// stored whole or refused for the quota. Returns how many completions were stored.
async fn race_batches(
    s: &Arc<Setup>,
    batches: usize,
    size: i64,
    quota: u64,
    prefix: &'static str,
) -> u64 {
    let mut tasks = Vec::new();
    for i in 0..batches {
        let s = Arc::clone(s);
        tasks.push(tokio::spawn(async move {
            let batch = (0..size)
                .map(|j| {
                    completion(
                        &s,
                        RecordRef::Id(s.contacts[0]),
                        j,
                        &format!("{prefix}{i}-{j}"),
                        &[],
                    )
                })
                .collect();
            s.store
                .store_completions(s.account, batch, quota, Utc::now(), None)
                .await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(Ok(b)) => accepted += b.stored,
            Err(StoreError::QuotaExceeded { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    accepted
}

async fn filters_by_uuid_property_and_time(fx: &Fixture) {
    let s = setup(fx, 1).await;
    let c = s.contacts[0];
    store(
        &s,
        vec![
            completion(
                &s,
                RecordRef::Id(c),
                10,
                "p1",
                &[("hs_city", "new york"), ("plan", "pro")],
            ),
            completion(
                &s,
                RecordRef::Id(c),
                20,
                "p2",
                &[("hs_city", "new york"), ("plan", "free")],
            ),
            completion(
                &s,
                RecordRef::Id(c),
                30,
                "p3",
                &[("hs_city", "boston"), ("plan", "pro")],
            ),
        ],
    )
    .await;
    let mut q = by_type(&s, 10);
    q.properties = vec![("hs_city".into(), "new york".into())];
    assert_eq!(uuids(&query(&s, q.clone()).await), vec!["p1", "p2"]);
    q.properties.push(("plan".into(), "pro".into()));
    assert_eq!(
        uuids(&query(&s, q).await),
        vec!["p1"],
        "every filter must match"
    );
    let mut q = by_type(&s, 10);
    q.uuids = vec!["p3".into(), "p1".into(), "missing".into()];
    assert_eq!(uuids(&query(&s, q).await), vec!["p1", "p3"]);
    let mut q = by_type(&s, 10);
    q.occurred_after = Some(t(20));
    assert_eq!(
        uuids(&query(&s, q.clone()).await),
        vec!["p2", "p3"],
        "inclusive"
    );
    q.occurred_before = Some(t(20));
    assert_eq!(uuids(&query(&s, q).await), vec!["p2"]);
    let mut q = by_type(&s, 10);
    q.properties = vec![("hs_city".into(), "New York".into())];
    assert!(query(&s, q).await.items.is_empty(), "values match exactly");
}

/// The property filter's shortcut (`property_bits`) only rules completions out; those it lets
/// through are compared exactly, and paging through them keeps the order in both directions.
async fn a_property_filter_compares_exactly_and_pages_both_ways(fx: &Fixture) {
    use chronik_store::property_bits;
    let s = setup(fx, 2).await;
    let (a, b) = (s.contacts[0], s.contacts[1]);
    let props = [("hs_city", "Berlin"), ("plan", "pro"), ("source", "ads")];
    let bits = property_bits::of_pairs(props);
    // A city whose bits the completions below happen to have, though none is in that city.
    let lookalike = (0..100_000)
        .map(|n| format!("City {n}"))
        .find(|city| {
            let mask = property_bits::of_pair("hs_city", city);
            bits & mask == mask
        })
        .expect("about one city in a hundred has both its bits among the six set");
    let batch = (0..12)
        .map(|i| {
            let record = RecordRef::Id(if i % 2 == 0 { a } else { b });
            let city = if i % 3 == 0 { "Paris" } else { "Berlin" };
            completion(
                &s,
                record,
                i / 2,
                &format!("c{i}"),
                &[("hs_city", city), ("plan", "pro"), ("source", "ads")],
            )
        })
        .collect();
    store(&s, batch).await;
    let mut q = by_type(&s, 10);
    q.properties = vec![("hs_city".into(), lookalike.clone())];
    assert!(
        query(&s, q).await.items.is_empty(),
        "{lookalike} shares its bits with the stored completions but is not their city"
    );
    let berlin: Vec<String> = (0..12)
        .filter(|i| i % 3 != 0)
        .map(|i| format!("c{i}"))
        .collect();
    for descending in [false, true] {
        let mut expected = berlin.clone();
        if descending {
            expected.reverse();
        }
        let mut q = by_type(&s, 3);
        q.descending = descending;
        q.properties = vec![
            ("hs_city".into(), "Berlin".into()),
            ("plan".into(), "pro".into()),
        ];
        let mut pages: Vec<CompletionPage> = Vec::new();
        loop {
            let page = query(&s, q.clone()).await;
            let more = page.more;
            q.after = page.items.last().map(|c| c.cursor);
            pages.push(page);
            if !more {
                break;
            }
        }
        let seen: Vec<&str> = pages.iter().flat_map(uuids).collect();
        assert_eq!(seen, expected, "descending: {descending}");
        // Back from the last page with `before` gives the page before it.
        let last = pages.last().unwrap();
        q.after = None;
        q.before = last.items.first().map(|c| c.cursor);
        assert_eq!(
            uuids(&query(&s, q.clone()).await),
            uuids(&pages[pages.len() - 2]),
            "descending: {descending}"
        );
    }
    // With a record as well, the other way of reading applies the same filter.
    let mut q = by_type(&s, 10);
    q.record = Some((StandardType::Contacts.type_id(), a));
    q.properties = vec![("hs_city".into(), "Berlin".into())];
    assert_eq!(uuids(&query(&s, q).await), vec!["c2", "c4", "c8", "c10"]);
}

async fn paging_is_stable_while_completions_arrive(fx: &Fixture) {
    let s = setup(fx, 1).await;
    let c = s.contacts[0];
    // Ten completions, several sharing a time, so the sequence number breaks ties.
    let batch = (0..10)
        .map(|i| completion(&s, RecordRef::Id(c), i / 3, &format!("s{i}"), &[]))
        .collect();
    store(&s, batch).await;
    for descending in [false, true] {
        let mut q = by_type(&s, 4);
        q.descending = descending;
        let mut seen: Vec<String> = Vec::new();
        let mut round = 0;
        loop {
            let page = query(&s, q.clone()).await;
            seen.extend(page.items.iter().map(|c| c.uuid.clone()));
            // New completions arrive between pages, older and newer than everything so far.
            round += 1;
            store(
                &s,
                vec![
                    completion(
                        &s,
                        RecordRef::Id(c),
                        -100,
                        &format!("old-{descending}-{round}"),
                        &[],
                    ),
                    completion(
                        &s,
                        RecordRef::Id(c),
                        100 + round,
                        &format!("new-{descending}-{round}"),
                        &[],
                    ),
                ],
            )
            .await;
            if !page.more {
                break;
            }
            q.after = Some(page.items.last().unwrap().cursor);
        }
        let original: Vec<String> = seen
            .iter()
            .filter(|u| u.starts_with('s'))
            .cloned()
            .collect();
        let mut expected: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
        if descending {
            expected.reverse();
            // Ties in time are newest-sequence first too.
        }
        assert_eq!(
            original, expected,
            "descending={descending}: no skips, no repeats, in order"
        );
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "no completion twice");
    }
}

async fn paging_back_with_before_returns_the_previous_page(fx: &Fixture) {
    let s = setup(fx, 1).await;
    let c = s.contacts[0];
    let batch = (0..7)
        .map(|i| completion(&s, RecordRef::Id(c), i, &format!("b{i}"), &[]))
        .collect();
    store(&s, batch).await;
    let first = query(&s, by_type(&s, 3)).await;
    let mut q = by_type(&s, 3);
    q.after = Some(first.items.last().unwrap().cursor);
    let second = query(&s, q).await;
    assert_eq!(uuids(&second), vec!["b3", "b4", "b5"]);
    let mut back = by_type(&s, 3);
    back.before = Some(second.items[0].cursor);
    let page = query(&s, back).await;
    assert_eq!(
        uuids(&page),
        vec!["b0", "b1", "b2"],
        "in the requested order"
    );
    assert!(!page.more, "nothing before the first page");
    let mut back = by_type(&s, 2);
    back.before = Some(second.items[0].cursor);
    let page = query(&s, back).await;
    assert_eq!(uuids(&page), vec!["b1", "b2"]);
    assert!(page.more);
}

async fn deleting_a_definition_or_resetting_the_account_removes_completions(fx: &Fixture) {
    let s = setup(fx, 1).await;
    let c = s.contacts[0];
    store(&s, vec![completion(&s, RecordRef::Id(c), 1, "d1", &[])]).await;
    let other = another_definition(&s, "kept").await;
    let mut kept = completion(&s, RecordRef::Id(c), 2, "k1", &[]);
    kept.definition_id = other;
    store(&s, vec![kept]).await;
    s.store
        .delete_event_definition(s.account, "signup", Utc::now())
        .await
        .unwrap();
    let all = CompletionQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(uuids(&query(&s, all.clone()).await), vec!["k1"]);
    s.store.reset_account(s.account).await.unwrap();
    assert!(query(&s, all).await.items.is_empty());
    assert_eq!(
        s.store
            .monthly_completions(s.account, Utc::now())
            .await
            .unwrap(),
        0
    );
}

async fn accounts_see_only_their_own_completions(fx: &Fixture) {
    let s = setup(fx, 1).await;
    store(
        &s,
        vec![completion(&s, RecordRef::Id(s.contacts[0]), 1, "mine", &[])],
    )
    .await;
    let other = s
        .store
        .create_account("other", Utc::now())
        .await
        .unwrap()
        .id;
    let q = CompletionQuery {
        uuids: vec!["mine".into()],
        limit: 10,
        ..Default::default()
    };
    assert!(s
        .store
        .query_completions(other, &q)
        .await
        .unwrap()
        .items
        .is_empty());
    // Another account cannot attach a completion to this account's record.
    let refused = s
        .store
        .store_completions(
            other,
            vec![completion(
                &s,
                RecordRef::Id(s.contacts[0]),
                1,
                "theirs",
                &[],
            )],
            QUOTA,
            Utc::now(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(refused, Err(BatchRefusal::RecordsNotFound(vec![0])));
    let missing = s
        .store
        .store_completions(AccountId(987_654), Vec::new(), QUOTA, Utc::now(), None)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

/// Far from the quota PostgreSQL counts on one usage shard per send; within a few thousand of
/// it, exactly. Twenty racing batches of 500 against 8,500 fill it exactly.
async fn racing_full_batches_fill_the_quota_exactly(fx: &Fixture) {
    let s = Arc::new(setup(fx, 1).await);
    let accepted = race_batches(&s, 20, 500, 8_500, "f").await;
    assert_eq!(accepted, 8_500);
    assert_eq!(
        s.store
            .monthly_completions(s.account, Utc::now())
            .await
            .unwrap(),
        8_500
    );
}

/// Every read a page can ask for, paged through in both directions: what the store answers.
async fn every_read(s: &Setup) -> Vec<Vec<String>> {
    let mut reads = Vec::new();
    let berlin = vec![("hs_city".to_string(), "Berlin".to_string())];
    let queries = [
        by_type(s, 3),
        CompletionQuery {
            record: Some((StandardType::Contacts.type_id(), s.contacts[0])),
            limit: 3,
            ..Default::default()
        },
        CompletionQuery {
            properties: berlin,
            ..by_type(s, 2)
        },
        CompletionQuery {
            uuids: vec!["m1".into(), "n2".into(), "n5".into()],
            limit: 10,
            ..Default::default()
        },
        CompletionQuery {
            occurred_after: Some(t(10)),
            occurred_before: Some(t(40)),
            ..by_type(s, 10)
        },
    ];
    for q in queries {
        for descending in [false, true] {
            let mut q = CompletionQuery {
                descending,
                ..q.clone()
            };
            let mut seen = Vec::new();
            loop {
                let page = query(s, q.clone()).await;
                seen.extend(page.items.iter().map(|c| c.uuid.clone()));
                if !page.more {
                    break;
                }
                q.after = Some(page.items.last().unwrap().cursor);
            }
            reads.push(seen);
        }
    }
    reads
}

/// Six completions a call, two contacts, at `offset`, `offset + 10`, … ms, every third in Berlin.
fn six(s: &Setup, prefix: &str, offset: i64) -> Vec<NewCompletion> {
    (0..6)
        .map(|i| {
            let city = if i % 3 == 0 { "Berlin" } else { "Paris" };
            completion(
                s,
                RecordRef::Id(s.contacts[i as usize % 2]),
                i * 10 + offset,
                &format!("{prefix}{i}"),
                &[("hs_city", city)],
            )
        })
        .collect()
}

async fn completions_read_alike_before_and_after_the_store_settles(fx: &Fixture) {
    let s = setup(fx, 2).await;
    store(&s, six(&s, "m", 0)).await;
    s.store.settle().await.unwrap();
    // Interleaved in time with the settled ones, and read before they settle.
    store(&s, six(&s, "n", 5)).await;
    let before = every_read(&s).await;
    let mut all: Vec<String> = (0..6)
        .flat_map(|i| [format!("m{i}"), format!("n{i}")])
        .collect();
    assert_eq!(before[0], all, "by type, oldest first, both halves merged");
    all.reverse();
    assert_eq!(before[1], all, "by type, newest first");
    assert_eq!(
        before[2],
        ["m0", "n0", "m2", "n2", "m4", "n4"],
        "one contact"
    );
    assert_eq!(before[4], ["m0", "n0", "m3", "n3"], "Berlin");
    assert_eq!(before[6], ["m1", "n2", "n5"], "by occurrence id");
    assert_eq!(
        before[8],
        ["m1", "n1", "m2", "n2", "m3", "n3", "m4"],
        "a time range, both ends included"
    );
    s.store.settle().await.unwrap();
    assert_eq!(
        every_read(&s).await,
        before,
        "the same answers once settled"
    );

    // An occurrence id is taken whether its completion is settled or not, and after a restart.
    let again = |s: &Setup| vec![six(s, "m", 1).remove(3), six(s, "n", 1).remove(4)];
    store(&s, six(&s, "p", 7)).await;
    assert_eq!(store(&s, again(&s)).await.duplicates, 2);
    let Setup {
        store: opened,
        account,
        definition,
        contacts,
    } = s;
    drop(opened);
    let s = Setup {
        store: fx.open().await,
        account,
        definition,
        contacts,
    };
    let mut repeated = again(&s);
    repeated.push(six(&s, "p", 1).remove(5));
    assert_eq!(store(&s, repeated.clone()).await.duplicates, 3);
    s.store.settle().await.unwrap();
    assert_eq!(store(&s, repeated).await.duplicates, 3);
    let fresh = store(
        &s,
        vec![completion(&s, RecordRef::Id(s.contacts[0]), 99, "q", &[])],
    )
    .await;
    assert_eq!(fresh.stored, 1);
    let page = query(&s, by_type(&s, 100)).await;
    assert_eq!(page.items.len(), 19, "12 + 6 + 1, each once");
    let seqs: Vec<i64> = page.items.iter().map(|c| c.cursor.seq).collect();
    let mut unique = seqs.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seqs.len(), "sequence numbers are not reused");
}

async fn deletions_hold_before_and_after_the_store_settles(fx: &Fixture) {
    let s = setup(fx, 2).await;
    let kept = another_definition(&s, "kept").await;
    let in_kept = |s: &Setup, uuid: &str, at: i64| {
        let mut c = completion(s, RecordRef::Id(s.contacts[0]), at, uuid, &[]);
        c.definition_id = kept;
        c
    };
    store(&s, six(&s, "m", 0)).await;
    store(&s, vec![in_kept(&s, "k1", 1)]).await;
    s.store.settle().await.unwrap();
    store(&s, six(&s, "n", 5)).await;
    store(&s, vec![in_kept(&s, "k2", 2)]).await;
    // Settled and unsettled completions of the definition go at once.
    s.store
        .delete_event_definition(s.account, "signup", Utc::now())
        .await
        .unwrap();
    let all = CompletionQuery {
        limit: 100,
        ..Default::default()
    };
    let by_contact = CompletionQuery {
        record: Some((StandardType::Contacts.type_id(), s.contacts[0])),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(uuids(&query(&s, all.clone()).await), ["k1", "k2"]);
    assert_eq!(uuids(&query(&s, by_contact.clone()).await), ["k1", "k2"]);
    s.store.settle().await.unwrap();
    assert_eq!(uuids(&query(&s, all.clone()).await), ["k1", "k2"]);

    // A reset removes everything before it, and nothing sent after it.
    store(&s, vec![in_kept(&s, "k3", 3)]).await;
    s.store.reset_account(s.account).await.unwrap();
    assert!(query(&s, all.clone()).await.items.is_empty());
    // The account's contacts went with the reset: a new one takes the next completions, and
    // an occurrence id used before the reset is free again.
    let contact = s
        .store
        .create_objects(
            s.account,
            StandardType::Contacts.type_id(),
            vec![NewObject {
                properties: [("email".to_string(), "new@example.com".to_string())].into(),
                unique: vec![UniqueValue::new("email", "new@example.com")],
            }],
            Utc::now(),
        )
        .await
        .unwrap()
        .remove(0)
        .unwrap()
        .id;
    let mut after = in_kept(&s, "k1", 4);
    after.record = RecordRef::Id(contact);
    assert_eq!(store(&s, vec![after]).await.stored, 1);
    assert_eq!(uuids(&query(&s, all.clone()).await), ["k1"]);
    s.store.settle().await.unwrap();
    assert_eq!(uuids(&query(&s, all).await), ["k1"]);
}
