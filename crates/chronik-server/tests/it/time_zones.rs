//! An account's time zone (SPEC.md: the account's, settable by the operator, default UTC,
//! reported by `/account-info/v3/details`): `PATCH /admin/v1/accounts/{portalId}` sets it, the
//! account JSON and account-info show it, unknown zones are refused naming `timeZone`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestResponse};

impl TestApp {
    /// `PATCH /admin/v1/accounts/{portalId}` with `body`.
    pub async fn update_account(&self, portal_id: i64, body: &Value) -> TestResponse {
        self.send(
            self.admin(Method::PATCH, &format!("/admin/v1/accounts/{portal_id}"))
                .json(body),
        )
        .await
    }
}

/// The time zone story on one server: default UTC, set, shown everywhere, set again.
async fn time_zone_story(app: &TestApp) {
    let portal_id = app.new_account("Acme").await;
    let other = app.new_account("Other").await;
    let token = app.new_private_app(portal_id, &[]).await;

    let created = app.get_account(portal_id).await;
    created.assert_status(200);
    assert_eq!(created.str("timeZone"), "UTC", "the default is UTC");
    let details = app.account_details(Some(&token)).await;
    details.assert_status(200);
    assert_eq!(details.str("timeZone"), "UTC");
    assert_eq!(details.str("utcOffset"), "+00:00");
    assert_eq!(details.int("utcOffsetMilliseconds"), 0);

    // A zone without daylight saving time, so the offset is the same whenever the test runs.
    let patched = app
        .update_account(portal_id, &json!({ "timeZone": "Asia/Kolkata" }))
        .await;
    patched.assert_status(200).assert_json_content_type();
    assert_eq!(patched.int("portalId"), portal_id);
    assert_eq!(patched.str("name"), "Acme");
    assert_eq!(patched.str("timeZone"), "Asia/Kolkata");
    assert_eq!(app.get_account(portal_id).await.body, patched.body);

    // account-info read UTC just before; the change is seen at once, not after the cache's
    // interval.
    let details = app.account_details(Some(&token)).await;
    details.assert_status(200);
    assert_eq!(details.str("timeZone"), "Asia/Kolkata");
    assert_eq!(details.str("utcOffset"), "+05:30");
    assert_eq!(details.int("utcOffsetMilliseconds"), 19_800_000);

    let west = app
        .update_account(
            portal_id,
            &json!({ "timeZone": "America/Argentina/Buenos_Aires" }),
        )
        .await;
    west.assert_status(200);
    let details = app.account_details(Some(&token)).await;
    assert_eq!(details.str("timeZone"), "America/Argentina/Buenos_Aires");
    assert_eq!(details.str("utcOffset"), "-03:00");
    assert_eq!(details.int("utcOffsetMilliseconds"), -10_800_000);

    // Only that account changed; the list shows every account's zone.
    let listed = app.list_accounts().await;
    let zones: Vec<(i64, &str)> = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["portalId"].as_i64().unwrap(),
                a["timeZone"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        zones,
        [
            (portal_id, "America/Argentina/Buenos_Aires"),
            (other, "UTC")
        ]
    );
}

#[tokio::test]
async fn time_zone_is_set_by_the_operator_and_reported_by_account_info() {
    let app = TestApp::spawn().await;
    time_zone_story(&app).await;
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn time_zone_is_set_by_the_operator_and_reported_by_account_info_on_postgres() {
    let app = TestApp::spawn_postgres(
        "time_zones::time_zone_is_set_by_the_operator_and_reported_by_account_info_on_postgres",
    )
    .await;
    time_zone_story(&app).await;
}

#[tokio::test]
async fn unknown_time_zone_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    for (description, zone) in [
        ("not a zone", "Mars/Olympus_Mons"),
        ("an offset, not a name", "+02:00"),
        ("empty", ""),
        ("case differs from the IANA name", "europe/berlin"),
    ] {
        let response = app
            .update_account(portal_id, &json!({ "timeZone": zone }))
            .await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        let error = response.error_in("timeZone");
        assert_eq!(error["code"], "INVALID_TIME_ZONE", "{description}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("timeZone") && message.contains(&format!("{zone:?}")),
            "{description}: names the field and the value: {message}"
        );
    }
    let response = app.update_account(portal_id, &json!({})).await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(response.error_in("timeZone")["code"], "REQUIRED");

    let response = app
        .update_account(portal_id, &json!({ "timezone": "UTC" }))
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");

    assert_eq!(app.get_account(portal_id).await.str("timeZone"), "UTC");
}

#[tokio::test]
async fn time_zone_of_an_unknown_account_is_404_and_needs_the_admin_token() {
    let app = TestApp::spawn().await;
    let response = app
        .update_account(424_242, &json!({ "timeZone": "Europe/Berlin" }))
        .await;
    response.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(
        response.str("message").contains("424242"),
        "{}",
        response.text
    );

    let portal_id = app.new_account("Acme").await;
    let response = app
        .send(
            app.request(Method::PATCH, &format!("/admin/v1/accounts/{portal_id}"))
                .json(&json!({ "timeZone": "Europe/Berlin" })),
        )
        .await;
    response.assert_api_error(401, "INVALID_AUTHENTICATION");
    assert_eq!(app.get_account(portal_id).await.str("timeZone"), "UTC");
}

#[tokio::test]
async fn account_time_zone_is_read_once_and_forgotten_on_change() {
    let app = TestApp::spawn().await;
    let portal_id = app.new_account("Acme").await;
    let account = chronik_domain::AccountId(portal_id);
    assert_eq!(
        app.state.account_time_zone(account).await.unwrap(),
        chrono_tz::Tz::UTC
    );
    app.update_account(portal_id, &json!({ "timeZone": "Europe/Berlin" }))
        .await
        .assert_status(200);
    assert_eq!(
        app.state.account_time_zone(account).await.unwrap(),
        chrono_tz::Tz::Europe__Berlin
    );
    let unknown = app
        .state
        .account_time_zone(chronik_domain::AccountId(424_242))
        .await;
    assert_eq!(
        unknown.map_err(|e| e.category.as_str()).unwrap_err(),
        "OBJECT_NOT_FOUND"
    );
}
