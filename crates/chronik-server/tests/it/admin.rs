//! `/admin/v1`: accounts, private apps, apps, installs, authorization codes, visitors, reset;
//! every success path and every refusal, and the admin token on every route.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{keys, TestApp, ADMIN_TOKEN};

#[tokio::test]
async fn account_is_created_then_listed_and_read_back() {
    let app = TestApp::spawn().await;

    let created = app
        .create_account(&json!({ "name": "  Acme GmbH  " }))
        .await;
    created.assert_status(201).assert_json_content_type();
    assert_eq!(
        keys(&created.body),
        ["createdAt", "name", "portalId", "timeZone"]
    );
    assert_eq!(created.str("name"), "Acme GmbH", "the name is trimmed");
    let portal_id = created.int("portalId");
    assert!(
        portal_id > 100_000,
        "portalIds look like HubSpot's: {portal_id}"
    );
    chrono::DateTime::parse_from_rfc3339(created.str("createdAt")).expect("createdAt is RFC 3339");

    let other = app.new_account("Other").await;
    assert_ne!(other, portal_id);

    let listed = app.list_accounts().await;
    listed.assert_status(200).assert_json_content_type();
    let ids: Vec<i64> = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["portalId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [portal_id, other], "oldest first");

    let read = app.get_account(portal_id).await;
    read.assert_status(200);
    assert_eq!(read.body, created.body);
}

#[tokio::test]
async fn account_name_of_200_characters_is_accepted_and_201_is_refused_naming_the_limit() {
    let app = TestApp::spawn().await;

    let at_limit = app
        .create_account(&json!({ "name": "n".repeat(200) }))
        .await;
    at_limit.assert_status(201);
    assert_eq!(at_limit.str("name").chars().count(), 200);

    // Characters, not bytes: 200 two-byte characters are still 200.
    let multibyte = app
        .create_account(&json!({ "name": "ü".repeat(200) }))
        .await;
    multibyte.assert_status(201);

    let past = app
        .create_account(&json!({ "name": "n".repeat(201) }))
        .await;
    past.assert_api_error(400, "VALIDATION_ERROR");
    let error = past.error_in("name");
    assert_eq!(error["code"], "TOO_LONG");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("201"), "names the length: {message}");
    assert!(message.contains("200"), "names the limit: {message}");
}

#[tokio::test]
async fn account_without_a_name_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (description, body) in [
        ("no name", json!({})),
        ("null name", json!({ "name": null })),
        ("empty name", json!({ "name": "" })),
        ("blank name", json!({ "name": "   " })),
    ] {
        let response = app.create_account(&body).await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(
            response.errors().len(),
            1,
            "{description}: {}",
            response.text
        );
        assert_eq!(
            response.error_in("name")["code"],
            "REQUIRED",
            "{description}"
        );
    }
}

#[tokio::test]
async fn names_with_nul_escape_or_bidi_controls_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (bad, code_point) in [
        ("Acme\u{0}Corp", "U+0000"),
        ("\u{1b}[31mAcme", "U+001B"),
        ("\u{202e}emcA", "U+202E"),
    ] {
        let account = app.create_account(&json!({ "name": bad })).await;
        account.assert_api_error(400, "VALIDATION_ERROR");
        let error = account.error_in("name");
        assert_eq!(error["code"], "CONTROL_CHARACTER", "{bad:?}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(code_point), "{bad:?}: {message}");
        assert!(
            !message.contains(bad),
            "the raw name is not echoed: {message}"
        );

        let created = app.create_app(&json!({ "name": bad })).await;
        created.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(created.error_in("name")["code"], "CONTROL_CHARACTER");
    }
    let listed = app.list_accounts().await;
    listed.assert_status(200);
    assert!(
        !listed.text.contains("Acme"),
        "no refused account was stored: {}",
        listed.text
    );
}

