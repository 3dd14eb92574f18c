//! [`TestApp`]: one real Chronik server per test, on a port the OS picked, with one method per
//! endpoint, and the assertions every error response must pass.
//!
//! The listener is bound before the server is spawned, so a request sent right after
//! [`TestApp::spawn`] returns waits in the accept queue instead of racing the startup; no test
//! sleeps for the server to come up. SQLite lives in a temp dir that dies with the `TestApp`;
//! [`PgSchema`] gives PostgreSQL tests a fresh schema of `CHRONIK_TEST_DATABASE_URL`; those tests
//! carry `#[chronik_test_macros::postgres]`, which builds them `#[ignore]`d without the URL
//! (outside CI), so `cargo test` reports them `ignored` rather than `ok`. Logs stay silent unless
//! `TEST_LOG` is set.

use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use chronik_domain::Secret;
use chronik_server::{AppState, ServerConfig};
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The admin token every test server is started with.
pub const ADMIN_TOKEN: &str = "test-admin";

/// Access tokens of test servers live this long unless a test picks another lifetime: long
/// enough that no test outlives one by accident.
pub const TEST_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(600);

/// The header HubSpot (and Chronik) put the correlation id in.
pub const CORRELATION_HEADER: &str = "x-hubspot-correlation-id";

fn init_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            chronik_server::telemetry::init_tracing(chronik_server::telemetry::LogFormat::Human);
        }
    });
}

/// The configuration every test server starts from.
fn base_config(data_dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        data_dir: data_dir.to_path_buf(),
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        access_token_ttl: TEST_ACCESS_TOKEN_TTL,
        pg_max_connections: 4,
        ..Default::default()
    }
}

/// A fresh schema in `CHRONIK_TEST_DATABASE_URL`, dropped when the last holder goes away. Two
/// [`TestApp`]s on one `PgSchema` are two nodes on one database.
pub struct PgSchema {
    base: PgConnectOptions,
    schema: String,
    /// The URL a server is given: the test database with `search_path` set to the schema.
    url: String,
}

impl PgSchema {
    /// Creates a fresh schema. A test that calls this carries `#[chronik_test_macros::postgres]`
    /// and so runs only when it was built with the URL (or under CI, or asked for with
    /// `--ignored`): a missing URL here fails it.
    pub async fn fresh(test: &str) -> Arc<PgSchema> {
        let url = std::env::var("CHRONIK_TEST_DATABASE_URL").unwrap_or_default();
        if url.trim().is_empty() {
            panic!(
                "{test}: CHRONIK_TEST_DATABASE_URL is not set, and this PostgreSQL test was built \
                 to run (the URL or CI was set when it was built, or --ignored asked for it)"
            );
        }
        let base = PgConnectOptions::from_str(&url).expect("CHRONIK_TEST_DATABASE_URL parses");
        let schema = format!("t_{}", Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect_with(&base)
            .await
            .expect("connect to the test database");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .expect("create the test schema");
        conn.close().await.ok();
        // sqlx's URL parser passes `options` to the server as startup options, so every pooled
        // connection of the server under test starts with this search_path.
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        Arc::new(PgSchema { base, schema, url })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // runtime does the async cleanup. A failure only leaves a schema behind.
        let base = self.base.clone();
        let schema = self.schema.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect_with(&base).await {
                    let _ = conn.execute("SET lock_timeout = '5s'").await;
                    let _ = conn
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {schema} CASCADE"
                        )))
                        .await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// A response as the test saw it: status, headers and the body as text and as JSON
/// (`Value::Null` when the body is empty or not JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl TestResponse {
    /// The header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `body[key]` as a string; panics with the body when it is not one.
    #[track_caller]
    pub fn str(&self, key: &str) -> &str {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is not a string in {}", self.text))
    }

