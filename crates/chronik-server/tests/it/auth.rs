//! The authentication extractors: Bearer tokens of installs and private apps (and their
//! tenant), expiry, scopes, and developer API keys. Scopes and hapikeys are checked through a
//! small router built here on the server's own `AppState` and public extractors, since no
//! route of the server needs a scope or a hapikey yet.

use std::time::Duration;

use axum::routing::get;
use chronik_server::auth::{Caller, DeveloperKey};
use chronik_server::error::ApiError;
use chronik_server::AppState;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{read, serve_router, TestApp, TestResponse};

/// A handler that needs `crm.objects.contacts.read`, as the CRM routes will.
async fn read_contacts(caller: Caller) -> Result<axum::Json<Value>, ApiError> {
    caller.require_any(&["crm.objects.contacts.read"])?;
    Ok(axum::Json(json!({
        "portalId": caller.account.0,
        "appId": caller.app().map(|a| a.0),
    })))
}

/// A handler that needs either of two scopes.
async fn write_timeline(caller: Caller) -> Result<axum::Json<Value>, ApiError> {
    caller.require_any(&["timeline", "crm.objects.contacts.write"])?;
    Ok(axum::Json(json!({ "portalId": caller.account.0 })))
}

/// A handler authenticated by `?hapikey=`, as the timeline template routes will be.
async fn developer_probe(key: DeveloperKey) -> axum::Json<Value> {
    axum::Json(json!({ "appId": key.app.id.0, "clientId": key.app.client_id }))
}

/// The probe router on the same state (store, config) as `app`, with the server's telemetry
/// middleware so that errors carry the correlation header.
struct Probe {
    address: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Probe {
    async fn start(state: AppState) -> Probe {
        let router = axum::Router::new()
            .route("/probe/contacts", get(read_contacts))
            .route("/probe/timeline", get(write_timeline))
            .route("/probe/developer", get(developer_probe))
            .layer(axum::middleware::from_fn(chronik_server::telemetry::track))
            .with_state(state);
        let (address, shutdown) = serve_router(router).await;
        Probe {
            address,
            _shutdown: shutdown,
        }
    }

    async fn get(&self, app: &TestApp, path_and_query: &str, bearer: Option<&str>) -> TestResponse {
        let mut request = app.client.get(format!("{}{path_and_query}", self.address));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("probe answers")).await
    }
}

#[tokio::test]
async fn account_details_without_credentials_is_401_with_hubspots_message() {
    let app = TestApp::spawn().await;
    let response = app.account_details(None).await;
    response.assert_api_error(401, "INVALID_AUTHENTICATION");
    assert!(
        response
            .str("message")
            .starts_with("Authentication credentials not found."),
        "{}",
        response.text
    );
}

#[tokio::test]
async fn unknown_or_malformed_bearer_credentials_are_401() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let token = app.new_private_app(portal_id, &[]).await;

    for (description, header) in [
        ("unknown token", "Bearer pat-na1-00000000".to_owned()),
        ("empty bearer", "Bearer ".to_owned()),
        ("basic scheme", format!("Basic {token}")),
        ("no scheme", token.clone()),
        (
            "the admin token",
            format!("Bearer {}", crate::helpers::ADMIN_TOKEN),
        ),
    ] {
        let response = app
            .send(
                app.request(Method::GET, "/account-info/v3/details")
                    .header("authorization", header),
            )
            .await;
        assert_eq!(
            response.status.as_u16(),
            401,
            "{description}: {}",
            response.text
        );
        response.assert_api_error(401, "INVALID_AUTHENTICATION");
    }

    // The scheme is case-insensitive.
    let response = app
        .send(
            app.request(Method::GET, "/account-info/v3/details")
                .header("authorization", format!("bearer {token}")),
        )
        .await;
    response.assert_status(200);
}

