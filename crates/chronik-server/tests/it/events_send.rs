//! `POST /events/v3/send` and `/send/batch`: identifiers and their priority, every value rule
//! at its limit and one past it, attribution values, uuid idempotency, all-or-nothing batches,
//! the monthly quota, the dated prefixes, scopes and tenant isolation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::Crm;
use crate::events_helpers::*;
use crate::helpers::{PgSchema, TestApp};

async fn setup(app: &TestApp) -> (Crm<'_>, String, String) {
    let c = events_client(app).await;
    let fqn = define_signup(&c).await;
    let contact = contact(&c, "ada@example.com").await;
    (c, fqn, contact)
}

fn completion(fqn: &str, contact: &str, properties: Value) -> Value {
    json!({ "eventName": fqn, "objectId": contact, "properties": properties })
}

/// The one completion of the event type, or a panic.
async fn only(c: &Crm<'_>, fqn: &str) -> Value {
    let r = events(c, &format!("eventType={fqn}")).await;
    r.assert_status(200);
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{}", r.text);
    results[0].clone()
}

async fn count(c: &Crm<'_>, fqn: &str) -> usize {
    let r = events(c, &format!("eventType={fqn}&limit=1000")).await;
    r.assert_status(200);
    r.body["results"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_completion_is_stored_with_its_values_and_read_back() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let r = send(
        &c,
        &json!({
            "eventName": fqn,
            "objectId": contact,
            "occurredAt": "2024-01-02T03:04:05.123000+00:00",
            "uuid": "f1b8c7b0-3a59-4c3e-9d51-7f8f5d6b2a10",
            "properties": {"plan": "pro", "Seats": "12", "trial": "true", "hs_city": "Cambridge"}
        }),
    )
    .await;
    r.assert_status(204);
    assert!(r.text.is_empty());
    let e = only(&c, &fqn).await;
    assert_eq!(e["objectType"], "CONTACT");
    assert_eq!(e["objectId"], contact.as_str());
    assert_eq!(e["eventType"], fqn.as_str());
    assert_eq!(e["occurredAt"], "2024-01-02T03:04:05.123Z");
    assert_eq!(e["id"], "f1b8c7b0-3a59-4c3e-9d51-7f8f5d6b2a10");
    assert_eq!(
        e["properties"],
        json!({"plan": "pro", "seats": "12", "trial": "true", "hs_city": "Cambridge"}),
        "names folded to lower case"
    );
}

#[tokio::test]
async fn defaults_fill_occurred_at_and_the_uuid() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    send(&c, &json!({"eventName": fqn, "objectId": contact.parse::<i64>().unwrap(), "occurredAt": 1_700_000_000_000_i64}))
        .await
        .assert_status(204);
    send(&c, &json!({"eventName": fqn, "objectId": contact}))
        .await
        .assert_status(204);
    let r = events(&c, &format!("eventType={fqn}&sort=ASCENDING")).await;
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(
        results[0]["occurredAt"], "2023-11-14T22:13:20.000Z",
        "epoch ms, as a number"
    );
    let received: chrono::DateTime<chrono::Utc> =
        results[1]["occurredAt"].as_str().unwrap().parse().unwrap();
    assert!(
        received >= before,
        "absent occurredAt is the time of receipt"
    );
    let id = results[1]["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "a generated uuid: {id}");
    assert_eq!(results[1]["properties"], json!({}));
}

#[tokio::test]
async fn email_finds_or_creates_the_contact_and_utk_only_finds() {
    let app = TestApp::spawn().await;
    let (c, fqn, ada) = setup(&app).await;
    send(&c, &json!({"eventName": fqn, "email": "ADA@example.com"}))
        .await
        .assert_status(204);
    send(&c, &json!({"eventName": fqn, "email": "new@example.com"}))
        .await
        .assert_status(204);
    send(&c, &json!({"eventName": fqn, "email": "New@Example.com"}))
        .await
        .assert_status(204);
    let created = c
        .get("contacts", "new@example.com", "?idProperty=email")
        .await;
    created.assert_status(200);
    let new_id = created.str("id").to_owned();
    let r = events(&c, &format!("eventType={fqn}&sort=ASCENDING")).await;
    let owners: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["objectId"].as_str().unwrap())
        .collect();
    assert_eq!(owners, vec![ada.as_str(), new_id.as_str(), new_id.as_str()]);

    // A utk nobody has is refused and creates nothing.
    let r = send(&c, &json!({"eventName": fqn, "utk": "visitor-1"})).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.str("message").contains("utk"), "{}", r.text);
    r.error_in("utk");
    // Once the visitor identifies, the utk finds the contact.
    app.link_visitor(
        c.portal_id,
        &json!({"utk": "visitor-1", "email": "ada@example.com"}),
    )
    .await
    .assert_status(200);
    send(&c, &json!({"eventName": fqn, "utk": "visitor-1"}))
        .await
        .assert_status(204);
    let r = events(&c, &format!("objectType=contact&objectId={ada}")).await;
    assert_eq!(ids(&r).len(), 2);
}

