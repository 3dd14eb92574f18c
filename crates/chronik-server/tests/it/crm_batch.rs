//! `/crm/v3/objects/{objectType}/batch/{create,read,update,archive}` (api-reference §4.2,
//! §5.1): 201/200 when every input succeeds, 207 naming each failed input by its index when
//! some fail (the others are stored), at most 100 inputs, and 204 for archive.

use chrono::DateTime;
use serde_json::{json, Value};

use crate::crm_helpers::{assert_invalid, result_ids, result_values, Crm};
use crate::helpers::{keys, TestApp, TestResponse};

/// The `errors[]` of a 207, each as `(inputIndex, category, message)`.
#[track_caller]
fn batch_errors(response: &TestResponse) -> Vec<(usize, String, String)> {
    response.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors[] in {}", response.text))
        .iter()
        .map(|e| {
            assert_eq!(e["status"], "error", "{e}");
            (
                e["context"]["inputIndex"][0]
                    .as_str()
                    .unwrap_or_else(|| panic!("no context.inputIndex in {e}"))
                    .parse()
                    .unwrap(),
                e["category"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Asserts the batch envelope: `status: COMPLETE`, RFC 3339 `startedAt` ≤ `completedAt`, and
/// `numErrors` equal to the errors' count (both absent without errors).
#[track_caller]
fn assert_batch_envelope(response: &TestResponse) {
    response.assert_json_content_type();
    let body = &response.body;
    assert_eq!(body["status"], "COMPLETE", "{}", response.text);
    let started = DateTime::parse_from_rfc3339(body["startedAt"].as_str().unwrap()).unwrap();
    let completed = DateTime::parse_from_rfc3339(body["completedAt"].as_str().unwrap()).unwrap();
    assert!(started <= completed, "{}", response.text);
    match body.get("errors") {
        Some(errors) => {
            assert_eq!(response.status.as_u16(), 207, "{}", response.text);
            assert_eq!(
                body["numErrors"].as_u64().unwrap() as usize,
                errors.as_array().unwrap().len()
            );
        }
        None => assert!(body.get("numErrors").is_none(), "{}", response.text),
    }
}

fn inputs(props: &[Value]) -> Value {
    json!({ "inputs": props.iter().map(|p| json!({ "properties": p })).collect::<Vec<_>>() })
}

#[tokio::test]
async fn batch_create_of_valid_inputs_is_201_with_the_records_in_input_order() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let created = crm
        .batch(
            "contacts",
            "create",
            &json!({ "inputs": [
                { "properties": { "email": "a@example.com", "firstname": "A" } },
                { "properties": { "email": "b@example.com" }, "objectWriteTraceId": "trace-b" },
                { "properties": { "firstname": "C" } },
            ]}),
        )
        .await;
    created.assert_status(201);
    assert_batch_envelope(&created);
    assert_eq!(
        keys(&created.body),
        ["completedAt", "results", "startedAt", "status"]
    );
    assert_eq!(
        result_values(&created.body, "email"),
        [
            Some("a@example.com".to_owned()),
            Some("b@example.com".to_owned()),
            None
        ]
    );
    assert_eq!(created.body["results"][1]["objectWriteTraceId"], "trace-b");
    for record in created.body["results"].as_array().unwrap() {
        assert_eq!(record["properties"]["hs_object_id"], record["id"]);
        assert_eq!(record["archived"], false);
    }
    let ids = result_ids(&created.body);
    assert_eq!(result_ids(&crm.list("contacts", "").await.body), ids);
}

#[tokio::test]
async fn batch_create_with_some_bad_inputs_is_207_naming_each_and_stores_the_others() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let existing = crm
        .create_id("contacts", json!({ "email": "taken@example.com" }))
        .await;

    let response = crm
        .batch(
            "contacts",
            "create",
            &inputs(&[
                json!({ "email": "ok1@example.com" }),
                json!({ "email": "TAKEN@example.com" }),
                json!({ "nope": "x", "lifecyclestage": "king" }),
                json!({ "email": "ok2@example.com" }),
                json!({ "email": "OK1@example.com" }),
            ]),
        )
        .await;
    response.assert_status(207);
    assert_batch_envelope(&response);
    assert_eq!(response.int("numErrors"), 3);
    assert_eq!(
        result_values(&response.body, "email"),
        [
            Some("ok1@example.com".to_owned()),
            Some("ok2@example.com".to_owned())
        ]
    );

    let errors = batch_errors(&response);
    let summary: Vec<(usize, &str)> = errors.iter().map(|(i, c, _)| (*i, c.as_str())).collect();
    assert_eq!(
        summary,
        [
            (1, "CONFLICT"),
            (2, "VALIDATION_ERROR"),
            (4, "VALIDATION_ERROR")
        ],
        "sorted by input index"
    );
    assert_eq!(
        errors[0].2,
        format!("Contact already exists. Existing ID: {existing}")
    );
    // Field paths name the input.
    let bad = &response.body["errors"][1]["errors"];
    let mut fields: Vec<(&str, &str)> = bad
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["in"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            ("inputs[2].properties.lifecyclestage", "INVALID_OPTION"),
            ("inputs[2].properties.nope", "PROPERTY_DOESNT_EXIST"),
        ]
    );
    let repeat = &response.body["errors"][2]["errors"][0];
    assert_eq!(repeat["in"], "inputs[4].properties.email");
    assert_eq!(repeat["code"], "DUPLICATE_IN_BATCH");
    assert!(
        repeat["message"].as_str().unwrap().contains("inputs[0]"),
        "{repeat}"
    );

    // The valid inputs were stored, the others not.
    let listed = crm.list("contacts", "").await;
    assert_eq!(
        result_values(&listed.body, "email"),
        [
            Some("taken@example.com".to_owned()),
            Some("ok1@example.com".to_owned()),
            Some("ok2@example.com".to_owned())
        ]
    );
}

#[tokio::test]
async fn batch_create_where_every_input_fails_is_207_with_no_results() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let response = crm
        .batch(
            "deals",
            "create",
            &inputs(&[json!({ "amount": "x" }), json!({ "dealstage": "nope" })]),
        )
        .await;
    response.assert_status(207);
    assert_batch_envelope(&response);
    assert!(result_ids(&response.body).is_empty());
    let indexes: Vec<usize> = batch_errors(&response).iter().map(|e| e.0).collect();
    assert_eq!(indexes, [0, 1]);
    assert!(result_ids(&crm.list("deals", "").await.body).is_empty());
}

/// A body for batch `op` with one input per id of `ids` (creates ignore the ids).
fn batch_of(op: &str, ids: &[String]) -> Value {
    let items: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| match op {
            "create" => json!({ "properties": { "subject": format!("T{i}") } }),
            "update" => json!({ "id": id, "properties": { "subject": format!("U{i}") } }),
            _ => json!({ "id": id }),
        })
        .collect();
    json!({ "inputs": items })
}

