//! Timeline events v3: `POST /events`, `POST /events/batch/create`, `GET /events/{t}/{id}`, with
//! an install's OAuth access token: credentials, rules and limits, association, stamping.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{keys, PgSchema, TestApp};
use crate::timeline_helpers::{error_fields, on_both, petspot, simple, Tl, V3};

on_both!(
    an_event_is_created_with_201_and_read_back_as_stored,
    event_routes_refuse_developer_keys_and_private_app_tokens,
    event_routes_need_the_timeline_scope,
    a_template_of_another_app_is_not_found,
    unknown_tokens_wrong_types_and_foreign_options_each_name_the_token,
    a_repeated_id_is_refused_naming_it_and_the_first_is_kept,
    ids_default_to_a_uuid_and_uuid_placeholders_are_replaced,
    an_id_may_have_500_bytes_and_not_501,
    a_token_value_may_have_510_kb_and_not_one_byte_more,
    an_event_may_serialize_to_1_mb_and_not_one_byte_more,
    a_body_past_the_event_body_limit_is_413,
    a_batch_of_500_is_stored_and_501_is_refused,
    a_batch_with_bad_inputs_stores_the_good_ones_and_names_each_bad_one,
    a_batch_whose_every_input_fails_is_a_207_with_no_results,
    a_batch_request_that_is_not_a_batch_is_a_400,
    email_finds_or_creates_the_contact,
    object_id_must_exist_and_never_creates,
    company_templates_take_the_record_id,
    a_utk_alone_waits_until_it_is_linked,
    utk_with_email_creates_the_contact_and_links_the_utk,
    email_with_object_id_changes_the_contacts_email,
    stamping_keeps_the_newest_value_whatever_the_arrival_order,
    a_stamp_of_a_property_the_record_type_lacks_is_refused,
    a_deleted_template_takes_no_new_events_and_its_events_stay_readable,
    events_are_served_under_the_crm_alias,
    events_sent_while_their_template_changes_are_checked_again_and_stored,
);

/// HubSpot's PetSpot event (its v3 spec's `TimelineEvent` example) for `template`.
fn art3mis(template: &str) -> Value {
    json!({
        "eventTemplateId": template,
        "email": "art3mis-pup@petspot.com",
        "id": "petspot:art3mis-004",
        "timestamp": "2020-01-30T17:42:10.276Z",
        "tokens": {"petName": "Art3mis", "petAge": 3, "petColor": "black"},
        "extraData": {"questions": [{"question": "Who's a good girl?", "answer": "Bark!"}]},
        "timelineIFrame": {"linkLabel": "View Art3mis", "headerLabel": "Art3mis dog",
                           "url": "https://my.petspot.com/pets/Art3mis", "width": 600, "height": 400}
    })
}

fn note(template: &str, id: &str, email: &str) -> Value {
    json!({"eventTemplateId": template, "id": id, "email": email, "tokens": {"note": "hi"}})
}

async fn an_event_is_created_with_201_and_read_back_as_stored(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&petspot()).await;
    let r = tl.create_event(&art3mis(&t)).await;
    r.assert_status(201).assert_json_content_type();
    assert_eq!(r.body["id"], "petspot:art3mis-004");
    assert_eq!(r.body["eventTemplateId"], t.as_str());
    assert_eq!(r.body["objectType"], "contacts");
    assert_eq!(r.body["email"], "art3mis-pup@petspot.com");
    assert_eq!(r.body["timestamp"], "2020-01-30T17:42:10.276Z");
    assert_eq!(
        r.body["tokens"],
        json!({"petName": "Art3mis", "petAge": "3", "petColor": "black"}),
        "numbers are echoed as strings"
    );
    assert_eq!(r.body["extraData"], art3mis(&t)["extraData"]);
    assert_eq!(r.body["timelineIFrame"], art3mis(&t)["timelineIFrame"]);
    let contact = r.str("objectId").to_owned();
    assert!(contact.parse::<i64>().is_ok(), "objectId is a string id");

    let got = tl.get_event(&t, "petspot:art3mis-004").await;
    got.assert_status(200);
    assert_eq!(got.body, r.body);
    // The id is percent-decoded from the path.
    let encoded = tl.get_event(&t, "petspot%3Aart3mis-004").await;
    assert_eq!(encoded.body, r.body);

    let missing = tl.get_event(&t, "nope").await;
    missing.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(missing.str("message").contains("nope"), "{}", missing.text);

    // The email made a contact.
    let c = tl.crm.get("contacts", &contact, "?properties=email").await;
    c.assert_status(200);
    assert_eq!(c.body["properties"]["email"], "art3mis-pup@petspot.com");
}

