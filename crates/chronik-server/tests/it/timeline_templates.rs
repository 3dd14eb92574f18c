//! Timeline events v3: event templates and their tokens (`/integrators/timeline/v3/{appId}/
//! event-templates…`), with the app's developer key.

use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{keys, TestApp};
use crate::timeline_helpers::{error_fields, on_both, petspot, simple, Tl};

on_both!(
    create_answers_201_with_the_template_as_stored,
    create_echoes_the_object_type_as_sent,
    create_reports_every_problem_at_once,
    templates_that_call_unknown_helpers_are_refused_with_line_and_column,
    put_replaces_the_whole_template_and_keeps_the_object_type,
    put_refuses_an_object_type_or_token_type_change_and_a_foreign_id,
    delete_answers_204_and_the_template_is_gone,
    template_routes_need_the_key_of_the_app_in_the_path,
    another_apps_template_is_not_found,
    templates_are_served_under_the_crm_alias,
    an_app_may_have_750_templates_and_not_751,
    a_template_may_have_500_tokens_and_not_501,
    tokens_are_added_changed_and_removed_one_by_one,
    token_updates_cannot_change_name_or_type,
    token_names_follow_the_character_rule_and_reserved_names,
    a_500_token_template_refuses_one_more_added_alone,
);

async fn create_answers_201_with_the_template_as_stored(app: &TestApp) {
    let tl = Tl::new(app).await;
    let r = tl.create_template(&petspot()).await;
    r.assert_status(201).assert_json_content_type();
    let id = r.str("id");
    assert!(id.parse::<i64>().is_ok(), "id is a numeric string: {id}");
    assert_eq!(r.body["name"], "PetSpot Registration");
    assert_eq!(r.body["objectType"], "contacts");
    assert_eq!(
        r.body["headerTemplate"],
        petspot()["headerTemplate"],
        "templates are kept as sent"
    );
    let tokens = r.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3);
    assert_eq!(
        keys(&tokens[0]),
        ["createdAt", "label", "name", "options", "type", "updatedAt"]
    );
    assert_eq!(tokens[0]["options"], json!([]), "options: [] for a string");
    assert_eq!(tokens[1]["type"], "number");
    assert_eq!(
        tokens[2]["options"][1],
        json!({"label": "Black", "value": "black"})
    );
    for key in ["createdAt", "updatedAt"] {
        let at = r.str(key);
        assert!(
            at.ends_with('Z') && at.len() == "2020-02-12T20:58:26.000Z".len(),
            "{key} {at}"
        );
    }

    let got = tl.get_template(id).await;
    got.assert_status(200);
    assert_eq!(got.body, r.body, "GET answers what POST answered");
    let list = tl.list_templates().await;
    list.assert_status(200);
    assert_eq!(keys(&list.body), ["results"]);
    assert_eq!(list.body["results"], json!([r.body]));
}

async fn create_echoes_the_object_type_as_sent(app: &TestApp) {
    let tl = Tl::new(app).await;
    for sent in ["CONTACT", "companies", "Deal", "TICKETS"] {
        let mut body = simple(sent);
        body["name"] = json!(format!("for {sent}"));
        let r = tl.create_template(&body).await;
        r.assert_status(201);
        assert_eq!(r.body["objectType"], sent);
    }
    let r = tl.create_template(&simple("products")).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["objectType"]);
    assert!(
        r.error_in("objectType")["message"]
            .as_str()
            .unwrap()
            .contains("contacts, companies, deals or tickets"),
        "{}",
        r.text
    );
}

async fn create_reports_every_problem_at_once(app: &TestApp) {
    let tl = Tl::new(app).await;
    let r = tl
        .create_template(&json!({
            "objectType": "contacts",
            "tokens": [
                {"name": "pet name", "label": "Pet", "type": "string"},
                {"name": "kind", "label": "Kind", "type": "enumeration"},
                {"name": "size", "label": "Size", "type": "color"},
                {"name": "dup", "label": "A", "type": "string"},
                {"name": "dup", "label": "B", "type": "number"},
                {"name": "stamp", "label": "S", "type": "string", "objectPropertyName": "Not A Property"}
            ]
        }))
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(
        error_fields(&r),
        [
            "name",
            "tokens[0].name",
            "tokens[1].options",
            "tokens[2].type",
            "tokens[4].name",
            "tokens[5].objectPropertyName"
        ]
    );
    assert_eq!(r.error_in("tokens[4].name")["code"], "DUPLICATE");
    // Nothing was stored.
    let list = tl.list_templates().await;
    assert_eq!(list.body["results"], json!([]));
}

