//! Accounts, private apps, visitors and reset.

use axum::extract::State;
use axum::http::StatusCode;
use chronik_domain::render::parse_time_zone;
use chronik_domain::tenancy::{parse_name, parse_utk, Email, Scopes};
use chronik_domain::{AccountId, DomainError, Secret, ValidationError};
use chronik_store::{Account, NewPrivateApp, StoreError};
use chrono::Utc;

use super::wire::*;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::state::AppState;

fn account_out(a: Account) -> AccountOut {
    AccountOut {
        portal_id: a.id.0,
        name: a.name,
        time_zone: a.time_zone,
        created_at: a.created_at,
    }
}

/// Maps the store's NotFound for a path account to a message that names it.
pub(super) fn account_not_found(account: AccountId) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => {
            ApiError::not_found(format!("Account (portalId) {account} does not exist."))
        }
        e => e.into(),
    }
}

/// Creates an account.
#[utoipa::path(post, path = "/admin/v1/accounts", tag = "admin", security(("admin" = [])),
    request_body = AccountIn,
    responses((status = 201, body = AccountOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_account(
    _: Admin,
    State(state): State<AppState>,
    Json(body): Json<AccountIn>,
) -> Result<(StatusCode, axum::Json<AccountOut>), ApiError> {
    let name = parse_name("name", body.name.as_deref())?;
    let account = state.store.create_account(&name, Utc::now()).await?;
    tracing::info!(account = %account.id, "account created");
    Ok((StatusCode::CREATED, axum::Json(account_out(account))))
}

/// Lists every account.
#[utoipa::path(get, path = "/admin/v1/accounts", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = AccountsOut), (status = 401, body = ErrorBody)))]
pub async fn list_accounts(
    _: Admin,
    State(state): State<AppState>,
) -> Result<axum::Json<AccountsOut>, ApiError> {
    let accounts = state.store.list_accounts().await?;
    Ok(axum::Json(AccountsOut {
        results: accounts.into_iter().map(account_out).collect(),
    }))
}

/// One account.
#[utoipa::path(get, path = "/admin/v1/accounts/{portalId}", tag = "admin", security(("admin" = [])),
    params(("portalId" = i64, Path)),
    responses((status = 200, body = AccountOut), (status = 404, body = ErrorBody)))]
pub async fn get_account(
    _: Admin,
    State(state): State<AppState>,
    Path(portal_id): Path<i64>,
) -> Result<axum::Json<AccountOut>, ApiError> {
    let account = AccountId(portal_id);
    let found = state
        .store
        .get_account(account)
        .await
        .map_err(account_not_found(account))?;
    Ok(axum::Json(account_out(found)))
}

/// Changes an account's settings: today its time zone, which `#formatDate` renders in and
/// `/account-info/v3/details` reports (SPEC.md).
#[utoipa::path(patch, path = "/admin/v1/accounts/{portalId}", tag = "admin", security(("admin" = [])),
    params(("portalId" = i64, Path)),
    request_body = AccountPatch,
    responses((status = 200, body = AccountOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_account(
    _: Admin,
    State(state): State<AppState>,
    Path(portal_id): Path<i64>,
    Json(body): Json<AccountPatch>,
) -> Result<axum::Json<AccountOut>, ApiError> {
    let account = AccountId(portal_id);
    let tz = match body.time_zone.as_deref() {
        Some(name) => parse_time_zone("timeZone", name).map_err(DomainError::from)?,
        None => return Err(DomainError::from(ValidationError::required("timeZone")).into()),
    };
    let updated = state
        .store
        .set_account_time_zone(account, tz.name())
        .await
        .map_err(account_not_found(account))?;
    state.time_zones.forget(account);
    tracing::info!(account = %account, time_zone = tz.name(), "account time zone set");
    Ok(axum::Json(account_out(updated)))
}

/// Creates a private app in an account; its token is in the response and nowhere else.
#[utoipa::path(post, path = "/admin/v1/accounts/{portalId}/private-apps", tag = "admin", security(("admin" = [])),
    params(("portalId" = i64, Path)),
    request_body = PrivateAppIn,
    responses((status = 201, body = PrivateAppOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_private_app(
    _: Admin,
    State(state): State<AppState>,
    Path(portal_id): Path<i64>,
    Json(body): Json<PrivateAppIn>,
) -> Result<(StatusCode, axum::Json<PrivateAppOut>), ApiError> {
    let account = AccountId(portal_id);
    let (name, scopes) = both(
        parse_name("name", body.name.as_deref()),
        Scopes::parse("scopes", &body.scopes),
    )?;
    let token = Secret::generate("pat-na1-");
    let app = state
        .store
        .create_private_app(
            account,
            NewPrivateApp {
                name,
                scopes,
                token: token.hash(),
            },
            Utc::now(),
        )
        .await
        .map_err(account_not_found(account))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PrivateAppOut {
            id: app.id.0,
            portal_id: app.account.0,
            name: app.name,
            scopes: app.scopes.to_vec(),
            token: token.expose().to_owned(),
            created_at: app.created_at,
        }),
    ))
}

/// Links a visitor token to the contact with this email, creating the contact when needed, as
/// HubSpot's tracking code does when a visitor identifies.
#[utoipa::path(post, path = "/admin/v1/accounts/{portalId}/visitors", tag = "admin", security(("admin" = [])),
    params(("portalId" = i64, Path)),
    request_body = VisitorIn,
    responses((status = 200, body = VisitorOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn link_visitor(
    _: Admin,
    State(state): State<AppState>,
    Path(portal_id): Path<i64>,
    Json(body): Json<VisitorIn>,
) -> Result<axum::Json<VisitorOut>, ApiError> {
    let account = AccountId(portal_id);
    let utk = match body.utk.as_deref() {
        Some(raw) => parse_utk("utk", raw).map_err(DomainError::from),
        None => Err(ValidationError::required("utk").into()),
    };
    let email = match body.email.as_deref() {
        Some(raw) => Email::parse("email", raw).map_err(DomainError::from),
        None => Err(ValidationError::required("email").into()),
    };
    let (utk, email) = both(utk, email)?;
    let link = state
        .store
        .link_visitor(account, &utk, &email, Utc::now())
        .await
        .map_err(account_not_found(account))?;
    Ok(axum::Json(VisitorOut {
        portal_id,
        utk,
        email: email.as_str().to_owned(),
        contact_id: link.contact.to_string(),
        contact_created: link.contact_created,
    }))
}

/// Deletes the account's records and events; its apps, installs and tokens stay.
#[utoipa::path(post, path = "/admin/v1/accounts/{portalId}/reset", tag = "admin", security(("admin" = [])),
    params(("portalId" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn reset_account(
    _: Admin,
    State(state): State<AppState>,
    Path(portal_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let account = AccountId(portal_id);
    state
        .store
        .reset_account(account)
        .await
        .map_err(account_not_found(account))?;
    tracing::info!(account = %account, "account reset");
    Ok(StatusCode::NO_CONTENT)
}

/// Combines two independent parses so that the problems of both are reported together.
pub(super) fn both<A, B>(
    a: Result<A, DomainError>,
    b: Result<B, DomainError>,
) -> Result<(A, B), DomainError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(DomainError::Invalid(mut x)), Err(DomainError::Invalid(y))) => {
            x.extend(y);
            Err(DomainError::Invalid(x))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}