async fn event_routes_refuse_developer_keys_and_private_app_tokens(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let body = note(&t, "e1", "a@b.co");
    let routes = [
        (Method::POST, format!("{V3}/events"), Some(body.clone())),
        (
            Method::POST,
            format!("{V3}/events/batch/create"),
            Some(json!({"inputs": [body.clone()]})),
        ),
        (Method::GET, format!("{V3}/events/{t}/e1"), None),
        (Method::GET, format!("{V3}/events/{t}/e1/render"), None),
        (Method::GET, format!("{V3}/events/{t}/e1/detail"), None),
    ];
    for (method, path, body) in &routes {
        let r = tl.dev(method.clone(), path, body.as_ref()).await;
        r.assert_api_error(403, "FORBIDDEN");
        let message = r.str("message");
        assert!(
            message.contains("OAuth access token") && message.contains("developer API key"),
            "{path}: {message}"
        );

        let r = tl
            .bearer_as(&tl.crm.token, method.clone(), path, body.as_ref())
            .await;
        r.assert_api_error(403, "FORBIDDEN");
        assert!(
            r.str("message").contains("private app"),
            "{path}: {}",
            r.text
        );

        let none = app.send(app.request(method.clone(), path)).await;
        none.assert_api_error(401, "INVALID_AUTHENTICATION");
        let bad_key = app
            .send(app.request(method.clone(), &format!("{path}?hapikey=nope")))
            .await;
        bad_key.assert_api_error(401, "INVALID_AUTHENTICATION");
    }
}

async fn event_routes_need_the_timeline_scope(app: &TestApp) {
    let tl = Tl::with_scopes(app, &["crm.objects.contacts.write"]).await;
    let t = tl.template_id(&simple("contacts")).await;
    let r = tl.create_event(&note(&t, "e1", "a@b.co")).await;
    r.assert_api_error(403, "MISSING_SCOPES");
    assert_eq!(
        r.body["errors"][0]["context"]["requiredGranularScopes"],
        json!(["timeline"])
    );
    tl.get_event(&t, "e1")
        .await
        .assert_api_error(403, "MISSING_SCOPES");
}

async fn a_template_of_another_app_is_not_found(app: &TestApp) {
    let tl = Tl::new(app).await;
    let other = tl.other_app().await;
    let theirs = other.template_id(&simple("contacts")).await;
    let r = tl.create_event(&note(&theirs, "e1", "a@b.co")).await;
    r.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(r.str("message").contains(&theirs), "{}", r.text);
    other
        .create_event(&note(&theirs, "e1", "a@b.co"))
        .await
        .assert_status(201);
    tl.get_event(&theirs, "e1")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    let r = tl.create_event(&note("424242", "e1", "a@b.co")).await;
    r.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(r.str("message").contains("424242"), "{}", r.text);
    let r = tl
        .create_event(&json!({"email": "a@b.co", "tokens": {}}))
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["eventTemplateId"]);
}

