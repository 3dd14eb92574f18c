//! `/events/v3/event-definitions` (api-reference §1.5): custom behavioral event definitions and
//! their properties: create, list, get, update, delete; the seed's limits at the limit and one
//! past it, the configurable quota, names that are never reused, immutable fields, custom
//! objects as primary objects, custom matching ids, scopes and tenant isolation. A few cases
//! run on PostgreSQL too.

use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::{assert_invalid, assert_missing_scopes, Crm};
use crate::helpers::{keys, TestApp, TestResponse};

const BASE: &str = "/events/v3/event-definitions";

/// The scope every definitions route needs.
const SCOPE: &str = "behavioral_events.event_definitions.read_write";

/// A client with the definitions scope and the custom-object scopes (to make schemas).
async fn client(app: &TestApp) -> Crm<'_> {
    Crm::with_scopes(
        app,
        &[SCOPE, "crm.schemas.custom.write", "crm.schemas.custom.read"],
    )
    .await
}

async fn create(c: &Crm<'_>, body: &Value) -> TestResponse {
    c.call(Method::POST, BASE, Some(body)).await
}

/// Creates a definition, asserts 201 and returns it.
async fn new_definition(c: &Crm<'_>, body: &Value) -> Value {
    let created = create(c, body).await;
    created.assert_status(201);
    created.body
}

async fn get(c: &Crm<'_>, name: &str) -> TestResponse {
    c.call(Method::GET, &format!("{BASE}/{name}"), None).await
}

async fn list(c: &Crm<'_>, query: &str) -> TestResponse {
    c.call(Method::GET, &format!("{BASE}{query}"), None).await
}

async fn patch(c: &Crm<'_>, name: &str, body: &Value) -> TestResponse {
    c.call(Method::PATCH, &format!("{BASE}/{name}"), Some(body))
        .await
}

async fn delete(c: &Crm<'_>, name: &str) -> TestResponse {
    c.call(Method::DELETE, &format!("{BASE}/{name}"), None)
        .await
}

async fn add_property(c: &Crm<'_>, name: &str, body: &Value) -> TestResponse {
    c.call(Method::POST, &format!("{BASE}/{name}/property"), Some(body))
        .await
}

async fn patch_property(c: &Crm<'_>, name: &str, property: &str, body: &Value) -> TestResponse {
    c.call(
        Method::PATCH,
        &format!("{BASE}/{name}/property/{property}"),
        Some(body),
    )
    .await
}

async fn delete_property(c: &Crm<'_>, name: &str, property: &str) -> TestResponse {
    c.call(
        Method::DELETE,
        &format!("{BASE}/{name}/property/{property}"),
        None,
    )
    .await
}

/// A login event on contacts with a string and an enumeration property.
fn login() -> Value {
    json!({
        "label": "Login Event",
        "name": "login",
        "description": "A user logged in",
        "propertyDefinitions": [
            { "label": "Plan", "name": "plan", "type": "string", "description": "The plan" },
            {
                "label": "Method", "name": "method", "type": "enumeration",
                "options": [{ "label": "Password", "value": "password" }, { "label": "SSO", "value": "sso" }]
            }
        ]
    })
}

/// `n` string properties named `p0`, `p1`…
fn string_properties(n: usize) -> Value {
    (0..n)
        .map(|i| json!({ "label": format!("P{i}"), "name": format!("p{i}"), "type": "string" }))
        .collect()
}

