//! Token grants, introspection and revocation.

use axum::http::StatusCode;
use chronik_domain::tenancy::parse_redirect_uri;
use chronik_domain::Secret;
use chronik_store::{App, Grant, StoreError};
use chrono::Utc;

use super::wire::{AccessTokenInfo, OAuthError, RefreshTokenInfo, TokenRequest, TokenResponse};
use super::{hub_domain, issue_tokens};
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

fn required(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Checks the client id and secret; HubSpot's `BAD_CLIENT_ID` / `BAD_CLIENT_SECRET`.
async fn authenticate_client(state: &AppState, form: &TokenRequest) -> Result<App, Response> {
    let client_id = required(&form.client_id).ok_or_else(|| {
        OAuthError::new("BAD_CLIENT_ID", "invalid_client", "missing client_id").into_response()
    })?;
    let app = match state.store.app_by_client_id(client_id).await {
        Ok(app) => app,
        Err(StoreError::NotFound) => {
            return Err(OAuthError::new(
                "BAD_CLIENT_ID",
                "invalid_client",
                "missing or unknown client id",
            )
            .into_response())
        }
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let secret = required(&form.client_secret).map(Secret::new);
    if secret.map(|s| s.hash()) != Some(app.client_secret.clone()) {
        return Err(OAuthError::new(
            "BAD_CLIENT_SECRET",
            "invalid_client",
            "missing or invalid client secret",
        )
        .into_response());
    }
    Ok(app)
}

fn token_response(
    grant: &Grant,
    access: &Secret,
    refresh: &Secret,
    expires_in: i64,
) -> TokenResponse {
    TokenResponse {
        access_token: access.expose().to_owned(),
        refresh_token: refresh.expose().to_owned(),
        token_type: "bearer",
        expires_in,
        hub_id: grant.account.0,
        user_id: grant.user_id,
        scopes: grant.scopes.to_vec(),
        token_use: "access_token",
    }
}

/// Exchanges an authorization code or a refresh token for an access token.
#[utoipa::path(post, path = "/oauth/v1/token", tag = "oauth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthError)))]
pub async fn create(
    State(state): State<AppState>,
    form: Result<Form<TokenRequest>, ApiError>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        // An oversized body keeps the standard 413; any other unreadable form is an OAuth error.
        Err(e) if e.category == crate::error::Category::PayloadTooLarge => {
            return e.into_response()
        }
        Err(e) => {
            return OAuthError::new("BAD_REQUEST", "invalid_request", e.message).into_response()
        }
    };
    let now = Utc::now();
    match required(&form.grant_type) {
        Some("refresh_token") => {
            let app = match authenticate_client(&state, &form).await {
                Ok(app) => app,
                Err(response) => return response,
            };
            let Some(refresh) = required(&form.refresh_token).map(Secret::new) else {
                return OAuthError::new(
                    "BAD_REFRESH_TOKEN",
                    "invalid_grant",
                    "missing or invalid refresh token",
                )
                .into_response();
            };
            let issued = issue_tokens(&state, now);
            match state
                .store
                .refresh_access_token(
                    app.id,
                    &refresh.hash(),
                    &issued.stored.access,
                    issued.stored.access_expires_at,
                    now,
                )
                .await
            {
                Ok(grant) => axum::Json(token_response(
                    &grant,
                    &issued.access,
                    &refresh,
                    issued.expires_in,
                ))
                .into_response(),
                Err(StoreError::NotFound) => OAuthError::new(
                    "BAD_REFRESH_TOKEN",
                    "invalid_grant",
                    "refresh token is invalid, expired or revoked",
                )
                .into_response(),
                Err(e) => ApiError::from(e).into_response(),
            }
        }
        Some("authorization_code") => {
            let app = match authenticate_client(&state, &form).await {
                Ok(app) => app,
                Err(response) => return response,
            };
            let redirect_uri =
                match required(&form.redirect_uri).map(|r| parse_redirect_uri("redirect_uri", r)) {
                    Some(Ok(uri)) => uri,
                    Some(Err(e)) => {
                        return OAuthError::new("BAD_REDIRECT_URI", "invalid_request", e.message)
                            .into_response()
                    }
                    None => {
                        return OAuthError::new(
                            "BAD_REDIRECT_URI",
                            "invalid_request",
                            "missing redirect_uri",
                        )
                        .into_response()
                    }
                };
            let Some(code) = required(&form.code).map(Secret::new) else {
                return OAuthError::new("BAD_AUTH_CODE", "invalid_grant", "missing code")
                    .into_response();
            };
            let issued = issue_tokens(&state, now);
            match state
                .store
                .redeem_authorization_code(app.id, &code.hash(), &redirect_uri, &issued.stored, now)
                .await
            {
                Ok(grant) => axum::Json(token_response(&grant, &issued.access, &issued.refresh, issued.expires_in))
                    .into_response(),
                Err(StoreError::NotFound) => OAuthError::new(
                    "BAD_AUTH_CODE",
                    "invalid_grant",
                    "authorization code is invalid, expired, already used, or was issued for another redirect_uri",
                )
                .into_response(),
                Err(e) => ApiError::from(e).into_response(),
            }
        }
        Some(other) => OAuthError::new(
            "BAD_GRANT_TYPE",
            "unsupported_grant_type",
            format!(
                "grant_type \"{other}\" is not supported; use authorization_code or refresh_token"
            ),
        )
        .into_response(),
        None => OAuthError::new(
            "BAD_GRANT_TYPE",
            "invalid_request",
            "missing grant_type; use authorization_code or refresh_token",
        )
        .into_response(),
    }
}

/// What an access token grants and how long it has left.
#[utoipa::path(get, path = "/oauth/v1/access-tokens/{token}", tag = "oauth",
    params(("token" = String, Path, description = "The access token")),
    responses((status = 200, body = AccessTokenInfo), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_access_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<axum::Json<AccessTokenInfo>, ApiError> {
    let hash = Secret::new(token.clone()).hash();
    let found = state.store.access_token(&hash).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("The access token is unknown or was revoked."),
        e => e.into(),
    })?;
    // The same rule as authentication (`expires_at <= now` is expired); the seconds left are
    // rounded up so a token that still works never reports 0.
    let left_ms = (found.expires_at - Utc::now()).num_milliseconds();
    if left_ms <= 0 {
        return Err(ApiError::not_found(
            "The access token has expired; refresh it with POST /oauth/v1/token.",
        ));
    }
    let left = (left_ms + 999) / 1000;
    let g = found.grant;
    Ok(axum::Json(AccessTokenInfo {
        token,
        user: g.user,
        hub_domain: hub_domain(g.account),
        scopes: g.scopes.to_vec(),
        hub_id: g.account.0,
        app_id: g.app.0,
        expires_in: left,
        user_id: g.user_id,
        token_type: "access",
        is_private_distribution: false,
    }))
}