#[tokio::test]
async fn emails_with_nul_or_bidi_controls_are_refused_for_visitors_and_installers() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    for bad in ["a\u{0}b@x.com", "\u{202e}@x.com"] {
        let visitor = app
            .link_visitor(portal_id, &json!({ "utk": "utk-1", "email": bad }))
            .await;
        visitor.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(
            visitor.error_in("email")["code"],
            "CONTROL_CHARACTER",
            "{}",
            visitor.text
        );

        let install = app
            .install(
                creds.app_id,
                &json!({ "portalId": portal_id, "scopes": ["oauth"], "user": bad }),
            )
            .await;
        install.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(install.error_in("user")["code"], "CONTROL_CHARACTER");
    }
    let fine = app
        .link_visitor(portal_id, &json!({ "utk": "utk-1", "email": "ab@x.com" }))
        .await;
    fine.assert_status(200);
    assert_eq!(
        fine.body["contactCreated"], true,
        "nothing was stored before"
    );
}

#[tokio::test]
async fn private_app_is_created_with_a_token_that_acts_in_its_account() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;

    let created = app
        .create_private_app(
            portal_id,
            &json!({ "name": "Sync", "scopes": ["timeline", "crm.objects.contacts.read", "timeline"] }),
        )
        .await;
    created.assert_status(201).assert_json_content_type();
    assert_eq!(
        keys(&created.body),
        ["createdAt", "id", "name", "portalId", "scopes", "token"]
    );
    assert_eq!(created.int("portalId"), portal_id);
    assert_eq!(created.str("name"), "Sync");
    assert_eq!(
        created.body["scopes"],
        json!(["crm.objects.contacts.read", "timeline"]),
        "sorted, duplicates collapsed"
    );
    let token = created.str("token");
    assert!(
        token.starts_with("pat-na1-"),
        "HubSpot's private-app token shape: {token}"
    );

    let details = app.account_details(Some(token)).await;
    details.assert_status(200);
    assert_eq!(details.int("portalId"), portal_id);
}

#[tokio::test]
async fn private_app_with_bad_name_and_scopes_lists_every_problem() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;

    let response = app
        .create_private_app(
            portal_id,
            &json!({ "scopes": ["Not Valid", "", "s".repeat(101), "ok.scope"] }),
        )
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.errors().len(), 4, "{}", response.text);
    assert_eq!(response.error_in("name")["code"], "REQUIRED");
    assert_eq!(response.error_in("scopes[0]")["code"], "INVALID_FORMAT");
    assert_eq!(response.error_in("scopes[1]")["code"], "REQUIRED");
    let too_long = response.error_in("scopes[2]");
    assert_eq!(too_long["code"], "TOO_LONG");
    let message = too_long["message"].as_str().unwrap();
    assert!(
        message.contains("101") && message.contains("100"),
        "{message}"
    );

    let too_many: Vec<String> = (0..201).map(|i| format!("scope{i}")).collect();
    let response = app
        .create_private_app(portal_id, &json!({ "name": "x", "scopes": too_many }))
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    let error = response.error_in("scopes");
    assert_eq!(error["code"], "TOO_MANY");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("201") && message.contains("200"),
        "{message}"
    );
}

#[tokio::test]
async fn app_is_created_with_uuid_shaped_credentials_shown_once() {
    let app = TestApp::spawn().await;

    let created = app.create_app(&json!({ "name": "Timeline app" })).await;
    created.assert_status(201).assert_json_content_type();
    assert_eq!(
        keys(&created.body),
        [
            "appId",
            "clientId",
            "clientSecret",
            "createdAt",
            "developerApiKey",
            "name"
        ]
    );
    assert!(created.int("appId") > 1_000_000);
    for field in ["clientId", "clientSecret", "developerApiKey"] {
        uuid::Uuid::parse_str(created.str(field))
            .unwrap_or_else(|e| panic!("{field} is UUID-shaped as in HubSpot: {e}"));
    }
    let second = app.create_app(&json!({ "name": "Timeline app" })).await;
    second.assert_status(201);
    assert_ne!(second.int("appId"), created.int("appId"));
    assert_ne!(second.str("clientSecret"), created.str("clientSecret"));

    let refused = app.create_app(&json!({ "name": "a".repeat(201) })).await;
    refused.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(refused.error_in("name")["code"], "TOO_LONG");
}

