//! `/crm/v3/properties/{objectType}`: HubSpot's default properties (read-only) and custom
//! properties on every object type: create, list, get, update, archive; their checks and
//! scopes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::{assert_invalid, assert_missing_scopes, Crm};
use crate::helpers::{keys, TestApp};

/// The `name`s of a property collection.
fn property_names(body: &Value) -> Vec<&str> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results[] in {body}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

/// The keys every `Property` has; custom ones add `createdAt` and `updatedAt`.
const PROPERTY_KEYS: &[&str] = &[
    "archived",
    "calculated",
    "description",
    "displayOrder",
    "externalOptions",
    "fieldType",
    "formField",
    "groupName",
    "hasUniqueValue",
    "hidden",
    "hubspotDefined",
    "label",
    "modificationMetadata",
    "name",
    "options",
    "type",
];

#[tokio::test]
async fn every_type_lists_its_default_properties_as_hubspot_defined() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let schema = crm.new_car_schema().await;
    let car = schema["objectTypeId"].as_str().unwrap();

    // (type, properties it must list, one of them with its type)
    let cases = [
        (
            "contacts",
            vec![
                "email",
                "firstname",
                "lastname",
                "createdate",
                "lastmodifieddate",
                "hs_object_id",
            ],
            ("email", "string"),
        ),
        (
            "companies",
            vec![
                "name",
                "domain",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
            ],
            ("numberofemployees", "number"),
        ),
        (
            "deals",
            vec!["dealname", "amount", "dealstage", "pipeline", "closedate"],
            ("closedate", "datetime"),
        ),
        (
            "tickets",
            vec![
                "subject",
                "content",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_priority",
            ],
            ("hs_ticket_priority", "enumeration"),
        ),
        (
            car,
            vec![
                "hs_object_id",
                "hs_createdate",
                "hs_lastmodifieddate",
                "vin",
                "model",
                "year",
                "color",
            ],
            ("year", "number"),
        ),
    ];
    for (t, expected, (typed, property_type)) in cases {
        let listed = crm.list_properties(t, "").await;
        listed.assert_status(200).assert_json_content_type();
        let names = property_names(&listed.body);
        for name in &expected {
            assert!(names.contains(name), "{t}: {name} missing from {names:?}");
        }
        let found = listed.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == typed)
            .unwrap();
        assert_eq!(found["type"], property_type, "{t}.{typed}");

        let one = crm.get_property(t, "hs_object_id").await;
        one.assert_status(200);
        assert_eq!(keys(&one.body), PROPERTY_KEYS, "{t}");
        assert_eq!(one.body["hubspotDefined"], true);
        assert_eq!(
            one.body["modificationMetadata"],
            json!({ "archivable": false, "readOnlyDefinition": true, "readOnlyValue": true })
        );
    }
    let email = crm.get_property("contacts", "email").await;
    assert_eq!(email.body["hasUniqueValue"], true);
    let stages = crm.get_property("deals", "dealstage").await;
    let values: Vec<&str> = stages.body["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert!(values.contains(&"closedwon"), "{values:?}");
}

