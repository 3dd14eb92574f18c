//! `/oauth/v1`: both grants with every refusal in the OAuth error shape (api-reference §4.5),
//! token introspection with HubSpot's field names (§6), revocation, and credentials stored
//! only as hashes.

use serde_json::json;

use chronik_domain::Secret;

use crate::helpers::{keys, AppCreds, TestApp, ADMIN_TOKEN};

const REDIRECT_URI: &str = "https://app.example/oauth/callback";

/// An account, an app and a fresh authorization code for it.
async fn code_setup(app: &TestApp) -> (i64, AppCreds, String) {
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let code = app.new_code(&creds, portal_id, REDIRECT_URI).await;
    (portal_id, creds, code)
}

/// The authorization-code story, on whichever backend `app` runs.
async fn authorization_code_story(app: &TestApp) {
    let (portal_id, creds, code) = code_setup(app).await;

    let response = app
        .token_code(
            &creds.client_id,
            &creds.client_secret,
            &code,
            Some(REDIRECT_URI),
        )
        .await;
    response.assert_status(200).assert_json_content_type();
    assert_eq!(
        keys(&response.body),
        [
            "access_token",
            "expires_in",
            "hub_id",
            "refresh_token",
            "scopes",
            "token_type",
            "token_use",
            "user_id"
        ]
    );
    assert_eq!(response.str("token_type"), "bearer");
    assert_eq!(response.int("expires_in"), 600);
    assert_eq!(response.int("hub_id"), portal_id);
    assert_eq!(response.int("user_id"), 1);
    assert_eq!(response.str("token_use"), "access_token");
    assert_eq!(
        response.body["scopes"],
        json!(["crm.objects.contacts.read", "oauth"])
    );
    let access = response.str("access_token");
    assert!(access.starts_with("chronik-at-na1-"), "{access}");
    assert!(response.str("refresh_token").starts_with("chronik-rt-na1-"));

    let details = app.account_details(Some(access)).await;
    details.assert_status(200);
    assert_eq!(details.int("portalId"), portal_id);

    let again = app
        .token_code(
            &creds.client_id,
            &creds.client_secret,
            &code,
            Some(REDIRECT_URI),
        )
        .await;
    again.assert_oauth_error("BAD_AUTH_CODE", "invalid_grant");
}

