//! App objects: `POST /projects/v1/deploys` (an app's project, with its developer API key) and
//! records of the deployed types through `/crm/v3/objects/{4-n | a{appId}_{NAME}}` in the
//! accounts the app is installed in; properties and schemas routes on them.

use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::Crm;
use crate::helpers::{AppCreds, TestApp, TestResponse};

const APP_FILE: &str = "app/app-hsmeta.json";
const CAR_FILE: &str = "app/app-objects/car-hsmeta.json";

fn app_component() -> String {
    json!({"uid": "lot_app", "type": "app", "config": {"name": "Lot"}}).to_string()
}

/// The CAR app object; `extra` is appended to its properties.
fn car(extra: &[Value]) -> String {
    let mut properties = vec![
        json!({"name": "model", "label": "Model", "type": "string", "fieldType": "text"}),
        json!({"name": "year", "label": "Year", "type": "NUMBER"}),
        json!({"name": "make", "label": "Make", "type": "enumeration", "fieldType": "select",
               "options": [{"label": "Ford", "value": "ford"}, {"label": "BMW", "value": "bmw"}]}),
    ];
    properties.extend(extra.iter().cloned());
    json!({
        "uid": "car_object",
        "type": "app-object",
        "config": {
            "name": "CAR",
            "description": "Cars on the lot",
            "singularForm": "Car",
            "pluralForm": "Cars",
            "appPrefix": "Lot",
            "primaryDisplayLabelPropertyName": "model",
            "secondaryDisplayLabelPropertyNames": ["year"],
            "properties": properties,
            "settings": {"hasRecordPage": true},
        }
    })
    .to_string()
}

fn files(list: &[(&str, String)]) -> Value {
    json!({
        "files": list
            .iter()
            .map(|(path, content)| json!({"path": path, "content": content}))
            .collect::<Vec<_>>()
    })
}

/// The body of a deploy of the app component and `car_file` as the CAR object's file.
fn car_project(car_file: String) -> Value {
    files(&[(APP_FILE, app_component()), (CAR_FILE, car_file)])
}

async fn deploy(app: &TestApp, key: &str, body: &Value) -> TestResponse {
    app.send(
        app.request(Method::POST, &format!("/projects/v1/deploys?hapikey={key}"))
            .json(body),
    )
    .await
}

/// An app with the CAR object (and `extra` properties) deployed, installed into a fresh
/// account; a CRM client of that account, and CAR's objectTypeId.
async fn installed_car<'a>(app: &'a TestApp, extra: &[Value]) -> (AppCreds, Crm<'a>, String) {
    let creds = app.new_app("Lot").await;
    let deployed = deploy(app, &creds.developer_api_key, &car_project(car(extra))).await;
    deployed.assert_status(200);
    let type_id = deployed.body["appObjects"][0]["objectTypeId"]
        .as_str()
        .unwrap()
        .to_owned();
    let crm = Crm::new(app).await;
    app.new_install(&creds, crm.portal_id, &["crm.objects.custom.read"])
        .await;
    (creds, crm, type_id)
}

#[tokio::test]
async fn a_deploy_creates_then_keeps_then_updates_app_objects_by_uid() {
    let app = TestApp::spawn().await;
    let creds = app.new_app("Lot").await;
    let card = json!({"uid": "card", "type": "card", "config": {}}).to_string();
    let first = deploy(
        &app,
        &creds.developer_api_key,
        &files(&[
            (APP_FILE, app_component()),
            (CAR_FILE, car(&[])),
            ("app/cards/card-hsmeta.json", card.clone()),
        ]),
    )
    .await;
    first.assert_status(200).assert_json_content_type();
    let object = &first.body["appObjects"][0];
    let type_id = object["objectTypeId"].as_str().unwrap();
    assert!(type_id.starts_with("4-"), "{type_id}");
    assert_eq!(first.body["appId"], creds.app_id);
    assert_eq!(object["uid"], "car_object");
    assert_eq!(object["name"], "CAR");
    assert_eq!(
        object["fullyQualifiedName"],
        format!("a{}_CAR", creds.app_id)
    );
    assert_eq!(object["change"], "CREATED");
    assert_eq!(
        first.body["skipped"],
        json!([{"path": "app/cards/card-hsmeta.json", "type": "card",
                "reason": "Chronik does not deploy card components"}])
    );

    let again = deploy(&app, &creds.developer_api_key, &car_project(car(&[]))).await;
    again.assert_status(200);
    assert_eq!(again.body["appObjects"][0]["change"], "UNCHANGED");
    assert_eq!(again.body["appObjects"][0]["objectTypeId"], type_id);

    let vin = json!({"name": "vin", "label": "VIN", "type": "string", "hasUniqueValue": true});
    let updated = deploy(&app, &creds.developer_api_key, &car_project(car(&[vin]))).await;
    updated.assert_status(200);
    assert_eq!(updated.body["appObjects"][0]["change"], "UPDATED");
    assert_eq!(updated.body["appObjects"][0]["objectTypeId"], type_id);
}