#[tokio::test]
async fn install_returns_bearer_tokens_for_the_account_with_the_granted_scopes() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;

    let installed = app
        .install(
            creds.app_id,
            &json!({
                "portalId": portal_id,
                "scopes": ["timeline", "oauth"],
                "user": "Installer@Example.com",
                "userId": 77,
            }),
        )
        .await;
    installed.assert_status(201).assert_json_content_type();
    assert_eq!(
        keys(&installed.body),
        [
            "accessToken",
            "appId",
            "expiresIn",
            "portalId",
            "refreshToken",
            "scopes",
            "tokenType"
        ]
    );
    assert_eq!(installed.int("portalId"), portal_id);
    assert_eq!(installed.int("appId"), creds.app_id);
    assert_eq!(installed.body["scopes"], json!(["oauth", "timeline"]));
    assert_eq!(installed.str("tokenType"), "bearer");
    assert_eq!(installed.int("expiresIn"), 600, "the configured TTL");

    let info = app.access_token_info(installed.str("accessToken")).await;
    info.assert_status(200);
    assert_eq!(info.str("user"), "Installer@Example.com");
    assert_eq!(info.int("user_id"), 77);
    assert_eq!(info.int("hub_id"), portal_id);

    let details = app
        .account_details(Some(installed.str("accessToken")))
        .await;
    details.assert_status(200);
    assert_eq!(details.int("portalId"), portal_id);
}

#[tokio::test]
async fn reinstall_replaces_the_scopes_and_issues_new_tokens() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let first = app.new_install(&creds, portal_id, &["timeline"]).await;

    let second = app
        .install(
            creds.app_id,
            &json!({ "portalId": portal_id, "scopes": ["oauth"] }),
        )
        .await;
    second.assert_status(201);
    assert_ne!(second.str("accessToken"), first.access_token);
    let info = app.access_token_info(second.str("accessToken")).await;
    info.assert_status(200);
    assert_eq!(info.body["scopes"], json!(["oauth"]));
}

#[tokio::test]
async fn install_defaults_the_installer_to_the_operator() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let tokens = app.new_install(&creds, portal_id, &[]).await;

    let info = app.access_token_info(&tokens.access_token).await;
    info.assert_status(200);
    assert_eq!(info.str("user"), "operator@chronik.local");
    assert_eq!(info.int("user_id"), 1);
    assert_eq!(info.body["scopes"], json!([]));
}

#[tokio::test]
async fn install_without_portal_id_with_bad_scopes_and_bad_user_reports_every_problem() {
    let app = TestApp::spawn().await;
    let creds = app.new_app("App").await;

    let response = app
        .install(
            creds.app_id,
            &json!({ "scopes": ["UPPER"], "user": "not-an-email" }),
        )
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.errors().len(), 3, "{}", response.text);
    assert_eq!(response.error_in("portalId")["code"], "REQUIRED");
    assert_eq!(response.error_in("scopes[0]")["code"], "INVALID_FORMAT");
    assert_eq!(response.error_in("user")["code"], "INVALID_EMAIL");
}

#[tokio::test]
async fn install_of_an_unknown_app_or_into_an_unknown_account_is_404() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;

    let unknown_app = app
        .install(999, &json!({ "portalId": portal_id, "scopes": [] }))
        .await;
    unknown_app.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(
        unknown_app.str("message").contains("999"),
        "{}",
        unknown_app.text
    );

    let unknown_account = app
        .install(creds.app_id, &json!({ "portalId": 424242, "scopes": [] }))
        .await;
    unknown_account.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(
        unknown_account.str("message").contains("424242"),
        "{}",
        unknown_account.text
    );
}

#[tokio::test]
async fn authorization_code_is_issued_for_ten_minutes_with_its_redirect_uri() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;

    let response = app
        .create_authorization_code(
            creds.app_id,
            &json!({
                "portalId": portal_id,
                "scopes": ["oauth"],
                "redirectUri": "https://app.example/callback",
            }),
        )
        .await;
    response.assert_status(201).assert_json_content_type();
    assert_eq!(keys(&response.body), ["code", "expiresIn", "redirectUri"]);
    assert_eq!(response.str("redirectUri"), "https://app.example/callback");
    assert_eq!(response.int("expiresIn"), 600);
    assert!(response.str("code").starts_with("chronik-code-"));
}

