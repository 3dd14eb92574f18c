//! Apps, installs and authorization codes.

use axum::extract::State;
use axum::http::StatusCode;
use chronik_domain::tenancy::{
    parse_name, parse_redirect_uri, Email, Scopes, AUTHORIZATION_CODE_TTL, DEFAULT_INSTALLER_EMAIL,
    DEFAULT_INSTALLER_USER_ID,
};
use chronik_domain::{AccountId, AppId, DomainError, Problems, Secret, ValidationError};
use chronik_store::{Grant, NewApp, NewAuthorizationCode, StoreError};
use chrono::Utc;

use super::accounts::both;
use super::wire::*;
use crate::api::oauth::issue_tokens;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// Creates an app with a developer API key and OAuth client credentials, shown only here.
#[utoipa::path(post, path = "/admin/v1/apps", tag = "admin", security(("admin" = [])),
    request_body = AppIn,
    responses((status = 201, body = AppOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_app(
    _: Admin,
    State(state): State<AppState>,
    Json(body): Json<AppIn>,
) -> Result<(StatusCode, axum::Json<AppOut>), ApiError> {
    let name = parse_name("name", body.name.as_deref())?;
    let developer_key = Secret::generate_uuid_shaped();
    let client_secret = Secret::generate_uuid_shaped();
    let client_id = Secret::generate_uuid_shaped().expose().to_owned();
    let app = state
        .store
        .create_app(
            NewApp {
                name,
                developer_key: developer_key.hash(),
                client_id,
                client_secret: client_secret.hash(),
            },
            Utc::now(),
        )
        .await?;
    tracing::info!(app = %app.id, "app created");
    Ok((
        StatusCode::CREATED,
        axum::Json(AppOut {
            app_id: app.id.0,
            name: app.name,
            developer_api_key: developer_key.expose().to_owned(),
            client_id: app.client_id,
            client_secret: client_secret.expose().to_owned(),
            created_at: app.created_at,
        }),
    ))
}

/// Parses who installs what where; every problem is reported.
fn parse_grant(
    app: AppId,
    portal_id: Option<i64>,
    scopes: &[String],
    user: Option<&str>,
    user_id: Option<i64>,
) -> Result<Grant, DomainError> {
    let mut problems = Problems::new();
    let account = match portal_id {
        Some(id) => Some(AccountId(id)),
        None => {
            problems.push(ValidationError::required("portalId"));
            None
        }
    };
    let user = match user {
        Some(raw) => match Email::parse("user", raw) {
            Ok(e) => e.as_str().to_owned(),
            Err(e) => {
                problems.push(e);
                String::new()
            }
        },
        None => DEFAULT_INSTALLER_EMAIL.to_owned(),
    };
    let parsed = match Scopes::parse("scopes", scopes) {
        Ok(s) => s,
        Err(DomainError::Invalid(errors)) => {
            errors.into_iter().for_each(|e| problems.push(e));
            Scopes::default()
        }
        Err(e) => return Err(e),
    };
    problems.finish(())?;
    Ok(Grant {
        account: account.expect("a missing portalId was reported above"),
        app,
        scopes: parsed,
        user,
        user_id: user_id.unwrap_or(DEFAULT_INSTALLER_USER_ID),
    })
}

fn install_not_found(grant: &Grant) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(format!(
            "App {} or account (portalId) {} does not exist.",
            grant.app, grant.account
        )),
        e => e.into(),
    }
}

/// Installs the app into an account with the given scopes (or re-installs it with new ones) and
/// returns the install's OAuth tokens.
#[utoipa::path(post, path = "/admin/v1/apps/{appId}/installs", tag = "admin", security(("admin" = [])),
    params(("appId" = i64, Path)),
    request_body = InstallIn,
    responses((status = 201, body = InstallOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_install(
    _: Admin,
    State(state): State<AppState>,
    Path(app_id): Path<i64>,
    Json(body): Json<InstallIn>,
) -> Result<(StatusCode, axum::Json<InstallOut>), ApiError> {
    let grant = parse_grant(
        AppId(app_id),
        body.portal_id,
        &body.scopes,
        body.user.as_deref(),
        body.user_id,
    )?;
    let now = Utc::now();
    let issued = issue_tokens(&state, now);
    state
        .store
        .install_app(&grant, &issued.stored, now)
        .await
        .map_err(install_not_found(&grant))?;
    tracing::info!(app = %grant.app, account = %grant.account, "app installed");
    Ok((
        StatusCode::CREATED,
        axum::Json(InstallOut {
            portal_id: grant.account.0,
            app_id: grant.app.0,
            scopes: grant.scopes.to_vec(),
            access_token: issued.access.expose().to_owned(),
            refresh_token: issued.refresh.expose().to_owned(),
            expires_in: issued.expires_in,
            token_type: "bearer",
        }),
    ))
}

/// Issues a one-time authorization code, as a user's consent on HubSpot's install page would;
/// the app exchanges it at `POST /oauth/v1/token`.
#[utoipa::path(post, path = "/admin/v1/apps/{appId}/authorization-codes", tag = "admin", security(("admin" = [])),
    params(("appId" = i64, Path)),
    request_body = AuthorizationCodeIn,
    responses((status = 201, body = AuthorizationCodeOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_authorization_code(
    _: Admin,
    State(state): State<AppState>,
    Path(app_id): Path<i64>,
    Json(body): Json<AuthorizationCodeIn>,
) -> Result<(StatusCode, axum::Json<AuthorizationCodeOut>), ApiError> {
    let redirect = match body.redirect_uri.as_deref() {
        Some(raw) => parse_redirect_uri("redirectUri", raw).map_err(DomainError::from),
        None => Err(ValidationError::required("redirectUri").into()),
    };
    let grant = parse_grant(
        AppId(app_id),
        body.portal_id,
        &body.scopes,
        body.user.as_deref(),
        body.user_id,
    );
    let (grant, redirect_uri) = both(grant, redirect)?;
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(AUTHORIZATION_CODE_TTL)
        .expect("ten minutes fit in a chrono Duration");
    let code = Secret::generate("chronik-code-");
    state
        .store
        .create_authorization_code(
            &NewAuthorizationCode {
                code: code.hash(),
                grant: grant.clone(),
                redirect_uri: redirect_uri.clone(),
                expires_at: now + ttl,
            },
            now,
        )
        .await
        .map_err(install_not_found(&grant))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AuthorizationCodeOut {
            code: code.expose().to_owned(),
            redirect_uri,
            expires_in: ttl.num_seconds(),
        }),
    ))
}
