//! `GET /events/v3/events` and `/events/v3/events/event-types`: every filter, sorting, limits,
//! cursor paging that stays stable while completions arrive, scopes and tenant isolation.

use reqwest::Method;
use serde_json::json;

use crate::crm_helpers::Crm;
use crate::events_helpers::*;
use crate::helpers::TestApp;

/// An account with two contacts, the signup event and these completions (times in seconds
/// after 2024-01-01T00:00:00Z):
/// - `s0` (ada, t=0, plan free, city "new york"), `s1` (ada, t=10, plan pro, city "boston"),
///   `s2` (bob, t=20, plan pro, city "new york"), `s3` (bob, t=30)
/// - `o0` (ada, t=5) of a second event type.
struct World<'a> {
    c: Crm<'a>,
    signup: String,
    other: String,
    ada: String,
    bob: String,
}

const T0: i64 = 1_704_067_200_000;

async fn world(app: &TestApp) -> World<'_> {
    let c = events_client(app).await;
    let signup = define_signup(&c).await;
    let other = define(
        &c,
        json!({"label": "Other", "name": "other", "propertyDefinitions": []}),
    )
    .await;
    let ada = contact(&c, "ada@example.com").await;
    let bob = contact(&c, "bob@example.com").await;
    let at = |s: i64| T0 + s * 1000;
    let inputs = vec![
        json!({"eventName": signup, "objectId": ada, "uuid": "s0", "occurredAt": at(0), "properties": {"plan": "free", "hs_city": "new york"}}),
        json!({"eventName": signup, "objectId": ada, "uuid": "s1", "occurredAt": at(10), "properties": {"plan": "pro", "hs_city": "boston"}}),
        json!({"eventName": signup, "objectId": bob, "uuid": "s2", "occurredAt": at(20), "properties": {"plan": "pro", "hs_city": "new york"}}),
        json!({"eventName": signup, "objectId": bob, "uuid": "s3", "occurredAt": at(30)}),
        json!({"eventName": other, "objectId": ada, "uuid": "o0", "occurredAt": at(5)}),
    ];
    send_batch(&c, inputs).await.assert_status(204);
    World {
        c,
        signup,
        other,
        ada,
        bob,
    }
}

async fn page_ids(c: &Crm<'_>, query: &str) -> Vec<String> {
    let r = events(c, query).await;
    r.assert_status(200);
    ids(&r)
}

#[tokio::test]
async fn filters_by_event_type_and_record() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let c = &w.c;
    assert_eq!(
        page_ids(c, &format!("eventType={}", w.signup)).await,
        vec!["s3", "s2", "s1", "s0"],
        "newest first by default"
    );
    assert_eq!(
        page_ids(c, &format!("eventType={}", w.other)).await,
        vec!["o0"]
    );
    // A page filtered by event type names it in each result, as an unfiltered page does.
    for query in [format!("eventType={}", w.signup), String::new()] {
        let r = events(c, &query).await;
        r.assert_status(200);
        let types: Vec<&str> = r.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types.iter().filter(|t| **t == w.signup).count(),
            4,
            "{query}: {types:?}"
        );
    }
    for object_type in ["contact", "contacts", "CONTACT", "0-1"] {
        assert_eq!(
            page_ids(
                c,
                &format!("objectType={object_type}&objectId={}&sort=ASCENDING", w.ada)
            )
            .await,
            vec!["s0", "o0", "s1"],
            "{object_type}"
        );
    }
    assert_eq!(
        page_ids(
            c,
            &format!(
                "objectType=contact&objectId={}&eventType={}",
                w.bob, w.signup
            )
        )
        .await,
        vec!["s3", "s2"]
    );
    assert_eq!(
        page_ids(
            c,
            "objectType=contacts&objectProperty.email=BOB%40example.com"
        )
        .await,
        vec!["s3", "s2"],
        "a unique property, compared as the CRM does"
    );
    assert!(page_ids(
        c,
        "objectType=contact&objectProperty.email=nobody%40example.com"
    )
    .await
    .is_empty());
    assert_eq!(
        page_ids(
            c,
            &format!("objectType=contact&objectProperty.hs_object_id={}", w.bob)
        )
        .await
        .len(),
        2
    );
    assert!(page_ids(c, "eventType=pe1_unknown").await.is_empty());
    // Without a filter: every completion of the account.
    assert_eq!(page_ids(c, "").await.len(), 5);
    // The trailing slash is optional.
    let r = c
        .call(
            Method::GET,
            &format!("/events/v3/events?eventType={}", w.other),
            None,
        )
        .await;
    assert_eq!(ids(&r), vec!["o0"]);
}