async fn templates_that_call_unknown_helpers_are_refused_with_line_and_column(app: &TestApp) {
    let tl = Tl::new(app).await;
    let mut body = simple("contacts");
    body["detailTemplate"] = json!("first line\n{{#shout note}}x{{/shout}}");
    let r = tl.create_template(&body).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    let message = r.error_in("detailTemplate")["message"].as_str().unwrap();
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("shout"), "{message}");

    let mut body = simple("contacts");
    body["headerTemplate"] = json!("{{#if note}}open");
    let r = tl.create_template(&body).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["headerTemplate"]);
}

async fn put_replaces_the_whole_template_and_keeps_the_object_type(app: &TestApp) {
    let tl = Tl::new(app).await;
    let created = tl.create_template(&petspot()).await;
    created.assert_status(201);
    let id = created.str("id").to_owned();
    let pet_name_created = created.body["tokens"][0]["createdAt"].clone();

    // As the SDKs send it: the id, no objectType, tokens replaced as a whole (petAge gone,
    // petName now stamping firstname, petColor with one more option, a new token), and no
    // headerTemplate (removed).
    let r = tl
        .update_template(
            &id,
            &json!({
                "id": id,
                "name": "PetSpot Registration v2",
                "detailTemplate": "EDIT {{petName}}",
                "tokens": [
                    {"name": "petName", "label": "Pet Name", "type": "string", "objectPropertyName": "firstname"},
                    {"name": "petColor", "label": "Pet Color", "type": "enumeration",
                     "options": [{"value": "white", "label": "White"}, {"value": "yellow", "label": "Yellow"}]},
                    {"name": "petWeight", "label": "Weight", "type": "number"}
                ]
            }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["name"], "PetSpot Registration v2");
    assert_eq!(
        r.body["objectType"], "contacts",
        "objectType stays as created"
    );
    assert!(r.body.get("headerTemplate").is_none(), "{}", r.text);
    assert_eq!(r.body["detailTemplate"], "EDIT {{petName}}");
    let names: Vec<&str> = r.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["petName", "petColor", "petWeight"]);
    assert_eq!(r.body["tokens"][0]["objectPropertyName"], "firstname");
    assert_eq!(
        r.body["tokens"][0]["createdAt"], pet_name_created,
        "a kept token keeps its createdAt"
    );
    assert_eq!(tl.get_template(&id).await.body, r.body);

    // Sending the same object type (in another form) is accepted.
    let mut same = r.body.clone();
    same["objectType"] = json!("CONTACT");
    let again = tl.update_template(&id, &same).await;
    again.assert_status(200);
    assert_eq!(again.body["objectType"], "contacts");
}

async fn put_refuses_an_object_type_or_token_type_change_and_a_foreign_id(app: &TestApp) {
    let tl = Tl::new(app).await;
    let id = tl.template_id(&simple("contacts")).await;
    let mut body = simple("deals");
    let r = tl.update_template(&id, &body).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["objectType"]);
    assert_eq!(r.error_in("objectType")["code"], "IMMUTABLE");

    body = simple("contacts");
    body["tokens"][1]["type"] = json!("string");
    let r = tl.update_template(&id, &body).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["tokens[1].type"]);

    body = simple("contacts");
    body["id"] = json!("999999");
    let r = tl.update_template(&id, &body).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["id"]);

    let r = tl.update_template("424242", &simple("contacts")).await;
    r.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(r.str("message").contains("424242"), "{}", r.text);
    // Nothing changed.
    assert_eq!(
        tl.get_template(&id).await.body["tokens"][1]["type"],
        "number"
    );
}