#[tokio::test]
async fn authorization_code_without_portal_id_and_redirect_uri_reports_both() {
    let app = TestApp::spawn().await;
    let creds = app.new_app("App").await;

    let response = app
        .create_authorization_code(creds.app_id, &json!({ "scopes": ["oauth"] }))
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.errors().len(), 2, "{}", response.text);
    assert_eq!(response.error_in("portalId")["code"], "REQUIRED");
    assert_eq!(response.error_in("redirectUri")["code"], "REQUIRED");

    let portal_id = app.new_account("Acme").await;
    for bad in [
        "ftp://example.com/cb",
        "/relative",
        "https://",
        "https://a b",
    ] {
        let response = app
            .create_authorization_code(
                creds.app_id,
                &json!({ "portalId": portal_id, "redirectUri": bad }),
            )
            .await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(
            response.error_in("redirectUri")["code"],
            "INVALID_URL",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn authorization_code_for_an_unknown_app_or_account_is_404() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    for (app_id, account) in [(999, portal_id), (creds.app_id, 424242)] {
        let response = app
            .create_authorization_code(
                app_id,
                &json!({ "portalId": account, "redirectUri": "https://x.example/cb" }),
            )
            .await;
        response.assert_api_error(404, "OBJECT_NOT_FOUND");
    }
}

#[tokio::test]
async fn linking_a_visitor_creates_the_contact_once_whatever_the_email_case() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;

    let first = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "utk-1", "email": "Jane.Doe@Example.com" }),
        )
        .await;
    first.assert_status(200).assert_json_content_type();
    assert_eq!(
        keys(&first.body),
        ["contactCreated", "contactId", "email", "portalId", "utk"]
    );
    assert_eq!(first.body["contactCreated"], true);
    assert_eq!(first.int("portalId"), portal_id);
    assert_eq!(first.str("utk"), "utk-1");
    assert_eq!(first.str("email"), "Jane.Doe@Example.com");
    let contact_id = first.str("contactId").to_owned();
    contact_id
        .parse::<i64>()
        .expect("contactId is a numeric string, as HubSpot's objectIds");

    let second = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "utk-2", "email": "jane.doe@EXAMPLE.COM" }),
        )
        .await;
    second.assert_status(200);
    assert_eq!(second.body["contactCreated"], false);
    assert_eq!(second.str("contactId"), contact_id);

    let other = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "utk-3", "email": "someone@example.com" }),
        )
        .await;
    other.assert_status(200);
    assert_eq!(other.body["contactCreated"], true);
    assert_ne!(other.str("contactId"), contact_id);

    // Contacts belong to one account: the same email elsewhere is another contact.
    let elsewhere = app.new_account("Elsewhere").await;
    let foreign = app
        .link_visitor(
            elsewhere,
            &json!({ "utk": "utk-1", "email": "jane.doe@example.com" }),
        )
        .await;
    foreign.assert_status(200);
    assert_eq!(foreign.body["contactCreated"], true);
    assert_ne!(foreign.str("contactId"), contact_id);
}

#[tokio::test]
async fn visitor_without_utk_and_email_reports_both() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;

    let response = app.link_visitor(portal_id, &json!({})).await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.errors().len(), 2, "{}", response.text);
    assert_eq!(response.error_in("utk")["code"], "REQUIRED");
    assert_eq!(response.error_in("email")["code"], "REQUIRED");

    let response = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "has space", "email": "no-at-sign" }),
        )
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.error_in("utk")["code"], "INVALID_FORMAT");
    assert_eq!(response.error_in("email")["code"], "INVALID_EMAIL");
}

#[tokio::test]
async fn visitor_token_of_100_characters_is_accepted_and_101_is_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;

    let at_limit = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "u".repeat(100), "email": "a@b.c" }),
        )
        .await;
    at_limit.assert_status(200);

    let past = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "u".repeat(101), "email": "a@b.c" }),
        )
        .await;
    past.assert_api_error(400, "VALIDATION_ERROR");
    let error = past.error_in("utk");
    assert_eq!(error["code"], "TOO_LONG");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("101") && message.contains("100"),
        "{message}"
    );

    let local = "l".repeat(250);
    let long_email = format!("{local}@b.co"); // 255 characters
    let past = app
        .link_visitor(portal_id, &json!({ "utk": "u", "email": long_email }))
        .await;
    past.assert_api_error(400, "VALIDATION_ERROR");
    let error = past.error_in("email");
    assert_eq!(error["code"], "TOO_LONG");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("255") && message.contains("254"),
        "{message}"
    );
}

