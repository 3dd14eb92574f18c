//! Timeline events v3: `GET /events/{t}/{id}/render` (HTML) and `…/detail` (`EventDetail`),
//! HubSpot's PetSpot example end to end, and renders following template edits.

use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::helpers::{keys, TestApp};
use crate::timeline_helpers::{on_both, petspot, simple, Tl};

on_both!(
    the_petspot_example_renders_as_hubspots_spec_shows,
    render_takes_detail_in_either_case_and_refuses_other_values,
    a_template_edit_changes_the_render_of_stored_events,
    a_removed_token_no_longer_renders,
    values_render_as_text_never_as_markup,
    renders_of_unknown_events_are_404,
);

/// HubSpot's `EventDetail` example: the PetSpot template after its `PUT` example (detail ending
/// in `EDIT`), rendered for Pocket's event of 2020-01-30T18:13:25.665Z. It reads 1:13:25 PM:
/// HubSpot's example account is on US Eastern time.
const PETSPOT_DETAIL: &str = "<p>Registration occurred at Jan 30, 2020, 1:13:25 PM</p><h4>Questions</h4><p><strong>Who&#x27;s a good kitty?</strong>: Purr...</p><p><strong>Will you stop playing with that?</strong>: Meow!</p><p>EDIT</p>";

async fn the_petspot_example_renders_as_hubspots_spec_shows(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&petspot()).await;
    // HubSpot's TimelineEventTemplateUpdateRequest example.
    let mut update = petspot();
    update["id"] = json!(t);
    update.as_object_mut().unwrap().remove("objectType");
    update["detailTemplate"] = json!("Registration occurred at {{#formatDate timestamp}}{{/formatDate}}\n\n#### Questions\n{{#each extraData.questions}}\n  **{{question}}**: {{answer}}\n{{/each}}\n\nEDIT");
    update["tokens"][0]["objectPropertyName"] = json!("firstname");
    update["tokens"][2]["options"] = json!([
        {"value": "white", "label": "White"}, {"value": "black", "label": "Black"},
        {"value": "brown", "label": "Brown"}, {"value": "yellow", "label": "Yellow"},
        {"value": "other", "label": "Other"}
    ]);
    tl.update_template(&t, &update).await.assert_status(200);

    let event = tl
        .event_ok(&json!({
            "eventTemplateId": t,
            "id": "petspot:pocket-tiger",
            "email": "pocket-tiger@petspot.com",
            "timestamp": "2020-01-30T18:13:25.665Z",
            "tokens": {"petName": "Pocket", "petAge": 3, "petColor": "yellow"},
            "extraData": {"questions": [
                {"question": "Who's a good kitty?", "answer": "Purr..."},
                {"question": "Will you stop playing with that?", "answer": "Meow!"}
            ]},
            "timelineIFrame": {"linkLabel": "View Pocket", "headerLabel": "Pocket Tiger",
                               "url": "https://my.petspot.com/pets/Pocket", "width": 600, "height": 400}
        }))
        .await;
    let contact = event["objectId"].as_str().unwrap();
    assert_eq!(
        tl.contact_property(contact, "firstname").await,
        "Pocket",
        "petName stamps firstname"
    );

    // The account's zone decides the time shown: UTC by default, then HubSpot's example's.
    let utc = tl.detail(&t, "petspot:pocket-tiger").await;
    utc.assert_status(200);
    assert!(
        utc.str("details")
            .starts_with("<p>Registration occurred at Jan 30, 2020, 6:13:25 PM</p>"),
        "{}",
        utc.text
    );
    app.update_account(tl.portal_id, &json!({"timeZone": "America/New_York"}))
        .await
        .assert_status(200);

    let detail = tl.detail(&t, "petspot:pocket-tiger").await;
    detail.assert_status(200).assert_json_content_type();
    assert_eq!(keys(&detail.body), ["details"]);
    assert_eq!(detail.body["details"], PETSPOT_DETAIL);

    let header = tl.render(&t, "petspot:pocket-tiger", "").await;
    header.assert_status(200);
    assert_eq!(
        header.header(CONTENT_TYPE.as_str()),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        header.text,
        r#"<p>Registered for <a href="https://my.petspot.com/pets/Pocket" rel="noopener noreferrer nofollow">Pocket</a></p>"#
    );
    let rendered_detail = tl.render(&t, "petspot:pocket-tiger", "?detail=true").await;
    rendered_detail.assert_status(200);
    assert_eq!(
        rendered_detail.header(CONTENT_TYPE.as_str()),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(rendered_detail.text, PETSPOT_DETAIL);
}