/// The property `name` of a definition; panics when there is none.
#[track_caller]
fn property<'v>(definition: &'v Value, name: &str) -> &'v Value {
    definition["properties"]
        .as_array()
        .unwrap_or_else(|| panic!("no properties[] in {definition}"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no property {name} in {definition}"))
}

/// The `name`s of a definition's properties.
fn property_names(definition: &Value) -> Vec<&str> {
    definition["properties"]
        .as_array()
        .unwrap_or_else(|| panic!("no properties[] in {definition}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

/// The `name`s of a list response's results, in order.
fn result_names(body: &Value) -> Vec<&str> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results[] in {body}"))
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn create_returns_201_with_location_and_the_whole_definition() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let created = create(&c, &login()).await;
    created.assert_status(201).assert_json_content_type();
    assert_eq!(
        created.header("location"),
        Some("/events/v3/event-definitions/login")
    );
    let d = &created.body;
    assert_eq!(
        keys(d),
        [
            "archived",
            "associations",
            "createdAt",
            "description",
            "fullyQualifiedName",
            "id",
            "labels",
            "name",
            "objectTypeId",
            "primaryObject",
            "primaryObjectId",
            "properties",
            "trackingType",
            "updatedAt",
        ]
    );
    let id = d["id"].as_str().unwrap();
    assert!(id.parse::<i64>().is_ok(), "{id}");
    assert_eq!(d["objectTypeId"], format!("6-{id}"));
    assert_eq!(d["name"], "login");
    assert_eq!(d["fullyQualifiedName"], format!("pe{}_login", c.portal_id));
    assert_eq!(d["labels"], json!({ "singular": "Login Event" }));
    assert_eq!(d["description"], "A user logged in");
    assert_eq!(d["primaryObject"], "CONTACT");
    assert_eq!(d["primaryObjectId"], "0-1");
    assert_eq!(d["trackingType"], "MANUAL");
    assert_eq!(d["archived"], false);
    assert_eq!(d["associations"], json!([]));
    assert_eq!(d["createdAt"], d["updatedAt"]);

    // The custom properties first, in the order sent, then HubSpot's defaults.
    let names = property_names(d);
    assert_eq!(names[..2], ["plan", "method"]);
    assert!(names[2..].iter().all(|n| n.starts_with("hs_")), "{names:?}");
    for default in ["hs_city", "hs_page_url", "hs_referrer", "hs_device_type"] {
        assert!(names.contains(&default), "{default} missing: {names:?}");
    }
    let plan = property(d, "plan");
    assert_eq!(
        keys(plan),
        [
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
        ]
    );
    assert_eq!(plan["label"], "Plan");
    assert_eq!(plan["type"], "string");
    assert_eq!(plan["fieldType"], "text");
    assert_eq!(plan["groupName"], "event_properties");
    assert_eq!(plan["description"], "The plan");
    assert_eq!(plan["displayOrder"], 0);
    assert_eq!(plan["hubspotDefined"], false);
    assert_eq!(plan["options"], json!([]));
    let method = property(d, "method");
    assert_eq!(method["type"], "enumeration");
    assert_eq!(method["fieldType"], "select");
    assert_eq!(method["displayOrder"], 1);
    assert_eq!(method["options"][1]["value"], "sso");
    assert_eq!(method["options"][1]["label"], "SSO");
    let device = property(d, "hs_device_type");
    assert_eq!(device["hubspotDefined"], true);
    assert_eq!(device["modificationMetadata"]["readOnlyDefinition"], true);
    assert_eq!(device["options"].as_array().unwrap().len(), 9);
    assert_eq!(property(d, "hs_screen_width")["type"], "number");

    // A single read answers the same definition.
    let read = get(&c, "login").await;
    read.assert_status(200).assert_json_content_type();
    assert_eq!(read.body, created.body);
}

#[tokio::test]
async fn field_types_follow_the_property_types() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let d = new_definition(
        &c,
        &json!({
            "label": "Typed",
            "includeDefaultProperties": false,
            "propertyDefinitions": [
                { "label": "S", "name": "s", "type": "string" },
                { "label": "N", "name": "n", "type": "number" },
                { "label": "B", "name": "b", "type": "bool" },
                { "label": "D", "name": "d", "type": "date" },
                { "label": "T", "name": "t", "type": "datetime" },
                { "label": "E", "name": "e", "type": "ENUMERATION", "options": [{ "label": "A", "value": "a" }] },
            ]
        }),
    )
    .await;
    let types: Vec<(&str, &str)> = d["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["type"].as_str().unwrap(),
                p["fieldType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("string", "text"),
            ("number", "number"),
            ("bool", "radio"),
            ("date", "date"),
            ("datetime", "date"),
            ("enumeration", "select"),
        ]
    );
}

#[tokio::test]
async fn names_are_derived_from_labels_when_absent() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    for (label, name) in [
        ("Login Event", "login_event"),
        ("  Paid -- Order #1 ", "paid_order_1"),
        ("2FA used", "e_2fa_used"),
    ] {
        let d = new_definition(
            &c,
            &json!({
                "label": label,
                "propertyDefinitions": [{ "label": "Plan Tier", "type": "string" }]
            }),
        )
        .await;
        assert_eq!(d["name"], name, "{label}");
        assert_eq!(d["labels"]["singular"], label.trim(), "{label}");
        assert_eq!(d["fullyQualifiedName"], format!("pe{}_{name}", c.portal_id));
        assert_eq!(d["properties"][0]["name"], "plan_tier");
    }
    // A derived name is cut to 50 characters (a leading digit gets `e_` in front).
    let long = new_definition(&c, &json!({ "label": "1".repeat(50) })).await;
    assert_eq!(long["name"], format!("e_{}", "1".repeat(48)));
}

#[tokio::test]
async fn labels_and_names_are_accepted_at_the_limit_and_refused_one_past() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    // Labels and internal names, of events and of properties: 50 (seed; issue 6).
    let at = new_definition(
        &c,
        &json!({
            "label": "L".repeat(50),
            "name": "n".repeat(50),
            "propertyDefinitions": [{ "label": "P".repeat(50), "name": "p".repeat(50), "type": "string" }]
        }),
    )
    .await;
    assert_eq!(at["name"], "n".repeat(50));
    assert_eq!(at["properties"][0]["label"], "P".repeat(50));

    let past = create(
        &c,
        &json!({
            "label": "L".repeat(51),
            "name": "m".repeat(51),
            "propertyDefinitions": [{ "label": "P".repeat(51), "name": "p".repeat(51), "type": "string" }]
        }),
    )
    .await;
    // Every problem is reported at once.
    assert_invalid(&past, "label", "TOO_LONG", &["51", "50"]);
    assert_invalid(&past, "name", "TOO_LONG", &["51", "50"]);
    assert_invalid(
        &past,
        "propertyDefinitions[0].label",
        "TOO_LONG",
        &["51", "50"],
    );
    assert_invalid(
        &past,
        "propertyDefinitions[0].name",
        "TOO_LONG",
        &["51", "50"],
    );
    assert_eq!(past.errors().len(), 4, "{}", past.text);
    assert_eq!(get(&c, &"m".repeat(51)).await.status, 404);
}