#[tokio::test]
async fn object_id_wins_over_email_and_a_missing_identifier_is_named() {
    let app = TestApp::spawn().await;
    let (c, fqn, ada) = setup(&app).await;
    send(
        &c,
        &json!({"eventName": fqn, "objectId": ada, "email": "someone-else@example.com"}),
    )
    .await
    .assert_status(204);
    assert_eq!(only(&c, &fqn).await["objectId"], ada.as_str());
    c.get("contacts", "someone-else@example.com", "?idProperty=email")
        .await
        .assert_status(404);

    let r = send(&c, &json!({"eventName": fqn, "properties": {}})).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(
        r.str("message").contains("email, utk, or objectId"),
        "{}",
        r.text
    );

    for bad in ["abc", "-4", "0"] {
        let r = send(&c, &json!({"eventName": fqn, "objectId": bad})).await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        r.error_in("objectId");
    }
    let r = send(&c, &json!({"eventName": fqn, "objectId": "999999999"})).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.str("message").contains("999999999"), "{}", r.text);
    let r = send(&c, &json!({"eventName": fqn, "email": "not an email"})).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("email");
}

#[tokio::test]
async fn non_contact_events_need_object_id() {
    let app = TestApp::spawn().await;
    let c = events_client(&app).await;
    let fqn = define(
        &c,
        json!({"label": "Renewal", "name": "renewal", "primaryObject": "COMPANY", "propertyDefinitions": []}),
    )
    .await;
    let company = c.create_id("companies", json!({"name": "Acme"})).await;
    let contact = contact(&c, "ada@example.com").await;
    let r = send(&c, &json!({"eventName": fqn, "email": "ada@example.com"})).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.str("message").contains("objectId"), "{}", r.text);
    // A contact's id is not a company.
    let r = send(&c, &json!({"eventName": fqn, "objectId": contact})).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    send(&c, &json!({"eventName": fqn, "objectId": company}))
        .await
        .assert_status(204);
    let e = only(&c, &fqn).await;
    assert_eq!(e["objectType"], "COMPANY");
    assert_eq!(e["objectId"], company.as_str());
    let r = events(&c, &format!("objectType=companies&objectId={company}")).await;
    assert_eq!(ids(&r).len(), 1);
}

