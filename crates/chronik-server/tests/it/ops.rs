//! `/health`, `/metrics`, `/openapi.json`, and snapshots of representative error bodies.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// Every operation the router serves, as `(method, path template)`. A route added without its
/// OpenAPI annotation, or an annotation without its route, fails the tests below.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/account-info/v3/details"),
    ("post", "/oauth/v1/token"),
    ("get", "/oauth/v1/access-tokens/{token}"),
    ("get", "/oauth/v1/refresh-tokens/{token}"),
    ("delete", "/oauth/v1/refresh-tokens/{token}"),
    ("get", "/admin/v1/accounts"),
    ("post", "/admin/v1/accounts"),
    ("get", "/admin/v1/accounts/{portalId}"),
    ("patch", "/admin/v1/accounts/{portalId}"),
    ("post", "/admin/v1/accounts/{portalId}/private-apps"),
    ("post", "/admin/v1/accounts/{portalId}/visitors"),
    ("post", "/admin/v1/accounts/{portalId}/reset"),
    ("post", "/admin/v1/apps"),
    ("post", "/admin/v1/apps/{appId}/installs"),
    ("post", "/admin/v1/apps/{appId}/authorization-codes"),
    ("put", "/admin/v1/apps/{appId}/icon"),
    ("delete", "/admin/v1/apps/{appId}/icon"),
    ("get", "/apps/{appId}/icon"),
    ("get", "/crm/v3/objects/{objectType}"),
    ("post", "/crm/v3/objects/{objectType}"),
    ("get", "/crm/v3/objects/{objectType}/{objectId}"),
    ("get", "/crm/v3/objects/{objectType}/{objectId}/timeline"),
    ("patch", "/crm/v3/objects/{objectType}/{objectId}"),
    ("delete", "/crm/v3/objects/{objectType}/{objectId}"),
    ("post", "/crm/v3/objects/{objectType}/batch/create"),
    ("post", "/crm/v3/objects/{objectType}/batch/read"),
    ("post", "/crm/v3/objects/{objectType}/batch/update"),
    ("post", "/crm/v3/objects/{objectType}/batch/archive"),
    ("post", "/crm/v3/objects/{objectType}/search"),
    ("get", "/crm/v3/properties/{objectType}"),
    ("post", "/crm/v3/properties/{objectType}"),
    ("get", "/crm/v3/properties/{objectType}/{propertyName}"),
    ("patch", "/crm/v3/properties/{objectType}/{propertyName}"),
    ("delete", "/crm/v3/properties/{objectType}/{propertyName}"),
    ("get", "/crm-object-schemas/v3/schemas"),
    ("post", "/crm-object-schemas/v3/schemas"),
    ("get", "/crm-object-schemas/v3/schemas/{objectType}"),
    ("patch", "/crm-object-schemas/v3/schemas/{objectType}"),
    ("delete", "/crm-object-schemas/v3/schemas/{objectType}"),
    (
        "post",
        "/crm-object-schemas/v3/schemas/{objectType}/associations",
    ),
    ("get", "/events/v3/event-definitions"),
    ("post", "/events/v3/event-definitions"),
    ("get", "/events/v3/event-definitions/{eventName}"),
    ("patch", "/events/v3/event-definitions/{eventName}"),
    ("delete", "/events/v3/event-definitions/{eventName}"),
    ("post", "/events/v3/event-definitions/{eventName}/property"),
    (
        "patch",
        "/events/v3/event-definitions/{eventName}/property/{propertyName}",
    ),
    (
        "delete",
        "/events/v3/event-definitions/{eventName}/property/{propertyName}",
    ),
    ("post", "/events/v3/send"),
    ("post", "/events/v3/send/batch"),
    ("get", "/events/v3/events"),
    ("get", "/events/v3/events/event-types"),
    ("post", "/projects/v1/deploys"),
    ("get", "/integrators/timeline/v3/{appId}/event-templates"),
    ("post", "/integrators/timeline/v3/{appId}/event-templates"),
    (
        "get",
        "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}",
    ),
    (
        "put",
        "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}",
    ),
    (
        "delete",
        "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}",
    ),
    (
        "post",
        "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}/tokens",
    ),
    (
        "put",
        "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}/tokens/{tokenName}",
    ),
    (
        "delete",
        "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}/tokens/{tokenName}",
    ),
    ("post", "/integrators/timeline/v3/events"),
    ("post", "/integrators/timeline/v3/events/batch/create"),
    (
        "get",
        "/integrators/timeline/v3/events/{eventTemplateId}/{eventId}",
    ),
    (
        "get",
        "/integrators/timeline/v3/events/{eventTemplateId}/{eventId}/render",
    ),
    (
        "get",
        "/integrators/timeline/v3/events/{eventTemplateId}/{eventId}/detail",
    ),
];

