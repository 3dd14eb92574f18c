//! What a node keeps of an account's settings between requests (custom event definitions
//! today; timeline event templates and app event types next), each value as read at one
//! settings version of the account (`chronik_store::SettingsVersion`).
//!
//! Nothing kept is trusted past the database: a value is used only with the version it was
//! read at, and a write checked against it carries that version, which the store refuses once
//! the account's settings moved on (on this node or another). The caller then forgets the
//! account ([`SettingsCache::forget`]) and reads its settings again. So a change stops every
//! node's use of what it replaced as soon as it commits, as it would without the cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use chronik_domain::AccountId;
use chronik_store::SettingsVersion;

/// Takes a lock even when a panic poisoned it: every map update is a single call.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Inserts, first emptying a map that holds `max` entries: a bound on memory that costs only
/// a few re-reads after it is reached.
pub(crate) fn keep<K: Hash + Eq, V>(map: &mut HashMap<K, V>, max: usize, key: K, value: V) {
    if map.len() >= max && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

/// Values by account and name, each kept with the settings version it was read at; at most
/// `max` of them (past it the map starts again empty).
pub struct SettingsCache<V> {
    max: usize,
    kept: Mutex<HashMap<(AccountId, String), (SettingsVersion, V)>>,
}

impl<V: Clone> SettingsCache<V> {
    /// An empty cache of at most `max` values.
    pub fn new(max: usize) -> Self {
        SettingsCache {
            max,
            kept: Mutex::default(),
        }
    }

    /// The value kept for `name` in `account`, when it was read at `settings`.
    pub fn get(&self, account: AccountId, name: &str, settings: SettingsVersion) -> Option<V> {
        lock(&self.kept)
            .get(&(account, name.to_owned()))
            .filter(|(read_at, _)| *read_at == settings)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value`, read at `settings`.
    pub fn keep(&self, account: AccountId, name: &str, settings: SettingsVersion, value: V) {
        keep(
            &mut lock(&self.kept),
            self.max,
            (account, name.to_owned()),
            (settings, value),
        );
    }

    /// Forgets what is kept of an account: its settings changed.
    pub fn forget(&self, account: AccountId) {
        lock(&self.kept).retain(|(kept, _), _| *kept != account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_used_only_at_the_version_it_was_read_at() {
        let cache = SettingsCache::new(10);
        cache.keep(AccountId(1), "signup", SettingsVersion(3), "v3");
        assert_eq!(
            cache.get(AccountId(1), "signup", SettingsVersion(3)),
            Some("v3")
        );
        assert_eq!(cache.get(AccountId(1), "signup", SettingsVersion(4)), None);
        assert_eq!(cache.get(AccountId(2), "signup", SettingsVersion(3)), None);
    }

    #[test]
    fn forgetting_an_account_leaves_the_others() {
        let cache = SettingsCache::new(10);
        cache.keep(AccountId(1), "a", SettingsVersion(0), 1);
        cache.keep(AccountId(2), "a", SettingsVersion(0), 2);
        cache.forget(AccountId(1));
        assert_eq!(cache.get(AccountId(1), "a", SettingsVersion(0)), None);
        assert_eq!(cache.get(AccountId(2), "a", SettingsVersion(0)), Some(2));
    }

    #[test]
    fn a_full_map_starts_again_and_keeps_the_newest() {
        let mut map = HashMap::new();
        for i in 0..10 {
            keep(&mut map, 10, i, i);
        }
        assert_eq!(map.len(), 10);
        keep(&mut map, 10, 0, 7);
        assert_eq!(map.len(), 10, "replacing a kept key empties nothing");
        assert_eq!(map.get(&0), Some(&7));
        keep(&mut map, 10, 10, 1);
        assert_eq!(map.len(), 1);
        assert_eq!(map.get(&10), Some(&1));
    }
}