#[tokio::test]
async fn bad_names_and_bodies_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    // (what is wrong, body, field, code)
    let cases = [
        (
            "name starts with a digit",
            json!({ "label": "X", "name": "1login" }),
            "name",
            "INVALID_NAME",
        ),
        (
            "upper-case name",
            json!({ "label": "X", "name": "Login" }),
            "name",
            "INVALID_NAME",
        ),
        (
            "hyphen in name",
            json!({ "label": "X", "name": "log-in" }),
            "name",
            "INVALID_NAME",
        ),
        (
            "space in name",
            json!({ "label": "X", "name": "log in" }),
            "name",
            "INVALID_NAME",
        ),
        (
            "underscore first",
            json!({ "label": "X", "name": "_login" }),
            "name",
            "INVALID_NAME",
        ),
        ("no label", json!({ "name": "login" }), "label", "REQUIRED"),
        (
            "blank label",
            json!({ "label": "  ", "name": "login" }),
            "label",
            "REQUIRED",
        ),
        (
            "property name starts with a digit",
            json!({ "label": "X", "propertyDefinitions": [{ "label": "P", "name": "9p", "type": "string" }] }),
            "propertyDefinitions[0].name",
            "INVALID_NAME",
        ),
        (
            "property name in HubSpot's hs_ namespace",
            json!({ "label": "X", "propertyDefinitions": [{ "label": "P", "name": "hs_mine", "type": "string" }] }),
            "propertyDefinitions[0].name",
            "RESERVED_NAME",
        ),
        (
            "unknown property type",
            json!({ "label": "X", "propertyDefinitions": [{ "label": "P", "type": "colour" }] }),
            "propertyDefinitions[0].type",
            "INVALID_TYPE",
        ),
        (
            "property without type",
            json!({ "label": "X", "propertyDefinitions": [{ "label": "P" }] }),
            "propertyDefinitions[0].type",
            "REQUIRED",
        ),
        (
            "enumeration without options",
            json!({ "label": "X", "propertyDefinitions": [{ "label": "P", "type": "enumeration" }] }),
            "propertyDefinitions[0].options",
            "REQUIRED",
        ),
        (
            "option without value",
            json!({ "label": "X", "propertyDefinitions": [{ "label": "P", "type": "enumeration", "options": [{ "label": "A" }] }] }),
            "propertyDefinitions[0].options[0].value",
            "REQUIRED",
        ),
        (
            "one property name twice",
            json!({ "label": "X", "propertyDefinitions": [{ "label": "P", "type": "string" }, { "label": "P", "type": "number" }] }),
            "propertyDefinitions[1].name",
            "DUPLICATE_PROPERTY",
        ),
        (
            "unknown primary object",
            json!({ "label": "X", "primaryObject": "WIDGET" }),
            "primaryObject",
            "UNKNOWN_OBJECT",
        ),
        (
            "label of the wrong type",
            json!({ "label": 7 }),
            "label",
            "INVALID_TYPE",
        ),
    ];
    for (what, body, field, code) in cases {
        let response = create(&c, &body).await;
        assert_eq!(response.status, 400, "{what}: {}", response.text);
        assert_invalid(&response, field, code, &[]);
    }
    let unknown_field = create(&c, &json!({ "label": "X", "colour": "red" })).await;
    unknown_field.assert_api_error(400, "VALIDATION_ERROR");
    assert!(
        unknown_field.str("message").contains("colour"),
        "{}",
        unknown_field.text
    );
    // Nothing was stored by any of them.
    assert_eq!(list(&c, "").await.body["total"], 0);
}

#[tokio::test]
async fn fifty_custom_properties_are_accepted_and_51_refused() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let at = new_definition(
        &c,
        &json!({ "label": "Fifty", "includeDefaultProperties": false, "propertyDefinitions": string_properties(50) }),
    )
    .await;
    assert_eq!(at["properties"].as_array().unwrap().len(), 50);
    let past = create(
        &c,
        &json!({ "label": "Fifty-one", "propertyDefinitions": string_properties(51) }),
    )
    .await;
    assert_invalid(
        &past,
        "propertyDefinitions",
        "TOO_MANY_PROPERTIES",
        &["51", "50"],
    );

    // Adding one by one stops at 50 too; HubSpot's defaults do not count.
    let grown = new_definition(
        &c,
        &json!({ "label": "Grown", "propertyDefinitions": string_properties(49) }),
    )
    .await;
    assert!(grown["properties"].as_array().unwrap().len() > 50);
    let fiftieth = add_property(&c, "grown", &json!({ "label": "Last", "type": "string" })).await;
    fiftieth.assert_status(201);
    assert_eq!(fiftieth.body["name"], "last");
    let one_past = add_property(&c, "grown", &json!({ "label": "More", "type": "string" })).await;
    assert_invalid(
        &one_past,
        "propertyDefinitions",
        "TOO_MANY_PROPERTIES",
        &["50"],
    );
    let read = get(&c, "grown").await;
    assert!(!property_names(&read.body).contains(&"more"));
}

