//! `/crm-object-schemas/v3/schemas` (api-reference §5.3; also served at `/crm/v3/schemas`):
//! custom object schemas: create, list, get, update, archive, association definitions; their
//! checks, scopes and tenant isolation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::{assert_invalid, assert_missing_scopes, car_schema, Crm, SCHEMAS};
use crate::helpers::{keys, TestApp};

/// The `name`s of a schema's `properties`.
fn property_names(schema: &Value) -> Vec<&str> {
    schema["properties"]
        .as_array()
        .unwrap_or_else(|| panic!("no properties[] in {schema}"))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn create_returns_201_with_the_whole_schema() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let created = crm.create_schema(&car_schema()).await;
    created.assert_status(201).assert_json_content_type();
    let s = &created.body;
    assert_eq!(
        keys(s),
        [
            "archived",
            "associations",
            "createdAt",
            "description",
            "fullyQualifiedName",
            "id",
            "labels",
            "metaType",
            "name",
            "objectTypeId",
            "primaryDisplayProperty",
            "properties",
            "requiredProperties",
            "searchableProperties",
            "secondaryDisplayProperties",
            "updatedAt",
        ]
    );
    let id = s["id"].as_str().unwrap();
    assert_eq!(s["objectTypeId"], format!("2-{id}"));
    assert_eq!(s["fullyQualifiedName"], format!("p{}_cars", crm.portal_id));
    assert_eq!(s["name"], "cars");
    assert_eq!(s["labels"], json!({ "singular": "Car", "plural": "Cars" }));
    assert_eq!(s["description"], "Cars we sold");
    assert_eq!(s["primaryDisplayProperty"], "model");
    assert_eq!(s["secondaryDisplayProperties"], json!(["vin"]));
    assert_eq!(s["requiredProperties"], json!(["vin"]));
    assert_eq!(s["searchableProperties"], json!(["model", "vin"]));
    assert_eq!(s["metaType"], "PORTAL_SPECIFIC");
    assert_eq!(s["archived"], false);
    assert_eq!(s["createdAt"], s["updatedAt"]);

    let mut names = property_names(s);
    names.sort_unstable();
    assert_eq!(
        names,
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
    let vin = s["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "vin")
        .unwrap();
    assert_eq!(vin["hasUniqueValue"], true);
    assert_eq!(vin["hubspotDefined"], false);
    assert_eq!(vin["type"], "string");

    // One association definition per associated object, to contacts here.
    let associations = s["associations"].as_array().unwrap();
    assert_eq!(associations.len(), 1, "{s}");
    assert_eq!(associations[0]["fromObjectTypeId"], s["objectTypeId"]);
    assert_eq!(associations[0]["toObjectTypeId"], "0-1");
    assert!(associations[0]["id"].is_string());

    // The custom properties are served by the properties API too.
    let vin = crm
        .get_property(s["objectTypeId"].as_str().unwrap(), "vin")
        .await;
    vin.assert_status(200);
    assert_eq!(vin.body["hasUniqueValue"], true);
}

#[tokio::test]
async fn schemas_are_listed_and_read_by_type_id_or_name() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let empty = crm.list_schemas("").await;
    empty.assert_status(200);
    assert_eq!(empty.body, json!({ "results": [] }));

    let cars = crm.new_car_schema().await;
    let boats = crm
        .create_schema(&json!({
            "name": "Boats",
            "labels": { "singular": "Boat", "plural": "Boats" },
            "requiredProperties": [],
            "properties": [{ "name": "hull", "label": "Hull", "type": "string", "fieldType": "text" }],
            "associatedObjects": ["COMPANY", "0-3", cars["objectTypeId"]],
        }))
        .await;
    boats.assert_status(201);
    assert_eq!(boats.body["name"], "boats", "names are lower-cased");
    let to: Vec<&str> = boats.body["associations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["toObjectTypeId"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["0-2", "0-3", cars["objectTypeId"].as_str().unwrap()]);
    assert!(boats.body.get("description").is_none(), "{}", boats.text);

    let listed = crm.list_schemas("").await;
    listed.assert_status(200);
    assert_eq!(
        listed.body["results"],
        json!([cars, boats.body]),
        "oldest first"
    );

    let type_id = cars["objectTypeId"].as_str().unwrap();
    let fqn = cars["fullyQualifiedName"].as_str().unwrap();
    for segment in [type_id, fqn, "cars", "CARS"] {
        let read = crm.get_schema(segment).await;
        read.assert_status(200);
        assert_eq!(read.body, cars, "{segment}");
    }
}

#[tokio::test]
async fn schemas_are_also_served_at_crm_v3_schemas() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let created = crm
        .call(Method::POST, "/crm/v3/schemas", Some(&car_schema()))
        .await;
    created.assert_status(201);
    let type_id = created.str("objectTypeId").to_owned();

    let listed = crm.call(Method::GET, "/crm/v3/schemas", None).await;
    listed.assert_status(200);
    assert_eq!(listed.body["results"], json!([created.body]));
    let read = crm
        .call(Method::GET, &format!("/crm/v3/schemas/{type_id}"), None)
        .await;
    assert_eq!(read.body, created.body);
    let updated = crm
        .call(
            Method::PATCH,
            &format!("/crm/v3/schemas/{type_id}"),
            Some(&json!({ "labels": { "plural": "Autos" } })),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(updated.body["labels"]["plural"], "Autos");
    let association = crm
        .call(
            Method::POST,
            &format!("/crm/v3/schemas/{type_id}/associations"),
            Some(&json!({ "fromObjectTypeId": type_id, "toObjectTypeId": "0-5" })),
        )
        .await;
    association.assert_status(201);
    // Trailing slash and query survive the rewrite.
    let archived = crm
        .call(Method::GET, "/crm/v3/schemas/?archived=true", None)
        .await;
    archived.assert_status(200);
    assert_eq!(archived.body["results"], json!([]));
    crm.call(Method::DELETE, &format!("/crm/v3/schemas/{type_id}"), None)
        .await
        .assert_status(204);
    crm.get_schema(&type_id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn patch_changes_labels_description_and_property_lists() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let cars = crm.new_car_schema().await;
    let type_id = cars["objectTypeId"].as_str().unwrap();

    let updated = crm
        .update_schema(
            type_id,
            &json!({
                "labels": { "singular": "Automobile" },
                "description": "All of them",
                "primaryDisplayProperty": "vin",
                "secondaryDisplayProperties": ["model", "year"],
                "requiredProperties": ["vin", "model"],
                "searchableProperties": ["vin"],
            }),
        )
        .await;
    updated.assert_status(200).assert_json_content_type();
    let s = &updated.body;
    assert_eq!(
        s["labels"],
        json!({ "singular": "Automobile", "plural": "Cars" })
    );
    assert_eq!(s["description"], "All of them");
    assert_eq!(s["primaryDisplayProperty"], "vin");
    assert_eq!(s["secondaryDisplayProperties"], json!(["model", "year"]));
    assert_eq!(s["requiredProperties"], json!(["vin", "model"]));
    assert_eq!(s["searchableProperties"], json!(["vin"]));
    assert_eq!(s["name"], "cars", "the name never changes");
    assert_eq!(s["objectTypeId"], cars["objectTypeId"]);
    assert_eq!(s["createdAt"], cars["createdAt"]);
    assert_eq!(crm.get_schema(type_id).await.body, updated.body);

    // The new rules apply to records: model is now required, and year shows by default.
    let missing = crm.create(type_id, json!({ "vin": "V1" })).await;
    assert_invalid(
        &missing,
        "properties.model",
        "MISSING_REQUIRED_PROPERTY",
        &["automobile"],
    );
    let created = crm
        .create(
            type_id,
            json!({ "vin": "V1", "model": "Golf", "year": 2020 }),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["properties"]["year"], "2020");
    let found = crm.search(type_id, &json!({ "query": "golf" })).await;
    assert_eq!(found.int("total"), 0, "model is no longer searchable");

    let cleared = crm
        .update_schema(type_id, &json!({ "clearDescription": true }))
        .await;
    cleared.assert_status(200);
    assert!(
        cleared.body.get("description").is_none(),
        "{}",
        cleared.text
    );

    // Lists may only name the type's own properties; every bad entry is named.
    let refused = crm
        .update_schema(
            type_id,
            &json!({
                "requiredProperties": ["vin", "wheels"],
                "searchableProperties": ["hs_object_id"],
                "primaryDisplayProperty": "owner",
            }),
        )
        .await;
    assert_invalid(
        &refused,
        "requiredProperties[1]",
        "PROPERTY_DOESNT_EXIST",
        &["wheels"],
    );
    assert_invalid(
        &refused,
        "searchableProperties[0]",
        "PROPERTY_DOESNT_EXIST",
        &["hs_object_id"],
    );
    assert_invalid(
        &refused,
        "primaryDisplayProperty",
        "PROPERTY_DOESNT_EXIST",
        &["owner"],
    );
    assert_eq!(refused.errors().len(), 3);
    let unknown_field = crm
        .update_schema(type_id, &json!({ "name": "trucks" }))
        .await;
    unknown_field.assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(crm.get_schema(type_id).await.body["name"], "cars");
}

#[tokio::test]
async fn archive_needs_the_records_archived_first_then_is_204() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let cars = crm.new_car_schema().await;
    let type_id = cars["objectTypeId"].as_str().unwrap();
    let id = crm.create_id(type_id, json!({ "vin": "V1" })).await;

    let busy = crm.archive_schema(type_id).await;
    busy.assert_api_error(409, "CONFLICT");
    assert!(busy.str("message").contains(type_id), "{}", busy.text);
    crm.get_schema(type_id).await.assert_status(200);

    crm.archive(type_id, &id).await.assert_status(204);
    let archived = crm.archive_schema(type_id).await;
    archived.assert_status(204);
    assert!(archived.text.is_empty());

    crm.get_schema(type_id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    crm.archive_schema(type_id)
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    crm.update_schema(type_id, &json!({ "description": "x" }))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(crm.list_schemas("").await.body["results"], json!([]));
    let listed = crm.list_schemas("?archived=true").await;
    assert_eq!(listed.body["results"][0]["objectTypeId"], type_id);
    assert_eq!(listed.body["results"][0]["archived"], true);
    // Its records and properties are gone with it.
    crm.create(type_id, json!({ "vin": "V2" }))
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");
    crm.list_properties(type_id, "")
        .await
        .assert_api_error(404, "OBJECT_NOT_FOUND");

    // The name stays taken.
    let again = crm.create_schema(&car_schema()).await;
    again.assert_api_error(409, "CONFLICT");
}

#[tokio::test]
async fn association_definitions_are_added_with_201() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let cars = crm.new_car_schema().await;
    let type_id = cars["objectTypeId"].as_str().unwrap();

    let created = crm
        .create_association(
            type_id,
            &json!({ "fromObjectTypeId": type_id, "toObjectTypeId": "COMPANY", "name": "car_owner" }),
        )
        .await;
    created.assert_status(201).assert_json_content_type();
    assert_eq!(
        keys(&created.body),
        [
            "createdAt",
            "fromObjectTypeId",
            "id",
            "name",
            "toObjectTypeId",
            "updatedAt"
        ]
    );
    assert_eq!(created.body["fromObjectTypeId"], type_id);
    assert_eq!(created.body["toObjectTypeId"], "0-2");
    assert_eq!(created.body["name"], "car_owner");
    let by_name = crm
        .create_association(
            cars["fullyQualifiedName"].as_str().unwrap(),
            &json!({ "fromObjectTypeId": type_id, "toObjectTypeId": "0-3" }),
        )
        .await;
    by_name.assert_status(201);
    assert!(by_name.body.get("name").is_none());

    let read = crm.get_schema(type_id).await;
    let to: Vec<&str> = read.body["associations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["toObjectTypeId"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["0-1", "0-2", "0-3"], "oldest first");

    // (body, field, code, mentioned)
    let refused = [
        (
            json!({ "fromObjectTypeId": "0-1", "toObjectTypeId": "0-2" }),
            "fromObjectTypeId",
            "INVALID_OBJECT_TYPE",
            type_id,
        ),
        (
            json!({ "toObjectTypeId": "0-2" }),
            "fromObjectTypeId",
            "REQUIRED",
            "fromObjectTypeId",
        ),
        (
            json!({ "fromObjectTypeId": type_id, "toObjectTypeId": "PLANET" }),
            "toObjectTypeId",
            "INVALID_OBJECT_TYPE",
            "PLANET",
        ),
        (
            json!({ "fromObjectTypeId": type_id }),
            "toObjectTypeId",
            "REQUIRED",
            "toObjectTypeId",
        ),
    ];
    for (body, field, code, mentioned) in refused {
        let response = crm.create_association(type_id, &body).await;
        assert_invalid(&response, field, code, &[mentioned]);
    }
    crm.create_association(
        "2-999999",
        &json!({ "fromObjectTypeId": "2-999999", "toObjectTypeId": "0-1" }),
    )
    .await
    .assert_api_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn a_bad_schema_is_refused_naming_each_field() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let with = |patch: Value| {
        let mut body = car_schema();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let one_property = |p: Value| {
        with(
            json!({ "properties": [p], "requiredProperties": [], "primaryDisplayProperty": null, "secondaryDisplayProperties": [], "searchableProperties": [] }),
        )
    };
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
            "empty name",
            with(json!({ "name": "" })),
            "name",
            "REQUIRED",
            "name",
        ),
        (
            "name starts with a digit",
            with(json!({ "name": "1cars" })),
            "name",
            "INVALID_FORMAT",
            "1cars",
        ),
        (
            "name with a dash",
            with(json!({ "name": "my-cars" })),
            "name",
            "INVALID_FORMAT",
            "my-cars",
        ),
        (
            "name of 101 characters",
            with(json!({ "name": "c".repeat(101) })),
            "name",
            "TOO_LONG",
            "101",
        ),
        (
            "no labels",
            with(json!({ "labels": null })),
            "labels",
            "REQUIRED",
            "labels",
        ),
        (
            "no plural label",
            with(json!({ "labels": { "singular": "Car" } })),
            "labels.plural",
            "REQUIRED",
            "labels.plural",
        ),
        (
            "a property of an unknown type",
            one_property(json!({ "name": "x", "label": "X", "type": "blob" })),
            "properties[0].type",
            "INVALID_TYPE",
            "blob",
        ),
        (
            "a property with a reserved name",
            one_property(json!({ "name": "hs_x", "label": "X", "type": "string" })),
            "properties[0].name",
            "RESERVED_NAME",
            "hs_x",
        ),
        (
            "a property twice",
            with(json!({ "properties": [
                { "name": "vin", "label": "VIN", "type": "string" },
                { "name": "vin", "label": "VIN", "type": "string" }
            ], "primaryDisplayProperty": null, "searchableProperties": [], "secondaryDisplayProperties": [] })),
            "properties[1].name",
            "DUPLICATE_PROPERTY",
            "vin",
        ),
        (
            "a required property that does not exist",
            with(json!({ "requiredProperties": ["wheels"] })),
            "requiredProperties[0]",
            "PROPERTY_DOESNT_EXIST",
            "wheels",
        ),
        (
            "a searchable property that does not exist",
            with(json!({ "searchableProperties": ["model", "wheels"] })),
            "searchableProperties[1]",
            "PROPERTY_DOESNT_EXIST",
            "wheels",
        ),
        (
            "a secondary display property that does not exist",
            with(json!({ "secondaryDisplayProperties": ["wheels"] })),
            "secondaryDisplayProperties[0]",
            "PROPERTY_DOESNT_EXIST",
            "wheels",
        ),
        (
            "a primary display property that does not exist",
            with(json!({ "primaryDisplayProperty": "wheels" })),
            "primaryDisplayProperty",
            "PROPERTY_DOESNT_EXIST",
            "wheels",
        ),
        (
            "an unknown associated object",
            with(json!({ "associatedObjects": ["CONTACT", "PLANET"] })),
            "associatedObjects[1]",
            "INVALID_OBJECT_TYPE",
            "PLANET",
        ),
    ];
    for (description, body, field, code, mentioned) in cases {
        let response = crm.create_schema(&body).await;
        assert_eq!(
            response.status.as_u16(),
            400,
            "{description}: {}",
            response.text
        );
        assert_invalid(&response, field, code, &[mentioned]);
    }
    let unknown_field = crm.create_schema(&with(json!({ "color": "red" }))).await;
    unknown_field.assert_api_error(400, "VALIDATION_ERROR");
    assert!(
        unknown_field.text.contains("color"),
        "{}",
        unknown_field.text
    );
    assert_eq!(crm.list_schemas("").await.body["results"], json!([]));
}

#[tokio::test]
async fn schema_with_a_100_character_name_and_10_unique_properties_is_accepted_and_11_refused() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let unique = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({ "name": format!("key_{i}"), "label": "Key", "type": "string", "hasUniqueValue": true }))
            .collect()
    };
    let schema = |name: String, n: usize| {
        json!({
            "name": name,
            "labels": { "singular": "Thing", "plural": "Things" },
            "requiredProperties": [],
            "properties": unique(n),
            "associatedObjects": [],
        })
    };
    let at = crm.create_schema(&schema("t".repeat(100), 10)).await;
    at.assert_status(201);
    assert_eq!(at.body["name"].as_str().unwrap().len(), 100);
    let past = crm.create_schema(&schema("other".to_owned(), 11)).await;
    assert_invalid(
        &past,
        "properties",
        "TOO_MANY_UNIQUE_PROPERTIES",
        &["11", "10"],
    );
}