#[tokio::test]
async fn reset_answers_204_and_linking_again_creates_the_contact_again() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let token = app.new_private_app(portal_id, &["timeline"]).await;
    let body = json!({ "utk": "utk-1", "email": "jane@example.com" });
    let first = app.link_visitor(portal_id, &body).await;
    assert_eq!(first.body["contactCreated"], true);
    assert_eq!(
        app.link_visitor(portal_id, &body).await.body["contactCreated"],
        false
    );

    let reset = app.reset(portal_id).await;
    reset.assert_status(204);
    assert!(reset.text.is_empty(), "204 has no body: {:?}", reset.text);

    let again = app.link_visitor(portal_id, &body).await;
    again.assert_status(200);
    assert_eq!(
        again.body["contactCreated"], true,
        "the contact was deleted"
    );

    // The account and its credentials survive a reset.
    app.get_account(portal_id).await.assert_status(200);
    let details = app.account_details(Some(&token)).await;
    details.assert_status(200);
    assert_eq!(details.int("portalId"), portal_id);
}

#[tokio::test]
async fn reset_of_one_account_keeps_the_contacts_of_another() {
    let app = TestApp::spawn().await;
    let a = app.new_account("A").await;
    let b = app.new_account("B").await;
    let body = json!({ "utk": "utk-1", "email": "jane@example.com" });
    app.link_visitor(a, &body).await.assert_status(200);
    app.link_visitor(b, &body).await.assert_status(200);

    app.reset(a).await.assert_status(204);

    assert_eq!(
        app.link_visitor(b, &body).await.body["contactCreated"],
        false
    );
    assert_eq!(
        app.link_visitor(a, &body).await.body["contactCreated"],
        true
    );
}

#[tokio::test]
async fn unknown_account_is_404_naming_the_portal_id_on_every_account_route() {
    let app = TestApp::spawn().await;
    let unknown = 424_242;
    let responses = [
        ("get", app.get_account(unknown).await),
        (
            "private app",
            app.create_private_app(unknown, &json!({ "name": "x", "scopes": [] }))
                .await,
        ),
        (
            "visitor",
            app.link_visitor(unknown, &json!({ "utk": "u", "email": "a@b.c" }))
                .await,
        ),
        ("reset", app.reset(unknown).await),
    ];
    for (description, response) in responses {
        response.assert_api_error(404, "OBJECT_NOT_FOUND");
        assert!(
            response.str("message").contains("424242"),
            "{description}: {}",
            response.text
        );
    }
}

#[tokio::test]
async fn account_path_parameter_that_is_not_a_number_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .send(app.admin(Method::GET, "/admin/v1/accounts/not-a-number"))
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert!(
        response.str("message").contains("path parameter"),
        "{}",
        response.text
    );
}

/// Every admin route, with a body that would be accepted.
fn admin_routes(portal_id: i64, app_id: i64) -> Vec<(Method, String, serde_json::Value)> {
    vec![
        (
            Method::POST,
            "/admin/v1/accounts".into(),
            json!({ "name": "x" }),
        ),
        (Method::GET, "/admin/v1/accounts".into(), json!(null)),
        (
            Method::GET,
            format!("/admin/v1/accounts/{portal_id}"),
            json!(null),
        ),
        (
            Method::POST,
            format!("/admin/v1/accounts/{portal_id}/private-apps"),
            json!({ "name": "x" }),
        ),
        (
            Method::POST,
            format!("/admin/v1/accounts/{portal_id}/visitors"),
            json!({ "utk": "u", "email": "a@b.c" }),
        ),
        (
            Method::POST,
            format!("/admin/v1/accounts/{portal_id}/reset"),
            json!(null),
        ),
        (
            Method::POST,
            "/admin/v1/apps".into(),
            json!({ "name": "x" }),
        ),
        (
            Method::POST,
            format!("/admin/v1/apps/{app_id}/installs"),
            json!({ "portalId": portal_id }),
        ),
        (
            Method::POST,
            format!("/admin/v1/apps/{app_id}/authorization-codes"),
            json!({ "portalId": portal_id, "redirectUri": "https://x.example/cb" }),
        ),
    ]
}

