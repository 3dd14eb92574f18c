//! Tests of the SQLite machinery: staging and merging, purges seen whole, the WAL's restarts.

use std::sync::Arc;

use chronik_domain::association::RecordRef;
use chronik_domain::crm::object_type::StandardType;
use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::tenancy::Scopes;
use chronik_domain::{AccountId, EventDefinitionId, ObjectId, Secret, TokenHash};
use chrono::Utc;
use rusqlite::Connection;

use super::completion_log::{self, CompletionLog, LogShared, Occurrence};
use super::readers::{self, open_reader};
use super::schema::{migrate, MIGRATIONS};
use super::sql::{db, from_ms};
use super::writer::{open_files, Writer};
use super::{SqliteStore, COMPLETIONS_FILE, DATABASE_FILE};
use crate::{
    CompletionQuery, CrmStore, CustomEventStore, NewCompletion, NewObject, NewPrivateApp, Store,
    StoreError, TenancyStore,
};

/// An account with the `signup` event definition and one contact: their ids.
async fn signup_of_one_contact(store: &SqliteStore) -> (AccountId, EventDefinitionId, ObjectId) {
    let now = Utc::now();
    let account = store.create_account("a", now).await.expect("an account").id;
    let definition = EventDefinition {
        name: "signup".into(),
        label: "Signup".into(),
        description: String::new(),
        primary_object_type_id: StandardType::Contacts.type_id(),
        include_default_properties: true,
        properties: Vec::new(),
        custom_matching_id: None,
    };
    let definition = store
        .create_event_definition(account, &definition, 10, now)
        .await
        .expect("a definition")
        .id;
    let contact = store
        .create_objects(
            account,
            StandardType::Contacts.type_id(),
            vec![NewObject::default()],
            now,
        )
        .await
        .expect("a contact")
        .remove(0)
        .expect("created")
        .id;
    (account, definition, contact)
}

/// Once the merger has copied a chunk of staged completions, the writer deletes them from
/// the staging table; they stay readable, in order, and their occurrence ids stay taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_completions_leave_the_staging_table_and_stay_unique() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().to_path_buf())
        .await
        .expect("the store opens");
    let now = Utc::now();
    let (account, definition, contact) = signup_of_one_contact(&store).await;
    let completion = |n: i64| NewCompletion {
        definition_id: definition,
        object_type_id: StandardType::Contacts.type_id(),
        record: RecordRef::Id(contact),
        occurred_at: from_ms(1_700_000_000_000 + (n * 7919) % 100_000),
        uuid: format!("c{n}"),
        properties_json: "{}".into(),
    };
    // Just over one chunk, in batches of 500.
    let total = (completion_log::DELETE_CHUNK / 500 + 1) * 500;
    for start in (0..total).step_by(500) {
        let batch = (start..start + 500).map(completion).collect();
        let stored = store
            .store_completions(account, batch, u64::MAX, now, None)
            .await
            .expect("stores")
            .expect("accepted");
        assert_eq!(stored.stored, 500);
    }
    store.settle().await.expect("the merger catches up");
    // The merger wakes the idle writer, which deletes every whole chunk of merged rows
    // without waiting for another write.
    let mut staged = 0;
    for _ in 0..500 {
        staged = store
            .read(|conn| {
                conn.query_row("SELECT COUNT(*) FROM event_completions_staged", [], |r| {
                    r.get(0)
                })
                .map_err(db)
            })
            .await
            .expect("counts");
        if staged < total {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        staged,
        total - completion_log::DELETE_CHUNK,
        "the whole chunk left the staging table, the rest stays"
    );
    let repeated = store
        .store_completions(
            account,
            vec![completion(1), completion(total - 1)],
            u64::MAX,
            now,
            None,
        )
        .await
        .expect("stores")
        .expect("accepted");
    assert_eq!(
        repeated.duplicates, 2,
        "deleted and still staged ids are both taken"
    );
    let again = store
        .store_completions(account, vec![completion(2)], u64::MAX, now, None)
        .await
        .expect("stores")
        .expect("accepted");
    assert_eq!(
        again.duplicates, 1,
        "an id deleted from staging is found indexed"
    );
    let page = store
        .query_completions(
            account,
            &CompletionQuery {
                definition_id: Some(definition),
                limit: 100_000,
                ..Default::default()
            },
        )
        .await
        .expect("reads");
    assert_eq!(page.items.len() as i64, total, "each completion once");
    assert!(
        page.items
            .windows(2)
            .all(|w| (w[0].cursor.occurred_at_ms, w[0].cursor.seq)
                < (w[1].cursor.occurred_at_ms, w[1].cursor.seq)),
        "in time order"
    );
}