#[tokio::test]
async fn a_custom_matching_id_finds_the_record_and_overrides_object_id() {
    let app = TestApp::spawn().await;
    let c = events_client(&app).await;
    let fqn = define(
        &c,
        json!({
            "label": "Login", "name": "login",
            "propertyDefinitions": [{"name": "user_email", "label": "User email", "type": "string"}],
            "customMatchingId": {"primaryObjectRule": {"targetObjectPropertyName": "email", "eventPropertyName": "user_email"}}
        }),
    )
    .await;
    let ada = contact(&c, "ada@example.com").await;
    let bob = contact(&c, "bob@example.com").await;
    send(
        &c,
        &json!({"eventName": fqn, "objectId": bob, "properties": {"user_email": "ADA@example.com"}}),
    )
    .await
    .assert_status(204);
    assert_eq!(
        only(&c, &fqn).await["objectId"],
        ada.as_str(),
        "the matching id wins"
    );
    // Without the event property, objectId applies.
    send(&c, &json!({"eventName": fqn, "objectId": bob}))
        .await
        .assert_status(204);
    let r = events(&c, &format!("objectType=contact&objectId={bob}")).await;
    assert_eq!(ids(&r).len(), 1);
    // A value no record has is refused, naming the property.
    let r = send(
        &c,
        &json!({"eventName": fqn, "properties": {"user_email": "nobody@example.com"}}),
    )
    .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.str("message").contains("user_email"), "{}", r.text);
    assert!(
        r.str("message").contains("nobody@example.com"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn values_are_checked_at_each_length_limit() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let ok = |props: Value| completion(&fqn, &contact, props);
    // 256 characters for a plain string, 1,024 for URL properties (custom and default).
    for (name, limit) in [
        ("note", 256),
        ("hs_city", 256),
        ("landing_url", 1024),
        ("hs_page_url", 1024),
        ("hs_referrer", 1024),
    ] {
        send(&c, &ok(json!({ name: "é".repeat(limit) })))
            .await
            .assert_status(204);
        let r = send(&c, &ok(json!({ name: "é".repeat(limit + 1) }))).await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        let e = r.error_in(&format!("properties.{name}"));
        assert!(
            e["message"].as_str().unwrap().contains(&limit.to_string()),
            "{name}: {e}"
        );
    }
}

#[tokio::test]
async fn at_most_fifty_properties_after_folding() {
    let app = TestApp::spawn().await;
    let c = events_client(&app).await;
    let defs: Vec<Value> = (0..51)
        .map(|i| json!({"name": format!("p{i}"), "label": format!("P {i}"), "type": "string"}))
        .collect();
    let fqn = define(
        &c,
        json!({"label": "Wide", "name": "wide", "includeDefaultProperties": false, "propertyDefinitions": defs[..50]}),
    )
    .await;
    let contact = contact(&c, "ada@example.com").await;
    let props = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("p{i}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    send(&c, &completion(&fqn, &contact, props(50)))
        .await
        .assert_status(204);
    let mut fifty_one = props(50);
    fifty_one["p50"] = json!("v");
    let r = send(&c, &completion(&fqn, &contact, fifty_one)).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.error_in("properties")["message"]
        .as_str()
        .unwrap()
        .contains("50"));
    // Names equal after folding count once: 50 distinct names in 52 keys.
    let mut with_duplicates = props(50);
    with_duplicates["P0"] = json!("upper");
    with_duplicates["P1"] = json!("upper");
    send(&c, &completion(&fqn, &contact, with_duplicates))
        .await
        .assert_status(204);
}

#[tokio::test]
async fn duplicate_names_keep_the_one_sorted_last() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    // Ascending order of the original names: "NOTE" < "Note" < "note"; the last one wins.
    send(
        &c,
        &completion(
            &fqn,
            &contact,
            json!({"Note": "b", "note": "c", "NOTE": "a"}),
        ),
    )
    .await
    .assert_status(204);
    assert_eq!(only(&c, &fqn).await["properties"]["note"], "c");
}

#[tokio::test]
async fn values_are_checked_by_type() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let good = [
        ("seats", "12"),
        ("seats", "12.5"),
        ("trial", "false"),
        ("plan", "free"),
        ("plan", "free;pro"),
        ("renews_on", "2024-05-01"),
        ("renews_on", "1714521600000"),
        ("paid_at", "2024-05-01T10:11:12Z"),
        ("paid_at", "1714558272000"),
    ];
    for (name, value) in good {
        send(&c, &completion(&fqn, &contact, json!({ name: value })))
            .await
            .assert_status(204);
    }
    let bad = [
        ("seats", "1.2.3"),
        ("seats", "twelve"),
        ("trial", "yes"),
        ("plan", "gold"),
        ("plan", "free;gold"),
        ("renews_on", "01/05/2024"),
        ("paid_at", "yesterday"),
        ("unknown_property", "x"),
    ];
    for (name, value) in bad {
        let r = send(&c, &completion(&fqn, &contact, json!({ name: value }))).await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        r.error_in(&format!("properties.{name}"));
    }
    let r = send(&c, &completion(&fqn, &contact, json!({"note": null}))).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    // Numbers and booleans are taken as their text.
    send(
        &c,
        &completion(&fqn, &contact, json!({"seats": 3, "trial": true})),
    )
    .await
    .assert_status(204);
}