/// A redaction that checks the value it hides is a UUID.
fn uuid_redaction() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value
            .as_str()
            .unwrap_or_else(|| panic!("{path} is not a string: {value:?}"));
        uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{path} is not a UUID: {e}"));
        "[uuid]"
    })
}

#[tokio::test]
async fn health_reports_ok_and_the_sqlite_backend() {
    let app = TestApp::spawn().await;
    let response = app.health().await;
    response.assert_status(200).assert_json_content_type();
    assert_eq!(
        response.body,
        json!({ "status": "ok", "backend": "sqlite" })
    );
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn health_reports_ok_and_the_postgres_backend() {
    let app = TestApp::spawn_postgres("ops::health_reports_the_postgres_backend").await;
    let response = app.health().await;
    response.assert_status(200).assert_json_content_type();
    assert_eq!(
        response.body,
        json!({ "status": "ok", "backend": "postgres" })
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_store_commits() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    app.reset(portal_id).await.assert_status(204);
    app.get_account(portal_id).await.assert_status(200);

    let response = app.metrics().await;
    response.assert_status(200);
    let content_type = response.header("content-type").unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = &response.text;

    let request_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("chronik_http_requests_total{"))
        .collect();
    assert!(
        request_lines
            .iter()
            .any(|l| l.contains(r#"route="/admin/v1/accounts""#)
                && l.contains(r#"method="POST""#)
                && l.contains(r#"status="201""#)),
        "{text}"
    );
    // Labels are route templates, never raw paths with ids.
    assert!(
        request_lines
            .iter()
            .any(|l| l.contains(r#"route="/admin/v1/accounts/{portalId}/reset""#)),
        "{text}"
    );
    assert!(
        !request_lines
            .iter()
            .any(|l| l.contains(&format!("/admin/v1/accounts/{portal_id}"))),
        "a raw path with an account id is a label: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("chronik_store_commits_total{")
                && l.contains(r#"backend="sqlite""#)),
        "{text}"
    );
    assert!(
        text.contains("chronik_http_request_duration_seconds_bucket{"),
        "{text}"
    );
}

/// Asserts that `/metrics` of a server that has taken no write shows every metric its backend
/// records, at zero or above.
async fn assert_every_metric_is_present(app: &TestApp, backend: &str) {
    use chronik_server::telemetry::{MetricKind, MetricScope, METRICS};
    let text = app.metrics().await.text;
    let mut checked = 0;
    for m in METRICS {
        let label = match m.scope {
            MetricScope::Unlabelled => String::new(),
            MetricScope::UnlabelledOn(only) if only == backend => String::new(),
            MetricScope::PerBackend(backends) if backends.contains(&backend) => {
                format!("{{backend=\"{backend}\"}}")
            }
            _ => continue,
        };
        let series = match m.kind {
            MetricKind::Histogram => format!("{}_count{label} ", m.name),
            _ => format!("{}{label} ", m.name),
        };
        assert!(
            text.lines().any(|l| l.starts_with(&series)),
            "{backend}: {series} missing\n{text}"
        );
        assert!(text.contains(&format!("# HELP {} ", m.name)), "{text}");
        checked += 1;
    }
    assert!(checked >= 5, "{backend}: only {checked} metrics");
}

#[tokio::test]
async fn every_gauge_counter_and_histogram_is_on_metrics_before_the_first_write() {
    let app = TestApp::spawn().await;
    let text = app.metrics().await.text;
    assert!(
        text.lines()
            .any(|l| l.starts_with(r#"chronik_store_staged_completions{backend="sqlite"} "#)),
        "{text}"
    );
    assert_every_metric_is_present(&app, "sqlite").await;
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn every_postgres_metric_is_on_metrics_before_the_first_write() {
    let app = TestApp::spawn_postgres("metrics_before_first_write").await;
    assert_every_metric_is_present(&app, "postgres").await;
}

#[tokio::test]
async fn unknown_routes_share_one_metrics_label() {
    let app = TestApp::spawn().await;
    app.send(app.request(Method::GET, "/no/such/route/12345"))
        .await
        .assert_status(404);
    let text = app.metrics().await.text;
    assert!(
        text.lines()
            .any(|l| l.starts_with("chronik_http_requests_total{")
                && l.contains(r#"route="unmatched""#)
                && l.contains(r#"status="404""#)),
        "{text}"
    );
    assert!(!text.contains("/no/such/route"), "{text}");
}

#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = TestApp::spawn().await;
    let response = app.openapi().await;
    response.assert_status(200).assert_json_content_type();
    insta::assert_json_snapshot!("openapi", response.body);
}

/// The `(method, path)` pairs the document lists.
fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                found.insert((method.clone(), path.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn openapi_document_lists_exactly_the_operations_the_router_serves() {
    let app = TestApp::spawn().await;
    let document = app.openapi().await.body;
    let expected: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented_operations(&document), expected);

    // The document is what the library generates.
    let generated = serde_json::to_value(chronik_server::api::openapi()).unwrap();
    assert_eq!(generated, document);

    // Each operation reaches a handler: neither the unknown-route fallback nor a 405.
    for (method, path) in OPERATIONS {
        let concrete = path
            .replace("{portalId}", "1")
            .replace("{appId}", "1")
            .replace("{token}", "x")
            .replace("{objectType}", "contacts")
            .replace("{objectId}", "1")
            .replace("{propertyName}", "email");
        let method: Method = method.to_uppercase().parse().unwrap();
        let response = app.send(app.request(method.clone(), &concrete)).await;
        assert_ne!(
            response.status.as_u16(),
            405,
            "{method} {path}: {}",
            response.text
        );
        if response.status.as_u16() == 404 {
            assert!(
                !response.str("message").starts_with("No route matches"),
                "{method} {path} is not routed: {}",
                response.text
            );
        }
    }
}

#[tokio::test]
async fn unknown_route_error_body_matches_the_snapshot() {
    let app = TestApp::spawn().await;
    let response = app.send(app.request(Method::GET, "/nope")).await;
    response.assert_api_error(404, "OBJECT_NOT_FOUND");
    insta::assert_json_snapshot!("unknown_route_404", response.body, {
        ".correlationId" => uuid_redaction(),
    });
}

#[tokio::test]
async fn malformed_json_error_body_matches_the_snapshot() {
    let app = TestApp::spawn().await;
    let response = app
        .send(
            app.admin(Method::POST, "/admin/v1/accounts")
                .header("content-type", "application/json")
                .body("{\"name\": }"),
        )
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    insta::assert_json_snapshot!("malformed_json_400", response.body, {
        ".correlationId" => uuid_redaction(),
    });
}

#[tokio::test]
async fn validation_error_body_lists_every_field_as_in_the_snapshot() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let response = app
        .link_visitor(
            portal_id,
            &json!({ "utk": "u".repeat(101), "email": "nope" }),
        )
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    insta::assert_json_snapshot!("visitor_validation_400", response.body, {
        ".correlationId" => uuid_redaction(),
    });
}

#[tokio::test]
async fn oauth_error_body_matches_the_snapshot() {
    let app = TestApp::spawn().await;
    let response = app
        .token(&[("grant_type", "password"), ("client_id", "x")])
        .await;
    response.assert_oauth_error("BAD_GRANT_TYPE", "unsupported_grant_type");
    insta::assert_json_snapshot!("oauth_bad_grant_type_400", response.body, {
        ".correlationId" => uuid_redaction(),
    });
}