#[tokio::test]
async fn filters_by_property_time_and_id() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (c, e) = (&w.c, &w.signup);
    assert_eq!(
        page_ids(c, &format!("eventType={e}&property.hs_city=new+york")).await,
        vec!["s2", "s0"]
    );
    assert_eq!(
        page_ids(c, &format!("eventType={e}&property.hs_city=new%20york")).await,
        vec!["s2", "s0"]
    );
    assert_eq!(
        page_ids(
            c,
            &format!("eventType={e}&property.hs_city=new+york&property.plan=pro")
        )
        .await,
        vec!["s2"],
        "every property filter must match"
    );
    assert_eq!(
        page_ids(c, &format!("eventType={e}&property.PLAN=pro")).await,
        vec!["s2", "s1"]
    );
    // Inclusive bounds; Node's Z form and Python's +00:00 form.
    assert_eq!(
        page_ids(c, &format!("eventType={e}&occurredAfter=2024-01-01T00:00:10.000Z&occurredBefore=2024-01-01T00%3A00%3A20%2B00%3A00")).await,
        vec!["s2", "s1"]
    );
    assert_eq!(
        page_ids(
            c,
            &format!("eventType={e}&occurredAfter=2024-01-01T00:00:10+00:00")
        )
        .await
        .len(),
        3,
        "an unencoded + in an offset"
    );
    assert_eq!(
        page_ids(c, &format!("eventType={e}&id=s1&id=s3&id=nope")).await,
        vec!["s3", "s1"]
    );
    assert_eq!(page_ids(c, "id=o0").await, vec!["o0"]);
}

#[tokio::test]
async fn results_have_hubspot_shape() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let r = events(&w.c, &format!("eventType={}&id=s2", w.signup)).await;
    r.assert_status(200).assert_json_content_type();
    assert_eq!(
        r.body,
        json!({"results": [{
            "objectType": "CONTACT",
            "objectId": w.bob,
            "eventType": w.signup,
            "occurredAt": "2024-01-01T00:00:20.000Z",
            "id": "s2",
            "properties": {"plan": "pro", "hs_city": "new york"}
        }]}),
        "no paging on the last page"
    );
    let r =
        w.c.call(Method::GET, "/events/v3/events/event-types", None)
            .await;
    r.assert_status(200);
    let mut expected = vec![w.other.clone(), w.signup.clone()];
    expected.sort();
    assert_eq!(r.body, json!({ "eventTypes": expected }));
}

#[tokio::test]
async fn pages_follow_cursors_both_ways_and_stay_stable() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (c, e) = (&w.c, &w.signup);
    let first = events(c, &format!("eventType={e}&limit=3&sort=ASCENDING")).await;
    assert_eq!(ids(&first), vec!["s0", "s1", "s2"]);
    assert!(first.body["paging"].get("prev").is_none());
    let next = &first.body["paging"]["next"];
    let after = next["after"].as_str().unwrap();
    assert!(next["link"]
        .as_str()
        .unwrap()
        .contains(&format!("after={after}")));
    // Completions arrive between the pages, before and after the cursor.
    let late = vec![
        json!({"eventName": e, "objectId": w.ada, "uuid": "early", "occurredAt": T0 - 1000}),
        json!({"eventName": e, "objectId": w.ada, "uuid": "late", "occurredAt": T0 + 99_000}),
    ];
    send_batch(c, late).await.assert_status(204);
    let second = events(
        c,
        &format!("eventType={e}&limit=3&sort=ASCENDING&after={after}"),
    )
    .await;
    assert_eq!(ids(&second), vec!["s3", "late"], "no repeats, no skips");
    assert!(second.body["paging"].get("next").is_none());
    let before = second.body["paging"]["prev"]["before"].as_str().unwrap();
    let back = events(
        c,
        &format!("eventType={e}&limit=3&sort=ASCENDING&before={before}"),
    )
    .await;
    assert_eq!(
        ids(&back),
        vec!["s0", "s1", "s2"],
        "the page before, in the requested order"
    );
    assert!(
        back.body["paging"]["prev"]["before"].is_string(),
        "the early one is before it"
    );
    // Limits.
    assert_eq!(
        page_ids(c, &format!("eventType={e}&limit=1000"))
            .await
            .len(),
        6
    );
    for bad in ["0", "1001", "x"] {
        let r = events(c, &format!("eventType={e}&limit={bad}")).await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        r.error_in("limit");
    }
}

