//! `/crm/v3/objects/{objectType}` (api-reference §5.1, §5.2): create, get (by id and by a
//! unique property), update, archive and list for contacts, companies, deals, tickets and
//! custom objects; property typing; contacts unique by email; scopes; tenant isolation.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::{assert_invalid, assert_missing_scopes, result_ids, result_values, Crm};
use crate::helpers::{keys, PgSchema, TestApp, TestResponse};

/// Parses an RFC 3339 instant; panics with the text when it is not one.
#[track_caller]
fn instant(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// Asserts HubSpot's `SimplePublicObject` (§5.2): the top-level keys, `hs_object_id` equal to
/// `id`, the create and last-modified properties equal to `createdAt` / `updatedAt` in
/// HubSpot's millisecond format, and every property a string or null.
#[track_caller]
fn assert_record_shape(record: &Value, created_property: &str, modified_property: &str) {
    assert_eq!(
        keys(record),
        ["archived", "createdAt", "id", "properties", "updatedAt"],
        "{record}"
    );
    let id = record["id"].as_str().expect("id is a string");
    assert!(id.parse::<i64>().is_ok(), "ids are numeric strings: {id}");
    assert_eq!(record["archived"], false);
    let properties = record["properties"].as_object().expect("properties");
    assert_eq!(properties["hs_object_id"], id, "{record}");
    for (property, top) in [
        (created_property, "createdAt"),
        (modified_property, "updatedAt"),
    ] {
        let text = properties[property]
            .as_str()
            .unwrap_or_else(|| panic!("{property} is not a string: {record}"));
        assert!(
            text.len() == 24 && text.ends_with('Z'),
            "{property} is HubSpot's 2024-01-02T03:04:05.678Z: {text}"
        );
        assert_eq!(
            instant(&properties[property]),
            instant(&record[top]),
            "{record}"
        );
    }
    for (name, value) in properties {
        assert!(
            value.is_string() || value.is_null(),
            "{name} is a string or null: {record}"
        );
    }
}

#[tokio::test]
async fn create_returns_201_with_hubspots_record_shape_for_every_standard_type() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;

    // (path segment, properties sent, modified-date property, the default properties shown)
    let cases = [
        (
            "contacts",
            json!({ "email": "ada@example.com", "firstname": "Ada", "phone": "+1 555", "jobtitle": "Gardener" }),
            "lastmodifieddate",
            vec![
                ("email", Some("ada@example.com")),
                ("firstname", Some("Ada")),
                ("lastname", None),
            ],
        ),
        (
            "companies",
            json!({ "name": "Acme", "domain": "acme.example", "numberofemployees": 12 }),
            "hs_lastmodifieddate",
            vec![("name", Some("Acme")), ("domain", Some("acme.example"))],
        ),
        (
            "deals",
            json!({ "dealname": "Big one", "amount": "1250.50", "dealstage": "closedwon" }),
            "hs_lastmodifieddate",
            vec![
                ("dealname", Some("Big one")),
                ("amount", Some("1250.50")),
                ("dealstage", Some("closedwon")),
                ("pipeline", None),
                ("closedate", None),
            ],
        ),
        (
            "tickets",
            json!({ "subject": "Printer on fire", "hs_pipeline": "0", "hs_pipeline_stage": "1", "hs_ticket_priority": "HIGH", "source_type": "EMAIL" }),
            "hs_lastmodifieddate",
            vec![
                ("subject", Some("Printer on fire")),
                ("hs_pipeline", Some("0")),
                ("hs_pipeline_stage", Some("1")),
                ("hs_ticket_priority", Some("HIGH")),
                ("content", None),
                ("hs_ticket_category", None),
            ],
        ),
    ];
    for (t, props, modified, shown) in cases {
        let created = crm.create(t, props.clone()).await;
        created.assert_status(201).assert_json_content_type();
        assert_record_shape(&created.body, "createdate", modified);
        assert_eq!(created.body["createdAt"], created.body["updatedAt"], "{t}");
        // The defaults, the system properties and every property just written (B1: HubSpot
        // answers a create with the values it stored, not only the defaults).
        let mut expected: Vec<&str> = shown.iter().map(|(n, _)| *n).collect();
        expected.extend(["hs_object_id", "createdate", modified]);
        expected.extend(props.as_object().unwrap().keys().map(String::as_str));
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(keys(&created.body["properties"]), expected, "{t}");
        for (name, value) in &shown {
            assert_eq!(
                created.body["properties"][name].as_str(),
                *value,
                "{t}.{name}"
            );
        }
        for (name, sent) in props.as_object().unwrap() {
            let sent = sent
                .as_str()
                .map_or_else(|| sent.to_string(), str::to_owned);
            assert_eq!(created.body["properties"][name], sent, "{t}.{name}");
        }

        // Read back, it is the same record; a plain GET shows only the defaults, and asking
        // for the written properties shows the values the create answered with.
        let id = created.str("id");
        let read = crm.get(t, id, "").await;
        read.assert_status(200);
        let mut defaults_only = created.body.clone();
        let written_only: Vec<&String> = props
            .as_object()
            .unwrap()
            .keys()
            .filter(|name| !shown.iter().any(|(n, _)| *n == name.as_str()))
            .collect();
        for name in &written_only {
            defaults_only["properties"]
                .as_object_mut()
                .unwrap()
                .remove(name.as_str());
        }
        assert_eq!(read.body, defaults_only, "{t}");
        let names: Vec<&str> = props
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let asked = crm
            .get(t, id, &format!("?properties={}", names.join(",")))
            .await;
        for name in names {
            assert_eq!(
                asked.body["properties"][name], created.body["properties"][name],
                "{t}.{name}"
            );
        }
    }
}

