//! `GET /crm/v3/objects/{objectType}/{objectId}/timeline`: custom event completions and
//! timeline events of one record merged newest first, rendered cards, stable cursor paging
//! across both kinds, the filters, deleted templates, waiting utk events, and tenant isolation.
//! Every case runs on SQLite and on PostgreSQL.

use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::Crm;
use crate::events_helpers::*;
use crate::helpers::{AppCreds, TestApp, TestResponse};

const T0: i64 = 1_704_067_200_000;

fn at(s: i64) -> i64 {
    T0 + s * 1000
}

/// An account with a private app (CRM and custom events), an app installed with `timeline`,
/// a contact, the custom event `signup` and the timeline template `pets`.
struct World<'a> {
    c: Crm<'a>,
    app: AppCreds,
    install_token: String,
    signup: String,
    template: String,
    contact: String,
}

async fn world(app: &TestApp) -> World<'_> {
    let c = events_client(app).await;
    let signup = define_signup(&c).await;
    let creds = app.new_app("PetSpot").await;
    let tokens = app
        .new_install(
            &creds,
            c.portal_id,
            &["timeline", "crm.objects.contacts.read"],
        )
        .await;
    let w = World {
        template: String::new(),
        contact: c
            .create_id("contacts", json!({"email": "ada@example.com"}))
            .await,
        c,
        app: creds,
        install_token: tokens.access_token,
        signup,
    };
    let template = create_template(
        &w,
        json!({
            "name": "Pet registration",
            "objectType": "contacts",
            "headerTemplate": "Registered [{{petName}}](https://pets.example/{{petName}})",
            "detailTemplate": "Registered at {{#formatDate timestamp}}{{/formatDate}}",
            "tokens": [{"name": "petName", "label": "Pet name", "type": "string"}]
        }),
    )
    .await;
    World { template, ..w }
}

async fn create_template(w: &World<'_>, body: Value) -> String {
    let r = template_call(w, Method::POST, "", Some(&body)).await;
    r.assert_status(201);
    r.str("id").to_owned()
}

async fn template_call(
    w: &World<'_>,
    method: Method,
    suffix: &str,
    body: Option<&Value>,
) -> TestResponse {
    let path = format!(
        "/integrators/timeline/v3/{}/event-templates{suffix}?hapikey={}",
        w.app.app_id, w.app.developer_api_key
    );
    let mut req = w.c.app.request(method, &path);
    if let Some(b) = body {
        req = req.json(b);
    }
    w.c.app.send(req).await
}

async fn timeline_event(w: &World<'_>, body: Value) -> TestResponse {
    let req =
        w.c.app
            .request(Method::POST, "/integrators/timeline/v3/events")
            .bearer_auth(&w.install_token)
            .json(&body);
    w.c.app.send(req).await
}

async fn pet(w: &World<'_>, id: &str, name: &str, t: i64) {
    timeline_event(
        w,
        json!({"eventTemplateId": w.template, "id": id, "objectId": w.contact,
               "timestamp": t, "tokens": {"petName": name}}),
    )
    .await
    .assert_status(201);
}

async fn signup(w: &World<'_>, uuid: &str, t: i64) {
    send(
        &w.c,
        &json!({"eventName": w.signup, "objectId": w.contact, "uuid": uuid, "occurredAt": t,
                "properties": {"plan": "pro"}}),
    )
    .await
    .assert_status(204);
}

async fn timeline(w: &World<'_>, query: &str) -> TestResponse {
    let path = format!("/crm/v3/objects/contacts/{}/timeline?{query}", w.contact);
    w.c.call(Method::GET, &path, None).await
}