    /// `body[key]` as an integer; panics with the body when it is not one.
    #[track_caller]
    pub fn int(&self, key: &str) -> i64 {
        self.body[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{key} is not an integer in {}", self.text))
    }

    /// Asserts the status, with the body in the failure message.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts `Content-Type: application/json` (what the Node SDK needs to parse any body).
    #[track_caller]
    pub fn assert_json_content_type(&self) -> &Self {
        assert_eq!(
            self.header(CONTENT_TYPE.as_str()),
            Some("application/json"),
            "Content-Type of a JSON body; body: {}",
            self.text
        );
        self
    }

    /// Asserts that the body's `correlationId` is a UUID equal to the
    /// `X-HubSpot-Correlation-Id` header, and returns it.
    #[track_caller]
    pub fn assert_correlation_id(&self) -> Uuid {
        let header = self
            .header(CORRELATION_HEADER)
            .unwrap_or_else(|| panic!("no {CORRELATION_HEADER} header; body: {}", self.text));
        let in_body = self.str("correlationId");
        assert_eq!(
            in_body, header,
            "correlationId in the body equals the header"
        );
        Uuid::parse_str(in_body)
            .unwrap_or_else(|e| panic!("correlationId {in_body:?} is not a UUID: {e}"))
    }

    /// Asserts HubSpot's standard error body (api-reference §4.1): the status, the category,
    /// `status: "error"`, a message, JSON Content-Type and the correlation id.
    #[track_caller]
    pub fn assert_api_error(&self, status: u16, category: &str) -> &Self {
        self.assert_status(status);
        self.assert_json_content_type();
        assert_eq!(self.body["status"], "error", "body: {}", self.text);
        assert_eq!(self.body["category"], category, "body: {}", self.text);
        assert!(
            !self.str("message").is_empty(),
            "an error has a message: {}",
            self.text
        );
        self.assert_correlation_id();
        self
    }

    /// Asserts the token endpoint's error body (api-reference §4.5): 400, HubSpot's `status`
    /// word, the RFC 6749 `error`, a description, JSON Content-Type and the correlation id.
    #[track_caller]
    pub fn assert_oauth_error(&self, status_word: &str, error: &str) -> &Self {
        self.assert_status(400);
        self.assert_json_content_type();
        assert_eq!(self.body["status"], status_word, "body: {}", self.text);
        assert_eq!(self.body["error"], error, "body: {}", self.text);
        assert!(
            !self.str("message").is_empty(),
            "an error has a message: {}",
            self.text
        );
        assert_eq!(
            self.body["error_description"], self.body["message"],
            "error_description repeats message"
        );
        self.assert_correlation_id();
        self
    }

    /// The entries of `errors[]`.
    #[track_caller]
    pub fn errors(&self) -> &Vec<Value> {
        self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors[] in {}", self.text))
    }

    /// The `errors[]` entry whose `in` is `field`; panics when there is none.
    #[track_caller]
    pub fn error_in(&self, field: &str) -> &Value {
        self.errors()
            .iter()
            .find(|e| e["in"] == field)
            .unwrap_or_else(|| panic!("no errors[] entry in {field:?}: {}", self.text))
    }
}

/// An app's credentials, as `POST /admin/v1/apps` showed them.
#[derive(Debug, Clone)]
pub struct AppCreds {
    pub app_id: i64,
    pub client_id: String,
    pub client_secret: String,
    pub developer_api_key: String,
}

/// An install's tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub client: reqwest::Client,
    /// The state the server runs on (for test routers that use the public extractors).
    pub state: AppState,
    /// Where SQLite and the admin token would live.
    pub data_dir: tempfile::TempDir,
    /// Keeps the PostgreSQL schema alive while this server uses it.
    _pg: Option<Arc<PgSchema>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `127.0.0.1:0`, then spawns `router` on it; returns the base URL. The server stops when
/// the returned sender is dropped.
pub async fn serve_router(router: axum::Router) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .expect("test router serves");
    });
    (address, tx)
}

