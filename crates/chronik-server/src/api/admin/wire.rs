//! Request and response shapes of `/admin/v1` (camelCase, like HubSpot's own APIs).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST /admin/v1/accounts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountIn {
    /// Display name, 1 to 200 characters.
    pub name: Option<String>,
}

/// An account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountOut {
    /// HubSpot's portal id.
    pub portal_id: i64,
    /// Display name.
    pub name: String,
    /// The IANA time zone its dates render in (default `UTC`).
    pub time_zone: String,
    /// When it was created.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
}

/// `PATCH /admin/v1/accounts/{portalId}`: what to change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountPatch {
    /// The IANA time zone the account's dates render in, such as `Europe/Berlin` or `UTC`.
    pub time_zone: Option<String>,
}

/// A list of accounts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountsOut {
    /// Every account, oldest first.
    pub results: Vec<AccountOut>,
}

/// `POST /admin/v1/accounts/{portalId}/private-apps`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateAppIn {
    /// Display name.
    pub name: Option<String>,
    /// Scopes, as HubSpot names them.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A new private app and its token (shown only here).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrivateAppOut {
    /// The private app's id.
    pub id: i64,
    /// The account it acts in.
    pub portal_id: i64,
    /// Display name.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Its Bearer token. Not retrievable later.
    pub token: String,
    /// When it was created.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
}

/// `POST /admin/v1/apps`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppIn {
    /// Display name.
    pub name: Option<String>,
}

/// A new app and its credentials (shown only here).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppOut {
    /// HubSpot's app id.
    pub app_id: i64,
    /// Display name.
    pub name: String,
    /// The developer API key, sent as `hapikey`.
    pub developer_api_key: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: String,
    /// When it was created.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
}

/// `POST /admin/v1/apps/{appId}/installs`: install the app into an account.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallIn {
    /// The account to install into.
    pub portal_id: Option<i64>,
    /// The scopes the install grants.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The installing user's email (reported as `user` in token info).
    pub user: Option<String>,
    /// The installing user's id (reported as `user_id`).
    pub user_id: Option<i64>,
}

/// The tokens of a new install (shown only here).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallOut {
    /// The account.
    pub portal_id: i64,
    /// The app.
    pub app_id: i64,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// OAuth access token (Bearer).
    pub access_token: String,
    /// OAuth refresh token.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// `"bearer"`.
    pub token_type: &'static str,
}

/// `POST /admin/v1/apps/{appId}/authorization-codes`: what a user's consent would produce.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizationCodeIn {
    /// The account the user installs into.
    pub portal_id: Option<i64>,
    /// The scopes consented to.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The redirect URI the token exchange must repeat.
    pub redirect_uri: Option<String>,
    /// The consenting user's email.
    pub user: Option<String>,
    /// The consenting user's id.
    pub user_id: Option<i64>,
}

/// A one-time authorization code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationCodeOut {
    /// Exchange it at `POST /oauth/v1/token` with `grant_type=authorization_code`.
    pub code: String,
    /// The redirect URI to repeat.
    pub redirect_uri: String,
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

/// `POST /admin/v1/accounts/{portalId}/visitors`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VisitorIn {
    /// The visitor token (`hubspotutk` cookie).
    pub utk: Option<String>,
    /// The email the visitor identified with.
    pub email: Option<String>,
}

/// The contact a visitor token now belongs to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VisitorOut {
    /// The account.
    pub portal_id: i64,
    /// The visitor token.
    pub utk: String,
    /// The email as sent.
    pub email: String,
    /// The contact's id.
    pub contact_id: String,
    /// Whether this call created the contact.
    pub contact_created: bool,
}

/// An app's icon after `PUT /admin/v1/apps/{appId}/icon`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppIconOut {
    /// The app.
    pub app_id: i64,
    /// The upload's media type, `image/png` or `image/svg+xml`.
    pub content_type: String,
    /// The upload's size in bytes.
    pub original_bytes: u64,
    /// The served rendition's width in pixels (30).
    pub width: u32,
    /// The served rendition's height in pixels (30).
    pub height: u32,
    /// Where cards load the icon from (no credentials needed).
    pub icon_url: String,
    /// When it was uploaded.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}