#[tokio::test]
async fn custom_property_is_created_with_201_on_every_type_and_then_takes_values() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let schema = crm.new_car_schema().await;
    let car = schema["objectTypeId"].as_str().unwrap();

    // (type, a record's other required properties)
    for (t, base) in [
        ("contacts", json!({})),
        ("companies", json!({})),
        ("deals", json!({})),
        ("tickets", json!({})),
        (car, json!({ "vin": "V1" })),
    ] {
        let created = crm
            .create_property(
                t,
                &json!({
                    "name": "favorite_color",
                    "label": "Favorite color",
                    "type": "enumeration",
                    "fieldType": "radio",
                    "groupName": "custom",
                    "description": "What they like",
                    "displayOrder": 3,
                    "options": [
                        { "label": "Red", "value": "red", "displayOrder": 1 },
                        { "label": "Blue", "value": "blue", "hidden": true }
                    ],
                    "formField": false,
                    "displayHint": "ignored",
                }),
            )
            .await;
        created.assert_status(201).assert_json_content_type();
        let mut expected_keys = PROPERTY_KEYS.to_vec();
        expected_keys.extend(["createdAt", "updatedAt"]);
        expected_keys.sort_unstable();
        assert_eq!(keys(&created.body), expected_keys, "{t}");
        let p = &created.body;
        assert_eq!(p["name"], "favorite_color");
        assert_eq!(p["label"], "Favorite color");
        assert_eq!(p["type"], "enumeration");
        assert_eq!(p["fieldType"], "radio");
        assert_eq!(p["groupName"], "custom");
        assert_eq!(p["description"], "What they like");
        assert_eq!(p["displayOrder"], 3);
        assert_eq!(p["formField"], false);
        assert_eq!(p["hasUniqueValue"], false);
        assert_eq!(p["hubspotDefined"], false);
        assert_eq!(p["archived"], false);
        assert_eq!(
            p["modificationMetadata"],
            json!({ "archivable": true, "readOnlyDefinition": false, "readOnlyValue": false })
        );
        assert_eq!(
            p["options"],
            json!([
                { "label": "Red", "value": "red", "displayOrder": 1, "hidden": false },
                { "label": "Blue", "value": "blue", "displayOrder": 1, "hidden": true }
            ])
        );

        let read = crm.get_property(t, "favorite_color").await;
        read.assert_status(200);
        assert_eq!(read.body, created.body, "{t}");
        assert!(property_names(&crm.list_properties(t, "").await.body).contains(&"favorite_color"));

        // Records of the type take it, checked against its options.
        let mut props = base.clone();
        props["favorite_color"] = json!("blue");
        let record = crm.create(t, props).await;
        record.assert_status(201);
        let id = record.str("id");
        let read = crm.get(t, id, "?properties=favorite_color").await;
        assert_eq!(read.body["properties"]["favorite_color"], "blue", "{t}");
        let mut bad = base;
        bad["favorite_color"] = json!("green");
        let refused = crm.create(t, bad).await;
        assert_invalid(
            &refused,
            "properties.favorite_color",
            "INVALID_OPTION",
            &["green", "red", "blue"],
        );
    }
}

#[tokio::test]
async fn field_type_defaults_to_the_first_that_fits_the_type() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    for (property_type, field_type) in [
        ("string", "text"),
        ("number", "number"),
        ("date", "date"),
        ("datetime", "date"),
        ("bool", "booleancheckbox"),
    ] {
        let created = crm
            .create_property(
                "deals",
                &json!({ "name": format!("p_{property_type}"), "label": "P", "type": property_type }),
            )
            .await;
        created.assert_status(201);
        assert_eq!(created.body["fieldType"], field_type, "{property_type}");
    }
}