#[tokio::test]
async fn attribution_values_follow_the_seed() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    send(
        &c,
        &json!({"eventName": fqn, "objectId": contact, "uuid": "a1",
                "properties": {"hs_page_content_type": "BLOG_POST", "hs_asset_type": "AD", "hs_touchpoint_source": "PAID_SOCIAL"}}),
    )
    .await
    .assert_status(204);
    let r = events(&c, &format!("eventType={fqn}&id=a1")).await;
    let props = &r.body["results"][0]["properties"];
    assert_eq!(
        props["hs_asset_type"], "BLOG_POST",
        "hs_page_content_type overrides hs_asset_type"
    );
    assert_eq!(props["hs_touchpoint_source"], "PAID_SOCIAL");
    let own = format!("pe{}_signup", c.portal_id);
    send(
        &c,
        &completion(&fqn, &contact, json!({"hs_asset_type": own})),
    )
    .await
    .assert_status(204);
    for (name, value) in [
        ("hs_asset_type", "PODCAST"),
        ("hs_page_content_type", "blog_post"),
        ("hs_touchpoint_source", "CARRIER_PIGEON"),
    ] {
        let r = send(&c, &completion(&fqn, &contact, json!({ name: value }))).await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        r.error_in(&format!("properties.{name}"));
    }
}

#[tokio::test]
async fn a_repeated_uuid_is_accepted_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    for note in ["first", "second"] {
        send(
            &c,
            &json!({"eventName": fqn, "objectId": contact, "uuid": "retry-1", "properties": {"note": note}}),
        )
        .await
        .assert_status(204);
    }
    let e = only(&c, &fqn).await;
    assert_eq!(
        e["properties"]["note"], "first",
        "the first completion stays"
    );
    let metrics = app.metrics().await.text;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("chronik_custom_event_duplicates_total"))
        .unwrap_or_else(|| panic!("no duplicates metric in {metrics}"));
    assert!(line.ends_with(" 1"), "{line}");
    for bad in [json!(""), json!("x".repeat(257))] {
        let r = send(
            &c,
            &json!({"eventName": fqn, "objectId": contact, "uuid": bad}),
        )
        .await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        r.error_in("uuid");
    }
    send(
        &c,
        &json!({"eventName": fqn, "objectId": contact, "uuid": "x".repeat(256)}),
    )
    .await
    .assert_status(204);
}

#[tokio::test]
async fn a_batch_takes_up_to_five_hundred_inputs() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let inputs = |n: usize, tag: &str| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"eventName": fqn, "objectId": contact, "uuid": format!("{tag}-{i}")}))
            .collect()
    };
    send_batch(&c, inputs(500, "a")).await.assert_status(204);
    assert_eq!(count(&c, &fqn).await, 500);
    let r = send_batch(&c, inputs(501, "b")).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.error_in("inputs")["message"]
        .as_str()
        .unwrap()
        .contains("500"));
    let r = send_batch(&c, Vec::new()).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    let r = c
        .call(Method::POST, "/events/v3/send/batch", Some(&json!({})))
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("inputs");
    assert_eq!(count(&c, &fqn).await, 500, "refused batches store nothing");
}

#[tokio::test]
async fn a_batch_with_bad_inputs_stores_nothing_and_names_each_one() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let inputs = vec![
        json!({"eventName": fqn, "objectId": contact}),
        json!({"eventName": fqn, "objectId": contact, "properties": {"seats": "many"}}),
        json!({"eventName": fqn, "email": "fresh@example.com"}),
        json!({"eventName": "pe1_nope", "objectId": contact}),
        json!({"eventName": fqn, "objectId": "999999999"}),
    ];
    let r = send_batch(&c, inputs).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    let indexes: Vec<&str> = r
        .errors()
        .iter()
        .map(|e| e["context"]["inputIndex"][0].as_str().unwrap())
        .collect();
    assert_eq!(indexes, vec!["1", "3"], "{}", r.text);
    assert!(r.str("message").contains("2 of 5"), "{}", r.text);
    r.error_in("inputs[1].properties.seats");
    r.error_in("inputs[3].eventName");
    assert_eq!(count(&c, &fqn).await, 0);
    // With those fixed, the missing record is the one left; still nothing stored, no contact made.
    let inputs = vec![
        json!({"eventName": fqn, "email": "fresh@example.com"}),
        json!({"eventName": fqn, "objectId": "999999999"}),
    ];
    let r = send_batch(&c, inputs).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("inputs[1].objectId");
    assert_eq!(r.errors()[0]["context"]["inputIndex"][0], "1");
    assert_eq!(count(&c, &fqn).await, 0);
    c.get("contacts", "fresh@example.com", "?idProperty=email")
        .await
        .assert_status(404);
}

