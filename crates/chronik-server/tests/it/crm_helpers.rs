//! [`Crm`]: a Bearer client for one account of a [`TestApp`], with one method per CRM endpoint
//! (`/crm/v3/objects`, `/crm/v3/properties`, `/crm-object-schemas/v3/schemas`), and the
//! fixtures the `crm_*` test files share.

use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestResponse};

/// Where both SDKs find custom object schemas (api-reference §5.3).
pub const SCHEMAS: &str = "/crm-object-schemas/v3/schemas";

/// Every scope the CRM routes check, so that a [`Crm::new`] client may do everything.
pub const ALL_CRM_SCOPES: &[&str] = &[
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "tickets",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
    "crm.schemas.custom.read",
    "crm.schemas.custom.write",
];

/// A private-app client of one fresh account.
pub struct Crm<'a> {
    pub app: &'a TestApp,
    pub portal_id: i64,
    pub token: String,
}

impl<'a> Crm<'a> {
    /// A fresh account with a private app holding `scopes`.
    pub async fn with_scopes(app: &'a TestApp, scopes: &[&str]) -> Crm<'a> {
        let portal_id = app.new_account("CRM").await;
        let token = app.new_private_app(portal_id, scopes).await;
        Crm {
            app,
            portal_id,
            token,
        }
    }

    /// A fresh account with every CRM scope.
    pub async fn new(app: &'a TestApp) -> Crm<'a> {
        Self::with_scopes(app, ALL_CRM_SCOPES).await
    }

    /// Another token of the same account, with other scopes.
    pub async fn token_with(&self, scopes: &[&str]) -> Crm<'a> {
        Crm {
            app: self.app,
            portal_id: self.portal_id,
            token: self.app.new_private_app(self.portal_id, scopes).await,
        }
    }

    /// A request with this client's token.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.app.request(method, path).bearer_auth(&self.token)
    }

    /// Sends `method path` with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        let request = self.req(method, path);
        let request = match body {
            Some(b) => request.json(b),
            None => request,
        };
        self.app.send(request).await
    }

    // ---- /crm/v3/objects ----

    /// `POST /crm/v3/objects/{t}` with `{"properties": props}`.
    pub async fn create(&self, t: &str, props: Value) -> TestResponse {
        self.create_raw(t, &json!({ "properties": props })).await
    }

    /// `POST /crm/v3/objects/{t}` with exactly `body`.
    pub async fn create_raw(&self, t: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, &format!("/crm/v3/objects/{t}"), Some(body))
            .await
    }

    /// Creates a record, asserts 201 and returns its id.
    pub async fn create_id(&self, t: &str, props: Value) -> String {
        let created = self.create(t, props).await;
        created.assert_status(201);
        created.str("id").to_owned()
    }

    /// `GET /crm/v3/objects/{t}/{id}{query}` (`query` is `""` or starts with `?`).
    pub async fn get(&self, t: &str, id: &str, query: &str) -> TestResponse {
        self.call(
            Method::GET,
            &format!("/crm/v3/objects/{t}/{id}{query}"),
            None,
        )
        .await
    }

    /// `PATCH /crm/v3/objects/{t}/{id}{query}` with `{"properties": props}`.
    pub async fn update(&self, t: &str, id: &str, query: &str, props: Value) -> TestResponse {
        self.call(
            Method::PATCH,
            &format!("/crm/v3/objects/{t}/{id}{query}"),
            Some(&json!({ "properties": props })),
        )
        .await
    }

    /// `DELETE /crm/v3/objects/{t}/{id}`.
    pub async fn archive(&self, t: &str, id: &str) -> TestResponse {
        self.call(Method::DELETE, &format!("/crm/v3/objects/{t}/{id}"), None)
            .await
    }

    /// `GET /crm/v3/objects/{t}{query}`.
    pub async fn list(&self, t: &str, query: &str) -> TestResponse {
        self.call(Method::GET, &format!("/crm/v3/objects/{t}{query}"), None)
            .await
    }

    /// `POST /crm/v3/objects/{t}/batch/{op}` with `body` (`op` may carry a query string).
    pub async fn batch(&self, t: &str, op: &str, body: &Value) -> TestResponse {
        self.call(
            Method::POST,
            &format!("/crm/v3/objects/{t}/batch/{op}"),
            Some(body),
        )
        .await
    }

    /// `POST /crm/v3/objects/{t}/search` with `body`.
    pub async fn search(&self, t: &str, body: &Value) -> TestResponse {
        self.call(
            Method::POST,
            &format!("/crm/v3/objects/{t}/search"),
            Some(body),
        )
        .await
    }

    // ---- /crm/v3/properties ----

    /// `GET /crm/v3/properties/{t}{query}`.
    pub async fn list_properties(&self, t: &str, query: &str) -> TestResponse {
        self.call(Method::GET, &format!("/crm/v3/properties/{t}{query}"), None)
            .await
    }

    /// `GET /crm/v3/properties/{t}/{name}`.
    pub async fn get_property(&self, t: &str, name: &str) -> TestResponse {
        self.call(Method::GET, &format!("/crm/v3/properties/{t}/{name}"), None)
            .await
    }

    /// `POST /crm/v3/properties/{t}`.
    pub async fn create_property(&self, t: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, &format!("/crm/v3/properties/{t}"), Some(body))
            .await
    }

    /// Creates a custom property of `property_type` (enumerations get options `a`, `b`, `c`)
    /// and asserts 201.
    pub async fn new_property(&self, t: &str, name: &str, property_type: &str) {
        let field_type = match property_type {
            "string" => "text",
            "number" => "number",
            "date" | "datetime" => "date",
            "bool" => "booleancheckbox",
            "enumeration" => "select",
            other => panic!("no field type for {other}"),
        };
        let mut body = json!({
            "name": name,
            "label": format!("Label of {name}"),
            "type": property_type,
            "fieldType": field_type,
            "groupName": "test",
        });
        if property_type == "enumeration" {
            body["options"] = json!([
                { "label": "A", "value": "a" },
                { "label": "B", "value": "b" },
                { "label": "C", "value": "c" },
            ]);
        }
        self.create_property(t, &body).await.assert_status(201);
    }

    /// `PATCH /crm/v3/properties/{t}/{name}`.
    pub async fn update_property(&self, t: &str, name: &str, body: &Value) -> TestResponse {
        self.call(
            Method::PATCH,
            &format!("/crm/v3/properties/{t}/{name}"),
            Some(body),
        )
        .await
    }

    /// `DELETE /crm/v3/properties/{t}/{name}`.
    pub async fn archive_property(&self, t: &str, name: &str) -> TestResponse {
        self.call(
            Method::DELETE,
            &format!("/crm/v3/properties/{t}/{name}"),
            None,
        )
        .await
    }

    // ---- /crm-object-schemas/v3/schemas ----

    /// `GET /crm-object-schemas/v3/schemas{query}`.
    pub async fn list_schemas(&self, query: &str) -> TestResponse {
        self.call(Method::GET, &format!("{SCHEMAS}{query}"), None)
            .await
    }

    /// `POST /crm-object-schemas/v3/schemas`.
    pub async fn create_schema(&self, body: &Value) -> TestResponse {
        self.call(Method::POST, SCHEMAS, Some(body)).await
    }

    /// Creates [`car_schema`] and returns the created schema.
    pub async fn new_car_schema(&self) -> Value {
        let created = self.create_schema(&car_schema()).await;
        created.assert_status(201);
        created.body
    }

    /// `GET /crm-object-schemas/v3/schemas/{t}`.
    pub async fn get_schema(&self, t: &str) -> TestResponse {
        self.call(Method::GET, &format!("{SCHEMAS}/{t}"), None)
            .await
    }

    /// `PATCH /crm-object-schemas/v3/schemas/{t}`.
    pub async fn update_schema(&self, t: &str, body: &Value) -> TestResponse {
        self.call(Method::PATCH, &format!("{SCHEMAS}/{t}"), Some(body))
            .await
    }

    /// `DELETE /crm-object-schemas/v3/schemas/{t}`.
    pub async fn archive_schema(&self, t: &str) -> TestResponse {
        self.call(Method::DELETE, &format!("{SCHEMAS}/{t}"), None)
            .await
    }

    /// `POST /crm-object-schemas/v3/schemas/{t}/associations`.
    pub async fn create_association(&self, t: &str, body: &Value) -> TestResponse {
        self.call(
            Method::POST,
            &format!("{SCHEMAS}/{t}/associations"),
            Some(body),
        )
        .await
    }
}

