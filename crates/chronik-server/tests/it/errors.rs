//! Requests that never reach a handler's logic: malformed and mistyped JSON, unknown fields,
//! oversized bodies, unknown routes, wrong methods; and trailing slashes, which are tolerated.
//! Each refusal is HubSpot's error body with JSON Content-Type and the correlation id.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{raw_http, TestApp, ADMIN_TOKEN};

/// `POST /admin/v1/accounts` with `body` sent as is.
async fn post_accounts_raw(app: &TestApp, body: &str) -> crate::helpers::TestResponse {
    app.send(
        app.admin(Method::POST, "/admin/v1/accounts")
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn malformed_json_is_refused_naming_line_and_column() {
    let app = TestApp::spawn().await;

    let response = post_accounts_raw(&app, "{\n  \"name\": \"x\",\n  oops\n}").await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    let message = response.str("message");
    assert!(message.contains("line 3, column 3"), "{message}");
    assert_eq!(response.errors().len(), 1);
    assert_eq!(response.errors()[0]["code"], "MALFORMED_JSON");
    assert!(
        response.errors()[0].get("in").is_none(),
        "a syntax error belongs to no field: {}",
        response.text
    );
}

#[tokio::test]
async fn empty_truncated_and_trailing_garbage_bodies_are_malformed_json() {
    let app = TestApp::spawn().await;
    for (description, body, position) in [
        ("empty body", "", "line 1, column 0"),
        ("truncated", "{\"name\": \"x\"", "line 1, column 12"),
        (
            "trailing garbage",
            "{\"name\": \"x\"} extra",
            "line 1, column 15",
        ),
        ("not an object", "\"just a string\"", "line 1, column 15"),
    ] {
        let response = post_accounts_raw(&app, body).await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        let message = response.str("message");
        assert!(message.contains(position), "{description}: {message}");
        assert!(message.contains("line"), "{description}: {message}");
        let code = &response.errors()[0]["code"];
        if description == "not an object" {
            assert_eq!(code, "INVALID_TYPE", "{description}");
        } else {
            assert_eq!(code, "MALFORMED_JSON", "{description}");
        }
    }
}

#[tokio::test]
async fn wrong_type_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;

    let response = app.create_account(&json!({ "name": 5 })).await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    let error = response.error_in("name");
    assert_eq!(error["code"], "INVALID_TYPE");
    assert!(
        error["message"].as_str().unwrap().contains("integer"),
        "says what was sent: {}",
        response.text
    );
    assert!(
        response.str("message").contains("line 1"),
        "{}",
        response.text
    );

    let creds = app.new_app("App").await;
    let response = app
        .install(creds.app_id, &json!({ "portalId": "123" }))
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.error_in("portalId")["code"], "INVALID_TYPE");

    let response = app
        .install(creds.app_id, &json!({ "portalId": 1, "scopes": ["ok", 7] }))
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.error_in("scopes[1]")["code"], "INVALID_TYPE");
}

#[tokio::test]
async fn unknown_field_is_refused_naming_it() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let creds = app.new_app("App").await;

    let cases = [
        (
            "account",
            app.create_account(&json!({ "name": "x", "colour": "red" }))
                .await,
        ),
        (
            "app",
            app.create_app(&json!({ "name": "x", "colour": "red" }))
                .await,
        ),
        (
            "private app",
            app.create_private_app(portal_id, &json!({ "name": "x", "colour": "red" }))
                .await,
        ),
        (
            "install",
            app.install(
                creds.app_id,
                &json!({ "portalId": portal_id, "colour": "red" }),
            )
            .await,
        ),
        (
            "visitor",
            app.link_visitor(
                portal_id,
                &json!({ "utk": "u", "email": "a@b.c", "colour": "red" }),
            )
            .await,
        ),
    ];
    for (description, response) in cases {
        response.assert_api_error(400, "VALIDATION_ERROR");
        let error = &response.errors()[0];
        assert_eq!(
            error["code"], "INVALID_TYPE",
            "{description}: {}",
            response.text
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("unknown field `colour`"),
            "{description}: {}",
            response.text
        );
        assert_eq!(error["in"], "colour", "{description}: {}", response.text);
    }
    assert_eq!(
        app.list_accounts().await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the refused account was not created"
    );
}

/// A server whose body limit is small enough to cross cheaply.
const SMALL_LIMIT: usize = 1024;

async fn small_limit_app() -> TestApp {
    TestApp::spawn_with(|c| c.max_body_bytes = SMALL_LIMIT).await
}

#[tokio::test]
async fn body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413_naming_the_limit() {
    let app = small_limit_app().await;
    let body = |len: usize| {
        let json = r#"{"name":"fits"}"#;
        format!("{json}{}", " ".repeat(len - json.len()))
    };

    let at_limit = post_accounts_raw(&app, &body(SMALL_LIMIT)).await;
    at_limit.assert_status(201);

    let past = post_accounts_raw(&app, &body(SMALL_LIMIT + 1)).await;
    past.assert_api_error(413, "PAYLOAD_TOO_LARGE");
    assert!(past.str("message").contains("1024"), "{}", past.text);
}