/// The writer's keys of staged occurrence ids change with each job at once (a later job of
/// the same group sees them) and are undone with a failing job or group.
#[test]
fn staged_keys_follow_their_jobs_and_groups() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (mut writer, _merger) = open_files(
        dir.path(),
        &dir.path().join(DATABASE_FILE),
        &dir.path().join(COMPLETIONS_FILE),
        Arc::new(LogShared::default()),
    )
    .expect("opens");
    let Writer { conn, log, .. } = &mut writer;
    let (u, v) = (Occurrence::new(1, 7, b"u"), Occurrence::new(1, 7, b"v"));
    let knows = |log: &CompletionLog, id: &Occurrence<'_>| log.knows(conn, id).expect("looks up");
    log.begin_group().expect("begins");
    assert!(!knows(log, &u));
    let seq = log.stage(&u);
    assert!(knows(log, &u), "taken within the group");
    let purge = log.mark();
    // The deleted row as a purge's RETURNING gives it.
    let mut deleted = conn
        .prepare("SELECT ?1, 1, 7, CAST('u' AS BLOB)")
        .expect("prepares");
    log.unstage(&completion_log::keyed_rows(&mut deleted, [seq]).expect("keys"));
    assert!(!knows(log, &u), "a later job's purge frees it at once");
    log.undo_since(purge);
    assert!(knows(log, &u), "taken again when that job fails");
    log.end_group(false);
    log.begin_group().expect("begins");
    assert!(!knows(log, &u), "a failed group keeps nothing");
    log.stage(&v);
    log.end_group(true);
    log.begin_group().expect("begins");
    assert!(knows(log, &v), "a committed group keeps its ids");
    log.end_group(true);
}

/// A reader sees a deletion whole: it is told to start over when the indexed file has a
/// purge applied that its snapshot of the main file does not show, and otherwise gets the
/// purges still to apply.
#[test]
fn a_reader_sees_purges_from_one_point_in_time() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (path, indexed_path) = (
        dir.path().join(DATABASE_FILE),
        dir.path().join(COMPLETIONS_FILE),
    );
    let mut main = Connection::open(&path).expect("opens");
    migrate(&mut main, MIGRATIONS).expect("migrates");
    let indexed = completion_log::open_indexed(&indexed_path).expect("opens");
    let purge = |account: i64, definition: Option<i64>, through: i64| {
        main.execute(
            "INSERT INTO event_purges (account_id, definition_id, through_seq)
             VALUES (?1, ?2, ?3)",
            rusqlite::params![account, definition, through],
        )
        .expect("a purge")
    };
    let reader = open_reader(&path, &indexed_path).expect("a reader");
    let view = |account| {
        completion_log::reader_view(&reader, account)
            .expect("reads")
            .map(|v| v.purges)
    };
    purge(1, Some(3), 10);
    purge(2, None, 11);
    assert_eq!(view(1), Some(vec![(Some(3), 10)]), "not applied yet");
    assert_eq!(view(2), Some(vec![(None, 11)]));
    indexed
        .execute("UPDATE merge_state SET purged_through = 1", [])
        .expect("the first purge applied");
    assert_eq!(view(1), Some(vec![]), "applied: the indexed rows are gone");
    assert_eq!(view(2), Some(vec![(None, 11)]));
    indexed
        .execute("UPDATE merge_state SET purged_through = 3", [])
        .expect("a purge the main file does not have yet");
    assert_eq!(view(1), None, "start over");
}

/// A database from before completions were staged keeps its completions: they become the
/// first staged ones, readable at once and after the merger has copied them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_stored_before_staging_are_kept() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    {
        let mut conn = Connection::open(dir.path().join(DATABASE_FILE)).expect("opens");
        migrate(&mut conn, &MIGRATIONS[..5]).expect("the migrations before staging");
        conn.execute(
            "INSERT INTO event_completions (account_id, definition_id, object_type_id,
                 object_id, occurred_at, uuid, properties, property_bits)
             VALUES (1, 7, '0-1', 3, 1000, x'00112233445566778899aabbccddeeff', '{}', 0)",
            [],
        )
        .expect("an old completion");
    }
    let store = SqliteStore::open(dir.path().to_path_buf())
        .await
        .expect("the store opens and migrates");
    let query = CompletionQuery {
        definition_id: Some(chronik_domain::EventDefinitionId(7)),
        limit: 10,
        ..Default::default()
    };
    for settled in [false, true] {
        if settled {
            store.settle().await.expect("the merger catches up");
        }
        let page = store
            .query_completions(AccountId(1), &query)
            .await
            .expect("reads");
        assert_eq!(page.items.len(), 1, "settled={settled}");
        assert_eq!(
            page.items[0].uuid, "00112233-4455-6677-8899-aabbccddeeff",
            "settled={settled}"
        );
    }
}