#[tokio::test]
async fn a_name_in_use_is_409_in_any_case() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    crm.new_car_schema().await;
    let mut again = car_schema();
    again["name"] = json!("CARS");
    let response = crm.create_schema(&again).await;
    response.assert_api_error(409, "CONFLICT");
    assert!(
        response.str("message").contains("cars"),
        "{}",
        response.text
    );

    // Another account may use the name.
    let other = Crm::new(&app).await;
    let theirs = other.new_car_schema().await;
    assert_eq!(
        theirs["fullyQualifiedName"],
        format!("p{}_cars", other.portal_id)
    );
}

#[tokio::test]
async fn unknown_and_standard_types_are_not_schemas() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    for segment in ["2-999999", "boats", "p1_cars"] {
        let response = crm.get_schema(segment).await;
        response.assert_api_error(404, "OBJECT_NOT_FOUND");
        assert!(
            response.str("message").contains(segment),
            "{}",
            response.text
        );
    }
    for segment in ["contacts", "0-2"] {
        let response = crm.get_schema(segment).await;
        response.assert_api_error(400, "VALIDATION_ERROR");
        assert!(
            response.str("message").contains("standard"),
            "{}",
            response.text
        );
    }
}

#[tokio::test]
async fn schemas_of_one_account_are_invisible_to_another() {
    let app = TestApp::spawn().await;
    let mine = Crm::new(&app).await;
    let theirs = Crm::new(&app).await;
    let cars = mine.new_car_schema().await;
    let type_id = cars["objectTypeId"].as_str().unwrap();
    let fqn = cars["fullyQualifiedName"].as_str().unwrap();

    assert_eq!(theirs.list_schemas("").await.body["results"], json!([]));
    for segment in [type_id, fqn] {
        theirs
            .get_schema(segment)
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
        theirs
            .update_schema(segment, &json!({ "description": "mine now" }))
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
        theirs
            .archive_schema(segment)
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
        theirs
            .create_association(
                segment,
                &json!({ "fromObjectTypeId": type_id, "toObjectTypeId": "0-1" }),
            )
            .await
            .assert_api_error(404, "OBJECT_NOT_FOUND");
    }
    assert_eq!(mine.get_schema(type_id).await.body, cars);
}