#[tokio::test]
async fn every_batch_endpoint_takes_100_inputs_and_refuses_101_naming_the_limit() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let placeholders: Vec<String> = (0..101).map(|i| format!("{}", 900_000 + i)).collect();
    let past = crm
        .batch("tickets", "create", &batch_of("create", &placeholders))
        .await;
    assert_invalid(&past, "inputs", "TOO_MANY_INPUTS", &["101", "100"]);
    let created = crm
        .batch(
            "tickets",
            "create",
            &batch_of("create", &placeholders[..100]),
        )
        .await;
    created.assert_status(201);
    let mut ids = result_ids(&created.body);
    assert_eq!(ids.len(), 100);
    ids.push("999999".to_owned());

    // (op, success status at the limit)
    for (op, status) in [("read", 200), ("update", 200), ("archive", 204)] {
        let past = crm.batch("tickets", op, &batch_of(op, &ids)).await;
        assert_invalid(&past, "inputs", "TOO_MANY_INPUTS", &["101", "100"]);
        let at_limit = crm.batch("tickets", op, &batch_of(op, &ids[..100])).await;
        at_limit.assert_status(status);
        if op != "archive" {
            assert_eq!(result_ids(&at_limit.body), ids[..100], "{op}");
        }
    }
    assert!(result_ids(&crm.list("tickets", "").await.body).is_empty());
    let archived = crm
        .list("tickets", "?archived=true&limit=100&properties=subject")
        .await;
    assert_eq!(result_ids(&archived.body), ids[..100]);
    assert_eq!(
        result_values(&archived.body, "subject")[99].as_deref(),
        Some("U99"),
        "the update at the limit was applied"
    );
}