async fn delete_answers_204_and_the_template_is_gone(app: &TestApp) {
    let tl = Tl::new(app).await;
    let id = tl.template_id(&simple("contacts")).await;
    let keep = tl.template_id(&petspot()).await;
    let r = tl.delete_template(&id).await;
    r.assert_status(204);
    assert!(r.text.is_empty());
    tl.get_template(&id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    let list = tl.list_templates().await;
    let ids: Vec<&str> = list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [keep.as_str()]);
    tl.delete_template(&id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    tl.update_template(&id, &simple("contacts"))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    tl.add_token(&id, &json!({"name": "x", "label": "X", "type": "string"}))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

async fn template_routes_need_the_key_of_the_app_in_the_path(app: &TestApp) {
    let tl = Tl::new(app).await;
    let other = tl.other_app().await;
    let path = tl.templates_path("");

    let none = app
        .send(app.request(Method::POST, &path).json(&simple("contacts")))
        .await;
    none.assert_api_error(401, "INVALID_AUTHENTICATION");
    assert!(none.str("message").contains("hapikey"), "{}", none.text);

    let wrong = app
        .send(app.request(Method::GET, &format!("{path}?hapikey=not-a-key")))
        .await;
    wrong.assert_api_error(401, "INVALID_AUTHENTICATION");

    let bearer = tl.bearer(Method::GET, &path, None).await;
    bearer.assert_api_error(401, "INVALID_AUTHENTICATION");

    // A valid key of another app.
    let foreign = other
        .dev(Method::POST, &path, Some(&simple("contacts")))
        .await;
    foreign.assert_api_error(403, "FORBIDDEN");
    let message = foreign.str("message");
    assert!(
        message.contains(&tl.creds.app_id.to_string())
            && message.contains(&other.creds.app_id.to_string()),
        "{message}"
    );
    assert_eq!(tl.list_templates().await.body["results"], json!([]));
}

async fn another_apps_template_is_not_found(app: &TestApp) {
    let tl = Tl::new(app).await;
    let other = tl.other_app().await;
    let theirs = other.template_id(&simple("contacts")).await;
    let r = tl.get_template(&theirs).await;
    r.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(r.str("message").contains(&theirs), "{}", r.text);
    tl.update_template(&theirs, &simple("contacts"))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    tl.delete_template(&theirs)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    other.get_template(&theirs).await.assert_status(200);
    tl.get_template("not-a-number")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

async fn templates_are_served_under_the_crm_alias(app: &TestApp) {
    let tl = Tl::new(app).await;
    let alias = format!("/crm/v3/timeline/{}/event-templates", tl.creds.app_id);
    let r = tl
        .dev(Method::POST, &alias, Some(&simple("contacts")))
        .await;
    r.assert_status(201);
    let id = r.str("id").to_owned();
    let got = tl.dev(Method::GET, &format!("{alias}/{id}"), None).await;
    got.assert_status(200);
    assert_eq!(got.body, r.body);
    assert_eq!(tl.get_template(&id).await.body, r.body);
}

async fn an_app_may_have_750_templates_and_not_751(app: &TestApp) {
    let tl = Tl::new(app).await;
    // 750 creates, 8 at a time (the group commit shares their fsyncs).
    let statuses: Vec<u16> = futures::stream::iter(0..750)
        .map(|i| {
            let tl = &tl;
            async move {
                let mut body = simple("contacts");
                body["name"] = json!(format!("template {i}"));
                tl.create_template(&body).await.status.as_u16()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let r = tl.create_template(&simple("contacts")).await;
    r.assert_api_error(429, "RATE_LIMITS");
    assert!(r.str("message").contains("750"), "{}", r.text);
    assert_eq!(
        tl.list_templates().await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        750
    );
    // A deleted one makes room.
    let first = tl.list_templates().await.body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tl.delete_template(&first).await.assert_status(204);
    tl.create_template(&simple("contacts"))
        .await
        .assert_status(201);
}

fn tokens(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"name": format!("t{i}"), "label": format!("T {i}"), "type": "string"}))
        .collect()
}

async fn a_template_may_have_500_tokens_and_not_501(app: &TestApp) {
    let tl = Tl::new(app).await;
    let mut body = simple("contacts");
    body["tokens"] = json!(tokens(500));
    let r = tl.create_template(&body).await;
    r.assert_status(201);
    assert_eq!(r.body["tokens"].as_array().unwrap().len(), 500);
    let id = r.str("id").to_owned();

    body["tokens"] = json!(tokens(501));
    let r = tl.create_template(&body).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["tokens"]);
    assert!(r.str("message").contains("500"), "{}", r.text);

    let r = tl.update_template(&id, &body).await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert!(r.str("message").contains("500"), "{}", r.text);
}

async fn a_500_token_template_refuses_one_more_added_alone(app: &TestApp) {
    let tl = Tl::new(app).await;
    let mut body = simple("contacts");
    body["tokens"] = json!(tokens(499));
    let id = tl.template_id(&body).await;
    tl.add_token(
        &id,
        &json!({"name": "last", "label": "Last", "type": "date"}),
    )
    .await
    .assert_status(200);
    let r = tl
        .add_token(
            &id,
            &json!({"name": "one_more", "label": "One more", "type": "date"}),
        )
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    r.error_in("tokens");
    assert!(
        r.str("message").contains("at most 500 tokens"),
        "{}",
        r.text
    );
    assert_eq!(
        tl.get_template(&id).await.body["tokens"]
            .as_array()
            .unwrap()
            .len(),
        500
    );
}

async fn tokens_are_added_changed_and_removed_one_by_one(app: &TestApp) {
    let tl = Tl::new(app).await;
    let id = tl
        .template_id(&json!({"name": "Step by step", "objectType": "contacts", "tokens": []}))
        .await;
    let r = tl
        .add_token(
            &id,
            &json!({"name": "pet.kind", "label": "Pet Type", "type": "enumeration",
                    "options": [{"value": "dog", "label": "Dog"}, {"value": "cat", "label": "Cat"}]}),
        )
        .await;
    r.assert_status(200).assert_json_content_type();
    assert_eq!(r.body["name"], "pet.kind");
    assert_eq!(r.body["type"], "enumeration");
    assert!(r.body["createdAt"].is_string() && r.body["updatedAt"].is_string());
    let created_at = r.body["createdAt"].clone();

    let dup = tl
        .add_token(
            &id,
            &json!({"name": "pet.kind", "label": "Again", "type": "string"}),
        )
        .await;
    dup.assert_api_error(409, "CONFLICT");
    assert!(dup.str("message").contains("pet.kind"), "{}", dup.text);

    // HubSpot's token update example, with the name percent-encoded as Python sends it.
    let r = tl
        .update_token(
            &id,
            "pet%2Ekind",
            &json!({"label": "petType edit", "objectPropertyName": "pet_type",
                    "options": [{"value": "dog", "label": "Dog"}, {"value": "cat", "label": "Cat"},
                                {"value": "bird", "label": "Bird"}]}),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["label"], "petType edit");
    assert_eq!(r.body["objectPropertyName"], "pet_type");
    assert_eq!(r.body["options"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["createdAt"], created_at);
    assert_eq!(r.body["type"], "enumeration");

    let stored = tl.get_template(&id).await;
    assert_eq!(stored.body["tokens"], json!([r.body]));

    let r = tl
        .update_token(
            &id,
            "pet.kind",
            &json!({"label": "No options", "options": []}),
        )
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["options"]);

    tl.update_token(&id, "nope", &json!({"label": "x", "options": []}))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    tl.delete_token(&id, "nope")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    let r = tl.delete_token(&id, "pet%2Ekind").await;
    r.assert_status(204);
    assert_eq!(tl.get_template(&id).await.body["tokens"], json!([]));
    tl.delete_token(&id, "pet.kind")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

async fn token_updates_cannot_change_name_or_type(app: &TestApp) {
    let tl = Tl::new(app).await;
    let id = tl.template_id(&simple("contacts")).await;
    let r = tl
        .update_token(
            &id,
            "note",
            &json!({"name": "memo", "label": "Memo", "options": []}),
        )
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(r.error_in("name")["code"], "IMMUTABLE");
    let r = tl
        .update_token(
            &id,
            "note",
            &json!({"type": "number", "label": "Memo", "options": []}),
        )
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(r.error_in("type")["code"], "IMMUTABLE");
    // Sending its own name and type is fine.
    let r = tl
        .update_token(
            &id,
            "note",
            &json!({"name": "note", "type": "string", "label": "Memo", "options": []}),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["label"], "Memo");
}

async fn token_names_follow_the_character_rule_and_reserved_names(app: &TestApp) {
    let tl = Tl::new(app).await;
    let id = tl.template_id(&simple("contacts")).await;
    for bad in ["pet name", "pet/name", "emoji\u{1F436}"] {
        let r = tl
            .add_token(&id, &json!({"name": bad, "label": "Bad", "type": "string"}))
            .await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(r.error_in("name")["code"], "INVALID_NAME", "{bad}");
    }
    for reserved in ["log", "lookup", "timestamp", "extraData"] {
        let r = tl
            .add_token(
                &id,
                &json!({"name": reserved, "label": "R", "type": "string"}),
            )
            .await;
        r.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(r.error_in("name")["code"], "RESERVED_NAME", "{reserved}");
    }
    let r = tl
        .add_token(&id, &json!({"name": "ok", "label": "Ok", "type": "colour"}))
        .await;
    r.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(error_fields(&r), ["type"]);
    // Types in any case.
    let r = tl
        .add_token(
            &id,
            &json!({"name": "when", "label": "When", "type": "DATE"}),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["type"], "date");
}