/// A custom object "cars": `vin` (unique, required), `model`, `year` (number) and `color`
/// (enumeration red/blue); `model` is the title, `vin` and `model` are searchable, and it
/// associates with contacts.
pub fn car_schema() -> Value {
    json!({
        "name": "cars",
        "labels": { "singular": "Car", "plural": "Cars" },
        "description": "Cars we sold",
        "primaryDisplayProperty": "model",
        "secondaryDisplayProperties": ["vin"],
        "requiredProperties": ["vin"],
        "searchableProperties": ["model", "vin"],
        "associatedObjects": ["CONTACT"],
        "properties": [
            { "name": "vin", "label": "VIN", "type": "string", "fieldType": "text", "hasUniqueValue": true },
            { "name": "model", "label": "Model", "type": "string", "fieldType": "text" },
            { "name": "year", "label": "Year", "type": "number", "fieldType": "number" },
            {
                "name": "color", "label": "Color", "type": "enumeration", "fieldType": "select",
                "options": [
                    { "label": "Red", "value": "red" },
                    { "label": "Blue", "value": "blue" }
                ]
            }
        ]
    })
}

/// The `id`s of `body.results`, in order.
#[track_caller]
pub fn result_ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results[] in {body}"))
        .iter()
        .map(|r| r["id"].as_str().expect("id is a string").to_owned())
        .collect()
}

/// `properties[name]` of each of `body.results`, in order (`None` for null or missing).
#[track_caller]
pub fn result_values(body: &Value, name: &str) -> Vec<Option<String>> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results[] in {body}"))
        .iter()
        .map(|r| r["properties"][name].as_str().map(str::to_owned))
        .collect()
}

/// Asserts a 403 `MISSING_SCOPES` whose `requiredGranularScopes` are exactly `scopes`.
#[track_caller]
pub fn assert_missing_scopes(response: &TestResponse, scopes: &[&str]) {
    response.assert_api_error(403, "MISSING_SCOPES");
    assert_eq!(
        response.errors()[0]["context"]["requiredGranularScopes"],
        json!(scopes),
        "{}",
        response.text
    );
}

/// Asserts a 400 `VALIDATION_ERROR` with an `errors[]` entry in `field` of `code` whose
/// message contains every one of `mentions`.
#[track_caller]
pub fn assert_invalid(response: &TestResponse, field: &str, code: &str, mentions: &[&str]) {
    response.assert_api_error(400, "VALIDATION_ERROR");
    let entry = response.error_in(field);
    assert_eq!(entry["code"], code, "{}", response.text);
    let message = entry["message"].as_str().expect("message");
    for m in mentions {
        assert!(
            message.contains(m),
            "{field}: {m:?} not in {message:?}; body {}",
            response.text
        );
    }
}