/// What a refresh token grants.
#[utoipa::path(get, path = "/oauth/v1/refresh-tokens/{token}", tag = "oauth",
    params(("token" = String, Path, description = "The refresh token")),
    responses((status = 200, body = RefreshTokenInfo), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_refresh_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<axum::Json<RefreshTokenInfo>, ApiError> {
    let hash = Secret::new(token.clone()).hash();
    let found = state
        .store
        .refresh_token(&hash)
        .await
        .map_err(refresh_not_found)?;
    let g = found.grant;
    Ok(axum::Json(RefreshTokenInfo {
        token,
        user: g.user,
        hub_domain: hub_domain(g.account),
        scopes: g.scopes.to_vec(),
        hub_id: g.account.0,
        client_id: found.client_id,
        user_id: g.user_id,
        token_type: "refresh",
    }))
}

/// Revokes a refresh token and every access token issued from it.
#[utoipa::path(delete, path = "/oauth/v1/refresh-tokens/{token}", tag = "oauth",
    params(("token" = String, Path, description = "The refresh token")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn archive_refresh_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    let hash = Secret::new(token).hash();
    state
        .store
        .revoke_refresh_token(&hash, Utc::now())
        .await
        .map_err(refresh_not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

fn refresh_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("The refresh token is unknown or was revoked."),
        e => e.into(),
    }
}