#[tokio::test]
async fn batch_read_returns_200_with_the_asked_properties_and_history() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let a = crm
        .create_id("deals", json!({ "dealname": "A", "amount": "1" }))
        .await;
    let b = crm
        .create_id("deals", json!({ "dealname": "B", "amount": "2" }))
        .await;
    crm.update("deals", &b, "", json!({ "amount": "3" }))
        .await
        .assert_status(200);

    let read = crm
        .batch(
            "deals",
            "read",
            &json!({
                "inputs": [{ "id": b }, { "id": a }, { "id": b }],
                "properties": ["amount"],
                "propertiesWithHistory": ["amount"],
            }),
        )
        .await;
    read.assert_status(200);
    assert_batch_envelope(&read);
    assert_eq!(
        result_ids(&read.body),
        [b.clone(), a.clone()],
        "in input order, each record once"
    );
    assert_eq!(
        keys(&read.body["results"][0]["properties"]),
        [
            "amount",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id"
        ]
    );
    assert_eq!(
        result_values(&read.body, "amount"),
        [Some("3".into()), Some("1".into())]
    );
    let history: Vec<&str> = read.body["results"][0]["propertiesWithHistory"]["amount"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["3", "2"]);
}

#[tokio::test]
async fn batch_read_of_missing_ids_is_207_naming_each_missing_input() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let a = crm
        .create_id("contacts", json!({ "email": "a@example.com" }))
        .await;
    let gone = crm
        .create_id("contacts", json!({ "email": "gone@example.com" }))
        .await;
    crm.archive("contacts", &gone).await.assert_status(204);

    let read = crm
        .batch(
            "contacts",
            "read",
            &json!({ "inputs": [{ "id": "999999" }, { "id": a }, { "id": gone }, { "id": "abc" }] }),
        )
        .await;
    read.assert_status(207);
    assert_batch_envelope(&read);
    assert_eq!(result_ids(&read.body), [a.as_str()]);
    let errors = batch_errors(&read);
    let summary: Vec<(usize, &str)> = errors.iter().map(|(i, c, _)| (*i, c.as_str())).collect();
    assert_eq!(
        summary,
        [
            (0, "OBJECT_NOT_FOUND"),
            (2, "OBJECT_NOT_FOUND"),
            (3, "OBJECT_NOT_FOUND")
        ]
    );
    assert_eq!(read.body["errors"][0]["context"]["id"], json!(["999999"]));

    // Archived records are read with ?archived=true.
    let archived = crm
        .batch(
            "contacts",
            "read?archived=true",
            &json!({ "inputs": [{ "id": gone }] }),
        )
        .await;
    archived.assert_status(200);
    assert_eq!(result_ids(&archived.body), [gone]);
    assert_eq!(archived.body["results"][0]["archived"], true);
}

#[tokio::test]
async fn batch_read_by_email_id_property_ignores_case() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let a = crm
        .create_id("contacts", json!({ "email": "a@example.com" }))
        .await;
    let b = crm
        .create_id("contacts", json!({ "email": "b@example.com" }))
        .await;
    let read = crm
        .batch(
            "contacts",
            "read",
            &json!({
                "idProperty": "email",
                "inputs": [{ "id": "B@EXAMPLE.COM" }, { "id": "a@example.com" }, { "id": "c@example.com" }],
            }),
        )
        .await;
    read.assert_status(207);
    assert_eq!(result_ids(&read.body), [b, a]);
    assert_eq!(batch_errors(&read)[0].0, 2);

    let not_unique = crm
        .batch(
            "contacts",
            "read",
            &json!({ "idProperty": "firstname", "inputs": [{ "id": "x" }] }),
        )
        .await;
    assert_invalid(
        &not_unique,
        "idProperty",
        "NOT_UNIQUE_PROPERTY",
        &["firstname"],
    );
}

#[tokio::test]
async fn batch_update_of_valid_inputs_is_200_with_the_changed_records() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let a = crm
        .create_id("companies", json!({ "name": "A", "city": "Berlin" }))
        .await;
    let b = crm
        .create_id("contacts", json!({ "email": "b@example.com" }))
        .await;

    let updated = crm
        .batch(
            "companies",
            "update",
            &json!({ "inputs": [{ "id": a, "properties": { "name": "A2", "city": "" } }] }),
        )
        .await;
    updated.assert_status(200);
    assert_batch_envelope(&updated);
    assert_eq!(result_ids(&updated.body), [a.as_str()]);
    assert_eq!(updated.body["results"][0]["properties"]["name"], "A2");
    let read = crm.get("companies", &a, "?properties=city,name").await;
    assert_eq!(read.body["properties"]["city"], Value::Null, "cleared");
    assert_eq!(read.body["properties"]["name"], "A2");

    // By email, as the SDKs send idProperty per input.
    let by_email = crm
        .batch(
            "contacts",
            "update",
            &json!({ "inputs": [
                { "id": "B@example.com", "idProperty": "email", "properties": { "firstname": "Bea" } }
            ]}),
        )
        .await;
    by_email.assert_status(200);
    assert_eq!(result_ids(&by_email.body), [b]);
    assert_eq!(
        by_email.body["results"][0]["properties"]["firstname"],
        "Bea"
    );
}