#[tokio::test]
async fn schemas_need_the_custom_schema_scopes() {
    let app = TestApp::spawn().await;
    let admin = Crm::new(&app).await;
    let cars = admin.new_car_schema().await;
    let type_id = cars["objectTypeId"].as_str().unwrap().to_owned();
    let read = ["crm.schemas.custom.read"];
    let write = ["crm.schemas.custom.write"];

    let reader = admin.token_with(&read).await;
    let writer = admin.token_with(&write).await;
    let records = admin
        .token_with(&["crm.objects.custom.read", "crm.objects.custom.write"])
        .await;

    for client in [&writer, &records] {
        assert_missing_scopes(&client.list_schemas("").await, &read);
        assert_missing_scopes(&client.get_schema(&type_id).await, &read);
    }
    let mut boats = car_schema();
    boats["name"] = json!("boats");
    for client in [&reader, &records] {
        assert_missing_scopes(&client.create_schema(&boats).await, &write);
        assert_missing_scopes(
            &client
                .update_schema(&type_id, &json!({ "description": "x" }))
                .await,
            &write,
        );
        assert_missing_scopes(&client.archive_schema(&type_id).await, &write);
        assert_missing_scopes(
            &client
                .create_association(
                    &type_id,
                    &json!({ "fromObjectTypeId": type_id, "toObjectTypeId": "0-2" }),
                )
                .await,
            &write,
        );
    }
    // The scope is checked before the schema is looked up.
    assert_missing_scopes(&records.get_schema("2-999999").await, &read);

    reader.list_schemas("").await.assert_status(200);
    reader.get_schema(&type_id).await.assert_status(200);
    writer.create_schema(&boats).await.assert_status(201);
    writer
        .update_schema(&type_id, &json!({ "description": "x" }))
        .await
        .assert_status(200);
    writer
        .create_association(
            &type_id,
            &json!({ "fromObjectTypeId": type_id, "toObjectTypeId": "0-2" }),
        )
        .await
        .assert_status(201);
    writer.archive_schema(&type_id).await.assert_status(204);

    let anonymous = app.send(app.request(Method::GET, SCHEMAS)).await;
    anonymous.assert_api_error(401, "INVALID_AUTHENTICATION");
}