/// Under a steady stream of commits (a passive checkpoint rarely finds the writer idle, so
/// the WAL seldom starts over by itself) the WAL file stays near the restart size instead
/// of growing with every commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_starts_over_under_steady_writes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().to_path_buf())
        .await
        .expect("the store opens");
    let wal = dir.path().join(format!("{DATABASE_FILE}-wal"));
    let mut largest = 0;
    let started = std::time::Instant::now();
    // Each commit adds a page of its own to the table, so the WAL grows by at least one
    // frame (4 KiB) a commit: 20,000 commits would make an 80 MB WAL without restarts.
    for n in 0..20_000u32 {
        store
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO id_sequences (name, last_value) VALUES (?1, 0)",
                    [format!("wal-test-{n}-{}", "x".repeat(3000))],
                )
                .map_err(db)
            })
            .await
            .expect("the write commits");
        if n % 100 == 0 {
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            break;
        }
    }
    // The restart size, plus what the writer adds while the checkpointer waits for its next
    // turn (CHECKPOINT_INTERVAL; about 4,000 frames here), with room to spare.
    let bound = 64 * 1024 * 1024;
    assert!(
        largest <= bound,
        "the WAL reached {largest} bytes; restarts should keep it under {bound}"
    );
}

/// An account with a private app: the account and the hash of the app's token.
async fn account_with_token(store: &SqliteStore, name: &str) -> (AccountId, TokenHash) {
    let account = store
        .create_account(name, Utc::now())
        .await
        .expect("an account")
        .id;
    let token = Secret::generate("pat-").hash();
    store
        .create_private_app(
            account,
            NewPrivateApp {
                name: "app".into(),
                scopes: Scopes::from_stored(["crm.objects.contacts.read".to_owned()]),
                token: token.clone(),
            },
            Utc::now(),
        )
        .await
        .expect("a private app");
    (account, token)
}

/// Bounds a wait that only a bug makes endless, so that the test fails instead of hanging.
async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(60), f)
        .await
        .unwrap_or_else(|_| panic!("{what} never finished"))
}

