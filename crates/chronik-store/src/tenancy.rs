//! [`TenancyStore`]: accounts, apps, installs, OAuth codes and tokens, private apps, visitor
//! tokens, the operator's reset, an account's time zone and an app's icon. Credentials are
//! stored only as [`TokenHash`]es.

use chronik_domain::tenancy::{BearerKind, Email, Scopes};
use chronik_domain::{AccountId, AppId, ObjectId, PrivateAppId, TokenHash};
use chrono::{DateTime, Utc};

use crate::StoreError;

/// An account (HubSpot's portal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// `portalId` on the wire.
    pub id: AccountId,
    /// The operator's name for it.
    pub name: String,
    /// The IANA name of the time zone its dates render in (SPEC.md: default `UTC`). The store
    /// keeps what the server checked; it does not parse it.
    pub time_zone: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The time zone of a new account and of accounts that never set one (SPEC.md).
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// An app's icon to store: the upload as sent and the rendition cards show.
#[derive(Debug, Clone)]
pub struct NewAppIcon {
    /// The upload's media type (`image/png` or `image/svg+xml`).
    pub content_type: String,
    /// The upload's bytes.
    pub original: Vec<u8>,
    /// The PNG cards show (30×30), made from the upload.
    pub rendition_png: Vec<u8>,
}

/// An app's icon as stored, without the upload's bytes (read with
/// [`TenancyStore::app_icon_original`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppIcon {
    /// The app it belongs to.
    pub app: AppId,
    /// The upload's media type.
    pub content_type: String,
    /// The upload's size in bytes.
    pub original_bytes: u64,
    /// The PNG cards show.
    pub rendition_png: Vec<u8>,
    /// When it was uploaded.
    pub updated_at: DateTime<Utc>,
}

/// The upload an app's icon was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppIconOriginal {
    /// Its media type.
    pub content_type: String,
    /// Its bytes, as sent.
    pub bytes: Vec<u8>,
}

/// A new app's credentials, already hashed except the client id (which is public).
#[derive(Debug, Clone)]
pub struct NewApp {
    /// Display name.
    pub name: String,
    /// Hash of the developer API key (`hapikey`).
    pub developer_key: TokenHash,
    /// The OAuth client id, sent in clear by clients.
    pub client_id: String,
    /// Hash of the OAuth client secret.
    pub client_secret: TokenHash,
}

/// An app as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// `appId` on the wire.
    pub id: AppId,
    /// Display name.
    pub name: String,
    /// The OAuth client id.
    pub client_id: String,
    /// Hash of the OAuth client secret, to check a token request against.
    pub client_secret: TokenHash,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A private app's token and scopes, hashed.
#[derive(Debug, Clone)]
pub struct NewPrivateApp {
    /// Display name.
    pub name: String,
    /// Granted scopes.
    pub scopes: Scopes,
    /// Hash of its Bearer token.
    pub token: TokenHash,
}

/// A private app as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateApp {
    /// The account it acts in.
    pub account: AccountId,
    /// Its id.
    pub id: PrivateAppId,
    /// Display name.
    pub name: String,
    /// Granted scopes.
    pub scopes: Scopes,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What an install grants: which app, in which account, with which scopes, installed by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The account the app is installed into.
    pub account: AccountId,
    /// The installed app.
    pub app: AppId,
    /// The scopes the install granted.
    pub scopes: Scopes,
    /// The installing user's email (`user` in token info).
    pub user: String,
    /// The installing user's id (`user_id` in token info).
    pub user_id: i64,
}

/// A freshly issued pair of tokens (hashes) and the access token's expiry.
#[derive(Debug, Clone)]
pub struct NewTokens {
    /// Hash of the access token.
    pub access: TokenHash,
    /// When the access token stops working.
    pub access_expires_at: DateTime<Utc>,
    /// Hash of the refresh token.
    pub refresh: TokenHash,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub struct NewAuthorizationCode {
    /// Hash of the code.
    pub code: TokenHash,
    /// What exchanging it will grant.
    pub grant: Grant,
    /// The redirect URI the exchange must repeat.
    pub redirect_uri: String,
    /// When it stops being exchangeable.
    pub expires_at: DateTime<Utc>,
}

/// An OAuth access token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// What it grants.
    pub grant: Grant,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// An OAuth refresh token as stored (only while not revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// What it grants.
    pub grant: Grant,
    /// The client id of the app it belongs to.
    pub client_id: String,
}

/// The version of an account's settings that checks of a write can rely on: its Bearer tokens
/// and its event definitions. Every change that could turn such a check around (a definition
/// created, changed or deleted, a token revoked) raises it in the same transaction. A caller
/// that checked a write against settings it read (or kept) at one version passes that version
/// with the write, and the store refuses the write when the account has moved on since
/// (`BatchRefusal::SettingsChanged`), so that settings kept in a node's memory never let a
/// write through that the database's current settings would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SettingsVersion(pub i64);

/// What a Bearer token may do: act in `account` as `kind` with `scopes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerGrant {
    /// The account the token acts in.
    pub account: AccountId,
    /// Install or private app.
    pub kind: BearerKind,
    /// Granted scopes.
    pub scopes: Scopes,
    /// When the token expires; `None` for private-app tokens, which do not.
    pub expires_at: Option<DateTime<Utc>>,
    /// The account's settings version when the token was read (the grant holds for as long
    /// as the version does, or until `expires_at`).
    pub settings: SettingsVersion,
}

