//! Single completions stored together. On PostgreSQL every `store_completions` call commits on
//! its own, so a single `POST /events/v3/send` costs a transaction of five statements, and at a
//! few thousand sends a second the database spends its time on those round trips rather than
//! on the rows. Here the calls of one completion of an account that arrive while an earlier
//! group of that account is being stored wait, and go to the database together as one group
//! (at most [`MAX_GROUP`]): under load groups grow, alone a send goes at once. (SQLite's writer
//! already commits concurrent writes together, so only this backend needs it.)
//!
//! Each send keeps its own answer: a group in which some records are missing stores the rest
//! and refuses only those; a group that would pass the monthly quota is stored one by one, in
//! arrival order, so that exactly the sends that fit are stored, as one call each would. The
//! sends of a group were all checked against the same settings version of the account, and
//! count against the same calendar month (both are part of the group's key), so that when the
//! store refuses that version, it refuses it for each of them alike.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chronik_domain::AccountId;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::custom_events::month_key;
use crate::{
    BatchRefusal, NewCompletion, SettingsVersion, StoreError, StoredBatch, MAX_COMPLETIONS_PER_CALL,
};

/// The most sends stored in one call (a batch's limit).
pub const MAX_GROUP: usize = MAX_COMPLETIONS_PER_CALL;

/// How often the task lets other tasks run before it takes a group: the sends whose checks
/// are under way then join it, at the cost of a few task switches.
const YIELDS: usize = 8;

/// What the store answered for one send.
pub type Reply = Result<Result<StoredBatch, BatchRefusal>, StoreError>;

struct Waiter {
    completion: NewCompletion,
    reply: oneshot::Sender<Reply>,
}

/// Where a group goes: the database's `store_completions` for an account (or a test's
/// stand-in).
#[async_trait::async_trait]
pub trait GroupSink: Send + Sync + 'static {
    /// Stores the completions together, as one batch checked against `checked`, counted in
    /// the calendar month of `now`.
    async fn store(
        &self,
        account: AccountId,
        completions: Vec<NewCompletion>,
        monthly_quota: u64,
        now: DateTime<Utc>,
        checked: SettingsVersion,
    ) -> Reply;
}

/// Whose sends go together: an account's, checked against one settings version of it, in one
/// calendar month (`yyyymm`).
type GroupKey = (AccountId, SettingsVersion, i64);

/// The sends waiting, by account and settings version; a key is in the map while a task of its
/// own stores its groups.
#[derive(Default)]
pub struct SingleSends {
    waiting: Mutex<HashMap<GroupKey, Vec<Waiter>>>,
}