async fn unknown_tokens_wrong_types_and_foreign_options_each_name_the_token(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&petspot()).await;
    let r = tl
        .create_event(&json!({
            "eventTemplateId": t, "email": "a@b.co",
            "tokens": {"petAge": "three", "petColor": "purple", "petSize": "xl", "petName": ["x"]}
        }))
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(
        error_fields(&r),
        [
            "tokens.petAge",
            "tokens.petColor",
            "tokens.petName",
            "tokens.petSize"
        ]
    );
    assert_eq!(r.error_in("tokens.petSize")["code"], "UNKNOWN_TOKEN");
    assert!(
        r.error_in("tokens.petColor")["message"]
            .as_str()
            .unwrap()
            .contains("\"black\""),
        "names the options: {}",
        r.text
    );
    // A malformed field is named too.
    let r = tl
        .create_event(&json!({"eventTemplateId": t, "email": 7, "tokens": {}}))
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["email"]);
    let r = tl
        .create_event(
            &json!({"eventTemplateId": t, "email": "a@b.co", "tokens": {},
                              "timelineIFrame": {"linkLabel": "x", "url": "javascript:alert(1)"}}),
        )
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(
        error_fields(&r),
        [
            "timelineIFrame.headerLabel",
            "timelineIFrame.height",
            "timelineIFrame.url",
            "timelineIFrame.width"
        ]
    );
}

async fn a_repeated_id_is_refused_naming_it_and_the_first_is_kept(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let first = tl.event_ok(&note(&t, "once", "a@b.co")).await;
    let mut again = note(&t, "once", "other@b.co");
    again["tokens"]["note"] = json!("second");
    let r = tl.create_event(&again).await;
    r.assert_api_error(409, "CONFLICT");
    assert!(r.str("message").contains("\"once\""), "{}", r.text);
    assert_eq!(r.body["context"]["id"], json!(["once"]));
    assert_eq!(tl.get_event(&t, "once").await.body, first);
    // Ids are unique per template: another template may use it.
    let t2 = tl.template_id(&simple("contacts")).await;
    tl.create_event(&note(&t2, "once", "a@b.co"))
        .await
        .assert_status(201);
}

async fn ids_default_to_a_uuid_and_uuid_placeholders_are_replaced(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let r = tl
        .event_ok(&json!({"eventTemplateId": t, "email": "a@b.co", "tokens": {}}))
        .await;
    let id = r["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let a = tl.event_ok(&note(&t, "pet:{{uuid}}", "a@b.co")).await;
    let b = tl.event_ok(&note(&t, "pet:{{uuid}}", "a@b.co")).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    assert_ne!(a, b);
    assert!(
        uuid::Uuid::parse_str(a.strip_prefix("pet:").unwrap()).is_ok(),
        "{a}"
    );
    tl.get_event(&t, a).await.assert_status(200);
}

async fn an_id_may_have_500_bytes_and_not_501(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let at = "é".repeat(250);
    tl.create_event(&note(&t, &at, "a@b.co"))
        .await
        .assert_status(201);
    let r = tl
        .create_event(&note(&t, &format!("{at}x"), "a@b.co"))
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["id"]);
    assert!(r.str("message").contains("500 bytes"), "{}", r.text);
}

async fn a_token_value_may_have_510_kb_and_not_one_byte_more(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let mut body = note(&t, "big", "a@b.co");
    body["tokens"]["note"] = json!("x".repeat(510 * 1024));
    let r = tl.create_event(&body).await;
    r.assert_status(201);
    assert_eq!(r.body["tokens"]["note"].as_str().unwrap().len(), 510 * 1024);
    body["id"] = json!("bigger");
    body["tokens"]["note"] = json!("x".repeat(510 * 1024 + 1));
    let r = tl.create_event(&body).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["tokens.note"]);
    assert!(
        r.str("message").contains(&(510 * 1024).to_string()),
        "{}",
        r.text
    );
}

/// An event whose compact JSON is exactly `bytes` long (padded in `extraData`).
fn event_of_size(template: &str, id: &str, bytes: usize) -> Value {
    let mut body = note(template, id, "a@b.co");
    body["extraData"] = json!({"pad": ""});
    let base = serde_json::to_vec(&body).unwrap().len();
    body["extraData"]["pad"] = json!("y".repeat(bytes - base));
    assert_eq!(serde_json::to_vec(&body).unwrap().len(), bytes);
    body
}