/// The result of linking a visitor token to a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorLink {
    /// The contact the utk now belongs to.
    pub contact: ObjectId,
    /// Whether the contact was created by this call.
    pub contact_created: bool,
}

/// Accounts, apps, installs, tokens and the operator's actions.
#[async_trait::async_trait]
pub trait TenancyStore: Send + Sync {
    /// Creates an account with a fresh `portalId`.
    async fn create_account(&self, name: &str, now: DateTime<Utc>) -> Result<Account, StoreError>;

    /// One account; `NotFound` when it does not exist.
    async fn get_account(&self, account: AccountId) -> Result<Account, StoreError>;

    /// Every account, oldest first (operator only).
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Sets the account's time zone to the IANA name `time_zone` (which the caller has
    /// checked) and returns the account; `NotFound` when it does not exist.
    async fn set_account_time_zone(
        &self,
        account: AccountId,
        time_zone: &str,
    ) -> Result<Account, StoreError>;

    /// Creates a private app in `account`; `NotFound` when the account does not exist.
    async fn create_private_app(
        &self,
        account: AccountId,
        app: NewPrivateApp,
        now: DateTime<Utc>,
    ) -> Result<PrivateApp, StoreError>;

    /// Creates an app with a fresh `appId`.
    async fn create_app(&self, app: NewApp, now: DateTime<Utc>) -> Result<App, StoreError>;

    /// One app by id; `NotFound` when it does not exist.
    async fn get_app(&self, app: AppId) -> Result<App, StoreError>;

    /// The app with this OAuth client id; `NotFound` when none has it.
    async fn app_by_client_id(&self, client_id: &str) -> Result<App, StoreError>;

    /// The app whose developer API key hashes to `key`; `NotFound` when none.
    async fn app_by_developer_key(&self, key: &TokenHash) -> Result<App, StoreError>;

    /// Sets (or replaces) the app's icon; `NotFound` when the app does not exist.
    async fn set_app_icon(
        &self,
        app: AppId,
        icon: NewAppIcon,
        now: DateTime<Utc>,
    ) -> Result<AppIcon, StoreError>;

    /// The app's icon with its rendition; `NotFound` when the app has none.
    async fn app_icon(&self, app: AppId) -> Result<AppIcon, StoreError>;

    /// The upload the app's icon was made from; `NotFound` when the app has none.
    async fn app_icon_original(&self, app: AppId) -> Result<AppIconOriginal, StoreError>;

    /// Removes the app's icon; `NotFound` when the app has none.
    async fn delete_app_icon(&self, app: AppId) -> Result<(), StoreError>;

    /// Installs `grant.app` into `grant.account` (or re-installs it with the new scopes) and
    /// issues `tokens`. `NotFound` when the account or app does not exist.
    async fn install_app(
        &self,
        grant: &Grant,
        tokens: &NewTokens,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores an authorization code. `NotFound` when the account or app does not exist.
    async fn create_authorization_code(
        &self,
        code: &NewAuthorizationCode,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Exchanges a code: in one transaction marks it used and installs its grant with
    /// `tokens`. `NotFound` when the code is unknown, belongs to another app, was already
    /// used, has expired, or was issued for another redirect URI.
    async fn redeem_authorization_code(
        &self,
        app: AppId,
        code: &TokenHash,
        redirect_uri: &str,
        tokens: &NewTokens,
        now: DateTime<Utc>,
    ) -> Result<Grant, StoreError>;

    /// Issues a new access token from a refresh token of `app`. `NotFound` when the refresh
    /// token is unknown, revoked, or belongs to another app.
    async fn refresh_access_token(
        &self,
        app: AppId,
        refresh: &TokenHash,
        access: &TokenHash,
        access_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Grant, StoreError>;

    /// An access token; `NotFound` when unknown or revoked (expiry is the caller's check).
    async fn access_token(&self, token: &TokenHash) -> Result<AccessToken, StoreError>;

    /// A refresh token; `NotFound` when unknown or revoked.
    async fn refresh_token(&self, token: &TokenHash) -> Result<RefreshToken, StoreError>;

    /// Revokes a refresh token and the access tokens issued from it. `NotFound` when unknown
    /// or already revoked.
    async fn revoke_refresh_token(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// What a Bearer token (access token or private-app token) may do; `NotFound` when it is
    /// neither.
    async fn bearer(&self, token: &TokenHash) -> Result<BearerGrant, StoreError>;

    /// Links visitor token `utk` to the contact with `email` in `account`, creating the contact
    /// when none has that email (compared case-insensitively). A utk already linked elsewhere
    /// moves to this contact. `NotFound` when the account does not exist.
    async fn link_visitor(
        &self,
        account: AccountId,
        utk: &str,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<VisitorLink, StoreError>;

    /// Deletes the account's records and events (CRM records, their unique values, visitor
    /// links, custom event completions, timeline events and their stamps); keeps the account,
    /// its apps, installs and tokens, its definitions (custom properties, custom object schemas
    /// and their associations), which describe records but are not records, and the apps'
    /// timeline event types. `NotFound` when the account does not exist.
    async fn reset_account(&self, account: AccountId) -> Result<(), StoreError>;
}