#[tokio::test]
async fn a_bad_property_definition_is_refused_naming_each_field() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let base = json!({ "name": "ok_name", "label": "OK", "type": "string", "fieldType": "text" });
    let with = |patch: Value| {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let long_name = "a".repeat(101);
    let long_label = "l".repeat(256);
    // (what is wrong, body, field, code, mentioned)
    let cases = [
        (
            "no name",
            with(json!({ "name": null })),
            "name",
            "REQUIRED",
            "name",
        ),
        (
            "upper-case name",
            with(json!({ "name": "Color" })),
            "name",
            "INVALID_FORMAT",
            "Color",
        ),
        (
            "name starts with a digit",
            with(json!({ "name": "2nd" })),
            "name",
            "INVALID_FORMAT",
            "2nd",
        ),
        (
            "hs_ prefix",
            with(json!({ "name": "hs_mine" })),
            "name",
            "RESERVED_NAME",
            "hs_",
        ),
        (
            "name of 101 characters",
            with(json!({ "name": long_name })),
            "name",
            "TOO_LONG",
            "101",
        ),
        (
            "no label",
            with(json!({ "label": null })),
            "label",
            "REQUIRED",
            "label",
        ),
        (
            "label of 256 characters",
            with(json!({ "label": long_label })),
            "label",
            "TOO_LONG",
            "256",
        ),
        (
            "no type",
            with(json!({ "type": null })),
            "type",
            "REQUIRED",
            "type",
        ),
        (
            "unknown type",
            with(json!({ "type": "text" })),
            "type",
            "INVALID_TYPE",
            "text",
        ),
        (
            "field type of another type",
            with(json!({ "fieldType": "select" })),
            "fieldType",
            "INVALID_FIELD_TYPE",
            "select",
        ),
        (
            "enumeration without options",
            with(json!({ "type": "enumeration", "fieldType": "select" })),
            "options",
            "REQUIRED",
            "enumeration",
        ),
        (
            "options on a string",
            with(json!({ "options": [{ "label": "A", "value": "a" }] })),
            "options",
            "OPTIONS_NOT_ALLOWED",
            "enumeration",
        ),
        (
            "unique bool",
            with(json!({ "type": "bool", "fieldType": "booleancheckbox", "hasUniqueValue": true })),
            "hasUniqueValue",
            "UNIQUE_NOT_ALLOWED",
            "string and number",
        ),
        (
            "option without a label",
            with(
                json!({ "type": "enumeration", "fieldType": "select", "options": [{ "value": "a" }] }),
            ),
            "options[0].label",
            "REQUIRED",
            "label",
        ),
        (
            "option without a value",
            with(
                json!({ "type": "enumeration", "fieldType": "select", "options": [{ "label": "A" }] }),
            ),
            "options[0].value",
            "REQUIRED",
            "value",
        ),
        (
            "option value with ;",
            with(
                json!({ "type": "enumeration", "fieldType": "checkbox", "options": [{ "label": "A", "value": "a;b" }] }),
            ),
            "options[0].value",
            "INVALID_FORMAT",
            "a;b",
        ),
        (
            "repeated option value",
            with(
                json!({ "type": "enumeration", "fieldType": "select", "options": [
                { "label": "A", "value": "a" }, { "label": "A again", "value": "a" }
            ] }),
            ),
            "options[1].value",
            "DUPLICATE_OPTION",
            "a",
        ),
    ];
    for (description, body, field, code, mentioned) in cases {
        let response = crm.create_property("contacts", &body).await;
        assert_eq!(
            response.status.as_u16(),
            400,
            "{description}: {}",
            response.text
        );
        assert_invalid(&response, field, code, &[mentioned]);
    }
    // All problems at once.
    let response = crm
        .create_property("contacts", &json!({ "name": "Bad Name", "type": "blob" }))
        .await;
    let mut fields: Vec<&str> = response
        .errors()
        .iter()
        .map(|e| e["in"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["label", "name", "type"]);

    // Nothing was created.
    let listed = crm.list_properties("contacts", "").await;
    assert!(property_names(&listed.body)
        .iter()
        .all(|n| !n.starts_with("ok_")));
}

#[tokio::test]
async fn property_name_of_100_characters_and_label_of_255_are_accepted() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let name = "a".repeat(100);
    let created = crm
        .create_property(
            "companies",
            &json!({ "name": name, "label": "l".repeat(255), "type": "string" }),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["name"], name.as_str());
    assert_eq!(created.body["label"].as_str().unwrap().chars().count(), 255);
}

#[tokio::test]
async fn a_name_already_in_use_is_409() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    crm.new_property("contacts", "shoe_size", "number").await;
    crm.new_property("contacts", "retired", "string").await;
    crm.archive_property("contacts", "retired")
        .await
        .assert_status(204);

    // (name, why it is taken)
    for (name, why) in [
        ("email", "a default property"),
        ("shoe_size", "a custom property"),
        ("retired", "an archived custom property"),
    ] {
        let response = crm
            .create_property(
                "contacts",
                &json!({ "name": name, "label": "X", "type": "string" }),
            )
            .await;
        response.assert_api_error(409, "CONFLICT");
        assert!(
            response.str("message").contains(name),
            "{why}: {}",
            response.text
        );
    }
    // The same name is free on another type.
    crm.new_property("companies", "shoe_size", "number").await;
}

#[tokio::test]
async fn ten_custom_unique_properties_are_accepted_and_the_eleventh_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let unique = |i: usize| json!({ "name": format!("key_{i}"), "label": "Key", "type": "string", "hasUniqueValue": true });
    for i in 1..=10 {
        let created = crm.create_property("companies", &unique(i)).await;
        created.assert_status(201);
        assert_eq!(created.body["hasUniqueValue"], true);
    }
    let past = crm.create_property("companies", &unique(11)).await;
    assert_invalid(
        &past,
        "hasUniqueValue",
        "TOO_MANY_UNIQUE_PROPERTIES",
        &["10"],
    );
    // A property that is not unique is still welcome.
    crm.new_property("companies", "plain", "string").await;
}