async fn an_event_may_serialize_to_1_mb_and_not_one_byte_more(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let mb = 1024 * 1024;
    tl.create_event(&event_of_size(&t, "at", mb))
        .await
        .assert_status(201);
    let r = tl.create_event(&event_of_size(&t, "past", mb + 1)).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.str("message").contains("1048576"), "{}", r.text);
    tl.get_event(&t, "past")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    // In a batch, the same limit names the input.
    let r = tl
        .batch(vec![
            event_of_size(&t, "b-at", mb),
            event_of_size(&t, "b-past", mb + 1),
        ])
        .await;
    r.assert_status(207);
    assert_eq!(r.body["results"][0]["id"], "b-at");
    assert_eq!(r.body["errors"][0]["context"]["inputIndex"], json!(["1"]));
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1048576"),
        "{}",
        r.text
    );
}

async fn a_body_past_the_event_body_limit_is_413(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let limit = 2 * 1024 * 1024;
    let mut body = note(&t, "huge", "a@b.co");
    body["extraData"] = json!("z".repeat(limit));
    let r = tl.create_event(&body).await;
    r.assert_api_error(413, "PAYLOAD_TOO_LARGE");
    assert!(r.str("message").contains(&limit.to_string()), "{}", r.text);
    // A batch takes up to 10 MiB.
    let batch_limit = 10 * 1024 * 1024;
    let r = tl
        .bearer(
            Method::POST,
            &format!("{V3}/events/batch/create"),
            Some(&json!({"inputs": [], "pad": "z".repeat(batch_limit)})),
        )
        .await;
    r.assert_api_error(413, "PAYLOAD_TOO_LARGE");
    assert!(
        r.str("message").contains(&batch_limit.to_string()),
        "{}",
        r.text
    );
}

async fn a_batch_of_500_is_stored_and_501_is_refused(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let inputs = |n: usize, prefix: &str| -> Vec<Value> {
        (0..n)
            .map(|i| note(&t, &format!("{prefix}-{i}"), &format!("p{i}@batch.io")))
            .collect()
    };
    let r = tl.batch(inputs(501, "too-many")).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["inputs"]);
    assert!(r.str("message").contains("500"), "{}", r.text);
    tl.get_event(&t, "too-many-0")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    let r = tl.batch(inputs(500, "ok")).await;
    r.assert_status(201).assert_json_content_type();
    assert_eq!(
        keys(&r.body),
        ["completedAt", "results", "startedAt", "status"]
    );
    assert_eq!(r.body["status"], "COMPLETE");
    let results = r.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    assert_eq!(results[0]["id"], "ok-0");
    assert_eq!(results[499]["id"], "ok-499");
    tl.get_event(&t, "ok-499").await.assert_status(200);
}

