//! HubSpot's OAuth wire shapes (snake_case, as HubSpot sends them).

use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::error::Category;

/// The category (and so the HTTP status, 400) of every refused token request.
const REFUSAL: Category = Category::ValidationError;

/// The form of `POST /oauth/v1/token`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: Option<String>,
    /// The code from the authorization step (`authorization_code`).
    pub code: Option<String>,
    /// Must repeat the URI the code was issued for (`authorization_code`).
    pub redirect_uri: Option<String>,
    /// The app's client id.
    pub client_id: Option<String>,
    /// The app's client secret.
    pub client_secret: Option<String>,
    /// The refresh token (`refresh_token`).
    pub refresh_token: Option<String>,
}

/// HubSpot's `TokenResponseIF`, plus the fields of the current spec that the SDKs ignore.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The new access token.
    pub access_token: String,
    /// The refresh token (unchanged on a refresh, as in HubSpot).
    pub refresh_token: String,
    /// `"bearer"`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The account.
    pub hub_id: i64,
    /// The installing user's id.
    pub user_id: i64,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// `"access_token"`.
    pub token_use: &'static str,
}

/// HubSpot's `AccessTokenInfoResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessTokenInfo {
    /// The token asked about.
    pub token: String,
    /// The installing user's email.
    pub user: String,
    /// The account's domain.
    pub hub_domain: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The account.
    pub hub_id: i64,
    /// The app.
    pub app_id: i64,
    /// Seconds left.
    pub expires_in: i64,
    /// The installing user's id.
    pub user_id: i64,
    /// `"access"`.
    pub token_type: &'static str,
    /// Always `false`.
    pub is_private_distribution: bool,
}

/// HubSpot's `RefreshTokenInfoResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefreshTokenInfo {
    /// The token asked about.
    pub token: String,
    /// The installing user's email.
    pub user: String,
    /// The account's domain.
    pub hub_domain: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The account.
    pub hub_id: i64,
    /// The app's client id.
    pub client_id: String,
    /// The installing user's id.
    pub user_id: i64,
    /// `"refresh"`.
    pub token_type: &'static str,
}

/// The token endpoint's own error shape (api-reference §4.5): HubSpot's `status` word plus the
/// RFC 6749 `error` and `error_description`, and the `category` that HubSpot's OAuth `Error`
/// schema requires beside `message` and `correlationId`. Every refusal is HubSpot's 400
/// `VALIDATION_ERROR`; the `status` word says which check failed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthError {
    /// HubSpot's word: `BAD_REFRESH_TOKEN`, `BAD_AUTH_CODE`, `BAD_CLIENT_ID`, ...
    pub status: &'static str,
    /// What went wrong.
    pub message: String,
    /// The request's correlation id.
    pub correlation_id: String,
    /// HubSpot's error category: always `VALIDATION_ERROR`.
    pub category: &'static str,
    /// RFC 6749 error code.
    #[serde(rename = "error")]
    pub error: &'static str,
    /// RFC 6749 description (same as `message`).
    #[serde(rename = "error_description")]
    pub error_description: String,
}

impl OAuthError {
    /// An OAuth error with HubSpot's `status` word and the RFC 6749 `error`.
    pub fn new(status: &'static str, error: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        OAuthError {
            status,
            error,
            error_description: message.clone(),
            message,
            correlation_id: crate::telemetry::correlation_id().to_string(),
            category: REFUSAL.as_str(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        // HubSpot answers every refused token request with 400, invalid_client included.
        tracing::debug!(status = self.status, message = %self.message, "token request refused");
        (REFUSAL.status(), axum::Json(self)).into_response()
    }
}