#[tokio::test]
async fn declared_content_length_over_the_limit_is_413_before_the_body_is_read() {
    let app = small_limit_app().await;
    // The headers promise ten megabytes that never come: only a server that decides from the
    // Content-Length alone can answer.
    let request = format!(
        "POST /admin/v1/accounts HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 10485760\r\nConnection: close\r\n\r\n{{\"na"
    );
    let response = raw_http(&app.address, request.as_bytes()).await;
    response.assert_api_error(413, "PAYLOAD_TOO_LARGE");
    assert!(
        response.str("message").contains("1024"),
        "{}",
        response.text
    );

    // Also on a route whose handler reads no JSON, and on the OAuth form endpoint.
    for path in ["/admin/v1/accounts/1/reset", "/oauth/v1/token"] {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
             Content-Length: 2048\r\nConnection: close\r\n\r\n"
        );
        let response = raw_http(&app.address, request.as_bytes()).await;
        response.assert_api_error(413, "PAYLOAD_TOO_LARGE");
    }
}

/// One chunk of a chunked body.
fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

/// A chunked `POST /admin/v1/accounts` whose body is `chunks` followed by the last chunk.
fn chunked_request(chunks: &[String]) -> String {
    format!(
        "POST /admin/v1/accounts HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {}0\r\n\r\n",
        chunks.concat()
    )
}

#[tokio::test]
async fn chunked_body_that_streams_past_the_limit_is_413_naming_the_limit() {
    let app = small_limit_app().await;
    let json = chunk(r#"{"name":"big"}"#);
    let padding = chunk(&" ".repeat(512));

    // 14 + 4 × 512 bytes, with no Content-Length to refuse it by.
    let over = chunked_request(&[
        json.clone(),
        padding.clone(),
        padding.clone(),
        padding.clone(),
        padding.clone(),
    ]);
    let response = raw_http(&app.address, over.as_bytes()).await;
    response.assert_api_error(413, "PAYLOAD_TOO_LARGE");
    assert!(
        response.str("message").contains("1024"),
        "{}",
        response.text
    );

    // The same framing under the limit (14 + 512 bytes) is accepted, so the 413 is about size.
    let under = chunked_request(&[json, padding]);
    let response = raw_http(&app.address, under.as_bytes()).await;
    response.assert_status(201);
    assert_eq!(response.str("name"), "big");
}

#[tokio::test]
async fn unknown_route_is_404_naming_the_path() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/admin/v1/nope"),
        (Method::GET, "/oauth/v1/access-tokens"),
        (Method::GET, "/crm/v3/nothing-here"),
    ] {
        let response = app.send(app.request(method.clone(), path)).await;
        response.assert_api_error(404, "OBJECT_NOT_FOUND");
        assert!(
            response.str("message").contains(path),
            "{method} {path}: {}",
            response.text
        );
    }
}

#[tokio::test]
async fn wrong_method_is_405_naming_method_and_path() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::DELETE, "/admin/v1/accounts"),
        (Method::PUT, "/health"),
        (Method::GET, "/oauth/v1/token"),
        (Method::POST, "/oauth/v1/access-tokens/abc"),
        (Method::PATCH, "/admin/v1/apps"),
    ] {
        let response = app.send(app.admin(method.clone(), path)).await;
        response.assert_api_error(405, "METHOD_NOT_ALLOWED");
        let message = response.str("message");
        assert!(
            message.contains(method.as_str()) && message.contains(path),
            "{method} {path}: {message}"
        );
    }
}

#[tokio::test]
async fn trailing_slash_is_tolerated() {
    let app = TestApp::spawn().await;

    let health = app.send(app.request(Method::GET, "/health/")).await;
    health.assert_status(200);
    assert_eq!(health.body["status"], "ok");

    let created = app
        .send(
            app.admin(Method::POST, "/admin/v1/accounts/")
                .json(&json!({ "name": "Slash" })),
        )
        .await;
    created.assert_status(201);
    let portal_id = created.int("portalId");

    let token = app.new_private_app(portal_id, &[]).await;
    let details = app
        .send(
            app.request(Method::GET, "/account-info/v3/details/")
                .bearer_auth(&token),
        )
        .await;
    details.assert_status(200);
    assert_eq!(details.int("portalId"), portal_id);
}

#[tokio::test]
async fn bodiless_get_with_json_content_type_is_served() {
    // The Python SDK sends `Content-Type: application/json` on GET and DELETE without a body.
    let app = TestApp::spawn().await;
    let response = app
        .send(
            app.admin(Method::GET, "/admin/v1/accounts")
                .header(CONTENT_TYPE, "application/json"),
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.body["results"], json!([]));
}

#[tokio::test]
async fn every_response_carries_a_fresh_correlation_id() {
    let app = TestApp::spawn().await;
    let a = app.send(app.request(Method::GET, "/nope")).await;
    let b = app.send(app.request(Method::GET, "/nope")).await;
    assert_ne!(a.assert_correlation_id(), b.assert_correlation_id());

    let ok = app.health().await;
    let header = ok
        .header(crate::helpers::CORRELATION_HEADER)
        .expect("success responses carry the header too");
    uuid::Uuid::parse_str(header).expect("a UUID");
}