async fn a_batch_with_bad_inputs_stores_the_good_ones_and_names_each_bad_one(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    tl.event_ok(&note(&t, "stored-before", "a@b.co")).await;
    let r = tl
        .batch(vec![
            note(&t, "good-0", "a@b.co"),
            json!({"eventTemplateId": t, "id": "bad-token", "email": "a@b.co", "tokens": {"nope": "x"}}),
            note(&t, "stored-before", "a@b.co"),
            json!("not an event"),
            note(&t, "good-0", "a@b.co"),
            json!({"eventTemplateId": "424242", "id": "no-template", "email": "a@b.co", "tokens": {}}),
            json!({"eventTemplateId": t, "id": "no-record", "objectId": "999999", "tokens": {}}),
            note(&t, "good-7", "c@d.co"),
        ])
        .await;
    r.assert_status(207).assert_json_content_type();
    assert_eq!(
        keys(&r.body),
        [
            "completedAt",
            "errors",
            "numErrors",
            "results",
            "startedAt",
            "status"
        ]
    );
    let ids: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["good-0", "good-7"]);
    assert_eq!(r.body["numErrors"], 6);
    let errors = r.body["errors"].as_array().unwrap();
    let summary: Vec<(String, String, Value)> = errors
        .iter()
        .map(|e| {
            (
                e["context"]["inputIndex"][0].as_str().unwrap().to_owned(),
                e["category"].as_str().unwrap().to_owned(),
                e["context"]["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("1".into(), "VALIDATION_ERROR".into(), json!(["bad-token"])),
            ("2".into(), "CONFLICT".into(), json!(["stored-before"])),
            ("3".into(), "VALIDATION_ERROR".into(), Value::Null),
            ("4".into(), "CONFLICT".into(), json!(["good-0"])),
            (
                "5".into(),
                "OBJECT_NOT_FOUND".into(),
                json!(["no-template"])
            ),
            ("6".into(), "OBJECT_NOT_FOUND".into(), json!(["no-record"])),
        ]
    );
    for e in errors {
        let index = e["context"]["inputIndex"][0].as_str().unwrap();
        let message = e["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("inputs[{index}]")),
            "{message}"
        );
        assert_eq!(e["status"], "error");
        assert!(e["errors"].is_array() && e["links"].is_object(), "{e}");
    }
    assert_eq!(
        errors[0]["errors"][0]["in"], "inputs[1].tokens.nope",
        "field paths name the input"
    );
    assert!(
        errors[5]["message"].as_str().unwrap().contains("999999"),
        "{}",
        r.text
    );
    tl.get_event(&t, "good-7").await.assert_status(200);
    tl.get_event(&t, "bad-token")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

async fn a_batch_whose_every_input_fails_is_a_207_with_no_results(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let r = tl
        .batch(vec![
            json!({"eventTemplateId": t, "id": "a", "tokens": {}}),
            json!({"eventTemplateId": t, "id": "b", "email": "not-an-email", "tokens": {}}),
        ])
        .await;
    r.assert_status(207);
    assert_eq!(r.body["results"], json!([]));
    assert_eq!(r.body["numErrors"], 2);
}

async fn a_batch_request_that_is_not_a_batch_is_a_400(app: &TestApp) {
    let tl = Tl::new(app).await;
    let r = tl.batch(vec![]).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["inputs"]);
    let r = tl
        .bearer(
            Method::POST,
            &format!("{V3}/events/batch/create"),
            Some(&json!({"events": []})),
        )
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["inputs"]);
    let r = app
        .send(
            app.request(Method::POST, &format!("{V3}/events"))
                .bearer_auth(&tl.token)
                .body("{not json"),
        )
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(r.body["errors"][0]["code"], "MALFORMED_JSON");
}

async fn email_finds_or_creates_the_contact(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let existing = tl
        .crm
        .create_id("contacts", json!({"email": "known@pets.io"}))
        .await;
    let r = tl.event_ok(&note(&t, "e1", "KNOWN@pets.io")).await;
    assert_eq!(r["objectId"], existing.as_str(), "found case-insensitively");
    assert_eq!(r["email"], "KNOWN@pets.io", "echoed as sent");
    let r = tl.event_ok(&note(&t, "e2", "new@pets.io")).await;
    let created = r["objectId"].as_str().unwrap();
    assert_ne!(created, existing);
    let c = tl
        .crm
        .get("contacts", "new@pets.io", "?idProperty=email")
        .await;
    c.assert_status(200);
    assert_eq!(c.str("id"), created);
}

