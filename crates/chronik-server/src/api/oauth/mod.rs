//! `/oauth/v1/…`: HubSpot's OAuth endpoints (api-reference §6). The SDKs send no credentials
//! header here; the client id and secret travel in the form body, tokens in the path.
//!
//! - `POST /oauth/v1/token`: `authorization_code` and `refresh_token` grants (form-encoded),
//!   errors in the OAuth shape of api-reference §4.5 ([`wire::OAuthError`]);
//! - `GET /oauth/v1/access-tokens/{token}`: introspection;
//! - `GET|DELETE /oauth/v1/refresh-tokens/{token}`: refresh-token info and revocation.

mod tokens;
pub mod wire;

use chronik_domain::Secret;
use chronik_store::NewTokens;
use chrono::{DateTime, Utc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tokens::create))
        .routes(routes!(tokens::get_access_token))
        .routes(routes!(
            tokens::get_refresh_token,
            tokens::archive_refresh_token
        ))
}

/// A freshly generated access + refresh token pair, in clear (shown once) and hashed (stored).
pub struct IssuedTokens {
    /// The access token to hand out.
    pub access: Secret,
    /// The refresh token to hand out.
    pub refresh: Secret,
    /// What the store keeps.
    pub stored: NewTokens,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

/// Generates a token pair whose access token lives as long as the server's configured TTL.
pub fn issue_tokens(state: &AppState, now: DateTime<Utc>) -> IssuedTokens {
    let access = Secret::generate("chronik-at-na1-");
    let refresh = Secret::generate("chronik-rt-na1-");
    let ttl = chrono::Duration::from_std(state.config.access_token_ttl)
        .unwrap_or_else(|_| chrono::Duration::minutes(30));
    IssuedTokens {
        stored: NewTokens {
            access: access.hash(),
            access_expires_at: now + ttl,
            refresh: refresh.hash(),
        },
        access,
        refresh,
        expires_in: ttl.num_seconds(),
    }
}

/// The hub domain reported in token info. Chronik accounts have no web domain of their own.
pub fn hub_domain(account: chronik_domain::AccountId) -> String {
    format!("portal-{account}.chronik.local")
}