#[tokio::test]
async fn patch_changes_a_custom_property_but_never_its_type() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    crm.new_property("deals", "tier", "enumeration").await;

    let updated = crm
        .update_property(
            "deals",
            "tier",
            &json!({
                "label": "Tier",
                "description": "Customer tier",
                "groupName": "dealinformation",
                "fieldType": "radio",
                "hidden": true,
                "displayOrder": 7,
                "formField": false,
                "options": [{ "label": "Gold", "value": "gold" }, { "label": "Silver", "value": "silver" }],
            }),
        )
        .await;
    updated.assert_status(200);
    let p = &updated.body;
    assert_eq!(p["name"], "tier");
    assert_eq!(p["label"], "Tier");
    assert_eq!(p["description"], "Customer tier");
    assert_eq!(p["groupName"], "dealinformation");
    assert_eq!(p["fieldType"], "radio");
    assert_eq!(p["hidden"], true);
    assert_eq!(p["displayOrder"], 7);
    assert_eq!(p["formField"], false);
    let values: Vec<&str> = p["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["gold", "silver"]);
    assert_eq!(crm.get_property("deals", "tier").await.body, updated.body);

    // The new options rule record values from now on.
    crm.create("deals", json!({ "tier": "gold" }))
        .await
        .assert_status(201);
    let old = crm.create("deals", json!({ "tier": "a" })).await;
    assert_invalid(&old, "properties.tier", "INVALID_OPTION", &["a"]);

    // (body, field, code)
    let refused = [
        (
            json!({ "type": "string" }),
            "type",
            "TYPE_CHANGE_NOT_ALLOWED",
        ),
        (
            json!({ "fieldType": "text" }),
            "fieldType",
            "INVALID_FIELD_TYPE",
        ),
        (json!({ "options": [] }), "options", "REQUIRED"),
        (json!({ "label": "" }), "label", "REQUIRED"),
        (
            json!({ "calculationFormula": "1+1" }),
            "calculationFormula",
            "NOT_SUPPORTED",
        ),
    ];
    for (body, field, code) in refused {
        let response = crm.update_property("deals", "tier", &body).await;
        assert_invalid(&response, field, code, &[]);
    }
    let name = crm
        .update_property("deals", "tier", &json!({ "name": "other" }))
        .await;
    name.assert_api_error(400, "VALIDATION_ERROR");
    assert!(name.text.contains("name"), "{}", name.text);

    // The type stays what it is; sending the same type is fine.
    crm.update_property("deals", "tier", &json!({ "type": "enumeration" }))
        .await
        .assert_status(200);
    crm.new_property("deals", "note", "string").await;
    let options = crm
        .update_property(
            "deals",
            "note",
            &json!({ "options": [{ "label": "A", "value": "a" }] }),
        )
        .await;
    assert_invalid(&options, "options", "OPTIONS_NOT_ALLOWED", &[]);
}

#[tokio::test]
async fn default_properties_cannot_be_changed_or_archived() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let patch = crm
        .update_property("contacts", "email", &json!({ "label": "Mail" }))
        .await;
    patch.assert_api_error(403, "FORBIDDEN");
    assert!(patch.str("message").contains("email"), "{}", patch.text);
    let archive = crm.archive_property("contacts", "firstname").await;
    archive.assert_api_error(403, "FORBIDDEN");
    assert!(
        archive.str("message").contains("firstname"),
        "{}",
        archive.text
    );
    assert_eq!(
        crm.get_property("contacts", "email").await.body["label"],
        "Email"
    );
}