async fn render_takes_detail_in_either_case_and_refuses_other_values(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    tl.event_ok(&json!({"eventTemplateId": t, "id": "r1", "email": "a@b.co",
                        "tokens": {"note": "hello", "n": 7}}))
        .await;
    for (query, expected) in [
        ("", "<p>Note: hello</p>"),
        ("?detail=false", "<p>Note: hello</p>"),
        ("?detail=False", "<p>Note: hello</p>"),
        ("?detail=true", "<p>n is 7</p>"),
        ("?detail=True", "<p>n is 7</p>"),
    ] {
        let r = tl.render(&t, "r1", query).await;
        r.assert_status(200);
        assert_eq!(r.text, expected, "{query}");
    }
    let r = tl.render(&t, "r1", "?detail=yes").await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(r.body["errors"][0]["in"], "detail");
}

async fn a_template_edit_changes_the_render_of_stored_events(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    tl.event_ok(&json!({"eventTemplateId": t, "id": "e1", "email": "a@b.co",
                        "tokens": {"note": "hello", "n": 7}}))
        .await;
    assert_eq!(tl.render(&t, "e1", "").await.text, "<p>Note: hello</p>");
    let mut edited = simple("contacts");
    edited["headerTemplate"] = json!("**{{note}}** again");
    edited["detailTemplate"] = json!("{{#if n}}n={{n}}{{else}}none{{/if}}");
    tl.update_template(&t, &edited).await.assert_status(200);
    assert_eq!(
        tl.render(&t, "e1", "").await.text,
        "<p><strong>hello</strong> again</p>"
    );
    assert_eq!(tl.detail(&t, "e1").await.body["details"], "<p>n=7</p>");
    // A token-by-token edit of the template applies too.
    tl.update_token(&t, "note", &json!({"label": "Note!", "options": []}))
        .await
        .assert_status(200);
    assert_eq!(
        tl.render(&t, "e1", "").await.text,
        "<p><strong>hello</strong> again</p>"
    );
}

async fn a_removed_token_no_longer_renders(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    tl.event_ok(&json!({"eventTemplateId": t, "id": "e1", "email": "a@b.co",
                        "tokens": {"note": "hello", "n": 7}}))
        .await;
    tl.delete_token(&t, "note").await.assert_status(204);
    assert_eq!(tl.render(&t, "e1", "").await.text, "<p>Note:</p>");
    // The stored event keeps the value.
    assert_eq!(tl.get_event(&t, "e1").await.body["tokens"]["note"], "hello");
}

async fn values_render_as_text_never_as_markup(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    tl.event_ok(&json!({"eventTemplateId": t, "id": "x", "email": "a@b.co",
                        "tokens": {"note": "<script>alert(1)</script> **bold** [a](javascript:alert(1))"}}))
        .await;
    let r = tl.render(&t, "x", "").await;
    r.assert_status(200);
    assert!(!r.text.contains("<script"), "{}", r.text);
    assert!(!r.text.contains("<strong>"), "{}", r.text);
    assert!(!r.text.contains("href"), "{}", r.text);
    assert!(r.text.contains("&lt;script&gt;"), "{}", r.text);
}

async fn renders_of_unknown_events_are_404(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let r = tl.render(&t, "nope", "").await;
    r.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(r.str("message").contains("nope"), "{}", r.text);
    tl.detail(&t, "nope")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    tl.render("424242", "nope", "")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}