#[tokio::test]
async fn every_admin_route_refuses_a_missing_a_wrong_and_a_tenant_token() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;
    let tenant_token = app.new_private_app(portal_id, &["timeline"]).await;
    let accounts_before = app.list_accounts().await.body["results"].clone();

    for (method, path, body) in admin_routes(portal_id, creds.app_id) {
        let credentials: [(&str, Option<String>); 4] = [
            ("no token", None),
            ("wrong token", Some("Bearer not-the-admin-token".into())),
            ("admin token as Basic", Some(format!("Basic {ADMIN_TOKEN}"))),
            ("tenant token", Some(format!("Bearer {tenant_token}"))),
        ];
        for (description, header) in credentials {
            let mut request = app.request(method.clone(), &path);
            if let Some(h) = header {
                request = request.header("authorization", h);
            }
            if !body.is_null() {
                request = request.json(&body);
            }
            let response = app.send(request).await;
            assert_eq!(
                response.status.as_u16(),
                401,
                "{method} {path} with {description}: {}",
                response.text
            );
            response.assert_api_error(401, "INVALID_AUTHENTICATION");
            assert!(
                response.str("message").contains("admin token"),
                "{method} {path} with {description}: {}",
                response.text
            );
        }
    }
    assert_eq!(
        app.list_accounts().await.body["results"],
        accounts_before,
        "nothing was created by a refused call"
    );

    // And every route accepts the admin token.
    for (method, path, body) in admin_routes(portal_id, creds.app_id) {
        let mut request = app.admin(method.clone(), &path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = app.send(request).await;
        assert!(
            response.status.is_success(),
            "{method} {path} with the admin token: {} {}",
            response.status,
            response.text
        );
    }
}

/// Provisioning end to end, including the refusals whose detection differs per backend
/// (unknown account or app is a foreign-key violation in one and a lookup in the other).
async fn provisioning_story(app: &TestApp) {
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;

    let token = app.new_private_app(portal_id, &["timeline"]).await;
    let details = app.account_details(Some(&token)).await;
    assert_eq!(details.int("portalId"), portal_id);

    let tokens = app.new_install(&creds, portal_id, &["oauth"]).await;
    let details = app.account_details(Some(&tokens.access_token)).await;
    assert_eq!(details.int("portalId"), portal_id);

    app.install(999, &json!({ "portalId": portal_id }))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    app.install(creds.app_id, &json!({ "portalId": 424242 }))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    let code_body =
        |account: i64| json!({ "portalId": account, "redirectUri": "https://x.example/cb" });
    app.create_authorization_code(999, &code_body(portal_id))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    app.create_authorization_code(creds.app_id, &code_body(424242))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    app.create_private_app(424242, &json!({ "name": "x" }))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    app.link_visitor(424242, &json!({ "utk": "u", "email": "a@b.c" }))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    app.reset(424242)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    let first = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "utk-1", "email": "Jane@Example.com" }),
        )
        .await;
    assert_eq!(first.body["contactCreated"], true);
    let second = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "utk-2", "email": "jane@example.com" }),
        )
        .await;
    assert_eq!(second.body["contactCreated"], false);
    assert_eq!(second.str("contactId"), first.str("contactId"));

    app.reset(portal_id).await.assert_status(204);
    let again = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "utk-1", "email": "jane@example.com" }),
        )
        .await;
    assert_eq!(again.body["contactCreated"], true);
    app.account_details(Some(&tokens.access_token))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn provisioning_story_on_sqlite() {
    provisioning_story(&TestApp::spawn().await).await;
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn provisioning_story_on_postgres() {
    let app = TestApp::spawn_postgres("admin::provisioning_story_on_postgres").await;
    provisioning_story(&app).await;
}