impl TestApp {
    /// A server on SQLite with the test defaults.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// A server on SQLite; `configure` adjusts the test defaults (body limit, token lifetime).
    pub async fn spawn_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
        Self::start(None, configure).await
    }

    /// A server on the PostgreSQL schema `pg` (call it twice with one schema for two nodes).
    pub async fn spawn_on_postgres(
        pg: &Arc<PgSchema>,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestApp {
        Self::start(Some(pg.clone()), configure).await
    }

    /// A server on a fresh PostgreSQL schema (see [`PgSchema::fresh`]).
    pub async fn spawn_postgres(test: &str) -> TestApp {
        let pg = PgSchema::fresh(test).await;
        Self::spawn_on_postgres(&pg, |_| {}).await
    }

    async fn start(
        pg: Option<Arc<PgSchema>>,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestApp {
        init_logs();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = base_config(data_dir.path());
        if let Some(pg) = &pg {
            config.database_url = Some(Secret::new(pg.url.clone()));
        }
        configure(&mut config);
        let started = chronik_server::start(config).await.expect("server starts");
        assert!(
            started.generated_admin_token.is_none(),
            "a configured admin token is never replaced by a generated one"
        );
        let state = started.state;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("local addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(chronik_server::serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        TestApp {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            state,
            data_dir,
            _pg: pg,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// The address the server listens on, for raw TCP clients.
    pub fn socket_addr(&self) -> std::net::SocketAddr {
        self.address
            .trim_start_matches("http://")
            .parse()
            .expect("the address is host:port")
    }

    /// Resolves the shutdown future; the returned task ends when `serve` returns.
    pub fn shut_down(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.take().expect("shut_down is called once")
    }

    /// The SQLite database file of this server.
    pub fn sqlite_path(&self) -> std::path::PathBuf {
        self.data_dir.path().join("chronik.sqlite3")
    }

    /// A request to `path` (which starts with `/`).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
    }

    /// A request with the admin token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(ADMIN_TOKEN)
    }

    /// Sends and reads the whole response.
    pub async fn send(&self, request: RequestBuilder) -> TestResponse {
        read(request.send().await.expect("request reaches the server")).await
    }

    // ---- /admin/v1 ----

    pub async fn create_account(&self, body: &Value) -> TestResponse {
        self.send(self.admin(Method::POST, "/admin/v1/accounts").json(body))
            .await
    }

    pub async fn list_accounts(&self) -> TestResponse {
        self.send(self.admin(Method::GET, "/admin/v1/accounts"))
            .await
    }

    pub async fn get_account(&self, portal_id: i64) -> TestResponse {
        self.send(self.admin(Method::GET, &format!("/admin/v1/accounts/{portal_id}")))
            .await
    }

    pub async fn create_private_app(&self, portal_id: i64, body: &Value) -> TestResponse {
        self.send(
            self.admin(
                Method::POST,
                &format!("/admin/v1/accounts/{portal_id}/private-apps"),
            )
            .json(body),
        )
        .await
    }

    pub async fn create_app(&self, body: &Value) -> TestResponse {
        self.send(self.admin(Method::POST, "/admin/v1/apps").json(body))
            .await
    }

    pub async fn install(&self, app_id: i64, body: &Value) -> TestResponse {
        self.send(
            self.admin(Method::POST, &format!("/admin/v1/apps/{app_id}/installs"))
                .json(body),
        )
        .await
    }

    pub async fn create_authorization_code(&self, app_id: i64, body: &Value) -> TestResponse {
        self.send(
            self.admin(
                Method::POST,
                &format!("/admin/v1/apps/{app_id}/authorization-codes"),
            )
            .json(body),
        )
        .await
    }

    pub async fn link_visitor(&self, portal_id: i64, body: &Value) -> TestResponse {
        self.send(
            self.admin(
                Method::POST,
                &format!("/admin/v1/accounts/{portal_id}/visitors"),
            )
            .json(body),
        )
        .await
    }

    pub async fn reset(&self, portal_id: i64) -> TestResponse {
        self.send(self.admin(
            Method::POST,
            &format!("/admin/v1/accounts/{portal_id}/reset"),
        ))
        .await
    }

    // ---- /oauth/v1 ----

    /// `POST /oauth/v1/token` with exactly these form fields.
    pub async fn token(&self, form: &[(&str, &str)]) -> TestResponse {
        self.send(self.request(Method::POST, "/oauth/v1/token").form(form))
            .await
    }

    /// The refresh grant, as the SDKs send it.
    pub async fn token_refresh(
        &self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> TestResponse {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// The authorization-code grant; `redirect_uri: None` leaves the field out.
    pub async fn token_code(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> TestResponse {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("code", code),
        ];
        if let Some(uri) = redirect_uri {
            form.push(("redirect_uri", uri));
        }
        self.token(&form).await
    }

    pub async fn access_token_info(&self, token: &str) -> TestResponse {
        self.send(self.request(Method::GET, &format!("/oauth/v1/access-tokens/{token}")))
            .await
    }

    pub async fn refresh_token_info(&self, token: &str) -> TestResponse {
        self.send(self.request(Method::GET, &format!("/oauth/v1/refresh-tokens/{token}")))
            .await
    }

    pub async fn revoke_refresh_token(&self, token: &str) -> TestResponse {
        self.send(self.request(Method::DELETE, &format!("/oauth/v1/refresh-tokens/{token}")))
            .await
    }

    // ---- /account-info/v3 ----

    /// `GET /account-info/v3/details` with `token` as Bearer (none when `None`).
    pub async fn account_details(&self, token: Option<&str>) -> TestResponse {
        let request = self.request(Method::GET, "/account-info/v3/details");
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        self.send(request).await
    }

    // ---- ops ----

    pub async fn health(&self) -> TestResponse {
        self.send(self.request(Method::GET, "/health")).await
    }

    pub async fn metrics(&self) -> TestResponse {
        self.send(self.request(Method::GET, "/metrics")).await
    }

    pub async fn openapi(&self) -> TestResponse {
        self.send(self.request(Method::GET, "/openapi.json")).await
    }

    // ---- provisioning shortcuts (each asserts its success status) ----

    /// Creates an account and returns its portalId.
    pub async fn new_account(&self, name: &str) -> i64 {
        let response = self.create_account(&json!({ "name": name })).await;
        response.assert_status(201);
        response.int("portalId")
    }

    /// Creates a private app in `portal_id` and returns its token.
    pub async fn new_private_app(&self, portal_id: i64, scopes: &[&str]) -> String {
        let response = self
            .create_private_app(portal_id, &json!({ "name": "probe", "scopes": scopes }))
            .await;
        response.assert_status(201);
        response.str("token").to_owned()
    }

    /// Creates an app and returns its credentials.
    pub async fn new_app(&self, name: &str) -> AppCreds {
        let response = self.create_app(&json!({ "name": name })).await;
        response.assert_status(201);
        AppCreds {
            app_id: response.int("appId"),
            client_id: response.str("clientId").to_owned(),
            client_secret: response.str("clientSecret").to_owned(),
            developer_api_key: response.str("developerApiKey").to_owned(),
        }
    }

    /// Installs `app` into `portal_id` with `scopes` and returns the tokens.
    pub async fn new_install(&self, app: &AppCreds, portal_id: i64, scopes: &[&str]) -> Tokens {
        let response = self
            .install(
                app.app_id,
                &json!({ "portalId": portal_id, "scopes": scopes }),
            )
            .await;
        response.assert_status(201);
        Tokens {
            access_token: response.str("accessToken").to_owned(),
            refresh_token: response.str("refreshToken").to_owned(),
        }
    }

    /// Issues an authorization code for `app` in `portal_id` and returns it.
    pub async fn new_code(&self, app: &AppCreds, portal_id: i64, redirect_uri: &str) -> String {
        let response = self
            .create_authorization_code(
                app.app_id,
                &json!({
                    "portalId": portal_id,
                    "scopes": ["crm.objects.contacts.read", "oauth"],
                    "redirectUri": redirect_uri,
                }),
            )
            .await;
        response.assert_status(201);
        response.str("code").to_owned()
    }
}

/// Reads a whole response.
pub async fn read(response: reqwest::Response) -> TestResponse {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    TestResponse {
        status,
        headers,
        text,
        body,
    }
}

/// The sorted keys of a JSON object.
#[track_caller]
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Sends a raw HTTP/1.1 request (for what reqwest cannot send: a chunked body, or headers
/// that promise a body never sent) and reads the response. The request must ask for
/// `Connection: close`, so the response ends at EOF.
pub async fn raw_http(address: &str, request: &[u8]) -> TestResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    // The server may answer (and close) before it has read everything; a write error then is
    // expected and the answer is still readable.
    let _ = stream.write_all(request).await;
    let _ = stream.flush().await;
    // A guard against a server that waits for a body that never comes: that is a failure,
    // not a timing measurement.
    let raw = tokio::time::timeout(Duration::from_secs(30), async {
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                // A server that closes with request bytes unread may reset the connection
                // after its answer; what arrived before the reset is the answer.
                Err(_) if !raw.is_empty() => break,
                Err(e) => panic!("read the response: {e}"),
            }
        }
        raw
    })
    .await
    .expect("the server answers without waiting for the rest of the body");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let mut lines = head.lines();
    let status: StatusCode = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.append(
                reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).expect("name"),
                value.trim().parse().expect("value"),
            );
        }
    }
    TestResponse {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
        text: body.to_owned(),
    }
}