/// Sixteen scans of one account that do not end (they wait for the test) hold every connection
/// that account may use, and no other: another account's token lookup, account read and scan,
/// and the health check all answer while they still run, and only a few of them ever run at
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_scans_of_one_account_leave_other_reads_a_connection() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(
        SqliteStore::open(dir.path().to_path_buf())
            .await
            .expect("the store opens"),
    );
    let (busy, _) = account_with_token(&store, "busy").await;
    let (other, token) = account_with_token(&store, "other").await;

    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut release = Vec::new();
    let mut scans = Vec::new();
    for _ in 0..16 {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        release.push(tx);
        let (store, running, most) = (Arc::clone(&store), Arc::clone(&running), Arc::clone(&most));
        scans.push(tokio::spawn(async move {
            store
                .read_scan(busy, move |conn| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Ends when the test drops the sender.
                    let _ = rx.recv();
                    running.fetch_sub(1, Ordering::SeqCst);
                    conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                        .map_err(db)
                })
                .await
        }));
    }
    within("the first scans", async {
        while running.load(Ordering::SeqCst) < readers::MAX_SCANS_PER_ACCOUNT {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;

    let grant = within("the token lookup", store.bearer(&token))
        .await
        .expect("the token is found");
    assert_eq!(grant.account, other);
    let account = within("the account read", store.get_account(other))
        .await
        .expect("the account is found");
    assert_eq!(account.id, other);
    within("the health check", store.ping())
        .await
        .expect("the store answers");
    let page = within(
        "the other account's scan",
        store.query_completions(
            other,
            &CompletionQuery {
                limit: 10,
                ..Default::default()
            },
        ),
    )
    .await
    .expect("the other account's completions are read");
    assert!(page.items.is_empty());

    assert!(
        scans.iter().all(|s| !s.is_finished()),
        "the other reads answered while every scan of the busy account still ran or waited"
    );
    assert_eq!(
        running.load(Ordering::SeqCst),
        readers::MAX_SCANS_PER_ACCOUNT,
        "the busy account's other scans wait for their turn"
    );
    drop(release);
    for scan in scans {
        let one = within("a released scan", scan)
            .await
            .expect("the task ends")
            .expect("the scan answers");
        assert_eq!(one, 1);
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        readers::MAX_SCANS_PER_ACCOUNT,
        "never more scans of one account at once"
    );
    assert_eq!(
        store.readers.accounts_with_turns(),
        0,
        "the accounts' turns are forgotten once no scan runs"
    );
}

/// A read that would never end is stopped at its budget and answers `ReadBudgetExceeded`; its
/// connection goes on serving reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_past_its_budget_is_stopped_with_the_budget_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let budget = std::time::Duration::from_millis(200);
    let store = SqliteStore::open_with_read_budget(dir.path().to_path_buf(), budget)
        .await
        .expect("the store opens");
    let endless = within(
        "the endless read",
        store.read(|conn| {
            conn.query_row(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)
                 SELECT count(*) FROM n",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db)
        }),
    )
    .await;
    match endless {
        Err(StoreError::ReadBudgetExceeded { budget: b }) => assert_eq!(b, budget),
        other => panic!("expected ReadBudgetExceeded, got {other:?}"),
    }
    for _ in 0..readers::MAX_SHORT_READS + 1 {
        store.ping().await.expect("the pool still serves reads");
    }
}

/// A page of completions that takes longer than the budget (here none at all: any statement
/// long enough to reach the progress handler is past it) answers `ReadBudgetExceeded`, not an
/// internal error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_completions_past_the_budget_answers_the_budget_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store =
        SqliteStore::open_with_read_budget(dir.path().to_path_buf(), std::time::Duration::ZERO)
            .await
            .expect("the store opens");
    let now = Utc::now();
    let (account, definition, contact) = signup_of_one_contact(&store).await;
    let batch = (0..500)
        .map(|n| NewCompletion {
            definition_id: definition,
            object_type_id: StandardType::Contacts.type_id(),
            record: RecordRef::Id(contact),
            occurred_at: from_ms(1_700_000_000_000 + n),
            uuid: format!("c{n}"),
            properties_json: "{}".into(),
        })
        .collect();
    store
        .store_completions(account, batch, u64::MAX, now, None)
        .await
        .expect("stores")
        .expect("accepted");
    let page = store
        .query_completions(
            account,
            &CompletionQuery {
                definition_id: Some(definition),
                limit: 500,
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(page, Err(StoreError::ReadBudgetExceeded { budget }) if budget.is_zero()),
        "{:?}",
        page.map(|p| p.items.len())
    );
}

/// A stored objectTypeId that does not parse is a broken database, not a type of some other
/// kind: reading its row fails with `Internal`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_stored_type_id_is_an_internal_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().to_path_buf())
        .await
        .expect("the store opens");
    let now = Utc::now();
    let account = store.create_account("a", now).await.expect("an account").id;
    let definition = chronik_domain::crm::schema::SchemaDefinition {
        name: "cars".into(),
        labels: chronik_domain::crm::schema::Labels {
            singular: "Car".into(),
            plural: "Cars".into(),
        },
        description: String::new(),
        primary_display_property: None,
        secondary_display_properties: Vec::new(),
        required_properties: Vec::new(),
        searchable_properties: Vec::new(),
        associated_objects: Vec::new(),
    };
    let cars = store
        .create_schema(account, &definition, &[], now)
        .await
        .expect("a schema");
    assert_eq!(cars.id, cars.type_id.number().to_string());
    assert!(store.list_schemas(account, false).await.is_ok());
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).expect("opens");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("a busy timeout");
    // An earlier build stored associatedObjects as sent: `2-007` still reads, as 2-7.
    conn.execute(
        "UPDATE crm_schemas SET definition = json_set(definition, '$.associatedObjects', json('[\"2-007\",\"0-1\"]'))
         WHERE account_id = ?1",
        [account.0],
    )
    .expect("the row is changed behind the store's back");
    let read = store
        .list_schemas(account, false)
        .await
        .expect("it still reads");
    assert_eq!(
        read[0].definition.associated_objects,
        [
            chronik_domain::crm::object_type::ObjectTypeId::Custom(7),
            chronik_domain::crm::object_type::StandardType::Contacts.type_id()
        ]
    );
    conn.execute(
        "UPDATE crm_schemas SET object_type_id = '2-x' WHERE account_id = ?1",
        [account.0],
    )
    .expect("the row is changed behind the store's back");
    assert!(matches!(
        store.list_schemas(account, false).await,
        Err(StoreError::Internal(_))
    ));
}