#[tokio::test]
async fn the_definition_quota_is_reached_at_the_configured_limit() {
    let app = TestApp::spawn_with(|config| config.max_event_definitions = 3).await;
    let c = client(&app).await;
    for name in ["a1", "a2", "a3"] {
        new_definition(&c, &json!({ "label": name, "name": name })).await;
    }
    let fourth = create(&c, &json!({ "label": "a4", "name": "a4" })).await;
    fourth.assert_api_error(400, "VALIDATION_ERROR");
    assert!(fourth.str("message").contains('3'), "{}", fourth.text);
    assert_eq!(fourth.errors()[0]["code"], "TOO_MANY_DEFINITIONS");
    assert_eq!(fourth.errors()[0]["context"]["limit"], json!(["3"]));
    assert_eq!(get(&c, "a4").await.status, 404);

    // The quota counts live definitions: after a delete there is room for one more.
    delete(&c, "a1").await.assert_status(204);
    new_definition(&c, &json!({ "label": "a4", "name": "a4" })).await;
    create(&c, &json!({ "label": "a5", "name": "a5" }))
        .await
        .assert_api_error(400, "VALIDATION_ERROR");

    // The quota is per account.
    let other = client(&app).await;
    new_definition(&other, &json!({ "label": "b1" })).await;
}

/// Create, read, list, delete, and the deleted name stays taken.
async fn lifecycle(app: &TestApp) {
    let c = client(app).await;
    let created = new_definition(&c, &login()).await;
    assert_eq!(get(&c, "login").await.body, created);
    let listed = list(&c, "").await;
    listed.assert_status(200);
    assert_eq!(listed.body["total"], 1);
    assert_eq!(result_names(&listed.body), ["login"]);

    let taken = create(&c, &login()).await;
    taken.assert_api_error(409, "CONFLICT");
    assert!(taken.str("message").contains("login"), "{}", taken.text);

    let deleted = delete(&c, "login").await;
    deleted.assert_status(204);
    assert!(deleted.text.is_empty());
    get(&c, "login")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(list(&c, "").await.body["total"], 0);
    delete(&c, "login")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    // A deleted name is never reused, also when derived from the label.
    let again = create(&c, &login()).await;
    again.assert_api_error(409, "CONFLICT");
    assert!(
        again.str("message").contains("never reused"),
        "{}",
        again.text
    );
    create(&c, &json!({ "label": "Login" }))
        .await
        .assert_api_error(409, "CONFLICT");
    new_definition(&c, &json!({ "label": "Login", "name": "login_v2" })).await;
}

#[tokio::test]
async fn deleted_names_are_never_reused() {
    let app = TestApp::spawn().await;
    lifecycle(&app).await;
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn deleted_names_are_never_reused_on_postgres() {
    let app = TestApp::spawn_postgres("deleted_names_are_never_reused_on_postgres").await;
    lifecycle(&app).await;
}

#[tokio::test]
async fn unknown_definitions_and_properties_are_404() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let prop = json!({ "label": "P", "type": "string" });
    let responses = [
        get(&c, "nope").await,
        patch(&c, "nope", &json!({ "label": "X" })).await,
        delete(&c, "nope").await,
        add_property(&c, "nope", &prop).await,
        patch_property(&c, "nope", "plan", &json!({ "label": "X" })).await,
        delete_property(&c, "nope", "plan").await,
    ];
    for r in &responses {
        r.assert_api_error(404, "OBJECT_NOT_FOUND");
        assert!(r.str("message").contains("\"nope\""), "{}", r.text);
    }
    new_definition(&c, &login()).await;
    for r in [
        patch_property(&c, "login", "nope", &json!({ "label": "X" })).await,
        delete_property(&c, "login", "nope").await,
    ] {
        r.assert_api_error(404, "OBJECT_NOT_FOUND");
        assert!(r.str("message").contains("\"nope\""), "{}", r.text);
    }
}

#[tokio::test]
async fn patch_changes_label_and_description_and_answers_201() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let created = new_definition(&c, &login()).await;
    let patched = patch(
        &c,
        "login",
        &json!({ "label": "Signed in", "description": "New text", "name": "login", "primaryObject": "contacts" }),
    )
    .await;
    patched.assert_status(201).assert_json_content_type();
    let d = &patched.body;
    assert_eq!(d["labels"]["singular"], "Signed in");
    assert_eq!(d["description"], "New text");
    assert_eq!(d["id"], created["id"]);
    assert_eq!(d["name"], "login");
    assert_eq!(d["createdAt"], created["createdAt"]);
    assert_eq!(property_names(d), property_names(&created));
    assert_eq!(get(&c, "login").await.body, patched.body);

    // Newer clients also send propertyOrder and templates; they are accepted.
    patch(
        &c,
        "login",
        &json!({ "label": "Signed in", "propertyOrder": [], "headerTemplate": "x" }),
    )
    .await
    .assert_status(201);
}