#[tokio::test]
async fn a_deploy_needs_the_apps_developer_key() {
    let app = TestApp::spawn().await;
    let body = car_project(car(&[]));
    deploy(&app, "not-a-key", &body)
        .await
        .assert_api_error(401, "INVALID_AUTHENTICATION");
    app.send(
        app.request(Method::POST, "/projects/v1/deploys")
            .json(&body),
    )
    .await
    .assert_api_error(401, "INVALID_AUTHENTICATION");
}

#[tokio::test]
async fn every_problem_of_every_file_is_named_and_nothing_is_deployed() {
    let app = TestApp::spawn().await;
    let creds = app.new_app("Lot").await;
    let mut bad: Value = serde_json::from_str(&car(&[])).unwrap();
    bad["uid"] = json!("bike_object");
    bad["config"]["name"] = json!("Bike");
    bad["config"]["properties"][1]["type"] = json!("colour");
    let refused = deploy(
        &app,
        &creds.developer_api_key,
        &files(&[
            (APP_FILE, app_component()),
            (CAR_FILE, car(&[])),
            ("app/app-objects/bike-hsmeta.json", bad.to_string()),
            (
                "app/app-objects/broken-hsmeta.json",
                "{\"uid\": ".to_owned(),
            ),
        ]),
    )
    .await;
    refused.assert_api_error(400, "VALIDATION_ERROR");
    let bike = "app/app-objects/bike-hsmeta.json";
    refused.error_in(&format!("{bike}: config.name"));
    let type_error = refused.error_in(&format!("{bike}: config.properties[1].type"));
    assert!(
        type_error["message"]
            .as_str()
            .unwrap()
            .contains("must be one of string, number"),
        "{type_error}"
    );
    refused.error_in("app/app-objects/broken-hsmeta.json: ");
    assert_eq!(refused.errors().len(), 3, "{}", refused.text);

    // The valid CAR of the refused deploy was not stored: a later deploy creates it.
    let later = deploy(&app, &creds.developer_api_key, &car_project(car(&[]))).await;
    later.assert_status(200);
    assert_eq!(later.body["appObjects"][0]["change"], "CREATED");
}

#[tokio::test]
async fn file_paths_with_nul_or_bidi_controls_are_refused_by_index_and_nothing_is_deployed() {
    let app = TestApp::spawn().await;
    let creds = app.new_app("Lot").await;
    let refused = deploy(
        &app,
        &creds.developer_api_key,
        &files(&[
            (APP_FILE, app_component()),
            ("app/app-objects/car\u{0}-hsmeta.json", car(&[])),
            ("app/\u{202e}nosj.md", String::new()),
        ]),
    )
    .await;
    refused.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(refused.errors().len(), 2, "{}", refused.text);
    for (field, code_point) in [("files[1].path", "U+0000"), ("files[2].path", "U+202E")] {
        let error = refused.error_in(field);
        assert_eq!(error["code"], "CONTROL_CHARACTER");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(code_point), "{message}");
    }
    assert!(
        !refused.text.contains("\\u0000") && !refused.text.contains('\u{202e}'),
        "the paths are not echoed: {}",
        refused.text
    );

    let later = deploy(&app, &creds.developer_api_key, &car_project(car(&[]))).await;
    later.assert_status(200);
    assert_eq!(later.body["appObjects"][0]["change"], "CREATED");
}

