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

use crate::settings_cache::{keep, lock};

/// The most ids kept (a name and an id each); past it the map starts again empty.
const MAX_IDS: usize = 100_000;

/// Event type ids by account and name.
#[derive(Default)]
pub struct EventTypeIds {
    kept: Mutex<HashMap<(AccountId, String), EventDefinitionId>>,
}

impl EventTypeIds {
    /// The id kept for `name` in `account`.
    pub fn get(&self, account: AccountId, name: &str) -> Option<EventDefinitionId> {
        lock(&self.kept).get(&(account, name.to_owned())).copied()
    }

    /// Keeps the id of an existing definition.
    pub fn keep(&self, account: AccountId, name: &str, id: EventDefinitionId) {
        keep(
            &mut lock(&self.kept),
            MAX_IDS,
            (account, name.to_owned()),
            id,
        );
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
