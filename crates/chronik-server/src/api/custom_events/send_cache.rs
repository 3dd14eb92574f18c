//! What custom event sends keep between requests, so that a send makes no query before its
//! write: the grant of each Bearer token, and each account's event definitions by name, each as
//! read at one settings version of the account (`chronik_store::SettingsVersion`).
//!
//! Nothing kept is trusted past the database. A send is checked against kept settings and
//! written with their version; the store refuses the write when the account's settings moved
//! on since (a definition created, changed or deleted, a token revoked, on this node or
//! another), and the send then forgets what it kept of the account, reads the grant and the
//! definitions again and is checked anew (`send.rs`). So a revoked token or a deleted
//! definition stops sends on every node as soon as the change commits, as it would without
//! the cache. Expiry needs no version: a kept grant's `expires_at` is checked on every use.
//!
//! Only sends use it; every other request reads its grant from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chronik_domain::{AccountId, TokenHash};
use chronik_store::{BearerGrant, SettingsVersion};

use super::send::Prepared;
use crate::auth::{bearer_token, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// The most grants kept (a few hundred bytes each); past it the map starts again empty.
const MAX_GRANTS: usize = 100_000;

/// The most definitions kept (each with its properties and HubSpot's default ones, a few KiB);
/// past it the map starts again empty.
const MAX_DEFINITIONS: usize = 10_000;

/// Grants and definitions kept by this node for sends.
#[derive(Default)]
pub struct SendCache {
    grants: Mutex<HashMap<TokenHash, BearerGrant>>,
    definitions: Mutex<HashMap<(AccountId, String), Arc<Prepared>>>,
}

/// Takes a lock even when a panic poisoned it: every map update is a single call.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Inserts, first emptying a map that holds `max` entries.
fn keep<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, max: usize, key: K, value: V) {
    if map.len() >= max && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

impl SendCache {
    /// The grant kept for a token.
    fn grant(&self, token: &TokenHash) -> Option<BearerGrant> {
        lock(&self.grants).get(token).cloned()
    }

    /// The grant of a token as the store has it now; kept for the next sends.
    pub(super) async fn read_grant(
        &self,
        state: &AppState,
        token: &TokenHash,
    ) -> Result<BearerGrant, ApiError> {
        let grant = Caller::grant(state, token).await?;
        self.keep_grant(token, &grant);
        Ok(grant)
    }

    /// Keeps a grant read from the store.
    pub(super) fn keep_grant(&self, token: &TokenHash, grant: &BearerGrant) {
        keep(
            &mut lock(&self.grants),
            MAX_GRANTS,
            token.clone(),
            grant.clone(),
        );
    }

    /// The definition kept for `name` in `account`, when it was read at `settings`.
    pub(super) fn definition(
        &self,
        account: AccountId,
        name: &str,
        settings: SettingsVersion,
    ) -> Option<Arc<Prepared>> {
        lock(&self.definitions)
            .get(&(account, name.to_owned()))
            .filter(|d| d.settings == settings)
            .cloned()
    }

    /// Keeps a definition read at `definition.settings`.
    pub(super) fn keep_definition(
        &self,
        account: AccountId,
        name: &str,
        definition: Arc<Prepared>,
    ) {
        keep(
            &mut lock(&self.definitions),
            MAX_DEFINITIONS,
            (account, name.to_owned()),
            definition,
        );
    }

    /// Forgets what is kept of an account: its settings changed.
    pub(super) fn forget(&self, account: AccountId) {
        lock(&self.grants).retain(|_, grant| grant.account != account);
        lock(&self.definitions).retain(|(kept, _), _| *kept != account);
    }
}

/// A Bearer caller of a send: as [`Caller`], but its grant may be one this node kept. The send
/// writes with the grant's settings version, and reads the grant again (with [`Self::token`])
/// when the store refuses it, or before refusing the send as invalid against kept settings.
pub struct SendCaller {
    /// The caller, as the grant makes it.
    pub caller: Caller,
    /// The hash of its token.
    pub token: TokenHash,
    /// Whether the grant was read from the store for this request (rather than kept).
    pub fresh: bool,
}

impl FromRequestParts<AppState> for SendCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)
            .ok_or_else(ApiError::unauthenticated)?
            .hash();
        let (grant, fresh) = match state.send_cache.grant(&token) {
            Some(grant) => (grant, false),
            None => (state.send_cache.read_grant(state, &token).await?, true),
        };
        Ok(SendCaller {
            caller: Caller::from_grant(grant)?,
            token,
            fresh,
        })
    }
}

#[cfg(test)]
mod tests {
    use chronik_domain::tenancy::{BearerKind, Scopes};
    use chronik_domain::PrivateAppId;

    use super::*;

    fn grant(account: i64, settings: i64) -> BearerGrant {
        BearerGrant {
            account: AccountId(account),
            kind: BearerKind::PrivateApp {
                private_app: PrivateAppId(1),
            },
            scopes: Scopes::from_stored(Vec::<String>::new()),
            expires_at: None,
            settings: SettingsVersion(settings),
        }
    }

    #[test]
    fn forgetting_an_account_leaves_the_others() {
        let cache = SendCache::default();
        for (token, account) in [("a1", 1), ("a2", 1), ("b", 2)] {
            cache.keep_grant(&TokenHash::of(token), &grant(account, 0));
        }
        cache.forget(AccountId(1));
        assert!(cache.grant(&TokenHash::of("a1")).is_none());
        assert!(cache.grant(&TokenHash::of("a2")).is_none());
        assert_eq!(cache.grant(&TokenHash::of("b")), Some(grant(2, 0)));
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