#[tokio::test]
async fn a_deployed_app_object_keeps_its_name_and_properties() {
    let app = TestApp::spawn().await;
    let creds = app.new_app("Lot").await;
    deploy(&app, &creds.developer_api_key, &car_project(car(&[])))
        .await
        .assert_status(200);

    let missing = deploy(
        &app,
        &creds.developer_api_key,
        &files(&[(APP_FILE, app_component())]),
    )
    .await;
    missing.assert_api_error(400, "VALIDATION_ERROR");
    assert!(
        missing.error_in("files")["message"]
            .as_str()
            .unwrap()
            .contains("CAR (uid car_object) was deployed before"),
        "{}",
        missing.text
    );

    let mut changed: Value = serde_json::from_str(&car(&[])).unwrap();
    changed["config"]["name"] = json!("AUTO");
    changed["config"]["properties"][1]["type"] = json!("string");
    changed["config"]["properties"]
        .as_array_mut()
        .unwrap()
        .remove(2);
    let refused = deploy(
        &app,
        &creds.developer_api_key,
        &car_project(changed.to_string()),
    )
    .await;
    refused.assert_api_error(400, "VALIDATION_ERROR");
    refused.error_in(&format!("{CAR_FILE}: config.name"));
    refused.error_in(&format!("{CAR_FILE}: config.properties[1].type"));
    assert!(
        refused.error_in(&format!("{CAR_FILE}: config.properties"))["message"]
            .as_str()
            .unwrap()
            .contains("\"make\""),
        "{}",
        refused.text
    );
}

#[tokio::test]
async fn records_of_an_app_object_live_in_accounts_that_installed_the_app() {
    let app = TestApp::spawn().await;
    let (creds, crm, type_id) = installed_car(&app, &[]).await;
    let p = |name: &str| format!("a{}_{name}", creds.app_id);

    let created = crm
        .create(
            &type_id,
            json!({ p("model"): "Model T", p("year"): "1908", p("make"): "ford" }),
        )
        .await;
    created.assert_status(201);
    let id = created.str("id").to_owned();
    assert_eq!(created.body["properties"][p("model")], "Model T");
    assert_eq!(created.body["properties"]["hs_object_id"], id.as_str());

    // By type id and by fully qualified name; display properties come back by default.
    for t in [
        type_id.clone(),
        format!("a{}_CAR", creds.app_id),
        format!("a{}_car", creds.app_id),
    ] {
        let got = crm.get(&t, &id, "").await;
        got.assert_status(200);
        assert_eq!(got.body["properties"][p("model")], "Model T", "{t}");
        assert_eq!(got.body["properties"][p("year")], "1908", "{t}");
        assert!(
            got.body["properties"].get(p("make")).is_none(),
            "{}",
            got.text
        );
    }
    let with_make = crm
        .get(&type_id, &id, &format!("?properties={}", p("make")))
        .await;
    assert_eq!(with_make.body["properties"][p("make")], "ford");

    // Values are checked against the app's property types, and names carry the prefix.
    let refused = crm
        .create(
            &type_id,
            json!({ "model": "Model A", p("year"): "new", p("make"): "fiat" }),
        )
        .await;
    refused.assert_api_error(400, "VALIDATION_ERROR");
    refused.error_in("properties.model");
    refused.error_in(&format!("properties.{}", p("year")));
    refused.error_in(&format!("properties.{}", p("make")));

    crm.update(&type_id, &id, "", json!({ p("year"): "1909" }))
        .await
        .assert_status(200);
    let found = crm
        .search(
            &type_id,
            &json!({"filterGroups": [{"filters": [
                {"propertyName": p("year"), "operator": "GTE", "value": "1909"}]}]}),
        )
        .await;
    found.assert_status(200);
    assert_eq!(found.body["total"], 1);
    let by_query = crm.search(&type_id, &json!({"query": "Model"})).await;
    assert_eq!(by_query.body["total"], 1, "{}", by_query.text);

    let batch = crm
        .batch(
            &type_id,
            "create",
            &json!({"inputs": [{"properties": { p("model"): "Mini" }}]}),
        )
        .await;
    batch.assert_status(201);
    let listed = crm.list(&type_id, "").await;
    assert_eq!(listed.body["results"].as_array().unwrap().len(), 2);
    crm.archive(&type_id, &id).await.assert_status(204);
}