#[tokio::test]
async fn archive_is_204_and_the_property_leaves_the_type_and_its_records() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    crm.new_property("tickets", "severity", "number").await;
    let id = crm
        .create_id("tickets", json!({ "subject": "S", "severity": "3" }))
        .await;

    let archived = crm.archive_property("tickets", "severity").await;
    archived.assert_status(204);
    assert!(archived.text.is_empty());

    crm.get_property("tickets", "severity")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(!property_names(&crm.list_properties("tickets", "").await.body).contains(&"severity"));
    let listed = crm.list_properties("tickets", "?archived=true").await;
    listed.assert_status(200);
    assert_eq!(property_names(&listed.body), ["severity"]);
    assert_eq!(listed.body["results"][0]["archived"], true);
    assert!(listed.body["results"][0]["archivedAt"].is_string());

    // Records no longer show or take it.
    let read = crm
        .get("tickets", &id, "?properties=severity,subject")
        .await;
    assert!(
        read.body["properties"].get("severity").is_none(),
        "{}",
        read.text
    );
    let refused = crm.create("tickets", json!({ "severity": "1" })).await;
    assert_invalid(
        &refused,
        "properties.severity",
        "PROPERTY_DOESNT_EXIST",
        &["severity"],
    );

    // Twice, or an unknown one, is 404; so are updates of both.
    for name in ["severity", "never_was"] {
        crm.archive_property("tickets", name)
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
        crm.update_property("tickets", name, &json!({ "label": "X" }))
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
    }
}

#[tokio::test]
async fn unknown_types_and_properties_are_404() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let unknown_type = crm.list_properties("widgets", "").await;
    unknown_type.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(unknown_type.str("message").contains("widgets"));
    let unknown = crm.get_property("contacts", "shoe_size").await;
    unknown.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(unknown.str("message").contains("shoe_size"));
}

#[tokio::test]
async fn custom_properties_of_one_account_are_invisible_to_another() {
    let app = TestApp::spawn().await;
    let mine = Crm::new(&app).await;
    let theirs = Crm::new(&app).await;
    mine.new_property("contacts", "shoe_size", "number").await;

    theirs
        .get_property("contacts", "shoe_size")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(
        !property_names(&theirs.list_properties("contacts", "").await.body).contains(&"shoe_size")
    );
    let refused = theirs
        .create("contacts", json!({ "shoe_size": "42" }))
        .await;
    assert_invalid(
        &refused,
        "properties.shoe_size",
        "PROPERTY_DOESNT_EXIST",
        &[],
    );
    theirs
        .archive_property("contacts", "shoe_size")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    // They may create their own of that name, of another type.
    theirs.new_property("contacts", "shoe_size", "string").await;
    assert_eq!(
        mine.get_property("contacts", "shoe_size").await.body["type"],
        "number"
    );
}

#[tokio::test]
async fn properties_need_the_schema_scope_of_their_type() {
    let app = TestApp::spawn().await;
    let admin = Crm::new(&app).await;
    let schema = admin.new_car_schema().await;
    let car = schema["objectTypeId"].as_str().unwrap().to_owned();

    // (type, read scopes, write scopes)
    let cases = [
        (
            "contacts",
            vec!["crm.schemas.contacts.read"],
            vec!["crm.schemas.contacts.write"],
        ),
        (
            "companies",
            vec!["crm.schemas.companies.read"],
            vec!["crm.schemas.companies.write"],
        ),
        (
            "deals",
            vec!["crm.schemas.deals.read"],
            vec!["crm.schemas.deals.write"],
        ),
        (
            "tickets",
            vec!["tickets", "crm.schemas.tickets.read"],
            vec!["tickets", "crm.schemas.tickets.write"],
        ),
        (
            car.as_str(),
            vec!["crm.schemas.custom.read"],
            vec!["crm.schemas.custom.write"],
        ),
    ];
    // The record scope of a type is not enough for its properties.
    let records_only = admin
        .token_with(&[
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            "crm.objects.custom.read",
            "crm.objects.custom.write",
        ])
        .await;
    for (t, read, write) in cases {
        let mut n = 0;
        let mut body = || {
            n += 1;
            json!({ "name": format!("p{n}"), "label": "P", "type": "string" })
        };
        let reads = [
            (Method::GET, format!("/crm/v3/properties/{t}"), None),
            (
                Method::GET,
                format!("/crm/v3/properties/{t}/hs_object_id"),
                None,
            ),
        ];
        for (method, path, body) in &reads {
            assert_missing_scopes(
                &records_only.call(method.clone(), path, body.as_ref()).await,
                &read,
            );
            let write_only = admin
                .token_with(
                    &write
                        .iter()
                        .copied()
                        .filter(|s| !read.contains(s))
                        .collect::<Vec<_>>(),
                )
                .await;
            assert_missing_scopes(
                &write_only.call(method.clone(), path, body.as_ref()).await,
                &read,
            );
            for scope in &read {
                let right = admin.token_with(&[scope]).await;
                right
                    .call(method.clone(), path, body.as_ref())
                    .await
                    .assert_status(200);
            }
        }
        let read_only = admin
            .token_with(
                &read
                    .iter()
                    .copied()
                    .filter(|s| !write.contains(s))
                    .collect::<Vec<_>>(),
            )
            .await;
        for client in [&records_only, &read_only] {
            let create = client.create_property(t, &body()).await;
            assert_missing_scopes(&create, &write);
            let patch = client
                .update_property(t, "p0", &json!({ "label": "X" }))
                .await;
            assert_missing_scopes(&patch, &write);
            assert_missing_scopes(&client.archive_property(t, "p0").await, &write);
        }
        for scope in &write {
            let right = admin.token_with(&[scope]).await;
            let created = right.create_property(t, &body()).await;
            created.assert_status(201);
            let name = created.str("name").to_owned();
            right
                .update_property(t, &name, &json!({ "label": "Changed" }))
                .await
                .assert_status(200);
            right.archive_property(t, &name).await.assert_status(204);
        }
    }
    // The scope is checked before the type is looked up: an unknown custom type is a 403 too.
    for segment in ["2-999999", "boats"] {
        assert_missing_scopes(
            &records_only.list_properties(segment, "").await,
            &["crm.schemas.custom.read"],
        );
    }
}