async fn object_id_must_exist_and_never_creates(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let contact = tl
        .crm
        .create_id("contacts", json!({"email": "x@pets.io"}))
        .await;
    let r = tl
        .event_ok(&json!({"eventTemplateId": t, "id": "e1", "objectId": contact, "tokens": {}}))
        .await;
    assert_eq!(r["objectId"], contact.as_str());
    // objectId as a number is accepted too.
    let as_number: i64 = contact.parse().unwrap();
    tl.create_event(
        &json!({"eventTemplateId": t, "id": "e2", "objectId": as_number, "tokens": {}}),
    )
    .await
    .assert_status(201);
    let r = tl
        .create_event(
            &json!({"eventTemplateId": t, "id": "e3", "objectId": "987654321", "tokens": {}}),
        )
        .await;
    r.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(r.str("message").contains("987654321"), "{}", r.text);
    tl.crm
        .get("contacts", "987654321", "")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    let r = tl
        .create_event(&json!({"eventTemplateId": t, "id": "e4", "tokens": {}}))
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["objectId"]);
}

async fn company_templates_take_the_record_id(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("companies")).await;
    let company = tl.crm.create_id("companies", json!({"name": "Acme"})).await;
    let r = tl
        .event_ok(&json!({"eventTemplateId": t, "id": "c1", "objectId": company, "tokens": {"note": "x"}}))
        .await;
    assert_eq!(r["objectType"], "companies");
    assert_eq!(r["objectId"], company.as_str());
    let r = tl.create_event(&note(&t, "c2", "a@b.co")).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["objectId"]);
    let contact = tl
        .crm
        .create_id("contacts", json!({"email": "x@pets.io"}))
        .await;
    if contact != company {
        // A contact's id is not a company.
        tl.create_event(
            &json!({"eventTemplateId": t, "id": "c3", "objectId": contact, "tokens": {}}),
        )
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    }
}

async fn a_utk_alone_waits_until_it_is_linked(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let utk = "0123456789abcdef0123456789abcdef";
    let r = tl
        .create_event(&json!({"eventTemplateId": t, "id": "w1", "utk": utk, "tokens": {}}))
        .await;
    r.assert_status(201);
    assert!(r.body.get("objectId").is_none(), "waiting: {}", r.text);
    assert_eq!(r.body["utk"], utk);
    // A utk alone never creates a contact.
    let search = tl
        .crm
        .call(
            Method::POST,
            "/crm/v3/objects/contacts/search",
            Some(&json!({"filterGroups": []})),
        )
        .await;
    assert_eq!(search.body["total"], 0, "{}", search.text);

    let linked = tl
        .app
        .link_visitor(
            tl.portal_id,
            &json!({"utk": utk, "email": "visitor@pets.io"}),
        )
        .await;
    linked.assert_status(200);
    let contact = linked.str("contactId").to_owned();
    // The waiting event is now on the contact's timeline.
    let timeline = tl
        .crm
        .call(
            Method::GET,
            &format!("/crm/v3/objects/contacts/{contact}/timeline"),
            None,
        )
        .await;
    timeline.assert_status(200);
    let on_timeline: Vec<&str> = timeline.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(on_timeline, ["w1"], "{}", timeline.text);
    // Later utk events find the contact.
    let r = tl
        .event_ok(&json!({"eventTemplateId": t, "id": "w2", "utk": utk, "tokens": {}}))
        .await;
    assert_eq!(r["objectId"], contact.as_str());
}

async fn utk_with_email_creates_the_contact_and_links_the_utk(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let utk = "fedcba9876543210fedcba9876543210";
    let r = tl
        .event_ok(&json!({"eventTemplateId": t, "id": "u1", "utk": utk, "email": "both@pets.io", "tokens": {}}))
        .await;
    let contact = r["objectId"].as_str().unwrap().to_owned();
    let r = tl
        .event_ok(&json!({"eventTemplateId": t, "id": "u2", "utk": utk, "tokens": {}}))
        .await;
    assert_eq!(r["objectId"], contact.as_str(), "the utk was linked");
}