#[tokio::test]
async fn authorization_code_is_exchanged_once_for_working_tokens() {
    let app = TestApp::spawn().await;
    authorization_code_story(&app).await;
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn authorization_code_is_exchanged_once_for_working_tokens_on_postgres() {
    let app =
        TestApp::spawn_postgres("oauth::authorization_code_is_exchanged_once_on_postgres").await;
    authorization_code_story(&app).await;
}

#[tokio::test]
async fn authorization_code_with_another_redirect_uri_is_refused() {
    let app = TestApp::spawn().await;
    let (_, creds, code) = code_setup(&app).await;

    for other in [
        "https://app.example/oauth/other",
        "https://app.example/oauth/callback/",
        "http://app.example/oauth/callback",
    ] {
        let response = app
            .token_code(&creds.client_id, &creds.client_secret, &code, Some(other))
            .await;
        response.assert_oauth_error("BAD_AUTH_CODE", "invalid_grant");
        assert!(
            response.str("message").contains("redirect_uri"),
            "{}",
            response.text
        );
    }
}

#[tokio::test]
async fn authorization_code_without_or_with_an_invalid_redirect_uri_is_bad_redirect_uri() {
    let app = TestApp::spawn().await;
    let (_, creds, code) = code_setup(&app).await;

    let missing = app
        .token_code(&creds.client_id, &creds.client_secret, &code, None)
        .await;
    missing.assert_oauth_error("BAD_REDIRECT_URI", "invalid_request");
    assert!(missing.str("message").contains("redirect_uri"));

    let empty = app
        .token_code(&creds.client_id, &creds.client_secret, &code, Some(""))
        .await;
    empty.assert_oauth_error("BAD_REDIRECT_URI", "invalid_request");

    let invalid = app
        .token_code(
            &creds.client_id,
            &creds.client_secret,
            &code,
            Some("ftp://x/cb"),
        )
        .await;
    invalid.assert_oauth_error("BAD_REDIRECT_URI", "invalid_request");
    assert!(invalid.str("message").contains("redirect_uri"));

    // None of these used the code up.
    app.token_code(
        &creds.client_id,
        &creds.client_secret,
        &code,
        Some(REDIRECT_URI),
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn missing_unknown_or_foreign_authorization_code_is_bad_auth_code() {
    let app = TestApp::spawn().await;
    let (_, creds, code) = code_setup(&app).await;
    let other = app.new_app("Other").await;

    let missing = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await;
    missing.assert_oauth_error("BAD_AUTH_CODE", "invalid_grant");
    assert!(missing.str("message").contains("code"));

    app.token_code(
        &creds.client_id,
        &creds.client_secret,
        "chronik-code-unknown",
        Some(REDIRECT_URI),
    )
    .await
    .assert_oauth_error("BAD_AUTH_CODE", "invalid_grant");

    // Another app cannot redeem this app's code, even with its own valid credentials.
    app.token_code(
        &other.client_id,
        &other.client_secret,
        &code,
        Some(REDIRECT_URI),
    )
    .await
    .assert_oauth_error("BAD_AUTH_CODE", "invalid_grant");
    app.token_code(
        &creds.client_id,
        &creds.client_secret,
        &code,
        Some(REDIRECT_URI),
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn refresh_grant_issues_a_new_access_token_and_keeps_the_refresh_token() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let tokens = app
        .new_install(&creds, portal_id, &["oauth", "timeline"])
        .await;

    let response = app
        .token_refresh(
            &creds.client_id,
            &creds.client_secret,
            &tokens.refresh_token,
        )
        .await;
    response.assert_status(200).assert_json_content_type();
    assert_eq!(response.str("token_type"), "bearer");
    assert_eq!(response.int("expires_in"), 600);
    assert_eq!(response.int("hub_id"), portal_id);
    assert_eq!(response.body["scopes"], json!(["oauth", "timeline"]));
    assert_eq!(
        response.str("refresh_token"),
        tokens.refresh_token,
        "HubSpot keeps the refresh token"
    );
    let new_access = response.str("access_token");
    assert_ne!(new_access, tokens.access_token);

    let details = app.account_details(Some(new_access)).await;
    details.assert_status(200);
    assert_eq!(details.int("portalId"), portal_id);
    let info = app.access_token_info(new_access).await;
    info.assert_status(200);
    assert_eq!(info.int("app_id"), creds.app_id);
}

#[tokio::test]
async fn refresh_grant_with_a_wrong_or_missing_client_secret_is_bad_client_secret() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let other = app.new_app("Other").await;
    let tokens = app.new_install(&creds, portal_id, &[]).await;

    for (description, secret) in [
        ("wrong secret", "00000000-0000-0000-0000-000000000000"),
        ("another app's secret", other.client_secret.as_str()),
        ("empty secret", ""),
    ] {
        let response = app
            .token_refresh(&creds.client_id, secret, &tokens.refresh_token)
            .await;
        assert_eq!(
            response.body["status"], "BAD_CLIENT_SECRET",
            "{description}"
        );
        response.assert_oauth_error("BAD_CLIENT_SECRET", "invalid_client");
    }
    let missing = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &creds.client_id),
            ("refresh_token", &tokens.refresh_token),
        ])
        .await;
    missing.assert_oauth_error("BAD_CLIENT_SECRET", "invalid_client");
}

#[tokio::test]
async fn unknown_or_missing_client_id_is_bad_client_id() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let tokens = app.new_install(&creds, portal_id, &[]).await;

    app.token_refresh(
        "00000000-0000-0000-0000-000000000000",
        &creds.client_secret,
        &tokens.refresh_token,
    )
    .await
    .assert_oauth_error("BAD_CLIENT_ID", "invalid_client");

    app.token(&[
        ("grant_type", "refresh_token"),
        ("client_secret", &creds.client_secret),
        ("refresh_token", &tokens.refresh_token),
    ])
    .await
    .assert_oauth_error("BAD_CLIENT_ID", "invalid_client");

    let code = app.new_code(&creds, portal_id, REDIRECT_URI).await;
    app.token_code("unknown", &creds.client_secret, &code, Some(REDIRECT_URI))
        .await
        .assert_oauth_error("BAD_CLIENT_ID", "invalid_client");
}