#[tokio::test]
async fn name_and_primary_object_cannot_change() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    new_definition(&c, &login()).await;
    let renamed = patch(&c, "login", &json!({ "name": "signin" })).await;
    assert_invalid(&renamed, "name", "IMMUTABLE", &["login", "signin"]);
    let moved = patch(&c, "login", &json!({ "primaryObject": "COMPANY" })).await;
    assert_invalid(
        &moved,
        "primaryObject",
        "IMMUTABLE",
        &["CONTACT", "COMPANY"],
    );
    let both = patch(
        &c,
        "login",
        &json!({ "name": "x", "primaryObject": "nothing", "label": "L".repeat(51) }),
    )
    .await;
    assert_eq!(both.errors().len(), 3, "{}", both.text);
    assert_invalid(&both, "label", "TOO_LONG", &["51", "50"]);
    // Nothing changed.
    let read = get(&c, "login").await;
    assert_eq!(read.body["labels"]["singular"], "Login Event");
    assert_eq!(read.body["primaryObject"], "CONTACT");
    // Fields the patch does not take are refused.
    patch(&c, "login", &json!({ "includeDefaultProperties": false }))
        .await
        .assert_api_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn properties_are_added_changed_and_deleted() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    new_definition(&c, &login()).await;

    let added = add_property(
        &c,
        "login",
        &json!({ "label": "Device Count", "type": "number", "description": "How many" }),
    )
    .await;
    added.assert_status(201).assert_json_content_type();
    assert_eq!(added.body["name"], "device_count");
    assert_eq!(added.body["type"], "number");
    assert_eq!(added.body["fieldType"], "number");
    assert_eq!(added.body["displayOrder"], 2);
    assert_eq!(added.body["hubspotDefined"], false);
    assert_eq!(
        property(&get(&c, "login").await.body, "device_count")["label"],
        "Device Count"
    );

    // Duplicates and HubSpot's names are refused.
    add_property(&c, "login", &json!({ "label": "Plan", "type": "string" }))
        .await
        .assert_api_error(409, "CONFLICT");
    let reserved = add_property(
        &c,
        "login",
        &json!({ "label": "City", "name": "hs_city", "type": "string" }),
    )
    .await;
    assert_invalid(&reserved, "name", "RESERVED_NAME", &["hs_"]);
    let bad = add_property(&c, "login", &json!({ "label": "P".repeat(51) })).await;
    assert_invalid(&bad, "label", "TOO_LONG", &["51", "50"]);
    assert_invalid(&bad, "type", "REQUIRED", &[]);

    let changed = patch_property(
        &c,
        "login",
        "method",
        &json!({
            "label": "Sign-in method",
            "description": "How",
            "options": [{ "label": "Passkey", "value": "passkey" }],
            "type": "enumeration"
        }),
    )
    .await;
    changed.assert_status(201).assert_json_content_type();
    assert_eq!(changed.body["label"], "Sign-in method");
    assert_eq!(changed.body["description"], "How");
    assert_eq!(
        changed.body["options"],
        json!([{ "label": "Passkey", "value": "passkey", "displayOrder": 0, "hidden": false }])
    );
    assert_eq!(
        property(&get(&c, "login").await.body, "method")["label"],
        "Sign-in method"
    );

    let retyped = patch_property(&c, "login", "plan", &json!({ "type": "number" })).await;
    assert_invalid(&retyped, "type", "IMMUTABLE", &["delete", "string"]);
    let long = patch_property(&c, "login", "plan", &json!({ "label": "L".repeat(51) })).await;
    assert_invalid(&long, "label", "TOO_LONG", &["51", "50"]);
    let no_options = patch_property(&c, "login", "method", &json!({ "options": [] })).await;
    assert_invalid(&no_options, "options", "REQUIRED", &[]);
    let default = patch_property(&c, "login", "hs_city", &json!({ "label": "Town" })).await;
    assert_invalid(&default, "propertyName", "HUBSPOT_DEFINED", &["hs_city"]);

    delete_property(&c, "login", "plan")
        .await
        .assert_status(204);
    let default = delete_property(&c, "login", "hs_city").await;
    assert_invalid(&default, "propertyName", "HUBSPOT_DEFINED", &["hs_city"]);
    let read = get(&c, "login").await;
    let names = property_names(&read.body);
    assert!(!names.contains(&"plan"), "{names:?}");
    assert!(names.contains(&"hs_city"), "{names:?}");
    // Deleting frees the name within the definition.
    add_property(&c, "login", &json!({ "label": "Plan", "type": "bool" }))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn custom_matching_ids_need_an_event_property_and_a_unique_target() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let rule = |target: &str, event: &str| {
        let mut body = login();
        body["name"] = json!(format!("m_{}", event.replace('.', "_")));
        body["customMatchingId"] = json!({
            "primaryObjectRule": { "targetObjectPropertyName": target, "eventPropertyName": event }
        });
        body
    };
    let by_email = new_definition(&c, &{
        let mut b = rule("email", "plan");
        b["name"] = json!("by_email");
        b
    })
    .await;
    assert_eq!(
        by_email["customMatchingId"],
        json!({ "primaryObjectRule": { "targetObjectPropertyName": "email", "eventPropertyName": "plan" } })
    );
    assert_eq!(
        get(&c, "by_email").await.body["customMatchingId"],
        by_email["customMatchingId"]
    );
    // HubSpot's default properties may carry the value too, and hs_object_id is a target.
    new_definition(&c, &rule("hs_object_id", "hs_city")).await;

    let not_unique = create(&c, &rule("firstname", "plan")).await;
    assert_invalid(
        &not_unique,
        "customMatchingId.primaryObjectRule.targetObjectPropertyName",
        "NOT_UNIQUE",
        &["firstname", "email"],
    );
    let unknown_event = create(&c, &rule("email", "coupon")).await;
    assert_invalid(
        &unknown_event,
        "customMatchingId.primaryObjectRule.eventPropertyName",
        "UNKNOWN_PROPERTY",
        &["coupon"],
    );
    let mut without_defaults = rule("email", "hs_city");
    without_defaults["includeDefaultProperties"] = json!(false);
    assert_invalid(
        &create(&c, &without_defaults).await,
        "customMatchingId.primaryObjectRule.eventPropertyName",
        "UNKNOWN_PROPERTY",
        &["hs_city"],
    );
    let mut missing = login();
    missing["name"] = json!("missing");
    missing["customMatchingId"] = json!({ "primaryObjectRule": {} });
    let missing = create(&c, &missing).await;
    assert_invalid(
        &missing,
        "customMatchingId.primaryObjectRule.targetObjectPropertyName",
        "REQUIRED",
        &[],
    );
    assert_invalid(
        &missing,
        "customMatchingId.primaryObjectRule.eventPropertyName",
        "REQUIRED",
        &[],
    );
    let mut no_rule = login();
    no_rule["customMatchingId"] = json!({});
    assert_invalid(
        &create(&c, &no_rule).await,
        "customMatchingId.primaryObjectRule",
        "REQUIRED",
        &[],
    );

    // The property the rule reads cannot be deleted; the others can.
    let in_use = delete_property(&c, "by_email", "plan").await;
    assert_invalid(
        &in_use,
        "propertyName",
        "IN_USE",
        &["plan", "customMatchingId"],
    );
    delete_property(&c, "by_email", "method")
        .await
        .assert_status(204);
    assert!(property_names(&get(&c, "by_email").await.body).contains(&"plan"));
}