#[tokio::test]
async fn the_monthly_quota_refuses_past_its_limit() {
    let app = TestApp::spawn_with(|config| config.max_monthly_completions = 3).await;
    let (c, fqn, contact) = setup(&app).await;
    let input = |i: usize| json!({"eventName": fqn, "objectId": contact, "uuid": format!("q{i}")});
    send_batch(&c, vec![input(0), input(1)])
        .await
        .assert_status(204);
    send(&c, &input(2)).await.assert_status(204);
    // A retry of a stored uuid stores nothing and does not count.
    send(&c, &input(2)).await.assert_status(204);
    let r = send(&c, &input(3)).await;
    r.assert_api_error(429, "RATE_LIMITS");
    assert!(r.str("message").contains('3'), "{}", r.text);
    let r = send_batch(&c, vec![input(4), input(5)]).await;
    r.assert_api_error(429, "RATE_LIMITS");
    assert_eq!(count(&c, &fqn).await, 3);
}

#[tokio::test]
async fn the_dated_prefixes_send_too() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    for prefix in ["/events/2025-09", "/events/2026-03"] {
        let one = json!({"eventName": fqn, "objectId": contact});
        c.call(Method::POST, &format!("{prefix}/send"), Some(&one))
            .await
            .assert_status(204);
        c.call(
            Method::POST,
            &format!("{prefix}/send/batch"),
            Some(&json!({ "inputs": [one] })),
        )
        .await
        .assert_status(204);
    }
    assert_eq!(count(&c, &fqn).await, 4);
}

#[tokio::test]
async fn sending_needs_the_send_scope_and_stays_in_the_account() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let reader = c.token_with(&[DEFINITIONS]).await;
    let r = send(&reader, &completion(&fqn, &contact, json!({}))).await;
    r.assert_api_error(403, "MISSING_SCOPES");
    assert!(r.text.contains(SEND));
    let r = app
        .send(
            app.request(Method::POST, "/events/v3/send")
                .json(&json!({})),
        )
        .await;
    r.assert_api_error(401, "INVALID_AUTHENTICATION");

    // Another account can neither use this account's event nor reach its records.
    let other = events_client(&app).await;
    let r = send(&other, &completion(&fqn, &contact, json!({}))).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("eventName");
    let theirs = define_signup(&other).await;
    let r = send(&other, &completion(&theirs, &contact, json!({}))).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("objectId");
    assert_eq!(count(&c, &fqn).await, 0);
}

#[tokio::test]
async fn malformed_bodies_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let r = send(
        &c,
        &json!({"eventName": fqn, "objectId": contact, "eventType": "x"}),
    )
    .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.text.contains("eventType"), "{}", r.text);
    let r = send(&c, &json!({"objectId": contact})).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("eventName");
    let r = send(
        &c,
        &json!({"eventName": fqn, "objectId": contact, "occurredAt": "soon"}),
    )
    .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("occurredAt");
    let r = send(
        &c,
        &json!({"eventName": fqn, "objectId": contact, "properties": ["a"]}),
    )
    .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn postgres_sends_and_reads_back() {
    let app = TestApp::spawn_postgres("postgres_sends_and_reads_back").await;
    let (c, fqn, contact) = setup(&app).await;
    let inputs: Vec<Value> = (0..20)
        .map(|i| json!({"eventName": fqn, "objectId": contact, "uuid": format!("pg-{i}"), "occurredAt": 1_700_000_000_000_i64 + i}))
        .collect();
    send_batch(&c, inputs.clone()).await.assert_status(204);
    send_batch(&c, inputs).await.assert_status(204);
    send(&c, &json!({"eventName": fqn, "email": "new@example.com"}))
        .await
        .assert_status(204);
    assert_eq!(count(&c, &fqn).await, 21);
    let r = events(
        &c,
        &format!("objectType=contact&objectId={contact}&limit=5&sort=ASCENDING"),
    )
    .await;
    assert_eq!(ids(&r), vec!["pg-0", "pg-1", "pg-2", "pg-3", "pg-4"]);
    let after = r.body["paging"]["next"]["after"].as_str().unwrap();
    let r = events(
        &c,
        &format!("objectType=contact&objectId={contact}&limit=5&sort=ASCENDING&after={after}"),
    )
    .await;
    assert_eq!(ids(&r)[0], "pg-5");
}