#[tokio::test]
async fn unsupported_or_missing_grant_type_is_bad_grant_type() {
    let app = TestApp::spawn().await;
    let creds = app.new_app("App").await;

    let unsupported = app
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
        ])
        .await;
    unsupported.assert_oauth_error("BAD_GRANT_TYPE", "unsupported_grant_type");
    assert!(
        unsupported.str("message").contains("client_credentials"),
        "names the grant type: {}",
        unsupported.text
    );

    let missing = app.token(&[("client_id", &creds.client_id)]).await;
    missing.assert_oauth_error("BAD_GRANT_TYPE", "invalid_request");
    assert!(missing.str("message").contains("grant_type"));

    let empty_body = app
        .send(
            app.request(reqwest::Method::POST, "/oauth/v1/token")
                .header("content-type", "application/x-www-form-urlencoded"),
        )
        .await;
    empty_body.assert_oauth_error("BAD_GRANT_TYPE", "invalid_request");
}

#[tokio::test]
async fn unreadable_token_form_is_an_oauth_error() {
    let app = TestApp::spawn().await;
    let repeated = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("grant_type", "authorization_code"),
        ])
        .await;
    repeated.assert_oauth_error("BAD_REQUEST", "invalid_request");
    assert!(
        repeated.str("message").contains("grant_type"),
        "{}",
        repeated.text
    );
}

#[tokio::test]
async fn missing_unknown_or_foreign_refresh_token_is_bad_refresh_token() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let other = app.new_app("Other").await;
    let tokens = app.new_install(&creds, portal_id, &[]).await;

    app.token(&[
        ("grant_type", "refresh_token"),
        ("client_id", &creds.client_id),
        ("client_secret", &creds.client_secret),
    ])
    .await
    .assert_oauth_error("BAD_REFRESH_TOKEN", "invalid_grant");

    app.token_refresh(
        &creds.client_id,
        &creds.client_secret,
        "chronik-rt-na1-unknown",
    )
    .await
    .assert_oauth_error("BAD_REFRESH_TOKEN", "invalid_grant");

    // Another app's valid credentials do not unlock this app's refresh token.
    app.token_refresh(
        &other.client_id,
        &other.client_secret,
        &tokens.refresh_token,
    )
    .await
    .assert_oauth_error("BAD_REFRESH_TOKEN", "invalid_grant");
}

#[tokio::test]
async fn revoked_refresh_token_is_refused_and_its_access_tokens_stop_working() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let tokens = app.new_install(&creds, portal_id, &[]).await;
    let refreshed = app
        .token_refresh(
            &creds.client_id,
            &creds.client_secret,
            &tokens.refresh_token,
        )
        .await;
    refreshed.assert_status(200);
    let second_access = refreshed.str("access_token").to_owned();
    // A second install's tokens are not touched by the revocation.
    let bystander = app
        .new_install(&app.new_app("Bystander").await, portal_id, &[])
        .await;

    let revoked = app.revoke_refresh_token(&tokens.refresh_token).await;
    revoked.assert_status(204);
    assert!(revoked.text.is_empty());

    let response = app
        .token_refresh(
            &creds.client_id,
            &creds.client_secret,
            &tokens.refresh_token,
        )
        .await;
    response.assert_oauth_error("BAD_REFRESH_TOKEN", "invalid_grant");
    assert!(
        response.str("message").contains("revoked"),
        "{}",
        response.text
    );

    for access in [&tokens.access_token, &second_access] {
        app.account_details(Some(access))
            .await
            .assert_api_error(401, "INVALID_AUTHENTICATION");
        app.access_token_info(access)
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
    }
    app.refresh_token_info(&tokens.refresh_token)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    app.revoke_refresh_token(&tokens.refresh_token)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    app.account_details(Some(&bystander.access_token))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn access_token_info_has_hubspots_field_names_and_values() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let installed = app
        .install(
            creds.app_id,
            &json!({
                "portalId": portal_id,
                "scopes": ["timeline", "oauth"],
                "user": "dev@example.com",
                "userId": 4242,
            }),
        )
        .await;
    installed.assert_status(201);
    let access = installed.str("accessToken");

    let info = app.access_token_info(access).await;
    info.assert_status(200).assert_json_content_type();
    assert_eq!(
        keys(&info.body),
        [
            "app_id",
            "expires_in",
            "hub_domain",
            "hub_id",
            "is_private_distribution",
            "scopes",
            "token",
            "token_type",
            "user",
            "user_id"
        ]
    );
    assert_eq!(info.str("token"), access);
    assert_eq!(info.str("user"), "dev@example.com");
    assert_eq!(
        info.str("hub_domain"),
        format!("portal-{portal_id}.chronik.local")
    );
    assert_eq!(info.body["scopes"], json!(["oauth", "timeline"]));
    assert_eq!(info.int("hub_id"), portal_id);
    assert_eq!(info.int("app_id"), creds.app_id);
    let expires_in = info.int("expires_in");
    assert!(
        (1..=600).contains(&expires_in),
        "seconds left: {expires_in}"
    );
    assert_eq!(info.int("user_id"), 4242);
    assert_eq!(info.str("token_type"), "access");
    assert_eq!(info.body["is_private_distribution"], false);
}