#[tokio::test]
async fn a_custom_object_can_be_the_primary_object() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let schema = c.new_car_schema().await;
    let type_id = schema["objectTypeId"].as_str().unwrap().to_owned();
    let fqn = format!("p{}_cars", c.portal_id);
    for (name, primary) in [
        ("by_name", "cars"),
        ("by_fqn", fqn.as_str()),
        ("by_id", type_id.as_str()),
    ] {
        let d = new_definition(
            &c,
            &json!({ "label": "Test drive", "name": name, "primaryObject": primary }),
        )
        .await;
        assert_eq!(d["primaryObjectId"], type_id, "{primary}");
        assert_eq!(d["primaryObject"], "cars", "{primary}");
    }
    // A custom object's unique property is a matching target; other properties are not.
    let matched = new_definition(
        &c,
        &json!({
            "label": "Serviced",
            "primaryObject": "cars",
            "propertyDefinitions": [{ "label": "Vehicle", "name": "vehicle", "type": "string" }],
            "customMatchingId": { "primaryObjectRule": { "targetObjectPropertyName": "vin", "eventPropertyName": "vehicle" } }
        }),
    )
    .await;
    assert_eq!(
        matched["customMatchingId"]["primaryObjectRule"]["targetObjectPropertyName"],
        "vin"
    );
    let not_unique = create(
        &c,
        &json!({
            "label": "Washed",
            "primaryObject": "cars",
            "propertyDefinitions": [{ "label": "Vehicle", "name": "vehicle", "type": "string" }],
            "customMatchingId": { "primaryObjectRule": { "targetObjectPropertyName": "model", "eventPropertyName": "vehicle" } }
        }),
    )
    .await;
    assert_invalid(
        &not_unique,
        "customMatchingId.primaryObjectRule.targetObjectPropertyName",
        "NOT_UNIQUE",
        &["model", "vin"],
    );
    // The primary object stays fixed, by whichever name it is given.
    patch(&c, "by_name", &json!({ "primaryObject": type_id }))
        .await
        .assert_status(201);
    assert_invalid(
        &patch(&c, "by_name", &json!({ "primaryObject": "CONTACT" })).await,
        "primaryObject",
        "IMMUTABLE",
        &["cars"],
    );

    // Another account's custom object is unknown here.
    let other = client(&app).await;
    let foreign = create(&other, &json!({ "label": "X", "primaryObject": fqn })).await;
    assert_invalid(&foreign, "primaryObject", "UNKNOWN_OBJECT", &[&fqn]);
    for standard in ["COMPANY", "deal", "TICKETS"] {
        let d = new_definition(
            &other,
            &json!({ "label": standard, "primaryObject": standard }),
        )
        .await;
        assert_eq!(
            d["primaryObject"],
            standard.to_uppercase().trim_end_matches('S')
        );
    }
}