#[tokio::test]
async fn object_types_are_named_by_plural_singular_or_type_id() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm
        .create_id("contacts", json!({ "email": "ada@example.com" }))
        .await;
    for segment in ["contacts", "contact", "CONTACTS", "0-1"] {
        let read = crm.get(segment, &id, "").await;
        read.assert_status(200);
        assert_eq!(read.str("id"), id, "{segment}");
    }
    for (segment, props) in [
        ("0-2", json!({ "name": "Acme" })),
        ("0-3", json!({ "dealname": "D" })),
        ("0-5", json!({ "subject": "S" })),
    ] {
        crm.create(segment, props).await.assert_status(201);
    }

    let unknown = crm.get("widgets", &id, "").await;
    unknown.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(
        unknown.str("message").contains("widgets"),
        "{}",
        unknown.text
    );
}

#[tokio::test]
async fn get_of_an_unknown_or_non_numeric_id_is_404_naming_the_id() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    crm.create_id("contacts", json!({ "email": "ada@example.com" }))
        .await;
    for id in ["999999", "abc", "ada@example.com"] {
        let response = crm.get("contacts", id, "").await;
        response.assert_api_error(404, "OBJECT_NOT_FOUND");
        assert!(
            response
                .str("message")
                .starts_with("Object not found.  objectId are usually numeric."),
            "{}",
            response.text
        );
        assert_eq!(response.body["context"]["id"], json!([id]), "{id}");
    }
}

#[tokio::test]
async fn get_by_email_id_property_ignores_case_and_other_properties_are_refused() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm
        .create_id(
            "contacts",
            json!({ "email": "Ada@Example.com", "firstname": "Ada" }),
        )
        .await;

    for email in ["Ada@Example.com", "ada@example.com", "ADA%40EXAMPLE.COM"] {
        let read = crm.get("contacts", email, "?idProperty=email").await;
        read.assert_status(200);
        assert_eq!(read.str("id"), id, "{email}");
        assert_eq!(read.body["properties"]["email"], "Ada@Example.com");
    }
    // hs_object_id is the record id.
    let read = crm.get("contacts", &id, "?idProperty=hs_object_id").await;
    read.assert_status(200);

    let missing = crm
        .get("contacts", "nobody@example.com", "?idProperty=email")
        .await;
    missing.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(missing.body["context"]["id"], json!(["nobody@example.com"]));

    let not_unique = crm.get("contacts", "Ada", "?idProperty=firstname").await;
    assert_invalid(
        &not_unique,
        "idProperty",
        "NOT_UNIQUE_PROPERTY",
        &["firstname"],
    );
    let not_unique = crm
        .update(
            "contacts",
            "Ada",
            "?idProperty=firstname",
            json!({ "lastname": "L" }),
        )
        .await;
    assert_invalid(
        &not_unique,
        "idProperty",
        "NOT_UNIQUE_PROPERTY",
        &["firstname"],
    );
    let bad_flag = crm.get("contacts", &id, "?archived=maybe").await;
    assert_invalid(&bad_flag, "archived", "INVALID_BOOLEAN", &["maybe"]);
    // Python sends booleans as True/False.
    crm.get("contacts", &id, "?archived=False")
        .await
        .assert_status(200);
}

#[tokio::test]
async fn get_by_a_custom_unique_property_finds_the_record() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    crm.create_property(
        "companies",
        &json!({
            "name": "erp_id", "label": "ERP id", "type": "string", "fieldType": "text",
            "groupName": "companyinformation", "hasUniqueValue": true
        }),
    )
    .await
    .assert_status(201);
    let id = crm
        .create_id("companies", json!({ "name": "Acme", "erp_id": "ERP-17" }))
        .await;

    let read = crm
        .get("companies", "erp-17", "?idProperty=erp_id&properties=name")
        .await;
    read.assert_status(200);
    assert_eq!(read.str("id"), id);
    assert_eq!(read.body["properties"]["name"], "Acme");

    // The value is unique: a second company with it (in any case) is a conflict.
    let second = crm
        .create("companies", json!({ "name": "Other", "erp_id": "erp-17" }))
        .await;
    second.assert_api_error(409, "CONFLICT");
    assert!(
        second
            .str("message")
            .contains(&format!("Existing ID: {id}")),
        "{}",
        second.text
    );
}

#[tokio::test]
async fn properties_parameter_selects_properties_and_always_keeps_the_system_ones() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm
        .create_id(
            "contacts",
            json!({ "email": "ada@example.com", "firstname": "Ada", "phone": "+1 555", "city": "" }),
        )
        .await;

    // Repeated keys (as both SDKs send them) and comma-separated lists; unknown names are
    // left out, unset ones are null.
    for query in [
        "?properties=phone&properties=city&properties=nope",
        "?properties=phone,city,nope",
    ] {
        let read = crm.get("contacts", &id, query).await;
        read.assert_status(200);
        let properties = &read.body["properties"];
        assert_eq!(
            keys(properties),
            [
                "city",
                "createdate",
                "hs_object_id",
                "lastmodifieddate",
                "phone"
            ],
            "{query}"
        );
        assert_eq!(properties["phone"], "+1 555");
        assert_eq!(properties["city"], Value::Null);
        assert_eq!(properties["hs_object_id"], id.as_str());
    }
}

#[tokio::test]
async fn properties_with_history_lists_every_value_newest_first() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm
        .create_id(
            "contacts",
            json!({ "email": "ada@example.com", "firstname": "Ada" }),
        )
        .await;
    crm.update("contacts", &id, "", json!({ "firstname": "Augusta" }))
        .await
        .assert_status(200);
    crm.update("contacts", &id, "", json!({ "firstname": "Ada" }))
        .await
        .assert_status(200);

    let read = crm
        .get(
            "contacts",
            &id,
            "?propertiesWithHistory=firstname,email,nope&properties=firstname",
        )
        .await;
    read.assert_status(200);
    let history = &read.body["propertiesWithHistory"];
    assert_eq!(
        keys(history),
        ["email", "firstname"],
        "unknown names left out"
    );
    let values: Vec<&str> = history["firstname"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["Ada", "Augusta", "Ada"], "newest first");
    let times: Vec<DateTime<Utc>> = history["firstname"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| instant(&e["timestamp"]))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    for entry in history["firstname"].as_array().unwrap() {
        assert_eq!(entry["sourceType"], "API");
    }
    assert_eq!(
        history["email"].as_array().unwrap().len(),
        1,
        "set once: {}",
        read.text
    );
    assert_eq!(read.body["properties"]["firstname"], "Ada");

    // Without the parameter there is no history.
    let plain = crm.get("contacts", &id, "").await;
    assert!(plain.body.get("propertiesWithHistory").is_none());
}

