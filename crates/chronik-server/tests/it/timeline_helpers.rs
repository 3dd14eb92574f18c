//! Fixtures the `timeline_*` test files share: an app installed into a fresh account with the
//! `timeline` scope ([`Tl`]), one method per timeline v3 endpoint, HubSpot's PetSpot example
//! template, and [`on_both!`], which runs a case on SQLite and on PostgreSQL.

use reqwest::Method;
use serde_json::{json, Value};

use crate::crm_helpers::{Crm, ALL_CRM_SCOPES};
use crate::helpers::{AppCreds, TestApp, TestResponse};

/// Where both SDKs find timeline events v3.
pub const V3: &str = "/integrators/timeline/v3";

/// Turns `async fn case(app: &TestApp)` into `case::sqlite` and `case::postgres` tests, each on
/// a server of its own.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                let app = crate::helpers::TestApp::spawn().await;
                super::$case(&app).await;
            }

            #[chronik_test_macros::postgres]
            #[tokio::test]
            async fn postgres() {
                let app =
                    crate::helpers::TestApp::spawn_postgres(concat!(module_path!(), "::postgres"))
                        .await;
                super::$case(&app).await;
            }
        }
    )*};
}
pub(crate) use on_both;

/// An app installed into a fresh account: its developer key for templates, its install token
/// (with `timeline`) for events, and a private app of the same account for CRM reads.
pub struct Tl<'a> {
    pub app: &'a TestApp,
    pub creds: AppCreds,
    pub portal_id: i64,
    /// The install's access token, with `timeline`.
    pub token: String,
    /// CRM records of the same account.
    pub crm: Crm<'a>,
}

impl<'a> Tl<'a> {
    pub async fn new(app: &'a TestApp) -> Tl<'a> {
        Self::with_scopes(app, &["timeline"]).await
    }

    /// An install with exactly `scopes`.
    pub async fn with_scopes(app: &'a TestApp, scopes: &[&str]) -> Tl<'a> {
        let creds = app.new_app("PetSpot").await;
        let portal_id = app.new_account("Pets Inc").await;
        let token = app
            .new_install(&creds, portal_id, scopes)
            .await
            .access_token;
        let crm = Crm {
            app,
            portal_id,
            token: app.new_private_app(portal_id, ALL_CRM_SCOPES).await,
        };
        Tl {
            app,
            creds,
            portal_id,
            token,
            crm,
        }
    }

    /// The same app, account and tokens, talking to another node (`app`) on the same database.
    pub fn on<'b>(&self, app: &'b TestApp) -> Tl<'b> {
        Tl {
            app,
            creds: self.creds.clone(),
            portal_id: self.portal_id,
            token: self.token.clone(),
            crm: Crm {
                app,
                portal_id: self.portal_id,
                token: self.crm.token.clone(),
            },
        }
    }