#[tokio::test]
async fn an_account_without_the_app_has_no_such_type() {
    let app = TestApp::spawn().await;
    let (creds, _installed, type_id) = installed_car(&app, &[]).await;
    let other = Crm::new(&app).await;
    for t in [type_id.clone(), format!("a{}_CAR", creds.app_id)] {
        other
            .create(&t, json!({ format!("a{}_model", creds.app_id): "x" }))
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
        other
            .list(&t, "")
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
    }
    // Once installed, the type deployed before is there.
    app.new_install(&creds, other.portal_id, &["crm.objects.custom.read"])
        .await;
    other.list(&type_id, "").await.assert_status(200);
}

#[tokio::test]
async fn app_object_records_need_the_custom_object_scopes() {
    let app = TestApp::spawn().await;
    let (creds, crm, type_id) = installed_car(&app, &[]).await;
    let reader = crm.token_with(&["crm.objects.custom.read"]).await;
    reader
        .create(&type_id, json!({ format!("a{}_model", creds.app_id): "x" }))
        .await
        .assert_api_error(403, "MISSING_SCOPES");
    reader.list(&type_id, "").await.assert_status(200);
    let none = crm.token_with(&["crm.objects.contacts.read"]).await;
    none.list(&type_id, "")
        .await
        .assert_api_error(403, "MISSING_SCOPES");
}

#[tokio::test]
async fn the_apps_properties_are_listed_but_changed_only_by_its_project() {
    let app = TestApp::spawn().await;
    let (creds, crm, type_id) = installed_car(&app, &[]).await;
    let model = format!("a{}_model", creds.app_id);
    let listed = crm.list_properties(&type_id, "").await;
    listed.assert_status(200);
    let names: Vec<&str> = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&model.as_str()), "{names:?}");
    crm.update_property(&type_id, &model, &json!({"label": "Name"}))
        .await
        .assert_api_error(403, "FORBIDDEN");
    crm.archive_property(&type_id, &model)
        .await
        .assert_api_error(403, "FORBIDDEN");
    // The account may add properties of its own to the type, but not under the app's prefix,
    // which a later deploy may use.
    crm.new_property(&type_id, "colour", "string").await;
    let reserved = crm
        .create_property(
            &type_id,
            &json!({"name": format!("a{}_trim", creds.app_id), "label": "Trim", "type": "string"}),
        )
        .await;
    reserved.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(reserved.error_in("name")["code"], "RESERVED_NAME");
    crm.create(
        &type_id,
        json!({ model.clone(): "Model T", "colour": "black" }),
    )
    .await
    .assert_status(201);
    // It has no custom object schema.
    crm.get_schema(&type_id)
        .await
        .assert_api_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_unique_app_property_identifies_records_and_keeps_history() {
    let app = TestApp::spawn().await;
    let vin = json!({"name": "vin", "label": "VIN", "type": "string", "hasUniqueValue": true});
    let (creds, crm, type_id) = installed_car(&app, &[vin]).await;
    let (vin, model) = (
        format!("a{}_vin", creds.app_id),
        format!("a{}_model", creds.app_id),
    );
    let id = crm
        .create_id(
            &type_id,
            json!({ vin.clone(): "WVW1", model.clone(): "Golf" }),
        )
        .await;
    crm.create(&type_id, json!({ vin.clone(): "wvw1" }))
        .await
        .assert_api_error(409, "CONFLICT");
    let by_vin = crm
        .get(&type_id, "WVW1", &format!("?idProperty={vin}"))
        .await;
    by_vin.assert_status(200);
    assert_eq!(by_vin.str("id"), id);

    crm.update(&type_id, &id, "", json!({ model.clone(): "Polo" }))
        .await
        .assert_status(200);
    let history = crm
        .get(&type_id, &id, &format!("?propertiesWithHistory={model}"))
        .await;
    let values: Vec<&str> = history.body["propertiesWithHistory"][&model]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["Polo", "Golf"]);
}