#[tokio::test]
async fn patch_returns_200_with_the_new_values_and_an_empty_string_clears() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let created = crm
        .create(
            "deals",
            json!({ "dealname": "D", "amount": "10", "closedate": "2024-01-02T03:04:05Z" }),
        )
        .await;
    created.assert_status(201);
    let id = created.str("id");

    let updated = crm
        .update(
            "deals",
            id,
            "",
            json!({ "amount": "20.5", "closedate": "", "dealstage": "contractsent" }),
        )
        .await;
    updated.assert_status(200).assert_json_content_type();
    assert_record_shape(&updated.body, "createdate", "hs_lastmodifieddate");
    let properties = &updated.body["properties"];
    assert_eq!(properties["dealname"], "D", "untouched values stay");
    assert_eq!(properties["amount"], "20.5");
    assert_eq!(properties["closedate"], Value::Null, "cleared");
    assert_eq!(properties["dealstage"], "contractsent");
    assert_eq!(updated.body["createdAt"], created.body["createdAt"]);
    assert!(instant(&updated.body["updatedAt"]) >= instant(&created.body["updatedAt"]));

    let read = crm.get("deals", id, "").await;
    assert_eq!(read.body, updated.body);

    // null clears too, as the SDKs send an unset value.
    let nulled = crm.update("deals", id, "", json!({ "amount": null })).await;
    nulled.assert_status(200);
    assert_eq!(nulled.body["properties"]["amount"], Value::Null);
}

#[tokio::test]
async fn patch_by_email_id_property_updates_that_contact() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm
        .create_id("contacts", json!({ "email": "ada@example.com" }))
        .await;
    let updated = crm
        .update(
            "contacts",
            "ADA@example.com",
            "?idProperty=email",
            json!({ "lastname": "Lovelace" }),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(updated.str("id"), id);
    assert_eq!(updated.body["properties"]["lastname"], "Lovelace");
}

#[tokio::test]
async fn patch_of_an_unknown_record_is_404_and_bad_values_are_400() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm.create_id("deals", json!({ "dealname": "D" })).await;

    let missing = crm
        .update("deals", "424242", "", json!({ "dealname": "X" }))
        .await;
    missing.assert_api_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(missing.body["context"]["id"], json!(["424242"]));

    let bad = crm
        .update(
            "deals",
            &id,
            "",
            json!({ "amount": "lots", "hs_object_id": "1" }),
        )
        .await;
    assert_invalid(
        &bad,
        "properties.amount",
        "INVALID_PROPERTY_VALUE",
        &["lots"],
    );
    assert_invalid(
        &bad,
        "properties.hs_object_id",
        "READ_ONLY_VALUE",
        &["hs_object_id"],
    );
    // Nothing was changed.
    assert_eq!(
        crm.get("deals", &id, "").await.body["properties"]["dealname"],
        "D"
    );
}

#[tokio::test]
async fn archive_is_204_and_the_record_leaves_reads_lists_and_its_email() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm
        .create_id("contacts", json!({ "email": "ada@example.com" }))
        .await;
    let kept = crm
        .create_id("contacts", json!({ "email": "bob@example.com" }))
        .await;

    let archived = crm.archive("contacts", &id).await;
    archived.assert_status(204);
    assert!(
        archived.text.is_empty(),
        "204 has no body: {}",
        archived.text
    );

    crm.get("contacts", &id, "")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    crm.get("contacts", "ada@example.com", "?idProperty=email")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(
        result_ids(&crm.list("contacts", "").await.body),
        [kept.as_str()]
    );

    // Still readable as archived, with its values and archivedAt.
    let read = crm.get("contacts", &id, "?archived=true").await;
    read.assert_status(200);
    assert_eq!(read.body["archived"], true);
    assert_eq!(read.body["properties"]["email"], "ada@example.com");
    instant(&read.body["archivedAt"]);
    let listed = crm.list("contacts", "?archived=true").await;
    assert_eq!(result_ids(&listed.body), [id.as_str()]);

    // Twice is 404; unknown and non-numeric ids too.
    for gone in [id.as_str(), "999999", "abc"] {
        crm.archive("contacts", gone)
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
    }

    // Its email is free again.
    let again = crm
        .create_id("contacts", json!({ "email": "ADA@example.com" }))
        .await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn list_pages_by_limit_and_after_until_the_last_page() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            crm.create_id("companies", json!({ "name": format!("C{i}") }))
                .await,
        );
    }

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = crm.list("companies", &query).await;
        page.assert_status(200).assert_json_content_type();
        pages += 1;
        let page_ids = result_ids(&page.body);
        assert!(page_ids.len() <= 2, "{}", page.text);
        seen.extend(page_ids);
        match page.body.get("paging") {
            None => break,
            Some(paging) => {
                let after = paging["next"]["after"].as_str().unwrap();
                assert_eq!(after, seen.last().unwrap(), "after is the last id");
                assert_eq!(
                    paging["next"]["link"],
                    format!("/crm/v3/objects/companies?after={after}&limit=2")
                );
                query = format!("?limit=2&after={after}");
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every record once, oldest first");

    // The default page is 10 records, and properties= applies to every one.
    let page = crm.list("companies", "?properties=domain").await;
    assert_eq!(result_ids(&page.body), ids);
    assert!(page.body.get("paging").is_none());
    assert_eq!(result_values(&page.body, "name"), vec![None; 5]);
    assert_eq!(
        keys(&page.body["results"][0]["properties"]),
        [
            "createdate",
            "domain",
            "hs_lastmodifieddate",
            "hs_object_id"
        ]
    );
}

#[tokio::test]
async fn list_limit_of_100_is_accepted_and_101_is_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let inputs: Vec<Value> = (0..101)
        .map(|i| json!({ "properties": { "subject": format!("T{i}") } }))
        .collect();
    crm.batch("tickets", "create", &json!({ "inputs": inputs[..100] }))
        .await
        .assert_status(201);
    crm.create("tickets", json!({ "subject": "last" }))
        .await
        .assert_status(201);

    let at_limit = crm.list("tickets", "?limit=100").await;
    at_limit.assert_status(200);
    assert_eq!(result_ids(&at_limit.body).len(), 100);
    assert!(at_limit.body["paging"]["next"]["after"].is_string());

    for (limit, shown) in [("101", "101"), ("0", "0"), ("ten", "ten")] {
        let refused = crm.list("tickets", &format!("?limit={limit}")).await;
        assert_invalid(&refused, "limit", "INVALID_LIMIT", &[shown, "100"]);
    }
    let bad_after = crm.list("tickets", "?after=xyz").await;
    assert_invalid(&bad_after, "after", "INVALID_AFTER", &["xyz"]);
}

