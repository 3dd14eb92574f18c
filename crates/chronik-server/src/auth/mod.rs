//! Authentication extractors (SPEC.md, "Tenancy and authentication"):
//! - [`Admin`]: the operator's admin token as `Authorization: Bearer`, for `/admin/v1`;
//! - [`Caller`]: an install's OAuth access token or a private app's token as
//!   `Authorization: Bearer`, acting in one account with its scopes ([`Caller::require_any`]);
//! - [`DeveloperKey`]: an app's developer API key as the `hapikey` query parameter.
//!
//! Missing or unknown credentials are 401 `INVALID_AUTHENTICATION`; an expired access token is
//! 401 `EXPIRED_AUTHENTICATION`; a missing scope is 403 `MISSING_SCOPES`. Tokens are looked up
//! by their hash only.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chronik_domain::tenancy::{BearerKind, Scopes};
use chronik_domain::{AccountId, AppId, Secret, TokenHash};
use chronik_store::{App, BearerGrant, SettingsVersion, StoreError};
use chrono::Utc;

use crate::error::{ApiError, Category};
use crate::state::AppState;

/// The `Authorization: Bearer` token of a request.
pub(crate) fn bearer_token(parts: &Parts) -> Option<Secret> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| Secret::new(token))
}

/// Compares two secrets in time independent of where they first differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The operator, proven by the admin token.
#[derive(Debug)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer_token(parts) {
            Some(token)
                if constant_time_eq(token.expose().as_bytes(), state.admin_token.expose().as_bytes()) =>
            {
                Ok(Admin)
            }
            Some(_) => Err(ApiError::new(
                Category::InvalidAuthentication,
                "The admin token is not valid. Send the token `chronik serve` printed (or --admin-token) as `Authorization: Bearer <token>`.",
            )),
            None => Err(ApiError::new(
                Category::InvalidAuthentication,
                "Admin endpoints need the operator's admin token as `Authorization: Bearer <token>`.",
            )),
        }
    }
}

/// A Bearer-authenticated caller: an install or a private app, in one account.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The only account this caller can read or write.
    pub account: AccountId,
    /// Install (with its app) or private app.
    pub kind: BearerKind,
    /// The granted scopes.
    pub scopes: Scopes,
    /// The account's settings version the grant was read at.
    pub settings: SettingsVersion,
}

impl Caller {
    /// Succeeds when at least one of `any_of` is granted, else 403 `MISSING_SCOPES` naming them.
    pub fn require_any(&self, any_of: &[&str]) -> Result<(), ApiError> {
        if self.scopes.contains_any(any_of) {
            Ok(())
        } else {
            Err(ApiError::missing_scopes(any_of))
        }
    }

    /// The grant of a Bearer token, read from the store: 401 when the token is unknown.
    pub(crate) async fn grant(
        state: &AppState,
        token: &TokenHash,
    ) -> Result<BearerGrant, ApiError> {
        match state.store.bearer(token).await {
            Ok(grant) => Ok(grant),
            Err(StoreError::NotFound) => Err(ApiError::unauthenticated()),
            Err(e) => Err(e.into()),
        }
    }

    /// The caller a grant makes: 401 when it has expired.
    pub(crate) fn from_grant(grant: BearerGrant) -> Result<Caller, ApiError> {
        if let Some(expires_at) = grant.expires_at {
            let now = Utc::now();
            if expires_at <= now {
                let minutes = (now - expires_at).num_minutes();
                return Err(ApiError::new(
                    Category::ExpiredAuthentication,
                    format!(
                        "The OAuth token used to make this call expired {minutes} minute(s) ago. Refresh it with POST /oauth/v1/token (grant_type=refresh_token)."
                    ),
                ));
            }
        }
        tracing::Span::current().record("account", grant.account.0);
        Ok(Caller {
            account: grant.account,
            kind: grant.kind,
            scopes: grant.scopes,
            settings: grant.settings,
        })
    }

    /// The app, when the caller is an install's OAuth token.
    pub fn app(&self) -> Option<AppId> {
        match self.kind {
            BearerKind::Install { app } => Some(app),
            BearerKind::PrivateApp { .. } => None,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(ApiError::unauthenticated)?;
        Caller::from_grant(Caller::grant(state, &token.hash()).await?)
    }
}

/// An app, proven by its developer API key in the `hapikey` query parameter.
#[derive(Debug, Clone)]
pub struct DeveloperKey {
    /// The app the key belongs to.
    pub app: App,
}

impl FromRequestParts<AppState> for DeveloperKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .uri
            .query()
            .and_then(|q| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                    .ok()?
                    .into_iter()
                    .find(|(k, _)| k == "hapikey")
                    .map(|(_, v)| Secret::new(v))
            })
            .ok_or_else(|| {
                ApiError::new(
                    Category::InvalidAuthentication,
                    "This endpoint needs the app's developer API key as the hapikey query parameter.",
                )
            })?;
        match state.store.app_by_developer_key(&key.hash()).await {
            Ok(app) => Ok(DeveloperKey { app }),
            Err(StoreError::NotFound) => Err(ApiError::new(
                Category::InvalidAuthentication,
                "The developer API key (hapikey) is not valid.",
            )),
            Err(e) => Err(e.into()),
        }
    }
}