#[tokio::test]
async fn refresh_token_info_has_hubspots_field_names_and_values() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let code = app.new_code(&creds, portal_id, REDIRECT_URI).await;
    let exchanged = app
        .token_code(
            &creds.client_id,
            &creds.client_secret,
            &code,
            Some(REDIRECT_URI),
        )
        .await;
    exchanged.assert_status(200);
    let refresh = exchanged.str("refresh_token");

    let info = app.refresh_token_info(refresh).await;
    info.assert_status(200).assert_json_content_type();
    assert_eq!(
        keys(&info.body),
        [
            "client_id",
            "hub_domain",
            "hub_id",
            "scopes",
            "token",
            "token_type",
            "user",
            "user_id"
        ]
    );
    assert_eq!(info.str("token"), refresh);
    assert_eq!(info.str("user"), "operator@chronik.local");
    assert_eq!(
        info.str("hub_domain"),
        format!("portal-{portal_id}.chronik.local")
    );
    assert_eq!(
        info.body["scopes"],
        json!(["crm.objects.contacts.read", "oauth"])
    );
    assert_eq!(info.int("hub_id"), portal_id);
    assert_eq!(info.str("client_id"), creds.client_id);
    assert_eq!(info.int("user_id"), 1);
    assert_eq!(info.str("token_type"), "refresh");
}

#[tokio::test]
async fn unknown_tokens_are_404_on_introspection_and_revocation() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let private = app.new_private_app(portal_id, &[]).await;
    let creds = app.new_app("App").await;
    let tokens = app.new_install(&creds, portal_id, &[]).await;

    let responses = [
        (
            "unknown access",
            app.access_token_info("chronik-at-na1-nope").await,
        ),
        (
            "unknown refresh",
            app.refresh_token_info("chronik-rt-na1-nope").await,
        ),
        (
            "revoke unknown",
            app.revoke_refresh_token("chronik-rt-na1-nope").await,
        ),
        // Tokens of one kind are not the other.
        (
            "private-app token as access",
            app.access_token_info(&private).await,
        ),
        (
            "refresh as access",
            app.access_token_info(&tokens.refresh_token).await,
        ),
        (
            "access as refresh",
            app.refresh_token_info(&tokens.access_token).await,
        ),
        (
            "revoke an access token",
            app.revoke_refresh_token(&tokens.access_token).await,
        ),
    ];
    for (description, response) in responses {
        assert_eq!(
            response.status.as_u16(),
            404,
            "{description}: {}",
            response.text
        );
        response.assert_api_error(404, "OBJECT_NOT_FOUND");
    }
    // The refused revocation revoked nothing.
    app.account_details(Some(&tokens.access_token))
        .await
        .assert_status(200);
}

/// Every text value of every table of the SQLite file, read through a read-only connection.
fn sqlite_dump(path: &std::path::Path) -> String {
    use rusqlite::types::ValueRef;
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database read-only");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.iter().any(|t| t == "access_tokens"), "{tables:?}");
    let mut dump = String::new();
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                match row.get_ref(i).unwrap() {
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        dump.push_str(&String::from_utf8_lossy(t));
                    }
                    ValueRef::Integer(n) => dump.push_str(&n.to_string()),
                    ValueRef::Real(f) => dump.push_str(&f.to_string()),
                    ValueRef::Null => {}
                }
                dump.push('\n');
            }
        }
    }
    dump
}