impl SingleSends {
    /// Stores one completion checked against `checked`, with whichever sends of the account,
    /// checked against the same version in the same month, wait beside it.
    pub async fn store(
        self: &Arc<Self>,
        sink: impl GroupSink,
        account: AccountId,
        checked: SettingsVersion,
        completion: NewCompletion,
        monthly_quota: u64,
        now: DateTime<Utc>,
    ) -> Reply {
        let (reply, answer) = oneshot::channel();
        let key = (account, checked, month_key(now));
        // The key is in the map for as long as its task runs (its queue may be empty while the
        // task stores a group): only a send that finds it absent starts a task.
        let first = match self.lock().entry(key) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push(Waiter { completion, reply });
                false
            }
            Entry::Vacant(absent) => {
                absent.insert(vec![Waiter { completion, reply }]);
                true
            }
        };
        if first {
            let guard = Draining {
                sends: Arc::clone(self),
                key,
                finished: false,
            };
            tokio::spawn(guard.run(sink, monthly_quota, now));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::internal("a group of single sends failed")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupKey, Vec<Waiter>>> {
        // A panic while holding the lock leaves the map as it was: take it anyway.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The task that stores the waiting sends of a key, group after group, until none wait.
struct Draining {
    sends: Arc<SingleSends>,
    key: GroupKey,
    finished: bool,
}

impl Draining {
    /// `now` is the first send's time, in the month of the key.
    async fn run(mut self, sink: impl GroupSink, monthly_quota: u64, now: DateTime<Utc>) {
        loop {
            // Let the sends that are being checked right now join this group.
            for _ in 0..YIELDS {
                tokio::task::yield_now().await;
            }
            let group: Vec<Waiter> = {
                let mut waiting = self.sends.lock();
                let Some(queue) = waiting.get_mut(&self.key) else {
                    break;
                };
                if queue.is_empty() {
                    waiting.remove(&self.key);
                    break;
                }
                let take = queue.len().min(MAX_GROUP);
                queue.drain(..take).collect()
            };
            metrics::histogram!("chronik_custom_event_single_send_group")
                .record(group.len() as f64);
            let (sink, (account, checked, _)) = (&sink, self.key);
            store_group(group, move |completions| {
                sink.store(account, completions, monthly_quota, now, checked)
            })
            .await;
        }
        self.finished = true;
    }
}

impl Drop for Draining {
    /// A task that panicked leaves no key behind: the sends waiting get an error (their reply
    /// senders are dropped) and the next send starts a new task.
    fn drop(&mut self) {
        if !self.finished {
            self.sends.lock().remove(&self.key);
        }
    }
}

/// Stores one group with `store` (the store's `store_completions` for the account) and
/// answers each send in it.
async fn store_group<F, Fut>(mut group: Vec<Waiter>, store: F)
where
    F: Fn(Vec<NewCompletion>) -> Fut,
    Fut: Future<Output = Reply>,
{
    while !group.is_empty() {
        let completions = group.iter().map(|w| w.completion.clone()).collect();
        match store(completions).await {
            Ok(Ok(stored)) => {
                // The counts are the group's; the first send carries them (for the metrics).
                let mut counts = Some(stored);
                for waiter in group {
                    let _ = waiter.reply.send(Ok(Ok(counts.take().unwrap_or_default())));
                }
                return;
            }
            Ok(Err(BatchRefusal::RecordsNotFound(missing))) => {
                let mut rest = Vec::with_capacity(group.len());
                for (index, waiter) in group.into_iter().enumerate() {
                    if missing.contains(&index) {
                        let refused = BatchRefusal::RecordsNotFound(vec![0]);
                        let _ = waiter.reply.send(Ok(Err(refused)));
                    } else {
                        rest.push(waiter);
                    }
                }
                group = rest;
            }
            Ok(Err(BatchRefusal::SettingsChanged)) => {
                // Every send of the group was checked against the version refused.
                for waiter in group {
                    let _ = waiter.reply.send(Ok(Err(BatchRefusal::SettingsChanged)));
                }
                return;
            }
            Err(StoreError::QuotaExceeded { .. }) if group.len() > 1 => {
                for waiter in group {
                    let answer = store(vec![waiter.completion]).await;
                    let _ = waiter.reply.send(answer);
                }
                return;
            }
            Err(e) => {
                for waiter in group {
                    let _ = waiter.reply.send(Err(again(&e)));
                }
                return;
            }
        }
    }
}

/// The same failure for another send of the group (an internal one keeps only its message,
/// which is logged, never shown).
fn again(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict {
            constraint,
            existing_id,
        } => StoreError::Conflict {
            constraint,
            existing_id: existing_id.clone(),
        },
        StoreError::QuotaExceeded { quota, limit } => StoreError::QuotaExceeded {
            quota,
            limit: *limit,
        },
        StoreError::Unavailable(message) => StoreError::Unavailable(message.clone()),
        StoreError::ReadBudgetExceeded { budget } => {
            StoreError::ReadBudgetExceeded { budget: *budget }
        }
        StoreError::Internal(inner) => StoreError::internal(inner.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chronik_domain::association::RecordRef;
    use chronik_domain::ObjectId;

    use super::*;

    /// Record 0 does not exist; the quota is three completions; uuids are stored once.
    #[derive(Default)]
    struct FakeStore {
        stored: Mutex<HashSet<String>>,
    }

    const QUOTA: usize = 3;

    impl FakeStore {
        async fn store(&self, batch: Vec<NewCompletion>) -> Reply {
            let missing: Vec<usize> = (0..batch.len())
                .filter(|&i| batch[i].record == RecordRef::Id(ObjectId(0)))
                .collect();
            if !missing.is_empty() {
                return Ok(Err(BatchRefusal::RecordsNotFound(missing)));
            }
            let mut stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
            let new: HashSet<&str> = batch
                .iter()
                .map(|c| c.uuid.as_str())
                .filter(|u| !stored.contains(*u))
                .collect();
            if stored.len() + new.len() > QUOTA {
                return Err(StoreError::QuotaExceeded {
                    quota: "test",
                    limit: QUOTA as u64,
                });
            }
            let fresh = new.len() as u64;
            stored.extend(new.into_iter().map(str::to_owned));
            Ok(Ok(StoredBatch {
                stored: fresh,
                duplicates: batch.len() as u64 - fresh,
                contacts_created: 0,
            }))
        }
    }

    fn completion(uuid: &str, record: i64) -> NewCompletion {
        NewCompletion {
            definition_id: chronik_domain::EventDefinitionId(1),
            object_type_id: chronik_domain::crm::object_type::StandardType::Contacts.type_id(),
            record: RecordRef::Id(ObjectId(record)),
            occurred_at: Utc::now(),
            uuid: uuid.into(),
            properties_json: "{}".into(),
        }
    }

    /// What each send of a group is answered, in the group's order.
    async fn answers(sends: &[(&str, i64)], store: &FakeStore) -> Vec<String> {
        let mut replies = Vec::new();
        let group = sends
            .iter()
            .map(|(uuid, record)| {
                let (reply, answer) = oneshot::channel();
                replies.push(answer);
                Waiter {
                    completion: completion(uuid, *record),
                    reply,
                }
            })
            .collect();
        store_group(group, |batch| store.store(batch)).await;
        let mut said = Vec::new();
        for answer in replies {
            said.push(match answer.await {
                Ok(Ok(Ok(batch))) => format!("stored {} dup {}", batch.stored, batch.duplicates),
                Ok(Ok(Err(BatchRefusal::RecordsNotFound(at)))) => format!("missing {at:?}"),
                Ok(Ok(Err(BatchRefusal::SettingsChanged))) => "settings changed".into(),
                Ok(Err(StoreError::QuotaExceeded { .. })) => "quota".into(),
                Ok(Err(e)) => format!("error {e}"),
                Err(_) => "no answer".into(),
            });
        }
        said
    }

    /// Stores every group after a pause, noting each group's settings version and uuids and
    /// the most calls under way at once; refuses settings version `refuse` (it changed).
    struct RecordingSink {
        pause: std::time::Duration,
        refuse: Option<SettingsVersion>,
        under_way: std::sync::atomic::AtomicUsize,
        most_at_once: std::sync::atomic::AtomicUsize,
        groups: Mutex<Vec<(i64, Vec<String>)>>,
    }

    impl RecordingSink {
        fn new(pause_ms: u64, refuse: Option<SettingsVersion>) -> Arc<Self> {
            Arc::new(RecordingSink {
                pause: std::time::Duration::from_millis(pause_ms),
                refuse,
                under_way: Default::default(),
                most_at_once: Default::default(),
                groups: Mutex::default(),
            })
        }

        fn groups(&self) -> Vec<(i64, Vec<String>)> {
            self.groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        }
    }

    #[async_trait::async_trait]
    impl GroupSink for Arc<RecordingSink> {
        async fn store(
            &self,
            _account: AccountId,
            completions: Vec<NewCompletion>,
            _monthly_quota: u64,
            _now: DateTime<Utc>,
            checked: SettingsVersion,
        ) -> Reply {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.under_way.fetch_add(1, SeqCst) + 1;
            self.most_at_once.fetch_max(now, SeqCst);
            tokio::time::sleep(self.pause).await;
            self.under_way.fetch_sub(1, SeqCst);
            let n = completions.len() as u64;
            self.groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((checked.0, completions.into_iter().map(|c| c.uuid).collect()));
            if self.refuse == Some(checked) {
                return Ok(Err(BatchRefusal::SettingsChanged));
            }
            Ok(Ok(StoredBatch {
                stored: n,
                ..StoredBatch::default()
            }))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_account_has_one_group_under_way_and_the_others_wait_for_it() {
        let sends = Arc::new(SingleSends::default());
        let sink = RecordingSink::new(5, None);
        let mut tasks = Vec::new();
        for i in 0..100 {
            let (sends, sink) = (Arc::clone(&sends), Arc::clone(&sink));
            tasks.push(tokio::spawn(async move {
                // Ten waves a millisecond apart, while groups take 5 ms each.
                tokio::time::sleep(std::time::Duration::from_millis(i % 10)).await;
                sends
                    .store(
                        sink,
                        AccountId(1),
                        SettingsVersion(0),
                        completion(&format!("s{i}"), 1),
                        100,
                        Utc::now(),
                    )
                    .await
            }));
        }
        let mut stored = 0;
        for task in tasks {
            match task.await {
                Ok(Ok(Ok(batch))) => stored += batch.stored,
                other => panic!("a send was not stored: {other:?}"),
            }
        }
        assert_eq!(stored, 100, "every send stored once");
        let groups: Vec<usize> = sink.groups().iter().map(|(_, g)| g.len()).collect();
        assert_eq!(groups.iter().sum::<usize>(), 100);
        assert!(groups.len() < 100, "some sends went together: {groups:?}");
        assert_eq!(
            sink.most_at_once.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "one group of the account at a time"
        );
        // The task answers its last group, then finds the queue empty and leaves.
        for _ in 0..1000 {
            if sends.lock().is_empty() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        panic!("the account stayed in the map after its last send");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sends_checked_against_other_versions_never_share_a_group() {
        let sends = Arc::new(SingleSends::default());
        let sink = RecordingSink::new(2, Some(SettingsVersion(1)));
        let mut tasks = Vec::new();
        for i in 0..60_i64 {
            let (sends, sink) = (Arc::clone(&sends), Arc::clone(&sink));
            let version = i % 3;
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis((i % 6) as u64)).await;
                let uuid = format!("v{version}-{i}");
                let answer = sends
                    .store(
                        sink,
                        AccountId(1),
                        SettingsVersion(version),
                        completion(&uuid, 1),
                        100,
                        Utc::now(),
                    )
                    .await;
                (version, answer)
            }));
        }
        let (mut stored, mut refused) = (0, 0);
        for task in tasks {
            match task.await {
                Ok((1, Ok(Err(BatchRefusal::SettingsChanged)))) => refused += 1,
                // A group's counts come with its first send.
                Ok((v, Ok(Ok(batch)))) if v != 1 => stored += batch.stored,
                other => panic!("unexpected answer {other:?}"),
            }
        }
        assert_eq!((stored, refused), (40, 20));
        let groups = sink.groups();
        assert!(groups.iter().any(|(_, g)| g.len() > 1), "{groups:?}");
        for (version, uuids) in groups {
            for uuid in uuids {
                assert!(
                    uuid.starts_with(&format!("v{version}-")),
                    "{uuid} went in a group checked against version {version}"
                );
            }
        }
    }

    #[tokio::test]
    async fn each_send_of_a_group_gets_the_answer_it_would_get_alone() {
        let store = FakeStore::default();
        let sends = [
            ("a", 1),
            ("lost", 0),
            ("b", 1),
            ("a", 1),
            ("c", 1),
            ("d", 1),
            ("lost-too", 0),
        ];
        // The missing records are refused alone; the rest would pass the quota together, so
        // they go one by one: a, b and c fit, the repeat of a stores nothing, d does not fit.
        assert_eq!(
            answers(&sends, &store).await,
            [
                "stored 1 dup 0",
                "missing [0]",
                "stored 1 dup 0",
                "stored 0 dup 1",
                "stored 1 dup 0",
                "quota",
                "missing [0]",
            ]
        );
    }

    #[tokio::test]
    async fn a_group_that_fits_is_stored_in_one_call_with_its_counts_on_the_first_send() {
        let store = FakeStore::default();
        assert_eq!(
            answers(&[("a", 1), ("b", 1), ("a", 1)], &store).await,
            ["stored 2 dup 1", "stored 0 dup 0", "stored 0 dup 0"]
        );
    }
}