#[tokio::test]
async fn include_default_properties_false_keeps_only_custom_ones() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let mut body = login();
    body["includeDefaultProperties"] = json!(false);
    let d = new_definition(&c, &body).await;
    assert_eq!(property_names(&d), ["plan", "method"]);
    // hs_ names stay HubSpot's even without the defaults.
    add_property(
        &c,
        "login",
        &json!({ "label": "City", "name": "hs_city", "type": "string" }),
    )
    .await
    .assert_api_error(400, "VALIDATION_ERROR");
    delete_property(&c, "login", "hs_city")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn lists_search_include_properties_and_page() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    for name in ["signup", "login", "logout", "purchase", "login_failed"] {
        new_definition(&c, &json!({ "label": name, "name": name })).await;
    }
    let all = list(&c, "").await;
    all.assert_status(200).assert_json_content_type();
    assert_eq!(all.body["total"], 5);
    assert_eq!(
        result_names(&all.body),
        ["login", "login_failed", "logout", "purchase", "signup"]
    );
    assert!(all.body.get("paging").is_none(), "{}", all.text);
    // Without includeProperties, properties are empty.
    assert_eq!(all.body["results"][0]["properties"], json!([]));
    for flag in ["true", "True"] {
        let with = list(&c, &format!("?includeProperties={flag}")).await;
        with.assert_status(200);
        assert!(
            property_names(&with.body["results"][0]).contains(&"hs_city"),
            "{}",
            with.text
        );
    }
    assert_eq!(
        list(&c, "?includeProperties=False").await.body["results"][0]["properties"],
        json!([])
    );

    let search = list(&c, "?searchString=log").await;
    assert_eq!(search.body["total"], 3);
    assert_eq!(
        result_names(&search.body),
        ["login", "login_failed", "logout"]
    );
    let none = list(&c, "?searchString=nothing").await;
    assert_eq!(none.body, json!({ "total": 0, "results": [] }));

    // Pages of two, following paging.next.after (and its link).
    let first = list(&c, "?limit=2").await;
    assert_eq!(first.body["total"], 5);
    assert_eq!(result_names(&first.body), ["login", "login_failed"]);
    let after = first.body["paging"]["next"]["after"].as_str().unwrap();
    let second = list(&c, &format!("?limit=2&after={after}")).await;
    assert_eq!(result_names(&second.body), ["logout", "purchase"]);
    let link = second.body["paging"]["next"]["link"].as_str().unwrap();
    assert!(link.starts_with(BASE), "{link}");
    let third = c.call(Method::GET, link, None).await;
    assert_eq!(result_names(&third.body), ["signup"]);
    assert!(third.body.get("paging").is_none(), "{}", third.text);

    // Descending, paged, with the search kept in the link.
    let desc = list(&c, "?sortOrder=DESC&limit=2&searchString=log").await;
    assert_eq!(result_names(&desc.body), ["logout", "login_failed"]);
    let link = desc.body["paging"]["next"]["link"].as_str().unwrap();
    let rest = c.call(Method::GET, link, None).await;
    assert_eq!(result_names(&rest.body), ["login"]);
    assert_eq!(rest.body["total"], 3);

    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?sortOrder=SIDEWAYS", "sortOrder"),
        ("?includeProperties=maybe", "includeProperties"),
    ] {
        let r = list(&c, query).await;
        assert_eq!(r.status, 400, "{query}: {}", r.text);
        r.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(r.errors()[0]["in"], field, "{query}");
    }
    list(&c, "?limit=100").await.assert_status(200);
}

#[tokio::test]
async fn every_route_needs_the_definitions_scope() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    new_definition(&c, &login()).await;
    let without = c
        .token_with(&[
            "analytics.behavioral_events.send",
            "crm.objects.contacts.read",
        ])
        .await;
    let prop = json!({ "label": "P", "type": "string" });
    let responses = [
        list(&without, "").await,
        create(&without, &json!({ "label": "X" })).await,
        get(&without, "login").await,
        patch(&without, "login", &json!({ "label": "X" })).await,
        delete(&without, "login").await,
        add_property(&without, "login", &prop).await,
        patch_property(&without, "login", "plan", &json!({ "label": "X" })).await,
        delete_property(&without, "login", "plan").await,
    ];
    for r in &responses {
        assert_missing_scopes(r, &[SCOPE]);
    }
    // Nothing changed.
    let read = get(&c, "login").await;
    assert_eq!(read.body["labels"]["singular"], "Login Event");
    assert!(property_names(&read.body).contains(&"plan"));
    // No token at all is a 401.
    app.send(app.request(Method::GET, BASE))
        .await
        .assert_api_error(401, "INVALID_AUTHENTICATION");
}