#[tokio::test]
async fn property_filters_are_folded_and_bounded_at_50_distinct_properties() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let c = &w.c;
    // 300 repeats of one filter are one filter.
    let repeated = std::iter::repeat_n("property.plan=pro", 300)
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(page_ids(c, &repeated).await, vec!["s2", "s1"]);
    assert_eq!(
        page_ids(c, "property.PLAN=pro&property.plan=pro").await,
        vec!["s2", "s1"],
        "names are folded to lower case"
    );
    // One property asked for two values matches nothing.
    assert!(page_ids(c, "property.plan=pro&property.plan=free")
        .await
        .is_empty());
    let distinct = |n: usize| {
        (0..n)
            .map(|i| format!("property.p{i}=v"))
            .collect::<Vec<_>>()
            .join("&")
    };
    assert!(page_ids(c, &distinct(50)).await.is_empty());
    for n in [51, 996] {
        let r = events(c, &distinct(n)).await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        r.error_in("property");
        let message = r.str("message");
        assert!(
            message.contains(&n.to_string()) && message.contains("50"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn bad_parameters_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let c = &w.c;
    let cases: Vec<(String, &str)> = vec![
        ("objectId=5".into(), "objectType"),
        ("objectType=contact".into(), "objectId"),
        ("objectType=contact&objectId=abc".into(), "objectId"),
        ("objectType=contact&objectProperty.firstname=Ada".into(), "objectProperty.firstname"),
        ("objectType=contact&objectProperty.%7Bpropname%7D=%7B%27objectProperty.email%27%3A+%27a%40b.c%27%7D".into(), "objectProperty.{propname}"),
        ("property.%7Bpropname%7D=x".into(), "property.{propname}"),
        ("sort=SIDEWAYS".into(), "sort"),
        ("occurredAfter=yesterday".into(), "occurredAfter"),
        ("after=garbage!".into(), "after"),
        ("eventtype=x".into(), "eventtype"),
        (std::iter::repeat_n("id=x", 101).collect::<Vec<_>>().join("&"), "id"),
    ];
    for (query, field) in cases {
        let r = events(c, &query).await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        r.error_in(field);
    }
    let python = events(c, "objectType=contact&objectProperty.%7Bpropname%7D=x").await;
    assert!(
        python.str("message").contains("api_request"),
        "{}",
        python.text
    );
    assert_eq!(
        page_ids(
            c,
            &std::iter::repeat_n("id=x", 100)
                .collect::<Vec<_>>()
                .join("&")
        )
        .await
        .len(),
        0
    );
}

#[tokio::test]
async fn reading_takes_any_event_scope_and_stays_in_the_account() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    for scopes in [vec!["oauth"], vec![SEND], vec![DEFINITIONS]] {
        let reader = w.c.token_with(&scopes).await;
        assert_eq!(
            page_ids(&reader, &format!("eventType={}", w.other)).await,
            vec!["o0"],
            "{scopes:?}"
        );
        reader
            .call(Method::GET, "/events/v3/events/event-types", None)
            .await
            .assert_status(200);
    }
    let none = w.c.token_with(&["crm.objects.contacts.read"]).await;
    events(&none, "")
        .await
        .assert_api_error(403, "MISSING_SCOPES");
    none.call(Method::GET, "/events/v3/events/event-types", None)
        .await
        .assert_api_error(403, "MISSING_SCOPES");

    let stranger = events_client(&app).await;
    assert!(page_ids(&stranger, &format!("eventType={}", w.signup))
        .await
        .is_empty());
    assert!(
        page_ids(&stranger, &format!("objectType=contact&objectId={}", w.ada))
            .await
            .is_empty()
    );
    assert!(page_ids(&stranger, "id=s0").await.is_empty());
    let r = stranger
        .call(Method::GET, "/events/v3/events/event-types", None)
        .await;
    assert_eq!(r.body, json!({"eventTypes": []}));
}

#[tokio::test]
async fn deleting_a_definition_removes_its_completions_and_reset_removes_all() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    // Read by event type first: the node keeps the type's id for later reads.
    let by_type = format!("eventType={}", w.other);
    assert_eq!(page_ids(&w.c, &by_type).await, ["o0"]);
    w.c.call(Method::DELETE, "/events/v3/event-definitions/other", None)
        .await
        .assert_status(204);
    assert!(page_ids(&w.c, "id=o0").await.is_empty());
    assert!(page_ids(&w.c, &by_type).await.is_empty());
    assert_eq!(page_ids(&w.c, "").await.len(), 4);
    app.reset(w.c.portal_id).await.assert_status(204);
    assert!(page_ids(&w.c, "").await.is_empty());
}