#[tokio::test]
async fn an_enumeration_takes_5000_options_and_refuses_5001_naming_the_limit() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let options = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({ "label": format!("Option {i}"), "value": format!("o{i}") }))
            .collect()
    };
    let property = |name: &str, n: usize| json!({ "name": name, "label": "Many", "type": "enumeration", "fieldType": "select", "options": options(n) });
    let at = crm
        .create_property("contacts", &property("many", 5000))
        .await;
    at.assert_status(201);
    assert_eq!(at.body["options"].as_array().unwrap().len(), 5000);
    assert_eq!(at.body["options"][4999]["value"], "o4999");
    crm.create("contacts", json!({ "many": "o4999" }))
        .await
        .assert_status(201);

    let past = crm
        .create_property("contacts", &property("too_many", 5001))
        .await;
    assert_invalid(&past, "options", "TOO_MANY_OPTIONS", &["5001", "5000"]);
}

#[tokio::test]
async fn property_texts_are_bounded_naming_field_and_limit() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let property = |description: usize, group: usize, label: usize, value: usize| {
        json!({
            "name": "size",
            "label": "Size",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "g".repeat(group),
            "description": "d".repeat(description),
            "options": [{
                "label": "l".repeat(label),
                "value": "v".repeat(value),
                "description": "o".repeat(description),
            }],
        })
    };
    let refused = crm
        .create_property("contacts", &property(1_000_000, 100_000, 100_000, 256))
        .await;
    assert_invalid(&refused, "description", "TOO_LONG", &["1000000", "2000"]);
    assert_invalid(&refused, "groupName", "TOO_LONG", &["100000", "255"]);
    assert_invalid(&refused, "options[0].label", "TOO_LONG", &["100000", "255"]);
    assert_invalid(&refused, "options[0].value", "TOO_LONG", &["256", "255"]);
    assert_invalid(
        &refused,
        "options[0].description",
        "TOO_LONG",
        &["1000000", "2000"],
    );
    crm.get_property("contacts", "size")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    let at_limits = crm
        .create_property("contacts", &property(2_000, 255, 255, 255))
        .await;
    at_limits.assert_status(201);
    assert_eq!(at_limits.str("description").len(), 2_000);
    assert_eq!(at_limits.str("groupName").len(), 255);

    let patched = crm
        .update_property(
            "contacts",
            "size",
            &json!({ "description": "d".repeat(2_001), "groupName": "g".repeat(256) }),
        )
        .await;
    assert_invalid(&patched, "description", "TOO_LONG", &["2001", "2000"]);
    assert_invalid(&patched, "groupName", "TOO_LONG", &["256", "255"]);
    let read = crm.get_property("contacts", "size").await;
    assert_eq!(read.str("description").len(), 2_000, "unchanged");
}