#[tokio::test]
async fn associated_objects_of_another_account_or_of_none_are_refused_naming_the_id() {
    let app = TestApp::spawn().await;
    let a = Crm::new(&app).await;
    let b = Crm::new(&app).await;
    let a_cars = a.new_car_schema().await;
    let a_type = a_cars["objectTypeId"].as_str().unwrap().to_owned();
    let b_cars = b.new_car_schema().await;
    let b_type = b_cars["objectTypeId"].as_str().unwrap().to_owned();

    let boats = |associated: Value| {
        json!({
            "name": "boats",
            "labels": { "singular": "Boat", "plural": "Boats" },
            "properties": [{ "name": "hull", "label": "Hull", "type": "string", "fieldType": "text" }],
            "associatedObjects": associated,
        })
    };
    for foreign in [a_type.as_str(), "2-999999"] {
        let refused = b.create_schema(&boats(json!(["CONTACT", foreign]))).await;
        assert_invalid(
            &refused,
            "associatedObjects[1]",
            "OBJECT_TYPE_NOT_FOUND",
            &[foreign],
        );
        assert_eq!(refused.errors().len(), 1, "{}", refused.text);
    }
    let listed = b.list_schemas("").await;
    assert_eq!(
        listed.body["results"].as_array().unwrap().len(),
        1,
        "nothing stored"
    );

    // Standard types by name or type id, and the account's own custom type, stay accepted.
    let created = b
        .create_schema(&boats(json!([
            "contacts", "COMPANY", "0-3", "ticket", b_type
        ])))
        .await;
    created.assert_status(201);
    let to: Vec<&str> = created.body["associations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["toObjectTypeId"].as_str().unwrap())
        .collect();
    assert_eq!(to, ["0-1", "0-2", "0-3", "0-5", b_type.as_str()]);

    for foreign in [a_type.as_str(), "2-999999"] {
        let refused = b
            .create_association(
                &b_type,
                &json!({ "fromObjectTypeId": b_type, "toObjectTypeId": foreign }),
            )
            .await;
        assert_invalid(
            &refused,
            "toObjectTypeId",
            "OBJECT_TYPE_NOT_FOUND",
            &[foreign],
        );
    }
    // HubSpot's ObjectTypeDefinitionPatch has no associatedObjects: a PATCH cannot slip one in.
    let patched = b
        .update_schema(&b_type, &json!({ "associatedObjects": [a_type] }))
        .await;
    patched.assert_api_error(400, "VALIDATION_ERROR");
    patched.error_in("associatedObjects");
    let to_self = b
        .create_association(
            &b_type,
            &json!({ "fromObjectTypeId": b_type, "toObjectTypeId": b_type }),
        )
        .await;
    to_self.assert_status(201);
    let read = b.get_schema(&b_type).await;
    assert_eq!(
        read.body["associations"].as_array().unwrap().len(),
        2,
        "only CONTACT and the type itself: {}",
        read.text
    );
}

#[tokio::test]
async fn an_association_name_of_100_characters_is_accepted_and_101_refused() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let cars = crm.new_car_schema().await;
    let type_id = cars["objectTypeId"].as_str().unwrap();
    let body = |name: String| json!({ "fromObjectTypeId": type_id, "toObjectTypeId": "0-2", "name": name });
    crm.create_association(type_id, &body("n".repeat(100)))
        .await
        .assert_status(201);
    let refused = crm
        .create_association(type_id, &body("n".repeat(101)))
        .await;
    assert_invalid(&refused, "name", "TOO_LONG", &["101", "100"]);
}

