//! The ids of event types by name, kept by this node for reads (`eventType=` on
//! `GET /events/v3/events`), so that a page filtered by event type makes no query for its
//! definition.
//!
//! Keeping them needs no invalidation: an account's definition of a name keeps its id for good
//! (a deleted definition keeps its row, its name is never used again, and an account reset
//! leaves definitions alone). A page asked for a deleted definition's id finds nothing, as its
//! completions were deleted with it. Names that name no definition are not kept.

use std::collections::HashMap;
use std::sync::Mutex;

use chronik_domain::{AccountId, EventDefinitionId};

/// The most ids kept (a name and an id each); past it the map starts again empty.
const MAX_IDS: usize = 100_000;

/// Event type ids by account and name.
#[derive(Default)]
pub struct EventTypeIds {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    by_account: HashMap<AccountId, HashMap<String, EventDefinitionId>>,
    len: usize,
}

impl EventTypeIds {
    /// The id kept for `name` in `account`.
    pub fn get(&self, account: AccountId, name: &str) -> Option<EventDefinitionId> {
        let kept = self.lock();
        kept.by_account.get(&account)?.get(name).copied()
    }

    /// Keeps the id of an existing definition.
    pub fn keep(&self, account: AccountId, name: &str, id: EventDefinitionId) {
        let mut kept = self.lock();
        if kept.len >= MAX_IDS {
            *kept = Kept::default();
        }
        if kept
            .by_account
            .entry(account)
            .or_default()
            .insert(name.to_owned(), id)
            .is_none()
        {
            kept.len += 1;
        }
    }

    /// Takes the lock even when a panic poisoned it: every update leaves the map whole.
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_per_account() {
        let ids = EventTypeIds::default();
        ids.keep(AccountId(1), "signup", EventDefinitionId(7));
        assert_eq!(ids.get(AccountId(1), "signup"), Some(EventDefinitionId(7)));
        assert_eq!(ids.get(AccountId(2), "signup"), None);
        assert_eq!(ids.get(AccountId(1), "login"), None);
    }

    #[test]
    fn a_full_map_starts_again_and_keeps_the_newest() {
        let ids = EventTypeIds::default();
        for i in 0..MAX_IDS {
            ids.keep(AccountId(1), &format!("e{i}"), EventDefinitionId(i as i64));
        }
        assert_eq!(ids.get(AccountId(1), "e0"), Some(EventDefinitionId(0)));
        ids.keep(AccountId(2), "newest", EventDefinitionId(1));
        assert_eq!(ids.get(AccountId(1), "e0"), None);
        assert_eq!(ids.get(AccountId(2), "newest"), Some(EventDefinitionId(1)));
    }
}