async fn email_with_object_id_changes_the_contacts_email(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let contact = tl
        .crm
        .create_id("contacts", json!({"email": "old@pets.io"}))
        .await;
    let taken = tl
        .crm
        .create_id("contacts", json!({"email": "taken@pets.io"}))
        .await;
    tl.event_ok(&json!({"eventTemplateId": t, "id": "m1", "objectId": contact, "email": "new@pets.io", "tokens": {}}))
        .await;
    assert_eq!(tl.contact_property(&contact, "email").await, "new@pets.io");
    let r = tl
        .create_event(&json!({"eventTemplateId": t, "id": "m2", "objectId": contact, "email": "taken@pets.io", "tokens": {}}))
        .await;
    r.assert_api_error(409, "CONFLICT");
    assert!(r.str("message").contains("taken@pets.io"), "{}", r.text);
    assert_eq!(tl.contact_property(&contact, "email").await, "new@pets.io");
    assert_eq!(tl.contact_property(&taken, "email").await, "taken@pets.io");
    tl.get_event(&t, "m2")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

async fn stamping_keeps_the_newest_value_whatever_the_arrival_order(app: &TestApp) {
    let tl = Tl::new(app).await;
    let mut body = simple("contacts");
    body["tokens"][0]["objectPropertyName"] = json!("firstname");
    let t = tl.template_id(&body).await;
    let at = |id: &str, ts: i64, value: &str| {
        json!({"eventTemplateId": t, "id": id, "email": "stamp@pets.io", "timestamp": ts,
               "tokens": {"note": value}})
    };
    let r = tl.event_ok(&at("s2", 2_000, "second")).await;
    let contact = r["objectId"].as_str().unwrap().to_owned();
    assert_eq!(tl.contact_property(&contact, "firstname").await, "second");
    // An older event arriving later does not win.
    tl.event_ok(&at("s1", 1_000, "first")).await;
    assert_eq!(tl.contact_property(&contact, "firstname").await, "second");
    tl.event_ok(&at("s3", 3_000, "third")).await;
    assert_eq!(tl.contact_property(&contact, "firstname").await, "third");
    // In one batch, out of order: the newest wins.
    let r = tl
        .batch(vec![
            at("b5", 5_000, "fifth"),
            at("b4", 4_000, "fourth"),
            at("b0", 500, "zeroth"),
        ])
        .await;
    r.assert_status(201);
    assert_eq!(tl.contact_property(&contact, "firstname").await, "fifth");
    // An event without the token stamps nothing.
    tl.event_ok(
        &json!({"eventTemplateId": t, "id": "s9", "email": "stamp@pets.io",
                        "timestamp": 9_000, "tokens": {}}),
    )
    .await;
    assert_eq!(tl.contact_property(&contact, "firstname").await, "fifth");
}

async fn a_stamp_of_a_property_the_record_type_lacks_is_refused(app: &TestApp) {
    let tl = Tl::new(app).await;
    let mut body = simple("contacts");
    body["tokens"][0]["objectPropertyName"] = json!("no_such_property");
    let t = tl.template_id(&body).await;
    let r = tl.create_event(&note(&t, "x1", "a@b.co")).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    let message = r.str("message");
    assert!(
        message.contains("no_such_property") && message.contains("\"note\""),
        "{message}"
    );
    tl.get_event(&t, "x1")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

async fn a_deleted_template_takes_no_new_events_and_its_events_stay_readable(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let stored = tl.event_ok(&note(&t, "kept", "a@b.co")).await;
    tl.delete_template(&t).await.assert_status(204);
    let r = tl.create_event(&note(&t, "after", "a@b.co")).await;
    r.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(r.str("message").contains("deleted"), "{}", r.text);
    let r = tl.batch(vec![note(&t, "after-batch", "a@b.co")]).await;
    r.assert_status(207);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deleted"),
        "{}",
        r.text
    );
    let got = tl.get_event(&t, "kept").await;
    got.assert_status(200);
    assert_eq!(got.body, stored);
    tl.render(&t, "kept", "").await.assert_status(200);
}

async fn events_are_served_under_the_crm_alias(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let r = tl
        .bearer(
            Method::POST,
            "/crm/v3/timeline/events",
            Some(&note(&t, "alias", "a@b.co")),
        )
        .await;
    r.assert_status(201);
    let got = tl
        .bearer(
            Method::GET,
            &format!("/crm/v3/timeline/events/{t}/alias"),
            None,
        )
        .await;
    assert_eq!(got.body, r.body);
    let r = tl
        .bearer(
            Method::POST,
            "/crm/v3/timeline/events/batch/create",
            Some(&json!({"inputs": [note(&t, "alias-2", "a@b.co")]})),
        )
        .await;
    r.assert_status(201);
}

/// Token edits commit between an event's check and its write: the store refuses the write
/// (the template's version moved) and the events are checked against the new version, so none
/// is refused for it.
async fn events_sent_while_their_template_changes_are_checked_again_and_stored(app: &TestApp) {
    let tl = Tl::new(app).await;
    let t = tl.template_id(&simple("contacts")).await;
    let edits = async {
        for i in 0..40 {
            tl.update_token(
                &t,
                "note",
                &json!({"label": format!("Note {i}"), "options": []}),
            )
            .await
            .assert_status(200);
        }
    };
    let sends = async {
        let mut statuses = Vec::new();
        for i in 0..40 {
            let r = tl
                .batch(vec![
                    note(&t, &format!("c{i}-a"), "a@b.co"),
                    note(&t, &format!("c{i}-b"), "b@b.co"),
                ])
                .await;
            statuses.push((r.status.as_u16(), r.text));
        }
        statuses
    };
    let ((), statuses) = tokio::join!(edits, sends);
    for (status, text) in &statuses {
        assert_eq!(*status, 201, "{text}");
    }
    assert_eq!(
        tl.get_template(&t).await.body["tokens"][0]["label"],
        "Note 39"
    );
}

/// Two nodes on one PostgreSQL database: an older event written on one node while a newer one
/// is written on the other never overwrites the newer stamp, and one id sent to both at once is
/// stored once.
#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_keep_the_newest_stamp_and_store_an_id_once() {
    let pg = PgSchema::fresh("timeline_events::two_nodes_keep_the_newest_stamp").await;
    let a = TestApp::spawn_on_postgres(&pg, |_| {}).await;
    let b = TestApp::spawn_on_postgres(&pg, |_| {}).await;
    let on_a = Tl::new(&a).await;
    let on_b = on_a.on(&b);
    let mut body = simple("contacts");
    body["tokens"][0]["objectPropertyName"] = json!("firstname");
    let t = on_a.template_id(&body).await;
    let at = |id: String, ts: i64, value: String| {
        json!({"eventTemplateId": t, "id": id, "email": "race@pets.io", "timestamp": ts,
               "tokens": {"note": value}})
    };
    let first = on_a.event_ok(&at("start".into(), 0, "start".into())).await;
    let contact = first["objectId"].as_str().unwrap().to_owned();
    for race in 0..8_i64 {
        let newer = at(
            format!("new-{race}"),
            (race + 1) * 1_000 + 500,
            format!("new {race}"),
        );
        let older = at(
            format!("old-{race}"),
            (race + 1) * 1_000,
            format!("old {race}"),
        );
        // Alternate which node writes the newer one.
        let (x, y) = if race % 2 == 0 {
            tokio::join!(on_a.create_event(&newer), on_b.create_event(&older))
        } else {
            tokio::join!(on_b.create_event(&newer), on_a.create_event(&older))
        };
        x.assert_status(201);
        y.assert_status(201);
        assert_eq!(
            on_b.contact_property(&contact, "firstname").await,
            format!("new {race}"),
            "race {race}"
        );

        let same = at(format!("dup-{race}"), race, "dup".into());
        let (x, y) = tokio::join!(on_a.create_event(&same), on_b.create_event(&same));
        let mut statuses = [x.status.as_u16(), y.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "race {race}: {} / {}", x.text, y.text);
    }
}
