//! `chronik project validate|upload DIR`: the folder read and checked offline, and uploads
//! against a scripted stand-in for `POST /projects/v1/deploys`, whose answers the tests choose
//! by developer key. The deploy endpoint itself is tested in the server's suite.

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::{chronik, json, stderr, stdout, Server};

const APP: &str = r#"{"uid": "lot_app", "type": "app", "config": {"name": "Lot"}}"#;

const CAR: &str = r#"{"uid": "car_object", "type": "app-object", "config": {"name": "CAR",
    "description": "Cars", "singularForm": "Car", "pluralForm": "Cars",
    "primaryDisplayLabelPropertyName": "model",
    "properties": [{"name": "model", "label": "Model", "type": "string"}]}}"#;

const CARD: &str = r#"{"uid": "card", "type": "card", "config": {}}"#;

/// A project folder as HubSpot's CLI lays it out, with extra files (path, content) in `src/`.
fn project(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![
        (
            "hsproject.json",
            r#"{"name": "lot", "srcDir": "src", "platformVersion": "2025.2"}"#,
        ),
        ("src/app/app-hsmeta.json", APP),
        ("src/app/app-objects/car-hsmeta.json", CAR),
        ("src/app/cards/card-hsmeta.json", CARD),
        ("src/app/cards/Card.jsx", "export default () => null;"),
        (
            "src/app/cards/node_modules/dep/dep-hsmeta.json",
            "not even JSON",
        ),
    ];
    let extra: Vec<(String, &str)> = extra
        .iter()
        .map(|(path, content)| (format!("src/{path}"), *content))
        .collect();
    files.extend(extra.iter().map(|(p, c)| (p.as_str(), *c)));
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn project_cmd(args: &[&str], dir: &Path) -> Output {
    chronik()
        .arg("project")
        .args(args)
        .arg(dir)
        .env_remove("CHRONIK_URL")
        .env_remove("CHRONIK_DEVELOPER_KEY")
        .output()
        .unwrap()
}

// --- validate ---------------------------------------------------------------------------------

#[test]
fn validate_lists_the_app_objects_and_the_skipped_components() {
    let dir = project(&[]);
    let out = project_cmd(&["validate"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "app (uid lot_app)\n\
         app object CAR (uid car_object): 1 property\n\
         skipped app/cards/card-hsmeta.json: Chronik does not deploy card components\n"
    );
}

#[test]
fn validate_lists_every_problem_by_file_and_fails() {
    let dir = project(&[
        (
            "app/app-objects/van-hsmeta.json",
            &CAR.replace("CAR", "VAN"),
        ),
        ("app/app-objects/bus-hsmeta.json", "{not json"),
    ]);
    let out = project_cmd(&["validate"], dir.path());
    assert!(!out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("app/app-objects/bus-hsmeta.json: "),
        "{text}"
    );
    assert!(
        lines[1].starts_with("app/app-objects/van-hsmeta.json: ")
            && lines[1].contains("car_object"),
        "{text}"
    );
    assert!(stderr(&out).contains("2 problems in "), "{}", stderr(&out));
}

#[test]
fn validate_of_a_missing_folder_names_it() {
    let out = project_cmd(&["validate"], Path::new("/nonexistent/project"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("could not open /nonexistent/project"),
        "{}",
        stderr(&out)
    );
}

// --- upload against a scripted deploy endpoint ------------------------------------------------

/// Keys the stand-in answers 200, 400 and 401 to.
const GOOD_KEY: &str = "11111111-2222-3333-4444-555555555555";
const REFUSED_PROJECT_KEY: &str = "refuse-the-project";

/// What the stand-in received: each request's `hapikey` and body.
type Requests = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A stand-in for `POST /projects/v1/deploys` that records every request it gets.
struct Fake {
    url: String,
    requests: Requests,
    _runtime: tokio::runtime::Runtime,
}

async fn fake_deploy(
    State(requests): State<Requests>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let key = query.get("hapikey").cloned();
    requests.lock().unwrap().push((key.clone(), body));
    match key.as_deref() {
        Some(GOOD_KEY) => axum::Json(json!({
            "appId": 1000001,
            "appObjects": [{"uid": "car_object", "name": "CAR", "objectTypeId": "4-1",
                            "fullyQualifiedName": "a1000001_CAR", "change": "CREATED"}],
            "skipped": [{"path": "app/cards/card-hsmeta.json", "type": "card",
                         "reason": "Chronik does not deploy card components"}],
        }))
        .into_response(),
        Some(REFUSED_PROJECT_KEY) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "status": "error", "message": "The project has 1 problem", "correlationId": "corr-7",
                "category": "VALIDATION_ERROR",
                "errors": [{"message": "app/app-objects/car-hsmeta.json: config.name cannot change from \"CAR\" to \"AUTO\" once deployed",
                            "in": "files", "code": "IMMUTABLE"}],
            })),
        )
            .into_response(),
        _ => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"status": "error", "message": "The developer API key is invalid.",
                              "correlationId": "corr-1", "category": "INVALID_AUTHENTICATION"})),
        )
            .into_response(),
    }
}

fn fake() -> Fake {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/projects/v1/deploys", axum::routing::post(fake_deploy))
        .with_state(requests.clone());
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    Fake {
        url,
        requests,
        _runtime: runtime,
    }
}