#[tokio::test]
async fn patch_refuses_empty_labels_as_create_does() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let cars = crm.new_car_schema().await;
    let type_id = cars["objectTypeId"].as_str().unwrap();

    let mut empty = car_schema();
    empty["labels"] = json!({ "singular": "", "plural": "Cars" });
    empty["name"] = json!("trucks");
    assert_invalid(
        &crm.create_schema(&empty).await,
        "labels.singular",
        "REQUIRED",
        &["labels.singular"],
    );

    for (labels, field) in [
        (json!({ "singular": "" }), "labels.singular"),
        (json!({ "plural": "   " }), "labels.plural"),
    ] {
        let refused = crm
            .update_schema(type_id, &json!({ "labels": labels }))
            .await;
        assert_invalid(&refused, field, "REQUIRED", &[field]);
    }
    let long = crm
        .update_schema(type_id, &json!({ "labels": { "plural": "P".repeat(256) } }))
        .await;
    assert_invalid(&long, "labels.plural", "TOO_LONG", &["256", "255"]);
    let read = crm.get_schema(type_id).await;
    assert_eq!(
        read.body["labels"],
        json!({ "singular": "Car", "plural": "Cars" }),
        "unchanged"
    );

    let renamed = crm
        .update_schema(
            type_id,
            &json!({ "labels": { "singular": "Auto", "plural": "P".repeat(255) } }),
        )
        .await;
    renamed.assert_status(200);
    assert_eq!(renamed.body["labels"]["singular"], "Auto");
}

#[tokio::test]
async fn schema_descriptions_of_2000_characters_are_kept_and_2001_refused() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let mut body = car_schema();
    body["description"] = json!("d".repeat(2_001));
    assert_invalid(
        &crm.create_schema(&body).await,
        "description",
        "TOO_LONG",
        &["2001", "2000"],
    );
    body["description"] = json!("d".repeat(2_000));
    let created = crm.create_schema(&body).await;
    created.assert_status(201);
    let type_id = created.str("objectTypeId").to_owned();

    let refused = crm
        .update_schema(&type_id, &json!({ "description": "d".repeat(1_000_000) }))
        .await;
    assert_invalid(&refused, "description", "TOO_LONG", &["1000000", "2000"]);
    let read = crm.get_schema(&type_id).await;
    assert_eq!(read.body["description"].as_str().unwrap().len(), 2_000);
}