#[tokio::test]
async fn accounts_cannot_see_or_change_each_others_definitions() {
    let app = TestApp::spawn().await;
    let a = client(&app).await;
    let b = client(&app).await;
    new_definition(&a, &login()).await;
    let prop = json!({ "label": "P", "type": "string" });
    for r in [
        get(&b, "login").await,
        patch(&b, "login", &json!({ "label": "Mine" })).await,
        delete(&b, "login").await,
        add_property(&b, "login", &prop).await,
        patch_property(&b, "login", "plan", &json!({ "label": "X" })).await,
        delete_property(&b, "login", "plan").await,
    ] {
        r.assert_api_error(404, "OBJECT_NOT_FOUND");
    }
    assert_eq!(list(&b, "").await.body["total"], 0);
    // Names are per account: B may use A's name, and gets its own fully qualified name.
    let theirs = new_definition(&b, &login()).await;
    assert_eq!(
        theirs["fullyQualifiedName"],
        format!("pe{}_login", b.portal_id)
    );
    // A's definition is untouched.
    let read = get(&a, "login").await;
    assert_eq!(read.body["labels"]["singular"], "Login Event");
    assert_eq!(
        property_names(&read.body).len(),
        property_names(&theirs).len()
    );
    assert_ne!(read.body["id"], theirs["id"]);
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn definitions_and_properties_work_on_postgres() {
    let app = TestApp::spawn_postgres("definitions_and_properties_work_on_postgres").await;
    let c = client(&app).await;
    new_definition(&c, &login()).await;
    new_definition(&c, &json!({ "label": "a_b" })).await;
    new_definition(&c, &json!({ "label": "ab" })).await;
    // Paging order is by name in bytes on both backends ("_" sorts before letters).
    let first = list(&c, "?limit=1&searchString=a").await;
    assert_eq!(result_names(&first.body), ["a_b"]);
    let after = first.body["paging"]["next"]["after"].as_str().unwrap();
    let second = list(&c, &format!("?limit=1&searchString=a&after={after}")).await;
    assert_eq!(result_names(&second.body), ["ab"]);

    add_property(&c, "login", &json!({ "label": "Seats", "type": "number" }))
        .await
        .assert_status(201);
    patch_property(&c, "login", "seats", &json!({ "label": "Seat count" }))
        .await
        .assert_status(201);
    delete_property(&c, "login", "plan")
        .await
        .assert_status(204);
    let read = get(&c, "login").await;
    assert_eq!(property(&read.body, "seats")["label"], "Seat count");
    assert!(!property_names(&read.body).contains(&"plan"));
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn the_quota_holds_on_postgres() {
    let pg = crate::helpers::PgSchema::fresh("the_quota_holds_on_postgres").await;
    let app = TestApp::spawn_on_postgres(&pg, |config| config.max_event_definitions = 2).await;
    let c = client(&app).await;
    new_definition(&c, &json!({ "label": "one" })).await;
    new_definition(&c, &json!({ "label": "two" })).await;
    let third = create(&c, &json!({ "label": "three" })).await;
    third.assert_api_error(400, "VALIDATION_ERROR");
    assert!(third.str("message").contains('2'), "{}", third.text);
}

/// Ten properties added at once, on one definition: none is lost.
async fn concurrent_property_adds(app: &TestApp) {
    let c = client(app).await;
    new_definition(&c, &json!({ "label": "busy", "propertyDefinitions": [] })).await;
    let adds = (0..10).map(|i| {
        let c = &c;
        async move {
            add_property(
                c,
                "busy",
                &json!({ "name": format!("p{i}"), "label": format!("P {i}"), "type": "string" }),
            )
            .await
            .status
        }
    });
    let statuses = futures::future::join_all(adds).await;
    assert!(statuses.iter().all(|s| s.as_u16() == 201), "{statuses:?}");
    let read = get(&c, "busy").await;
    let names = property_names(&read.body);
    for i in 0..10 {
        assert!(
            names.contains(&format!("p{i}").as_str()),
            "p{i} lost: {names:?}"
        );
    }
}

#[tokio::test]
async fn concurrent_property_changes_are_never_lost() {
    concurrent_property_adds(&TestApp::spawn().await).await;
}

#[chronik_test_macros::postgres]
#[tokio::test]
async fn concurrent_property_changes_are_never_lost_on_postgres() {
    let app =
        TestApp::spawn_postgres("concurrent_property_changes_are_never_lost_on_postgres").await;
    concurrent_property_adds(&app).await;
}

#[tokio::test]
async fn descriptions_and_option_texts_are_bounded_naming_field_and_limit() {
    let app = TestApp::spawn().await;
    let c = client(&app).await;
    let body = |description: usize, property_description: usize, option: usize| {
        json!({
            "label": "Login",
            "name": "login",
            "description": "d".repeat(description),
            "propertyDefinitions": [{
                "name": "plan", "label": "Plan", "type": "enumeration",
                "description": "p".repeat(property_description),
                "options": [{ "label": "o".repeat(option), "value": "v".repeat(option) }],
            }],
        })
    };
    let refused = create(&c, &body(5_000_000, 2_001, 100_000)).await;
    assert_invalid(&refused, "description", "TOO_LONG", &["5000000", "2000"]);
    assert_invalid(
        &refused,
        "propertyDefinitions[0].description",
        "TOO_LONG",
        &["2001", "2000"],
    );
    assert_invalid(
        &refused,
        "propertyDefinitions[0].options[0].label",
        "TOO_LONG",
        &["100000", "256"],
    );
    assert_invalid(
        &refused,
        "propertyDefinitions[0].options[0].value",
        "TOO_LONG",
        &["100000", "256"],
    );
    get(&c, "login")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    let created = new_definition(&c, &body(2_000, 2_000, 256)).await;
    assert_eq!(created["description"].as_str().unwrap().len(), 2_000);

    let too_long = patch(&c, "login", &json!({ "description": "d".repeat(2_001) })).await;
    assert_invalid(&too_long, "description", "TOO_LONG", &["2001", "2000"]);
    let property = patch_property(
        &c,
        "login",
        "plan",
        &json!({ "description": "p".repeat(2_001),
                 "options": [{ "label": "o".repeat(257), "value": "v" }] }),
    )
    .await;
    assert_invalid(&property, "description", "TOO_LONG", &["2001", "2000"]);
    assert_invalid(&property, "options[0].label", "TOO_LONG", &["257", "256"]);
    let added = add_property(
        &c,
        "login",
        &json!({ "name": "note", "label": "Note", "type": "string", "description": "n".repeat(2_001) }),
    )
    .await;
    assert_invalid(&added, "description", "TOO_LONG", &["2001", "2000"]);

    let read = get(&c, "login").await;
    assert_eq!(
        read.body["description"].as_str().unwrap().len(),
        2_000,
        "unchanged"
    );
}