    /// Another app installed into the same account.
    pub async fn other_app(&self) -> Tl<'a> {
        let creds = self.app.new_app("Other").await;
        let token = self
            .app
            .new_install(&creds, self.portal_id, &["timeline"])
            .await
            .access_token;
        Tl {
            app: self.app,
            creds,
            portal_id: self.portal_id,
            token,
            crm: Crm {
                app: self.app,
                portal_id: self.portal_id,
                token: self.crm.token.clone(),
            },
        }
    }

    /// `{V3}/{appId}/event-templates{rest}`.
    pub fn templates_path(&self, rest: &str) -> String {
        format!("{V3}/{}/event-templates{rest}", self.creds.app_id)
    }

    /// `method path?hapikey=<this app's key>` with an optional JSON body.
    pub async fn dev(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{path}{sep}hapikey={}", self.creds.developer_api_key);
        let request = self.app.request(method, &url);
        let request = match body {
            Some(b) => request.json(b),
            None => request,
        };
        self.app.send(request).await
    }

    /// `method path` with the install token.
    pub async fn bearer(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        self.bearer_as(&self.token, method, path, body).await
    }

    /// `method path` with `token` as Bearer.
    pub async fn bearer_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let request = self.app.request(method, path).bearer_auth(token);
        let request = match body {
            Some(b) => request.json(b),
            None => request,
        };
        self.app.send(request).await
    }

    // ---- templates and tokens ----

    pub async fn create_template(&self, body: &Value) -> TestResponse {
        self.dev(Method::POST, &self.templates_path(""), Some(body))
            .await
    }

    /// Creates a template, asserts 201, returns its id.
    pub async fn template_id(&self, body: &Value) -> String {
        let r = self.create_template(body).await;
        r.assert_status(201);
        r.str("id").to_owned()
    }

    pub async fn list_templates(&self) -> TestResponse {
        self.dev(Method::GET, &self.templates_path(""), None).await
    }

    pub async fn get_template(&self, id: &str) -> TestResponse {
        self.dev(Method::GET, &self.templates_path(&format!("/{id}")), None)
            .await
    }

    pub async fn update_template(&self, id: &str, body: &Value) -> TestResponse {
        self.dev(
            Method::PUT,
            &self.templates_path(&format!("/{id}")),
            Some(body),
        )
        .await
    }

    pub async fn delete_template(&self, id: &str) -> TestResponse {
        self.dev(
            Method::DELETE,
            &self.templates_path(&format!("/{id}")),
            None,
        )
        .await
    }

    pub async fn add_token(&self, id: &str, body: &Value) -> TestResponse {
        self.dev(
            Method::POST,
            &self.templates_path(&format!("/{id}/tokens")),
            Some(body),
        )
        .await
    }

    /// `PUT …/tokens/{encoded}`: `encoded` is put in the path as given.
    pub async fn update_token(&self, id: &str, encoded: &str, body: &Value) -> TestResponse {
        self.dev(
            Method::PUT,
            &self.templates_path(&format!("/{id}/tokens/{encoded}")),
            Some(body),
        )
        .await
    }

    pub async fn delete_token(&self, id: &str, encoded: &str) -> TestResponse {
        self.dev(
            Method::DELETE,
            &self.templates_path(&format!("/{id}/tokens/{encoded}")),
            None,
        )
        .await
    }

    // ---- events ----

    pub async fn create_event(&self, body: &Value) -> TestResponse {
        self.bearer(Method::POST, &format!("{V3}/events"), Some(body))
            .await
    }

    /// Creates an event, asserts 201, returns the answer.
    pub async fn event_ok(&self, body: &Value) -> Value {
        let r = self.create_event(body).await;
        r.assert_status(201);
        r.body
    }

    pub async fn batch(&self, inputs: Vec<Value>) -> TestResponse {
        self.bearer(
            Method::POST,
            &format!("{V3}/events/batch/create"),
            Some(&json!({ "inputs": inputs })),
        )
        .await
    }

    pub async fn get_event(&self, template: &str, id: &str) -> TestResponse {
        self.bearer(Method::GET, &format!("{V3}/events/{template}/{id}"), None)
            .await
    }

    /// `GET …/render{query}` (`query` is `""` or starts with `?`).
    pub async fn render(&self, template: &str, id: &str, query: &str) -> TestResponse {
        self.bearer(
            Method::GET,
            &format!("{V3}/events/{template}/{id}/render{query}"),
            None,
        )
        .await
    }

    pub async fn detail(&self, template: &str, id: &str) -> TestResponse {
        self.bearer(
            Method::GET,
            &format!("{V3}/events/{template}/{id}/detail"),
            None,
        )
        .await
    }

    /// A contact's property, read through `/crm/v3/objects/contacts`.
    pub async fn contact_property(&self, id: &str, property: &str) -> Value {
        let r = self
            .crm
            .get("contacts", id, &format!("?properties={property}"))
            .await;
        r.assert_status(200);
        r.body["properties"][property].clone()
    }
}

/// HubSpot's PetSpot example template (its v3 spec's `TimelineEventTemplateCreateRequest`).
pub fn petspot() -> Value {
    json!({
        "name": "PetSpot Registration",
        "objectType": "contacts",
        "headerTemplate": "Registered for [{{petName}}](https://my.petspot.com/pets/{{petName}})",
        "detailTemplate": "Registration occurred at {{#formatDate timestamp}}{{/formatDate}}\n\n#### Questions\n{{#each extraData.questions}}\n  **{{question}}**: {{answer}}\n{{/each}}",
        "tokens": [
            {"name": "petName", "label": "Pet Name", "type": "string"},
            {"name": "petAge", "label": "Pet Age", "type": "number"},
            {"name": "petColor", "label": "Pet Color", "type": "enumeration",
             "options": [{"value": "white", "label": "White"}, {"value": "black", "label": "Black"},
                         {"value": "brown", "label": "Brown"}, {"value": "other", "label": "Other"}]}
        ]
    })
}

/// A template of `object_type` with one string token `note` and a number token `n`.
pub fn simple(object_type: &str) -> Value {
    json!({
        "name": "Simple",
        "objectType": object_type,
        "headerTemplate": "Note: {{note}}",
        "detailTemplate": "n is {{n}}",
        "tokens": [
            {"name": "note", "label": "Note", "type": "string"},
            {"name": "n", "label": "N", "type": "number"}
        ]
    })
}

/// The names of `errors[].in` of an error answer, sorted.
pub fn error_fields(r: &TestResponse) -> Vec<String> {
    let mut fields: Vec<String> = r
        .errors()
        .iter()
        .filter_map(|e| e["in"].as_str().map(str::to_owned))
        .collect();
    fields.sort();
    fields
}