#[tokio::test]
async fn account_details_describe_the_tokens_own_account() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let token = app.new_private_app(portal_id, &[]).await;

    let response = app.account_details(Some(&token)).await;
    response.assert_status(200).assert_json_content_type();
    assert_eq!(
        response.body,
        json!({
            "portalId": portal_id,
            "accountType": "STANDARD",
            "timeZone": "UTC",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": "+00:00",
            "utcOffsetMilliseconds": 0,
            "uiDomain": "localhost",
            "dataHostingLocation": "local",
        })
    );
}

#[tokio::test]
async fn private_app_token_of_one_account_never_sees_another() {
    let app = TestApp::spawn().await;
    let a = app.new_account("A").await;
    let b = app.new_account("B").await;
    let token_a = app.new_private_app(a, &["crm.objects.contacts.read"]).await;
    let token_b = app.new_private_app(b, &["crm.objects.contacts.read"]).await;

    let seen_a = app.account_details(Some(&token_a)).await;
    seen_a.assert_status(200);
    assert_eq!(seen_a.int("portalId"), a);
    let seen_b = app.account_details(Some(&token_b)).await;
    seen_b.assert_status(200);
    assert_eq!(seen_b.int("portalId"), b);
}

#[tokio::test]
async fn install_token_of_one_account_never_sees_another_even_for_the_same_app() {
    let app = TestApp::spawn().await;
    let a = app.new_account("A").await;
    let b = app.new_account("B").await;
    let creds = app.new_app("App").await;
    let in_a = app.new_install(&creds, a, &["oauth"]).await;
    let in_b = app.new_install(&creds, b, &["oauth"]).await;

    let seen_a = app.account_details(Some(&in_a.access_token)).await;
    seen_a.assert_status(200);
    assert_eq!(seen_a.int("portalId"), a);
    let seen_b = app.account_details(Some(&in_b.access_token)).await;
    seen_b.assert_status(200);
    assert_eq!(seen_b.int("portalId"), b);

    // A refreshed token stays in its install's account.
    let refreshed = app
        .token_refresh(&creds.client_id, &creds.client_secret, &in_b.refresh_token)
        .await;
    refreshed.assert_status(200);
    assert_eq!(refreshed.int("hub_id"), b);
    let seen = app
        .account_details(Some(refreshed.str("access_token")))
        .await;
    assert_eq!(seen.int("portalId"), b);
}

#[tokio::test]
async fn expired_access_token_is_401_expired_authentication_and_unknown_to_introspection() {
    let app = TestApp::spawn_with(|c| c.access_token_ttl = Duration::from_secs(1)).await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let installed = app
        .install(
            creds.app_id,
            &json!({ "portalId": portal_id, "scopes": ["oauth"] }),
        )
        .await;
    installed.assert_status(201);
    assert_eq!(installed.int("expiresIn"), 1);
    let access = installed.str("accessToken").to_owned();
    let refresh = installed.str("refreshToken").to_owned();

    // The only sleep of the suite: a token's lifetime is wall-clock time.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let response = app.account_details(Some(&access)).await;
    response.assert_api_error(401, "EXPIRED_AUTHENTICATION");
    assert!(
        response.str("message").contains("/oauth/v1/token"),
        "says how to refresh: {}",
        response.text
    );
    app.access_token_info(&access)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    // The refresh token outlives its access tokens.
    let refreshed = app
        .token_refresh(&creds.client_id, &creds.client_secret, &refresh)
        .await;
    refreshed.assert_status(200);
    assert_eq!(refreshed.int("expires_in"), 1);
    app.refresh_token_info(&refresh).await.assert_status(200);
}

