//! Two Chronik nodes on one PostgreSQL database: what one node does, the other sees at once,
//! and races between them are decided by the database, never by either node alone.
//! Ignored (`#[chronik_test_macros::postgres]`) when built without `CHRONIK_TEST_DATABASE_URL`;
//! under CI that fails instead.

use reqwest::Method;
use serde_json::json;

use crate::crm_helpers::Crm;
use crate::events_helpers::{
    contact, define, define_signup, events, events_client, ids, send, SEND,
};
use crate::helpers::{PgSchema, TestApp};

/// Races per test: each is one chance for both nodes to interleave inside the same statement.
const RACES: usize = 8;

/// Two nodes on one fresh schema.
async fn two_nodes(test: &str) -> (TestApp, TestApp) {
    let pg = PgSchema::fresh(test).await;
    let a = TestApp::spawn_on_postgres(&pg, |_| {}).await;
    let b = TestApp::spawn_on_postgres(&pg, |_| {}).await;
    (a, b)
}

#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_redeemed_on_both_nodes_at_once_is_exchanged_exactly_once() {
    let (a, b) = two_nodes("multinode::authorization_code_redeemed_once").await;
    let portal_id = a.new_account("Acme").await;
    let creds = a.new_app("App").await;
    let redirect = "https://app.example/cb";

    for race in 0..RACES {
        let code = a.new_code(&creds, portal_id, redirect).await;
        let (on_a, on_b) = tokio::join!(
            a.token_code(
                &creds.client_id,
                &creds.client_secret,
                &code,
                Some(redirect)
            ),
            b.token_code(
                &creds.client_id,
                &creds.client_secret,
                &code,
                Some(redirect)
            ),
        );
        let (winner, loser) = match (on_a.status.as_u16(), on_b.status.as_u16()) {
            (200, 400) => (on_a, on_b),
            (400, 200) => (on_b, on_a),
            (x, y) => panic!(
                "race {race}: exactly one exchange must succeed, got {x} and {y}: {} / {}",
                on_a.text, on_b.text
            ),
        };
        loser.assert_oauth_error("BAD_AUTH_CODE", "invalid_grant");
        assert_eq!(winner.int("hub_id"), portal_id);
        // The winner's token works on both nodes.
        for node in [&a, &b] {
            let details = node.account_details(Some(winner.str("access_token"))).await;
            details.assert_status(200);
            assert_eq!(details.int("portalId"), portal_id);
        }
    }
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn refresh_token_revoked_on_one_node_is_refused_by_the_other() {
    let (a, b) = two_nodes("multinode::refresh_token_revoked_on_one_node").await;
    let portal_id = a.new_account("Acme").await;
    let creds = a.new_app("App").await;
    let tokens = a.new_install(&creds, portal_id, &["oauth"]).await;

    // Node B knows everything node A created.
    let refreshed = b
        .token_refresh(
            &creds.client_id,
            &creds.client_secret,
            &tokens.refresh_token,
        )
        .await;
    refreshed.assert_status(200);
    let from_b = refreshed.str("access_token").to_owned();
    b.account_details(Some(&tokens.access_token))
        .await
        .assert_status(200);

    a.revoke_refresh_token(&tokens.refresh_token)
        .await
        .assert_status(204);

    b.token_refresh(
        &creds.client_id,
        &creds.client_secret,
        &tokens.refresh_token,
    )
    .await
    .assert_oauth_error("BAD_REFRESH_TOKEN", "invalid_grant");
    b.refresh_token_info(&tokens.refresh_token)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    for access in [&tokens.access_token, &from_b] {
        b.account_details(Some(access))
            .await
            .assert_api_error(401, "INVALID_AUTHENTICATION");
        a.account_details(Some(access))
            .await
            .assert_api_error(401, "INVALID_AUTHENTICATION");
    }
    b.revoke_refresh_token(&tokens.refresh_token)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_linked_on_both_nodes_at_once_creates_one_contact() {
    let (a, b) = two_nodes("multinode::visitor_linked_on_both_nodes").await;
    let portal_id = a.new_account("Acme").await;

    for race in 0..RACES {
        let email = format!("racer{race}@example.com");
        let via_a = json!({ "utk": format!("utk-a-{race}"), "email": email });
        let via_b = json!({ "utk": format!("utk-b-{race}"), "email": email.to_uppercase() });
        let (on_a, on_b) = tokio::join!(
            a.link_visitor(portal_id, &via_a),
            b.link_visitor(portal_id, &via_b),
        );
        on_a.assert_status(200);
        on_b.assert_status(200);
        assert_eq!(
            on_a.str("contactId"),
            on_b.str("contactId"),
            "race {race}: one contact"
        );
        let created = [&on_a, &on_b]
            .iter()
            .filter(|r| r.body["contactCreated"] == true)
            .count();
        assert_eq!(created, 1, "race {race}: {} / {}", on_a.text, on_b.text);
    }

    // And a third link on either node finds it.
    let again = b
        .link_visitor(
            portal_id,
            &json!({ "utk": "later", "email": "racer0@example.com" }),
        )
        .await;
    again.assert_status(200);
    assert_eq!(again.body["contactCreated"], false);
}

/// A node keeps the grants and definitions its sends were checked against; a change made on
/// the other node still holds for its very next send: a deleted property, a deleted definition
/// and a revoked token are refused there at once, and nothing is stored under the old ones.
#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changed_on_one_node_hold_at_once_for_sends_on_the_other() {
    let (a, b) = two_nodes("multinode::settings_changed_hold_for_sends").await;
    let on_a = events_client(&a).await;
    let on_b = Crm {
        app: &b,
        portal_id: on_a.portal_id,
        token: on_a.token.clone(),
    };
    let fqn = define_signup(&on_a).await;
    let contact = contact(&on_a, "ada@example.com").await;
    let with_note = |uuid: &str| json!({"eventName": fqn, "objectId": contact, "uuid": uuid, "properties": {"note": "hi"}});
    // Node B reads the grant and the definition once, then keeps them.
    for uuid in ["b-1", "b-2", "b-3"] {
        send(&on_b, &with_note(uuid)).await.assert_status(204);
    }

    let r = on_a
        .call(
            Method::DELETE,
            "/events/v3/event-definitions/signup/property/note",
            None,
        )
        .await;
    r.assert_status(204);
    let refused = send(&on_b, &with_note("b-4")).await;
    refused.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(
        refused.errors()[0]["code"],
        "PROPERTY_DOESNT_EXIST",
        "{}",
        refused.text
    );
    send(
        &on_b,
        &json!({"eventName": fqn, "objectId": contact, "uuid": "b-5"}),
    )
    .await
    .assert_status(204);
    let r = events(&on_a, &format!("eventType={fqn}&limit=100&sort=ASCENDING")).await;
    r.assert_status(200);
    assert_eq!(ids(&r), ["b-1", "b-2", "b-3", "b-5"]);

    on_a.call(Method::DELETE, "/events/v3/event-definitions/signup", None)
        .await
        .assert_status(204);
    let gone = send(
        &on_b,
        &json!({"eventName": fqn, "objectId": contact, "uuid": "b-6"}),
    )
    .await;
    gone.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(gone.errors()[0]["code"], "EVENT_NOT_FOUND", "{}", gone.text);
    let by_contact = events(
        &on_a,
        &format!("objectType=contact&objectId={contact}&limit=100"),
    )
    .await;
    assert_eq!(ids(&by_contact), Vec::<String>::new());

    // An install's access token, kept by node B, revoked on node A.
    let fqn = define(&on_a, json!({"label": "Login", "name": "login"})).await;
    let creds = a.new_app("App").await;
    let tokens = a.new_install(&creds, on_a.portal_id, &[SEND]).await;
    let installed = Crm {
        app: &b,
        portal_id: on_a.portal_id,
        token: tokens.access_token.clone(),
    };
    let login = |uuid: &str| json!({"eventName": fqn, "objectId": contact, "uuid": uuid});
    send(&installed, &login("i-1")).await.assert_status(204);
    a.revoke_refresh_token(&tokens.refresh_token)
        .await
        .assert_status(204);
    send(&installed, &login("i-2"))
        .await
        .assert_api_error(401, "INVALID_AUTHENTICATION");
    let r = events(&on_a, &format!("eventType={fqn}&limit=100")).await;
    assert_eq!(ids(&r), ["i-1"]);
}