#[tokio::test]
async fn credentials_are_stored_only_as_hashes() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let private = app.new_private_app(portal_id, &["timeline"]).await;
    let creds = app.new_app("App").await;
    let installed = app.new_install(&creds, portal_id, &["oauth"]).await;
    let code = app.new_code(&creds, portal_id, REDIRECT_URI).await;
    let exchanged = app
        .token_code(
            &creds.client_id,
            &creds.client_secret,
            &code,
            Some(REDIRECT_URI),
        )
        .await;
    exchanged.assert_status(200);
    let refreshed = app
        .token_refresh(
            &creds.client_id,
            &creds.client_secret,
            &installed.refresh_token,
        )
        .await;
    refreshed.assert_status(200);
    let unused_code = app.new_code(&creds, portal_id, REDIRECT_URI).await;

    let dump = sqlite_dump(&app.sqlite_path());
    // Every file of the data directory, byte for byte (the database, its WAL, anything else).
    let mut files = Vec::new();
    for entry in std::fs::read_dir(app.data_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    assert!(!files.is_empty());

    // The scan sees the data: the public client id is stored in clear, tokens as their hash.
    assert!(
        dump.contains(&creds.client_id),
        "the dump reads the apps table"
    );
    assert!(
        dump.contains(Secret::new(private.clone()).hash().as_str()),
        "the dump reads the token hashes"
    );
    let secrets = [
        ("private-app token", private.as_str()),
        ("client secret", creds.client_secret.as_str()),
        ("developer API key", creds.developer_api_key.as_str()),
        ("install access token", installed.access_token.as_str()),
        ("install refresh token", installed.refresh_token.as_str()),
        ("exchanged access token", exchanged.str("access_token")),
        ("exchanged refresh token", exchanged.str("refresh_token")),
        ("refreshed access token", refreshed.str("access_token")),
        ("redeemed authorization code", code.as_str()),
        ("unused authorization code", unused_code.as_str()),
        ("admin token", ADMIN_TOKEN),
    ];
    for (description, secret) in secrets {
        assert!(
            !dump.contains(secret),
            "the {description} is stored in clear"
        );
        // The random part is what makes it secret; not even that may appear.
        let tail = &secret[secret.len().saturating_sub(24)..];
        assert!(
            !dump.contains(tail),
            "part of the {description} is stored in clear"
        );
        for (file, bytes) in &files {
            assert!(
                !bytes.windows(tail.len()).any(|w| w == tail.as_bytes()),
                "the {description} is in {file}"
            );
        }
    }
}

#[tokio::test]
async fn every_token_refusal_carries_category_beside_hubspots_status_word() {
    let app = TestApp::spawn().await;
    let (portal_id, creds, code) = code_setup(&app).await;
    let tokens = app.new_install(&creds, portal_id, &[]).await;
    let id = creds.client_id.as_str();
    let secret = creds.client_secret.as_str();

    // (form, HubSpot's status word, RFC 6749 error)
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let refusals: Vec<(Form<'_>, &str, &str)> = vec![
        (
            vec![("grant_type", "refresh_token"), ("client_id", "nobody")],
            "BAD_CLIENT_ID",
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", id),
                ("client_secret", "wrong"),
                ("refresh_token", &tokens.refresh_token),
            ],
            "BAD_CLIENT_SECRET",
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", id),
                ("client_secret", secret),
                ("refresh_token", "chronik-rt-na1-unknown"),
            ],
            "BAD_REFRESH_TOKEN",
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("client_secret", secret),
                ("code", &code),
            ],
            "BAD_REDIRECT_URI",
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("client_secret", secret),
                ("code", "chronik-code-unknown"),
                ("redirect_uri", REDIRECT_URI),
            ],
            "BAD_AUTH_CODE",
            "invalid_grant",
        ),
        (
            vec![("grant_type", "password")],
            "BAD_GRANT_TYPE",
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "a"), ("grant_type", "b")],
            "BAD_REQUEST",
            "invalid_request",
        ),
    ];
    for (form, status_word, error) in refusals {
        let response = app.token(&form).await;
        response.assert_oauth_error(status_word, error);
        assert_eq!(
            keys(&response.body),
            [
                "category",
                "correlationId",
                "error",
                "error_description",
                "message",
                "status"
            ],
            "{}",
            response.text
        );
        assert_eq!(
            response.body["category"], "VALIDATION_ERROR",
            "{status_word}: {}",
            response.text
        );
    }
}