fn upload(url: &str, key: Option<&str>, extra: &[&str], dir: &Path) -> Output {
    let mut args = vec!["upload", "--url", url];
    if let Some(key) = key {
        args.extend(["--developer-key", key]);
    }
    args.extend(extra);
    project_cmd(&args, dir)
}

#[test]
fn upload_sends_the_component_files_with_the_key_and_prints_the_deploy() {
    let fake = fake();
    let dir = project(&[]);
    let out = upload(&fake.url, Some(GOOD_KEY), &[], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "deployed to app 1000001\n\
         CAR  4-1  a1000001_CAR  created\n\
         skipped app/cards/card-hsmeta.json: Chronik does not deploy card components\n"
    );
    let requests = fake.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    let (key, body) = &requests[0];
    assert_eq!(key.as_deref(), Some(GOOD_KEY));
    assert_eq!(
        body,
        &json!({"files": [
            {"path": "app/app-hsmeta.json", "content": APP},
            {"path": "app/app-objects/car-hsmeta.json", "content": CAR},
            {"path": "app/cards/card-hsmeta.json", "content": CARD},
        ]})
    );
}

#[test]
fn upload_json_prints_the_servers_answer() {
    let fake = fake();
    let dir = project(&[]);
    let answer = json(&upload(&fake.url, Some(GOOD_KEY), &["--json"], dir.path()));
    assert_eq!(answer["appId"], 1000001);
    assert_eq!(answer["appObjects"][0]["change"], "CREATED");
    assert_eq!(answer["skipped"][0]["type"], "card");
}

#[test]
fn upload_with_local_problems_lists_them_and_sends_nothing() {
    let fake = fake();
    let dir = project(&[("app/app-objects/bus-hsmeta.json", "{not json")]);
    let out = upload(&fake.url, Some(GOOD_KEY), &[], dir.path());
    assert!(!out.status.success());
    assert!(
        stdout(&out).starts_with("app/app-objects/bus-hsmeta.json: "),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("1 problem in ") && stderr(&out).contains("nothing was sent"),
        "{}",
        stderr(&out)
    );
    assert!(fake.requests.lock().unwrap().is_empty());
}

#[test]
fn a_refused_project_lists_the_servers_problems_and_fails() {
    let fake = fake();
    let dir = project(&[]);
    let out = upload(&fake.url, Some(REFUSED_PROJECT_KEY), &[], dir.path());
    assert!(!out.status.success());
    assert_eq!(
        stdout(&out),
        "app/app-objects/car-hsmeta.json: config.name cannot change from \"CAR\" to \"AUTO\" once deployed\n"
    );
    let err = stderr(&out);
    assert!(
        err.contains("400") && err.contains("The project has 1 problem") && err.contains("corr-7"),
        "{err}"
    );
}

#[test]
fn a_refused_key_is_reported_with_the_servers_message() {
    let fake = fake();
    let dir = project(&[]);
    let out = upload(&fake.url, Some("wrong-key"), &[], dir.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("401")
            && err.contains("The developer API key is invalid")
            && err.contains("--developer-key"),
        "{err}"
    );
    assert_eq!(fake.requests.lock().unwrap().len(), 1);
}

#[test]
fn a_missing_developer_key_says_how_to_pass_one() {
    let dir = project(&[]);
    let out = upload("http://127.0.0.1:9", None, &[], dir.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--developer-key")
            && err.contains("CHRONIK_DEVELOPER_KEY")
            && err.contains("chronik admin apps create"),
        "{err}"
    );
}

#[test]
fn an_unreachable_server_is_named_without_the_key() {
    let dir = project(&[]);
    let out = upload("http://127.0.0.1:9", Some(GOOD_KEY), &[], dir.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("could not reach http://127.0.0.1:9/projects/v1/deploys")
            && err.contains("is `chronik serve` running?"),
        "{err}"
    );
    assert!(!err.contains(GOOD_KEY), "the key leaked: {err}");
}

// --- upload against `chronik serve` -----------------------------------------------------------

#[test]
fn upload_deploys_to_a_running_server_and_an_unchanged_project_changes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let app = json(&server.admin(data.path(), &["--json", "apps", "create", "Lot"]));
    let key = app["developerApiKey"].as_str().unwrap();
    let fqn = format!("a{}_CAR", app["appId"]);
    let dir = project(&[]);

    let first = json(&upload(&server.url, Some(key), &["--json"], dir.path()));
    assert_eq!(first["appId"], app["appId"]);
    assert_eq!(first["appObjects"][0]["name"], "CAR");
    assert_eq!(first["appObjects"][0]["fullyQualifiedName"], fqn.as_str());
    assert_eq!(first["appObjects"][0]["change"], "CREATED");
    assert_eq!(first["skipped"][0]["path"], "app/cards/card-hsmeta.json");
    let type_id = first["appObjects"][0]["objectTypeId"].as_str().unwrap();

    let again = upload(&server.url, Some(key), &[], dir.path());
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains(&format!("CAR  {type_id}  {fqn}  unchanged\n")),
        "{}",
        stdout(&again)
    );

    let refused = upload(&server.url, Some("not-a-key"), &[], dir.path());
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("401"), "{}", stderr(&refused));
}