#[tokio::test]
async fn values_are_checked_against_each_property_type_and_stored_normalized() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    for (name, property_type) in [
        ("p_string", "string"),
        ("p_number", "number"),
        ("p_date", "date"),
        ("p_datetime", "datetime"),
        ("p_bool", "bool"),
        ("p_enum", "enumeration"),
    ] {
        crm.new_property("contacts", name, property_type).await;
    }

    // (property, value sent, value stored)
    let accepted = [
        ("p_string", json!("any text"), "any text"),
        ("p_number", json!("-12.50"), "-12.50"),
        ("p_number", json!(42), "42"),
        ("p_date", json!("2024-01-02"), "2024-01-02"),
        ("p_date", json!("1704153600000"), "2024-01-02"),
        (
            "p_datetime",
            json!("2024-01-02T04:04:05+01:00"),
            "2024-01-02T03:04:05.000Z",
        ),
        (
            "p_datetime",
            json!("1704164645123"),
            "2024-01-02T03:04:05.123Z",
        ),
        ("p_bool", json!("TRUE"), "true"),
        ("p_bool", json!(false), "false"),
        ("p_enum", json!("b"), "b"),
    ];
    for (i, (name, sent, stored)) in accepted.into_iter().enumerate() {
        let created = crm
            .create(
                "contacts",
                json!({ "email": format!("ok{i}@example.com"), name: sent }),
            )
            .await;
        created.assert_status(201);
        let read = crm
            .get(
                "contacts",
                created.str("id"),
                &format!("?properties={name}"),
            )
            .await;
        assert_eq!(read.body["properties"][name], stored, "{name} = {sent}");
    }

    // (property, value sent, error code)
    let refused = [
        ("p_number", "1.2.3", "INVALID_PROPERTY_VALUE"),
        ("p_number", "1e3", "INVALID_PROPERTY_VALUE"),
        ("p_date", "2024-13-01", "INVALID_PROPERTY_VALUE"),
        ("p_date", "1704153600001", "INVALID_PROPERTY_VALUE"),
        ("p_datetime", "yesterday", "INVALID_PROPERTY_VALUE"),
        ("p_bool", "yes", "INVALID_PROPERTY_VALUE"),
        ("p_enum", "z", "INVALID_OPTION"),
        ("p_enum", "B", "INVALID_OPTION"),
    ];
    for (name, sent, code) in refused {
        let response = crm.create("contacts", json!({ name: sent })).await;
        assert_invalid(&response, &format!("properties.{name}"), code, &[sent]);
        assert_eq!(response.errors().len(), 1, "{}", response.text);
    }
}

#[tokio::test]
async fn every_bad_property_of_a_create_is_named_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let response = crm
        .create(
            "deals",
            json!({
                "dealname": "ok",
                "amount": "many",
                "closedate": "soon",
                "dealstage": "won",
                "hs_object_id": "7",
                "createdate": "2024-01-01",
                "no_such_property": "x",
            }),
        )
        .await;
    response.assert_api_error(400, "VALIDATION_ERROR");
    assert!(
        response
            .str("message")
            .starts_with("Property values were not valid"),
        "{}",
        response.text
    );
    let mut found: Vec<(&str, &str)> = response
        .errors()
        .iter()
        .map(|e| (e["in"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            ("properties.amount", "INVALID_PROPERTY_VALUE"),
            ("properties.closedate", "INVALID_PROPERTY_VALUE"),
            ("properties.createdate", "READ_ONLY_VALUE"),
            ("properties.dealstage", "INVALID_OPTION"),
            ("properties.hs_object_id", "READ_ONLY_VALUE"),
            ("properties.no_such_property", "PROPERTY_DOESNT_EXIST"),
        ]
    );
    assert!(result_ids(&crm.list("deals", "").await.body).is_empty());
}

#[tokio::test]
async fn a_property_of_another_type_is_refused() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    // `dealname` is a deal property, `email` a contact property.
    for (t, property) in [
        ("contacts", "dealname"),
        ("companies", "email"),
        ("tickets", "amount"),
    ] {
        let response = crm.create(t, json!({ property: "x" })).await;
        assert_invalid(
            &response,
            &format!("properties.{property}"),
            "PROPERTY_DOESNT_EXIST",
            &[property],
        );
    }
}

#[tokio::test]
async fn string_value_of_65536_characters_is_stored_and_one_more_is_refused() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let at = "x".repeat(65_536);
    let created = crm.create("companies", json!({ "description": at })).await;
    created.assert_status(201);
    let read = crm
        .get("companies", created.str("id"), "?properties=description")
        .await;
    assert_eq!(read.body["properties"]["description"], at.as_str());

    let past = crm
        .create("companies", json!({ "description": "x".repeat(65_537) }))
        .await;
    assert_invalid(
        &past,
        "properties.description",
        "TOO_LONG",
        &["65537", "65536"],
    );
}

