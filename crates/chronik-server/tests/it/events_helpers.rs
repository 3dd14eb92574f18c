//! Fixtures the `events_*` test files share: an account whose token may do everything with
//! custom events and CRM records, one method per custom events endpoint, and a definition with
//! one property of each type.

use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::{Crm, ALL_CRM_SCOPES};
use crate::helpers::{TestApp, TestResponse};

pub const SEND: &str = "analytics.behavioral_events.send";
pub const DEFINITIONS: &str = "behavioral_events.event_definitions.read_write";

/// A client of a fresh account with every CRM and custom event scope.
pub async fn events_client(app: &TestApp) -> Crm<'_> {
    let mut scopes = ALL_CRM_SCOPES.to_vec();
    scopes.extend([SEND, DEFINITIONS]);
    Crm::with_scopes(app, &scopes).await
}

/// `POST /events/v3/event-definitions`, asserting 201; returns the fully qualified name.
pub async fn define(c: &Crm<'_>, body: Value) -> String {
    let r = c
        .call(Method::POST, "/events/v3/event-definitions", Some(&body))
        .await;
    r.assert_status(201);
    r.str("fullyQualifiedName").to_owned()
}

/// A contact event with one custom property of each type (and the default properties).
pub async fn define_signup(c: &Crm<'_>) -> String {
    define(
        c,
        json!({
            "label": "Signup",
            "name": "signup",
            "propertyDefinitions": [
                {"name": "plan", "label": "Plan", "type": "enumeration",
                 "options": [{"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"}]},
                {"name": "seats", "label": "Seats", "type": "number"},
                {"name": "trial", "label": "Trial", "type": "bool"},
                {"name": "renews_on", "label": "Renews on", "type": "date"},
                {"name": "paid_at", "label": "Paid at", "type": "datetime"},
                {"name": "note", "label": "Note", "type": "string"},
                {"name": "landing_url", "label": "Landing URL", "type": "string"},
            ]
        }),
    )
    .await
}

pub async fn send(c: &Crm<'_>, body: &Value) -> TestResponse {
    c.call(Method::POST, "/events/v3/send", Some(body)).await
}

pub async fn send_batch(c: &Crm<'_>, inputs: Vec<Value>) -> TestResponse {
    c.call(
        Method::POST,
        "/events/v3/send/batch",
        Some(&json!({ "inputs": inputs })),
    )
    .await
}

/// `GET /events/v3/events/?<query>` (with the trailing slash the SDKs send).
pub async fn events(c: &Crm<'_>, query: &str) -> TestResponse {
    c.call(Method::GET, &format!("/events/v3/events/?{query}"), None)
        .await
}

/// The `id`s of a page of results.
pub fn ids(r: &TestResponse) -> Vec<String> {
    r.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {}", r.text))
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A new contact's id.
pub async fn contact(c: &Crm<'_>, email: &str) -> String {
    c.create_id("contacts", json!({ "email": email })).await
}