#[tokio::test]
async fn missing_scope_is_403_naming_the_required_scopes() {
    let app = TestApp::spawn().await;
    let probe = Probe::start(app.state.clone()).await;
    let portal_id = app.new_account("Acme").await;
    let without = app.new_private_app(portal_id, &["timeline"]).await;
    let with = app
        .new_private_app(portal_id, &["crm.objects.contacts.read"])
        .await;

    let refused = probe.get(&app, "/probe/contacts", Some(&without)).await;
    refused.assert_api_error(403, "MISSING_SCOPES");
    assert_eq!(
        refused.errors()[0]["context"]["requiredGranularScopes"],
        json!(["crm.objects.contacts.read"])
    );
    assert!(
        refused.str("message").contains("crm.objects.contacts.read"),
        "{}",
        refused.text
    );

    let allowed = probe.get(&app, "/probe/contacts", Some(&with)).await;
    allowed.assert_status(200);
    assert_eq!(
        allowed.body,
        json!({ "portalId": portal_id, "appId": null })
    );

    // Any one of several scopes is enough; all of them are named when none is granted.
    probe
        .get(&app, "/probe/timeline", Some(&without))
        .await
        .assert_status(200);
    let refused = probe.get(&app, "/probe/timeline", Some(&with)).await;
    refused.assert_api_error(403, "MISSING_SCOPES");
    assert_eq!(
        refused.errors()[0]["context"]["requiredGranularScopes"],
        json!(["timeline", "crm.objects.contacts.write"])
    );
}

#[tokio::test]
async fn install_token_carries_its_app_and_its_scopes() {
    let app = TestApp::spawn().await;
    let probe = Probe::start(app.state.clone()).await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let tokens = app
        .new_install(&creds, portal_id, &["crm.objects.contacts.read"])
        .await;

    let allowed = probe
        .get(&app, "/probe/contacts", Some(&tokens.access_token))
        .await;
    allowed.assert_status(200);
    assert_eq!(
        allowed.body,
        json!({ "portalId": portal_id, "appId": creds.app_id })
    );
    probe
        .get(&app, "/probe/timeline", Some(&tokens.access_token))
        .await
        .assert_api_error(403, "MISSING_SCOPES");

    // Unauthenticated beats unauthorized.
    probe
        .get(&app, "/probe/contacts", None)
        .await
        .assert_api_error(401, "INVALID_AUTHENTICATION");
}

#[tokio::test]
async fn developer_key_authenticates_its_app_and_nothing_else() {
    let app = TestApp::spawn().await;
    let probe = Probe::start(app.state.clone()).await;
    let creds = app.new_app("App").await;
    let other = app.new_app("Other").await;

    let allowed = probe
        .get(
            &app,
            &format!("/probe/developer?hapikey={}", creds.developer_api_key),
            None,
        )
        .await;
    allowed.assert_status(200);
    assert_eq!(
        allowed.body,
        json!({ "appId": creds.app_id, "clientId": creds.client_id })
    );
    let allowed = probe
        .get(
            &app,
            &format!(
                "/probe/developer?limit=5&hapikey={}",
                other.developer_api_key
            ),
            None,
        )
        .await;
    allowed.assert_status(200);
    assert_eq!(allowed.body["appId"], other.app_id);

    for (description, query) in [
        ("no query", String::new()),
        ("no hapikey", "?limit=5".to_owned()),
        (
            "unknown key",
            "?hapikey=00000000-0000-0000-0000-000000000000".to_owned(),
        ),
        (
            "client secret as key",
            format!("?hapikey={}", creds.client_secret),
        ),
        ("empty key", "?hapikey=".to_owned()),
    ] {
        let response = probe
            .get(&app, &format!("/probe/developer{query}"), None)
            .await;
        assert_eq!(
            response.status.as_u16(),
            401,
            "{description}: {}",
            response.text
        );
        response.assert_api_error(401, "INVALID_AUTHENTICATION");
        assert!(
            response.str("message").contains("hapikey"),
            "{description}: {}",
            response.text
        );
    }

    // A Bearer token is no developer key.
    let portal_id = app.new_account("Acme").await;
    let token = app.new_private_app(portal_id, &[]).await;
    probe
        .get(&app, "/probe/developer", Some(&token))
        .await
        .assert_api_error(401, "INVALID_AUTHENTICATION");
}