#[tokio::test]
async fn duplicate_contact_email_is_409_naming_the_existing_id_in_any_case() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm
        .create_id("contacts", json!({ "email": "Ada@Example.com" }))
        .await;

    for email in ["Ada@Example.com", "ada@example.com", " ADA@EXAMPLE.COM "] {
        let duplicate = crm.create("contacts", json!({ "email": email })).await;
        duplicate.assert_api_error(409, "CONFLICT");
        assert_eq!(
            duplicate.str("message"),
            format!("Contact already exists. Existing ID: {id}"),
            "{email}"
        );
    }

    // An update that takes another contact's email is refused the same way.
    let other = crm
        .create_id("contacts", json!({ "email": "bob@example.com" }))
        .await;
    let taken = crm
        .update(
            "contacts",
            &other,
            "",
            json!({ "email": "ADA@example.com" }),
        )
        .await;
    taken.assert_api_error(409, "CONFLICT");
    assert!(
        taken.str("message").contains(&format!("Existing ID: {id}")),
        "{}",
        taken.text
    );

    // Changing an email frees the old one.
    let carol = crm
        .create_id("contacts", json!({ "email": "carol@example.com" }))
        .await;
    crm.update(
        "contacts",
        &carol,
        "",
        json!({ "email": "caroline@example.com" }),
    )
    .await
    .assert_status(200);
    crm.create("contacts", json!({ "email": "carol@example.com" }))
        .await
        .assert_status(201);
    let found = crm
        .get("contacts", "caroline@example.com", "?idProperty=email")
        .await;
    assert_eq!(found.str("id"), carol);

    // A contact's own email, in another case, is not a conflict; clearing it frees it.
    crm.update("contacts", &id, "", json!({ "email": "ADA@example.com" }))
        .await
        .assert_status(200);
    crm.update("contacts", &id, "", json!({ "email": "" }))
        .await
        .assert_status(200);
    crm.update(
        "contacts",
        &other,
        "",
        json!({ "email": "ada@example.com" }),
    )
    .await
    .assert_status(200);

    let invalid = crm
        .create("contacts", json!({ "email": "not-an-email" }))
        .await;
    assert_invalid(
        &invalid,
        "properties.email",
        "INVALID_EMAIL",
        &["not-an-email"],
    );
}

/// Races per test: each one is a chance for both creates to interleave.
const RACES: usize = 8;