#[tokio::test]
async fn batch_update_with_some_bad_inputs_is_207_and_applies_the_others() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let a = crm
        .create_id("contacts", json!({ "email": "a@example.com" }))
        .await;
    let b = crm
        .create_id("contacts", json!({ "email": "b@example.com" }))
        .await;

    let response = crm
        .batch(
            "contacts",
            "update",
            &json!({ "inputs": [
                { "id": a, "properties": { "firstname": "Ann" } },
                { "id": "999999", "properties": { "firstname": "Nobody" } },
                { "id": b, "properties": { "email": "A@example.com" } },
                { "properties": { "firstname": "No id" } },
                { "id": b, "properties": { "lifecyclestage": "king" } },
                { "id": b, "idProperty": "firstname", "properties": {} },
            ]}),
        )
        .await;
    response.assert_status(207);
    assert_batch_envelope(&response);
    assert_eq!(result_ids(&response.body), [a.as_str()]);
    let errors = batch_errors(&response);
    let summary: Vec<(usize, &str)> = errors.iter().map(|(i, c, _)| (*i, c.as_str())).collect();
    assert_eq!(
        summary,
        [
            (1, "OBJECT_NOT_FOUND"),
            (2, "CONFLICT"),
            (3, "VALIDATION_ERROR"),
            (4, "VALIDATION_ERROR"),
            (5, "VALIDATION_ERROR"),
        ]
    );
    assert_eq!(
        errors[1].2,
        format!("Contact already exists. Existing ID: {a}")
    );
    let details: Vec<(&str, &str)> = [2, 3, 4]
        .iter()
        .map(|i| {
            let e = &response.body["errors"][*i]["errors"][0];
            (e["in"].as_str().unwrap(), e["code"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        details,
        [
            ("inputs[3].id", "REQUIRED"),
            ("inputs[4].properties.lifecyclestage", "INVALID_OPTION"),
            ("idProperty", "NOT_UNIQUE_PROPERTY"),
        ]
    );

    let read_a = crm.get("contacts", &a, "").await;
    assert_eq!(read_a.body["properties"]["firstname"], "Ann");
    let read_b = crm
        .get("contacts", &b, "?properties=email,lifecyclestage")
        .await;
    assert_eq!(read_b.body["properties"]["email"], "b@example.com");
    assert_eq!(read_b.body["properties"]["lifecyclestage"], Value::Null);
}

#[tokio::test]
async fn batch_archive_is_204_ignores_unknown_ids_and_refuses_non_numeric_ones() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let a = crm.create_id("deals", json!({ "dealname": "A" })).await;
    let b = crm.create_id("deals", json!({ "dealname": "B" })).await;
    let c = crm.create_id("deals", json!({ "dealname": "C" })).await;

    let bad = crm
        .batch(
            "deals",
            "archive",
            &json!({ "inputs": [{ "id": a }, { "id": "x1" }, { "id": "" }] }),
        )
        .await;
    assert_invalid(&bad, "inputs[1].id", "INVALID_ID", &["x1"]);
    assert_invalid(&bad, "inputs[2].id", "INVALID_ID", &[]);
    assert_eq!(
        result_ids(&crm.list("deals", "").await.body),
        [a.clone(), b.clone(), c.clone()],
        "a refused batch archives nothing"
    );

    let archived = crm
        .batch(
            "deals",
            "archive",
            &json!({ "inputs": [{ "id": a }, { "id": "999999" }, { "id": c }, { "id": a }] }),
        )
        .await;
    archived.assert_status(204);
    assert!(archived.text.is_empty());
    assert_eq!(result_ids(&crm.list("deals", "").await.body), [b]);
    assert_eq!(
        result_ids(&crm.list("deals", "?archived=true").await.body),
        [a, c]
    );
}

#[tokio::test]
async fn batch_bodies_without_inputs_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    for op in ["create", "read", "update", "archive"] {
        let response = crm.batch("contacts", op, &json!({})).await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(
            response.errors()[0]["in"],
            "inputs",
            "{op}: {}",
            response.text
        );
        assert_eq!(response.errors()[0]["code"], "REQUIRED", "{op}");
    }
}

