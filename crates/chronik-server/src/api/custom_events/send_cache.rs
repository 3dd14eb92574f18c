//! What custom event sends keep between requests, so that a send makes no query before its
//! write: the grant of each Bearer token, and each account's event definitions by name in a
//! [`SettingsCache`], each as read at one settings version of the account
//! (`chronik_store::SettingsVersion`).
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
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chronik_domain::{AccountId, TokenHash};
use chronik_store::{BearerGrant, SettingsVersion};

use super::send::Prepared;
use crate::auth::{bearer_token, Caller};
use crate::error::ApiError;
use crate::settings_cache::{keep, lock, SettingsCache};
use crate::state::AppState;

/// The most grants kept (a few hundred bytes each); past it the map starts again empty.
const MAX_GRANTS: usize = 100_000;

/// The most definitions kept (each with its properties and HubSpot's default ones, a few KiB);
/// past it the map starts again empty.
const MAX_DEFINITIONS: usize = 10_000;

/// Grants and definitions kept by this node for sends.
pub struct SendCache {
    grants: Mutex<HashMap<TokenHash, BearerGrant>>,
    definitions: SettingsCache<Arc<Prepared>>,
}

impl Default for SendCache {
    fn default() -> Self {
        SendCache {
            grants: Mutex::default(),
            definitions: SettingsCache::new(MAX_DEFINITIONS),
        }
    }
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
        self.definitions.get(account, name, settings)
    }

    /// Keeps a definition read at `settings`.
    pub(super) fn keep_definition(
        &self,
        account: AccountId,
        name: &str,
        settings: SettingsVersion,
        definition: Arc<Prepared>,
    ) {
        self.definitions.keep(account, name, settings, definition);
    }

    /// Forgets what is kept of an account: its settings changed.
    pub(super) fn forget(&self, account: AccountId) {
        lock(&self.grants).retain(|_, grant| grant.account != account);
        self.definitions.forget(account);
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
}