fn ids(r: &TestResponse) -> Vec<String> {
    r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn merged_newest_first_with_rendered_cards(app: &TestApp) {
    let w = world(app).await;
    signup(&w, "c10", at(10)).await;
    pet(&w, "e20", "Rex", at(20)).await;
    signup(&w, "c30", at(30)).await;
    pet(&w, "e30", "<script>alert(1)</script>", at(30)).await;
    pet(&w, "e40", "Art3mis", at(40)).await;
    let r = timeline(&w, "").await;
    r.assert_status(200);
    assert_eq!(
        ids(&r),
        ["e40", "e30", "c30", "e20", "c10"],
        "newest first; at one millisecond timeline events before completions"
    );
    let cards = r.body["results"].as_array().unwrap();
    let newest = &cards[0];
    assert_eq!(newest["kind"], "TIMELINE_EVENT");
    assert_eq!(newest["eventType"], w.template.as_str());
    assert_eq!(newest["eventTypeName"], "Pet registration");
    assert_eq!(newest["occurredAt"], "2024-01-01T00:00:40.000Z");
    assert_eq!(
        newest["headerHtml"],
        "<p>Registered <a href=\"https://pets.example/Art3mis\" rel=\"noopener noreferrer nofollow\">Art3mis</a></p>"
    );
    assert!(
        newest["detailHtml"]
            .as_str()
            .unwrap()
            .contains("Jan 1, 2024, 12:00:40 AM"),
        "{}",
        newest["detailHtml"]
    );
    assert_eq!(newest["appId"], w.app.app_id);
    assert!(newest.get("iconUrl").is_none(), "the app has no icon yet");
    let hostile = cards[1]["headerHtml"].as_str().unwrap();
    assert!(!hostile.contains("<script"), "{hostile}");
    assert!(hostile.contains("&lt;script&gt;"), "{hostile}");
    let completion = &cards[2];
    assert_eq!(completion["kind"], "CUSTOM_EVENT");
    assert_eq!(completion["eventType"], w.signup.as_str());
    assert_eq!(completion["eventTypeName"], "Signup");
    assert_eq!(completion["headerHtml"], "<p>Signup</p>");
    assert!(completion["detailHtml"]
        .as_str()
        .unwrap()
        .contains("<dt>plan</dt><dd>pro</dd>"));
    assert!(completion.get("appId").is_none());
    assert!(r.body.get("paging").is_none(), "one page holds all");

    // An icon and a time zone change the cards at once.
    app.put_icon(w.app.app_id, "image/png", crate::app_icons::disc(60))
        .await
        .assert_status(200);
    app.send(
        app.admin(
            Method::PATCH,
            &format!("/admin/v1/accounts/{}", w.c.portal_id),
        )
        .json(&json!({"timeZone": "America/New_York"})),
    )
    .await
    .assert_status(200);
    let newest = &timeline(&w, "limit=1").await.body["results"][0];
    assert_eq!(
        newest["iconUrl"],
        format!("/apps/{}/icon", w.app.app_id).as_str()
    );
    assert!(
        newest["detailHtml"]
            .as_str()
            .unwrap()
            .contains("Dec 31, 2023, 7:00:40 PM"),
        "rendered in the account's zone: {}",
        newest["detailHtml"]
    );
}

async fn pages_are_stable_across_both_kinds(app: &TestApp) {
    let w = world(app).await;
    signup(&w, "c10", at(10)).await;
    pet(&w, "e20", "a", at(20)).await;
    signup(&w, "c30", at(30)).await;
    pet(&w, "e30", "b", at(30)).await;
    pet(&w, "e40", "c", at(40)).await;
    let first = timeline(&w, "limit=2").await;
    assert_eq!(ids(&first), ["e40", "e30"]);
    let after = first.body["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_owned();
    // Newer events and one in the page's own millisecond arrive between the pages.
    pet(&w, "e50", "d", at(50)).await;
    signup(&w, "c50", at(50)).await;
    let second = timeline(&w, &format!("limit=2&after={after}")).await;
    assert_eq!(ids(&second), ["c30", "e20"], "no repeats, no skips");
    let after = second.body["paging"]["next"]["after"].as_str().unwrap();
    let third = timeline(&w, &format!("limit=2&after={after}")).await;
    assert_eq!(ids(&third), ["c10"]);
    assert!(third.body.get("paging").is_none());
    for bad in ["x", "1_2", "1_5_3"] {
        let r = timeline(&w, &format!("after={bad}")).await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        r.error_in("after");
    }
    for bad in ["0", "101"] {
        timeline(&w, &format!("limit={bad}"))
            .await
            .assert_api_error(400, "VALIDATION_ERROR");
    }
    assert_eq!(ids(&timeline(&w, "limit=100").await).len(), 7);
}

async fn filters_by_kind_type_and_time(app: &TestApp) {
    let w = world(app).await;
    signup(&w, "c10", at(10)).await;
    pet(&w, "e20", "a", at(20)).await;
    signup(&w, "c30", at(30)).await;
    assert_eq!(
        ids(&timeline(&w, "kind=CUSTOM_EVENT").await),
        ["c30", "c10"]
    );
    assert_eq!(ids(&timeline(&w, "kind=timeline_event").await), ["e20"]);
    assert_eq!(
        ids(&timeline(&w, &format!("eventType={}", w.template)).await),
        ["e20"]
    );
    assert_eq!(
        ids(&timeline(&w, &format!("eventType={}", w.signup)).await),
        ["c30", "c10"]
    );
    assert_eq!(
        ids(&timeline(
            &w,
            &format!("occurredAfter={}&occurredBefore={}", at(15), at(30))
        )
        .await),
        ["c30", "e20"],
        "both bounds inclusive"
    );
    let r = timeline(&w, "kind=NOPE").await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("kind");
    let r = timeline(&w, "eventType=pe1_unknown").await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("eventType");
}

async fn template_changes_and_deletes_show_on_the_timeline(app: &TestApp) {
    let w = world(app).await;
    pet(&w, "e20", "Rex", at(20)).await;
    let r = template_call(
        &w,
        Method::PUT,
        &format!("/{}", w.template),
        Some(&json!({
            "id": w.template,
            "name": "Pet registration",
            "headerTemplate": "Now called **{{petName}}**",
            "tokens": [{"name": "petName", "label": "Pet name", "type": "string"}]
        })),
    )
    .await;
    r.assert_status(200);
    let card = &timeline(&w, "").await.body["results"][0];
    assert_eq!(card["headerHtml"], "<p>Now called <strong>Rex</strong></p>");
    // A token removed from the template no longer renders, though the event keeps its value.
    template_call(
        &w,
        Method::PUT,
        &format!("/{}", w.template),
        Some(&json!({"id": w.template, "name": "Pet registration",
                     "headerTemplate": "Pet: {{petName}}.", "tokens": []})),
    )
    .await
    .assert_status(200);
    let card = &timeline(&w, "").await.body["results"][0];
    assert_eq!(card["headerHtml"], "<p>Pet: .</p>");
    template_call(&w, Method::DELETE, &format!("/{}", w.template), None)
        .await
        .assert_status(204);
    assert!(
        ids(&timeline(&w, "").await).is_empty(),
        "a deleted template's events leave the timeline"
    );
}

async fn waiting_utk_events_appear_once_the_utk_is_linked(app: &TestApp) {
    let w = world(app).await;
    timeline_event(
        &w,
        json!({"eventTemplateId": w.template, "id": "anon", "utk": "utk-123",
               "timestamp": at(5), "tokens": {"petName": "Ghost"}}),
    )
    .await
    .assert_status(201);
    assert!(ids(&timeline(&w, "").await).is_empty());
    w.c.app
        .link_visitor(
            w.c.portal_id,
            &json!({"utk": "utk-123", "email": "ada@example.com"}),
        )
        .await
        .assert_status(200);
    assert_eq!(ids(&timeline(&w, "").await), ["anon"]);
}

async fn records_of_other_accounts_and_missing_scopes_are_refused(app: &TestApp) {
    let w = world(app).await;
    pet(&w, "e20", "a", at(20)).await;
    let other = events_client(app).await;
    let path = format!("/crm/v3/objects/contacts/{}/timeline", w.contact);
    other
        .call(Method::GET, &path, None)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    w.c.call(
        Method::GET,
        "/crm/v3/objects/contacts/999999/timeline",
        None,
    )
    .await
    .assert_api_error(404, "OBJECT_NOT_FOUND");
    let no_scope = w.c.token_with(&[SEND]).await;
    no_scope
        .call(Method::GET, &path, None)
        .await
        .assert_api_error(403, "MISSING_SCOPES");
    // The install's own token reads it too (it holds crm.objects.contacts.read).
    let r =
        w.c.app
            .send(
                w.c.app
                    .request(Method::GET, &path)
                    .bearer_auth(&w.install_token),
            )
            .await;
    r.assert_status(200);
    assert_eq!(ids(&r), ["e20"]);
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(&crate::helpers::TestApp::spawn().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[chronik_test_macros::postgres]
                #[tokio::test]
                async fn $case() {
                    let app = crate::helpers::TestApp::spawn_postgres(concat!("timeline_", stringify!($case))).await;
                    super::$case(&app).await;
                }
            )*
        }
    };
}

on_both_backends!(
    merged_newest_first_with_rendered_cards,
    pages_are_stable_across_both_kinds,
    filters_by_kind_type_and_time,
    template_changes_and_deletes_show_on_the_timeline,
    waiting_utk_events_appear_once_the_utk_is_linked,
    records_of_other_accounts_and_missing_scopes_are_refused,
);