#[tokio::test]
async fn batch_create_and_update_answer_with_the_properties_written_for_every_type() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let schema = crm.new_car_schema().await;
    let cars = schema["objectTypeId"].as_str().unwrap();
    // (type, a create with a property not shown by default, that property, an update of it)
    let cases = [
        (
            "contacts",
            json!({ "email": "g@example.com", "jobtitle": "Gardener" }),
            "jobtitle",
            "Head Gardener",
        ),
        (
            "companies",
            json!({ "name": "Acme", "industry": "Tools" }),
            "industry",
            "Rockets",
        ),
        (
            "deals",
            json!({ "dealname": "D", "dealtype": "newbusiness" }),
            "dealtype",
            "existingbusiness",
        ),
        (
            "tickets",
            json!({ "subject": "S", "source_type": "EMAIL" }),
            "source_type",
            "PHONE",
        ),
        (cars, json!({ "vin": "V1", "year": "2019" }), "year", "2020"),
    ];
    for (t, create, name, next) in cases {
        let created = crm
            .batch(
                t,
                "create",
                &json!({ "inputs": [{ "properties": create }] }),
            )
            .await;
        created.assert_status(201);
        let record = &created.body["results"][0];
        for (sent, value) in create.as_object().unwrap() {
            assert_eq!(record["properties"][sent], *value, "{t}.{sent}: {record}");
        }
        assert_eq!(record["properties"]["hs_object_id"], record["id"], "{t}");
        let id = record["id"].as_str().unwrap();

        let updated = crm
            .batch(
                t,
                "update",
                &json!({ "inputs": [{ "id": id, "properties": { name: next }, "objectWriteTraceId": "w-1" }] }),
            )
            .await;
        updated.assert_status(200);
        let record = &updated.body["results"][0];
        assert_eq!(record["properties"][name], next, "{t}.{name}: {record}");
        assert_eq!(record["objectWriteTraceId"], "w-1", "{t}");
        // The defaults stay in the answer beside what was written.
        let first_default = create.as_object().unwrap().keys().find(|k| *k != name);
        let default = first_default.expect("each case has a default property");
        assert_eq!(
            record["properties"][default], create[default],
            "{t}.{default}"
        );
    }
}

/// HubSpot's `StandardError` requires exactly these fields (CRM OpenAPI spec).
const STANDARD_ERROR_KEYS: [&str; 6] = [
    "category", "context", "errors", "links", "message", "status",
];

#[track_caller]
fn assert_standard_errors(response: &TestResponse) {
    response.assert_status(207);
    let errors = response.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors[] in {}", response.text));
    assert!(!errors.is_empty());
    for e in errors {
        assert_eq!(keys(e), STANDARD_ERROR_KEYS, "{e}");
        assert_eq!(e["status"], "error", "{e}");
        assert_eq!(e["links"], json!({}), "{e}");
        assert!(e["errors"].is_array(), "{e}");
        assert!(e["context"]["inputIndex"][0].is_string(), "{e}");
        assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
    }
}

#[tokio::test]
async fn every_error_of_a_207_has_hubspots_standard_error_fields_links_included() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let taken = crm
        .create_id("contacts", json!({ "email": "taken@example.com" }))
        .await;

    // Create: a validation error (with errors[]) and a conflict (without).
    let created = crm
        .batch(
            "contacts",
            "create",
            &inputs(&[
                json!({ "email": "ok@example.com" }),
                json!({ "nope": "x" }),
                json!({ "email": "TAKEN@example.com" }),
            ]),
        )
        .await;
    assert_standard_errors(&created);
    assert_eq!(
        created.body["errors"][0]["errors"][0]["in"],
        "inputs[1].properties.nope"
    );
    assert_eq!(created.body["errors"][1]["category"], "CONFLICT");
    assert_eq!(created.body["errors"][1]["errors"], json!([]));

    // Read: a missing id.
    let read = crm
        .batch(
            "contacts",
            "read",
            &json!({ "inputs": [{ "id": taken }, { "id": "999999" }], "properties": [] }),
        )
        .await;
    assert_standard_errors(&read);
    assert_eq!(read.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(read.body["errors"][0]["context"]["id"], json!(["999999"]));

    // Update: a missing id and an input without one.
    let updated = crm
        .batch(
            "contacts",
            "update",
            &json!({ "inputs": [
                { "id": taken, "properties": { "firstname": "T" } },
                { "id": "999999", "properties": {} },
                { "properties": {} },
            ]}),
        )
        .await;
    assert_standard_errors(&updated);
    assert_eq!(updated.body["numErrors"], 2);
}