/// On PostgreSQL the server stores concurrent single sends of an account together; each send
/// still gets the answer it would get alone: repeats of a uuid store it once, a missing record
/// refuses only its own send, and the monthly quota stores exactly as many as it allows.
#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_single_sends_on_postgres_get_their_own_answers() {
    let pg =
        PgSchema::fresh("events_send::concurrent_single_sends_on_postgres_get_their_own_answers")
            .await;
    let app = TestApp::spawn_on_postgres(&pg, |config| config.max_monthly_completions = 250).await;
    let (c, fqn, contact) = setup(&app).await;
    let input =
        |uuid: String, record: &str| json!({"eventName": fqn, "objectId": record, "uuid": uuid});
    // A hundred uuids, each sent twice at once, and ten sends to a record that does not exist.
    let mut bodies: Vec<Value> = (0..200)
        .map(|i| input(format!("twice-{}", i % 100), &contact))
        .collect();
    bodies.extend((0..10).map(|i| input(format!("lost-{i}"), "999999999")));
    let answers = futures::future::join_all(bodies.iter().map(|b| send(&c, b))).await;
    for (i, r) in answers.iter().enumerate() {
        if i < 200 {
            r.assert_status(204);
        } else {
            r.assert_api_error(400, "VALIDATION_ERROR");
            assert_eq!(r.errors()[0]["code"], "RECORD_NOT_FOUND", "{}", r.text);
        }
    }
    assert_eq!(count(&c, &fqn).await, 100, "each repeated uuid once");

    // 200 new ones at once, with room for 150: exactly 150 are stored, the others refused.
    let bodies: Vec<Value> = (0..200)
        .map(|i| input(format!("new-{i}"), &contact))
        .collect();
    let answers = futures::future::join_all(bodies.iter().map(|b| send(&c, b))).await;
    let stored = answers.iter().filter(|r| r.status == 204).count();
    for r in answers.iter().filter(|r| r.status != 204) {
        r.assert_api_error(429, "RATE_LIMITS");
    }
    assert_eq!(stored, 150, "exactly up to the quota");
    assert_eq!(count(&c, &fqn).await, 250);
}

/// Sends keep their grant and definitions between requests; a change of the definition is
/// still checked by the very next send (the store refuses the kept version, and the send is
/// checked again against the changed definition).
#[tokio::test]
async fn the_send_after_a_definition_change_is_checked_against_the_change() {
    let app = TestApp::spawn().await;
    let (c, fqn, contact) = setup(&app).await;
    let seats = |uuid: &str, seats: &str| json!({"eventName": fqn, "objectId": contact, "uuid": uuid, "properties": {"seats": seats}});
    send(&c, &seats("1", "5")).await.assert_status(204);
    send(&c, &seats("2", "6")).await.assert_status(204);
    // seats becomes a string property: a value the number type refused is now taken.
    send(&c, &seats("3", "many"))
        .await
        .assert_api_error(400, "VALIDATION_ERROR");
    c.call(
        Method::DELETE,
        "/events/v3/event-definitions/signup/property/seats",
        None,
    )
    .await
    .assert_status(204);
    let r = c
        .call(
            Method::POST,
            "/events/v3/event-definitions/signup/property",
            Some(&json!({"name": "seats", "label": "Seats", "type": "string"})),
        )
        .await;
    r.assert_status(201);
    send(&c, &seats("3", "many")).await.assert_status(204);
    assert_eq!(count(&c, &fqn).await, 3);
}