/// Creates one email twice at once on `a` and `b` (possibly the same server) and checks that
/// exactly one contact exists and the loser's 409 names it.
async fn race_one_email(a: &Crm<'_>, b: &Crm<'_>) {
    for race in 0..RACES {
        let email = format!("racer{race}@example.com");
        let (on_a, on_b) = tokio::join!(
            a.create("contacts", json!({ "email": email })),
            b.create("contacts", json!({ "email": email.to_uppercase() })),
        );
        let (winner, loser): (&TestResponse, &TestResponse) =
            match (on_a.status.as_u16(), on_b.status.as_u16()) {
                (201, 409) => (&on_a, &on_b),
                (409, 201) => (&on_b, &on_a),
                (x, y) => panic!(
                    "race {race}: exactly one create must win, got {x} and {y}: {} / {}",
                    on_a.text, on_b.text
                ),
            };
        loser.assert_api_error(409, "CONFLICT");
        let winner_id = winner.str("id");
        assert_eq!(
            loser.str("message"),
            format!("Contact already exists. Existing ID: {winner_id}")
        );
        for node in [a, b] {
            let found = node
                .search(
                    "contacts",
                    &json!({ "filterGroups": [{ "filters": [
                        { "propertyName": "email", "operator": "EQ", "value": email }
                    ]}]}),
                )
                .await;
            found.assert_status(200);
            assert_eq!(found.int("total"), 1, "race {race}: {}", found.text);
            assert_eq!(result_ids(&found.body), [winner_id.to_owned()]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_creates_of_one_email_yield_one_contact_and_one_409_on_sqlite() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    race_one_email(&crm, &crm).await;
}

#[chronik_test_macros::postgres]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_creates_of_one_email_on_two_postgres_nodes_yield_one_contact() {
    let pg = PgSchema::fresh("crm_objects::two_concurrent_creates_on_two_nodes").await;
    let node_a = TestApp::spawn_on_postgres(&pg, |_| {}).await;
    let node_b = TestApp::spawn_on_postgres(&pg, |_| {}).await;
    let a = Crm::new(&node_a).await;
    let b = Crm {
        app: &node_b,
        portal_id: a.portal_id,
        token: a.token.clone(),
    };
    race_one_email(&a, &b).await;
}

#[tokio::test]
async fn records_of_one_account_are_invisible_to_another() {
    let app = TestApp::spawn().await;
    let mine = Crm::new(&app).await;
    let theirs = Crm::new(&app).await;
    let id = mine
        .create_id(
            "contacts",
            json!({ "email": "ada@example.com", "firstname": "Ada" }),
        )
        .await;

    theirs
        .get("contacts", &id, "")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    theirs
        .get("contacts", "ada@example.com", "?idProperty=email")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    theirs
        .update("contacts", &id, "", json!({ "firstname": "Eve" }))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    theirs
        .archive("contacts", &id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    assert!(result_ids(&theirs.list("contacts", "").await.body).is_empty());
    let search = theirs.search("contacts", &json!({})).await;
    assert_eq!(search.int("total"), 0);
    let read = theirs
        .batch("contacts", "read", &json!({ "inputs": [{ "id": id }] }))
        .await;
    read.assert_status(207);
    assert!(result_ids(&read.body).is_empty());
    theirs
        .batch("contacts", "archive", &json!({ "inputs": [{ "id": id }] }))
        .await
        .assert_status(204);

    // The same email is free in the other account, and my contact is untouched.
    theirs
        .create("contacts", json!({ "email": "ada@example.com" }))
        .await
        .assert_status(201);
    let untouched = mine.get("contacts", &id, "").await;
    untouched.assert_status(200);
    assert_eq!(untouched.body["properties"]["firstname"], "Ada");
}

#[tokio::test]
async fn custom_objects_are_served_by_type_id_and_by_fully_qualified_name() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let schema = crm.new_car_schema().await;
    let type_id = schema["objectTypeId"].as_str().unwrap();
    let fqn = format!("p{}_cars", crm.portal_id);
    assert_eq!(schema["fullyQualifiedName"], fqn.as_str());

    let created = crm
        .create(
            type_id,
            json!({ "vin": "WVW123", "model": "Golf", "year": "2019", "color": "red" }),
        )
        .await;
    created.assert_status(201);
    assert_record_shape(&created.body, "hs_createdate", "hs_lastmodifieddate");
    // The create answers with everything it wrote ...
    assert_eq!(
        keys(&created.body["properties"]),
        [
            "color",
            "hs_createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "model",
            "vin",
            "year"
        ]
    );
    assert_eq!(created.body["properties"]["year"], "2019");
    assert_eq!(created.body["properties"]["color"], "red");
    let id = created.str("id");
    // ... while reads show the display properties by default, the others only when asked for.
    let plain = crm.get(type_id, id, "").await;
    assert_eq!(
        keys(&plain.body["properties"]),
        [
            "hs_createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "model",
            "vin"
        ]
    );

    for segment in [type_id, fqn.as_str(), "cars"] {
        let read = crm.get(segment, id, "?properties=year,color").await;
        read.assert_status(200);
        assert_eq!(read.body["properties"]["year"], "2019", "{segment}");
        assert_eq!(read.body["properties"]["color"], "red", "{segment}");
    }
    let by_vin = crm.get(&fqn, "wvw123", "?idProperty=vin").await;
    by_vin.assert_status(200);
    assert_eq!(by_vin.str("id"), id);

    let updated = crm
        .update(&fqn, id, "", json!({ "color": "blue", "year": "2020" }))
        .await;
    updated.assert_status(200);
    assert_eq!(updated.body["properties"]["color"], "blue");
    assert_eq!(updated.body["properties"]["year"], "2020");
    assert_eq!(updated.body["properties"]["model"], "Golf", "defaults stay");
    let listed = crm.list(type_id, "?properties=color").await;
    assert_eq!(result_values(&listed.body, "color"), [Some("blue".into())]);

    // The type's own rules: required vin, unique vin, typed values.
    let missing = crm.create(type_id, json!({ "model": "Polo" })).await;
    assert_invalid(
        &missing,
        "properties.vin",
        "MISSING_REQUIRED_PROPERTY",
        &["vin"],
    );
    let duplicate = crm.create(type_id, json!({ "vin": "wvw123" })).await;
    duplicate.assert_api_error(409, "CONFLICT");
    assert!(
        duplicate
            .str("message")
            .contains(&format!("Existing ID: {id}")),
        "{}",
        duplicate.text
    );
    let bad = crm
        .create(
            type_id,
            json!({ "vin": "X", "color": "green", "year": "old" }),
        )
        .await;
    assert_invalid(&bad, "properties.color", "INVALID_OPTION", &["green"]);
    assert_invalid(&bad, "properties.year", "INVALID_PROPERTY_VALUE", &["old"]);

    crm.archive(&fqn, id).await.assert_status(204);
    crm.get(type_id, id, "")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn unknown_custom_object_types_are_404_naming_the_segment() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let other = Crm::new(&app).await;
    let schema = other.new_car_schema().await;
    let type_id = schema["objectTypeId"].as_str().unwrap();
    let fqn = schema["fullyQualifiedName"].as_str().unwrap();

    // Another account's type, by its id or its name, names nothing here.
    for segment in ["2-999999", type_id, fqn, "p1_cars", "boats"] {
        let response = crm.create(segment, json!({ "vin": "1" })).await;
        response.assert_api_error(404, "OBJECT_NOT_FOUND");
        assert!(
            response.str("message").contains(segment),
            "{segment}: {}",
            response.text
        );
    }
}

#[tokio::test]
async fn associations_on_create_are_refused_as_not_supported() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let response = crm
        .create_raw(
            "contacts",
            &json!({
                "properties": { "email": "ada@example.com" },
                "associations": [{
                    "to": { "id": "1" },
                    "types": [{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1 }]
                }]
            }),
        )
        .await;
    assert_invalid(
        &response,
        "associations",
        "NOT_SUPPORTED",
        &["associations"],
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let cases = [
        (
            "properties is a list",
            json!({ "properties": ["x"] }),
            "properties",
        ),
        (
            "a value is an object",
            json!({ "properties": { "email": {} } }),
            "properties.email",
        ),
        (
            "unknown field",
            json!({ "properties": {}, "colour": "red" }),
            "colour",
        ),
    ];
    for (description, body, field) in cases {
        let response = crm.create_raw("contacts", &body).await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        let text = response.text.clone();
        assert!(text.contains(field), "{description}: {text}");
    }
    // A body without properties creates a record with none set.
    let empty = crm.create_raw("tickets", &json!({})).await;
    empty.assert_status(201);
    assert_eq!(empty.body["properties"]["subject"], Value::Null);
}

/// The record routes of `t` that need `write` (or read) access, on record `id`.
fn record_routes(t: &str, id: &str, write: bool) -> Vec<(Method, String, Option<Value>)> {
    if write {
        vec![
            (
                Method::POST,
                format!("/crm/v3/objects/{t}"),
                Some(json!({ "properties": {} })),
            ),
            (
                Method::PATCH,
                format!("/crm/v3/objects/{t}/{id}"),
                Some(json!({ "properties": {} })),
            ),
            (
                Method::POST,
                format!("/crm/v3/objects/{t}/batch/create"),
                Some(json!({ "inputs": [] })),
            ),
            (
                Method::POST,
                format!("/crm/v3/objects/{t}/batch/update"),
                Some(json!({ "inputs": [{ "id": id, "properties": {} }] })),
            ),
            (
                Method::POST,
                format!("/crm/v3/objects/{t}/batch/archive"),
                Some(json!({ "inputs": [] })),
            ),
            (Method::DELETE, format!("/crm/v3/objects/{t}/{id}"), None),
        ]
    } else {
        vec![
            (Method::GET, format!("/crm/v3/objects/{t}/{id}"), None),
            (Method::GET, format!("/crm/v3/objects/{t}"), None),
            (
                Method::POST,
                format!("/crm/v3/objects/{t}/search"),
                Some(json!({})),
            ),
            (
                Method::POST,
                format!("/crm/v3/objects/{t}/batch/read"),
                Some(json!({ "inputs": [{ "id": id }] })),
            ),
        ]
    }
}

/// Every record route with the scopes it needs: each is refused with 403 naming them to a
/// token without them, and served to a token with any one of them.
#[tokio::test]
async fn each_object_type_needs_its_own_read_or_write_scope() {
    let app = TestApp::spawn().await;
    let admin = Crm::new(&app).await;
    let schema = admin.new_car_schema().await;
    let car = schema["objectTypeId"].as_str().unwrap().to_owned();

    // (type, a valid create, read scopes, write scopes)
    let cases = [
        (
            "contacts",
            json!({}),
            vec!["crm.objects.contacts.read"],
            vec!["crm.objects.contacts.write"],
        ),
        (
            "companies",
            json!({}),
            vec!["crm.objects.companies.read"],
            vec!["crm.objects.companies.write"],
        ),
        (
            "deals",
            json!({}),
            vec!["crm.objects.deals.read"],
            vec!["crm.objects.deals.write"],
        ),
        (
            "tickets",
            json!({}),
            vec!["tickets", "crm.objects.tickets.read"],
            vec!["tickets", "crm.objects.tickets.write"],
        ),
        (
            car.as_str(),
            json!({ "vin": "V" }),
            vec!["crm.objects.custom.read"],
            vec!["crm.objects.custom.write"],
        ),
    ];
    let unrelated = admin.token_with(&["oauth"]).await;
    let mut vin = 0;
    for (t, props, read, write) in cases {
        for (is_write, scopes, other) in [(false, &read, &write), (true, &write, &read)] {
            // A token with only the other access (and one with nothing of CRM) is refused;
            // `tickets` grants both, so it is no "other" access.
            let other: Vec<&str> = other
                .iter()
                .copied()
                .filter(|s| !scopes.contains(s))
                .collect();
            let wrong = admin.token_with(&other).await;
            vin += 1;
            let mut fresh = props.clone();
            if fresh.get("vin").is_some() {
                fresh["vin"] = json!(format!("U{vin}"));
            }
            let id = admin.create_id(t, fresh).await;
            for (method, path, body) in record_routes(t, &id, is_write) {
                for client in [&wrong, &unrelated] {
                    let refused = client.call(method.clone(), &path, body.as_ref()).await;
                    assert_missing_scopes(&refused, scopes);
                }
            }
            // Each scope alone is enough (a fresh record each time, as DELETE archives it).
            for scope in scopes.iter() {
                let right = admin.token_with(&[scope]).await;
                vin += 1;
                let mut props = props.clone();
                if props.get("vin").is_some() {
                    props["vin"] = json!(format!("V{vin}"));
                }
                let id = admin.create_id(t, props).await;
                for (method, path, body) in record_routes(t, &id, is_write) {
                    let body = body.map(|mut b| {
                        // A new car needs its own vin; updates leave it alone.
                        if method == Method::POST && b.get("properties").is_some() && t == car {
                            b["properties"] = json!({ "vin": format!("W{vin}") });
                        }
                        b
                    });
                    let served = right.call(method.clone(), &path, body.as_ref()).await;
                    assert!(
                        served.status.is_success(),
                        "{method} {path} with {scope}: {} {}",
                        served.status,
                        served.text
                    );
                }
            }
        }
    }

    // No credentials at all is 401 before any scope is looked at.
    let anonymous = app
        .send(app.request(Method::GET, "/crm/v3/objects/contacts"))
        .await;
    anonymous.assert_api_error(401, "INVALID_AUTHENTICATION");
}

#[tokio::test]
async fn update_answers_with_the_properties_it_wrote_and_the_defaults() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let id = crm
        .create_id(
            "contacts",
            json!({ "email": "ada@example.com", "company": "Analytical Engines" }),
        )
        .await;

    let updated = crm
        .call(
            Method::PATCH,
            &format!("/crm/v3/objects/contacts/{id}"),
            Some(&json!({
                "properties": { "jobtitle": "Gardener", "company": "" },
                "objectWriteTraceId": "trace-1",
            })),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(updated.body["objectWriteTraceId"], "trace-1", "echoed");
    let mut shape = updated.body.clone();
    shape.as_object_mut().unwrap().remove("objectWriteTraceId");
    assert_record_shape(&shape, "createdate", "lastmodifieddate");
    assert_eq!(
        keys(&updated.body["properties"]),
        [
            "company",
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "jobtitle",
            "lastmodifieddate",
            "lastname"
        ],
        "the defaults plus what the update wrote, the cleared property included"
    );
    let properties = &updated.body["properties"];
    assert_eq!(properties["jobtitle"], "Gardener");
    assert_eq!(properties["company"], Value::Null, "cleared");
    assert_eq!(properties["email"], "ada@example.com", "untouched default");

    // The same for companies, deals, tickets and custom objects.
    let schema = crm.new_car_schema().await;
    let cars = schema["objectTypeId"].as_str().unwrap();
    for (t, create, update, name) in [
        (
            "companies",
            json!({ "name": "Acme" }),
            json!({ "industry": "Gardening" }),
            "industry",
        ),
        (
            "deals",
            json!({ "dealname": "D" }),
            json!({ "dealtype": "newbusiness" }),
            "dealtype",
        ),
        (
            "tickets",
            json!({ "subject": "S" }),
            json!({ "source_type": "PHONE" }),
            "source_type",
        ),
        (
            cars,
            json!({ "vin": "V1" }),
            json!({ "year": "2021" }),
            "year",
        ),
    ] {
        let created = crm.create(t, create).await;
        created.assert_status(201);
        assert_eq!(
            created.body["properties"].get(name),
            None,
            "{t}: not written yet"
        );
        let id = created.str("id");
        let updated = crm.update(t, id, "", update.clone()).await;
        updated.assert_status(200);
        assert_eq!(updated.body["properties"][name], update[name], "{t}.{name}");
    }
}

/// Asserts that every string in `value` that looks like a date-time is HubSpot's
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, and returns how many there were.
#[track_caller]
pub fn assert_millisecond_timestamps(value: &Value, what: &str) -> usize {
    fn walk(value: &Value, path: &str, found: &mut Vec<(String, String)>) {
        match value {
            Value::String(s) => {
                let b = s.as_bytes();
                if b.len() >= 11 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' {
                    found.push((path.to_owned(), s.clone()));
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), found);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, &format!("{path}.{k}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(value, "", &mut found);
    assert!(!found.is_empty(), "{what}: no timestamps in {value}");
    for (path, text) in &found {
        let well_formed = text.len() == 24
            && text.ends_with('Z')
            && text.as_bytes()[19] == b'.'
            && text[20..23].bytes().all(|c| c.is_ascii_digit())
            && DateTime::parse_from_rfc3339(text).is_ok();
        assert!(
            well_formed,
            "{what}{path} = {text:?} is not HubSpot's 2026-12-04T03:44:12.000Z"
        );
    }
    found.len()
}

#[tokio::test]
async fn every_timestamp_the_server_writes_has_exactly_three_fraction_digits() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let events = crm
        .token_with(&[
            "analytics.behavioral_events.send",
            "behavioral_events.event_definitions.read_write",
        ])
        .await;

    // Admin: accounts, apps, private apps.
    let account = app.create_account(&json!({ "name": "Clock" })).await;
    account.assert_status(201);
    assert_millisecond_timestamps(&account.body, "account");
    let listed = app.list_accounts().await;
    assert_millisecond_timestamps(&listed.body, "accounts");
    let created_app = app.create_app(&json!({ "name": "Clock app" })).await;
    assert_millisecond_timestamps(&created_app.body, "app");
    let private = app
        .create_private_app(crm.portal_id, &json!({ "name": "p", "scopes": [] }))
        .await;
    assert_millisecond_timestamps(&private.body, "private app");

    // Records: create (the instant is the one just taken, so it has sub-millisecond digits
    // unless cut), get, history, update, list, search and the batch envelope.
    let created = crm
        .create(
            "contacts",
            json!({ "email": "t@example.com", "jobtitle": "A" }),
        )
        .await;
    created.assert_status(201);
    assert_millisecond_timestamps(&created.body, "create");
    let id = created.str("id");
    let updated = crm
        .update("contacts", id, "", json!({ "jobtitle": "B" }))
        .await;
    assert_millisecond_timestamps(&updated.body, "update");
    let read = crm
        .get("contacts", id, "?propertiesWithHistory=jobtitle")
        .await;
    assert_eq!(
        read.body["createdAt"], created.body["createdAt"],
        "the same instant"
    );
    assert!(
        assert_millisecond_timestamps(&read.body["propertiesWithHistory"], "history") == 2,
        "{}",
        read.text
    );
    assert_millisecond_timestamps(&crm.list("contacts", "").await.body, "list");
    assert_millisecond_timestamps(&crm.search("contacts", &json!({})).await.body, "search");
    let batch = crm
        .batch(
            "contacts",
            "create",
            &json!({ "inputs": [{ "properties": { "email": "u@example.com" } }, { "properties": { "nope": "x" } }] }),
        )
        .await;
    batch.assert_status(207);
    assert_millisecond_timestamps(&batch.body, "batch");
    crm.archive("contacts", id).await.assert_status(204);
    let archived = crm.get("contacts", id, "?archived=true").await;
    assert!(archived.body["archivedAt"].is_string(), "{}", archived.text);
    assert_millisecond_timestamps(&archived.body, "archived");

    // Properties and schemas.
    let property = crm
        .create_property(
            "contacts",
            &json!({ "name": "shoe_size", "label": "Shoe size", "type": "number", "fieldType": "number", "groupName": "g" }),
        )
        .await;
    property.assert_status(201);
    assert_millisecond_timestamps(&property.body, "property");
    assert_millisecond_timestamps(
        &crm.get_property("contacts", "shoe_size").await.body,
        "property read",
    );
    let schema = crm.new_car_schema().await;
    assert_millisecond_timestamps(&schema, "schema");
    assert_millisecond_timestamps(&schema["associations"], "schema associations");

    // Custom event definitions and completions (a whole second keeps its ".000").
    let definition = events
        .call(
            Method::POST,
            "/events/v3/event-definitions",
            Some(&json!({ "label": "Tick", "name": "tick", "propertyDefinitions": [] })),
        )
        .await;
    definition.assert_status(201);
    assert_millisecond_timestamps(&definition.body, "definition");
    let fqn = definition.str("fullyQualifiedName").to_owned();
    let contact = crm
        .create_id("contacts", json!({ "email": "e@example.com" }))
        .await;
    events
        .call(
            Method::POST,
            "/events/v3/send",
            Some(&json!({ "eventName": fqn, "objectId": contact, "occurredAt": "2026-12-04T03:44:12Z" })),
        )
        .await
        .assert_status(204);
    let completions = events
        .call(
            Method::GET,
            &format!("/events/v3/events/?eventType={fqn}"),
            None,
        )
        .await;
    completions.assert_status(200);
    assert_eq!(
        completions.body["results"][0]["occurredAt"], "2026-12-04T03:44:12.000Z",
        "{}",
        completions.text
    );
}
