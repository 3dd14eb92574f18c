//! `chronik send FILE`: against a real `chronik serve` (store, read back, bad lines, tokens) and
//! against a scripted stand-in for the batch endpoint (400 naming inputs, 429, stdin), whose
//! answers the tests choose.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::{chronik, json, stderr, stdout, Server};

/// Runs `chronik send --url <url> --token <token> <args>` with `input` on stdin.
fn send(url: &str, token: Option<&str>, args: &[&str], input: Option<&str>) -> Output {
    let mut cmd = chronik();
    cmd.args(["send", "--url", url])
        .env_remove("CHRONIK_TOKEN")
        .env_remove("CHRONIK_BATCH_SIZE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(token) = token {
        cmd.args(["--token", token]);
    }
    let mut child = cmd.args(args).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// The value of `key:` in the summary.
fn count(out: &Output, key: &str) -> u64 {
    let text = stdout(out);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key:?} in the summary:\n{text}"));
    let number = line.split_whitespace().next().unwrap_or_default();
    number.replace(',', "").parse().unwrap()
}

/// The line numbers the summary lists as rejected, with their reasons.
fn rejected_lines(out: &Output) -> Vec<(u64, String)> {
    stdout(out)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("line ")?;
            let (n, reason) = rest.split_once(": ")?;
            Some((n.parse().ok()?, reason.to_owned()))
        })
        .collect()
}

fn write_file(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    path
}

// --- without a server -------------------------------------------------------------------------

#[test]
fn batch_size_outside_1_to_500_is_refused_before_anything_is_read() {
    for size in ["0", "501"] {
        let out = send(
            "http://127.0.0.1:9",
            Some("t"),
            &["--batch-size", size, "-"],
            None,
        );
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("500") && err.contains(size), "{err}");
    }
}

#[test]
fn a_missing_token_says_how_to_pass_one() {
    let out = send("http://127.0.0.1:9", None, &["-"], Some("{}\n"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--token")
            && err.contains("CHRONIK_TOKEN")
            && err.contains("analytics.behavioral_events.send"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_named() {
    let out = send(
        "http://127.0.0.1:9",
        Some("t"),
        &["/nonexistent/x.ndjson"],
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("could not open /nonexistent/x.ndjson"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unreachable_server_stops_the_run_and_nothing_counts_as_sent() {
    let input = "{\"eventName\":\"pe1_x\"}\n{\"eventName\":\"pe1_x\"}\n";
    let out = send("http://127.0.0.1:9", Some("t"), &["-"], Some(input));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is `chronik serve` running?"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&out, "stored"), 0);
    assert_eq!(count(&out, "not sent"), 2, "{}", stdout(&out));
}

// --- against a scripted batch endpoint --------------------------------------------------------

const FAKE_TOKEN: &str = "pat-na1-fake";

/// A stand-in for `POST /events/v3/send/batch`: refuses inputs with `"bad": true` as HubSpot's
/// 400 (all or nothing, naming each by index; odd ones only through `in`), answers 429 once
/// `quota` completions are stored, and records what it stored.
struct Fake {
    url: String,
    stored: Arc<Mutex<Vec<Value>>>,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct FakeState {
    stored: Arc<Mutex<Vec<Value>>>,
    quota: usize,
}

async fn fake_batch(
    State(state): State<FakeState>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {FAKE_TOKEN}"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({"status": "error", "message": "Authentication credentials not found.",
                              "category": "INVALID_AUTHENTICATION"}),
            ),
        )
            .into_response();
    }
    let inputs = body["inputs"].as_array().cloned().unwrap_or_default();
    assert!(inputs.len() <= 500, "a batch of {}", inputs.len());
    let errors: Vec<Value> = inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| input["bad"] == true)
        .map(|(i, _)| {
            let path = format!("inputs[{i}].properties.bad");
            if i % 2 == 1 {
                json!({"message": format!("bad is not a property ({i})"), "in": path})
            } else {
                json!({"message": format!("bad is not a property ({i})"), "in": path,
                       "code": "UNKNOWN_PROPERTY", "context": {"inputIndex": [i.to_string()]}})
            }
        })
        .collect();
    if !errors.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"status": "error", "message": "Some inputs are invalid",
                              "correlationId": "c", "category": "VALIDATION_ERROR",
                              "errors": errors}),
            ),
        )
            .into_response();
    }
    let mut stored = state.stored.lock().unwrap();
    if stored.len() + inputs.len() > state.quota {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"status": "error", "category": "RATE_LIMITS",
                              "message": format!("You have reached your monthly limit of {}.", state.quota)})),
        )
            .into_response();
    }
    stored.extend(inputs);
    StatusCode::NO_CONTENT.into_response()
}

fn fake(quota: usize) -> Fake {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stored = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/events/v3/send/batch", axum::routing::post(fake_batch))
        .with_state(FakeState {
            stored: stored.clone(),
            quota,
        });
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    Fake {
        url,
        stored,
        _runtime: runtime,
    }
}

impl Fake {
    fn stored_uuids(&self) -> BTreeSet<String> {
        self.stored
            .lock()
            .unwrap()
            .iter()
            .map(|v| v["uuid"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn fake_line(n: u64, bad: bool) -> String {
    json!({"eventName": "pe1_x", "email": "a@b.c", "uuid": format!("u{n}"), "bad": bad}).to_string()
}

#[test]
fn inputs_the_server_names_are_rejected_by_line_and_the_rest_of_each_batch_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake(usize::MAX);
    let bad = [3u64, 600, 601, 604, 1_200];
    let mut lines: Vec<String> = (1..=1_200)
        .map(|n| fake_line(n, bad.contains(&n)))
        .collect();
    lines[49] = "{\"eventName\": ".to_owned();
    lines[99] = String::new();
    lines[149] = "[1, 2]".to_owned();
    let path = write_file(dir.path(), "mixed.ndjson", &lines);

    let out = send(
        &fake.url,
        Some(FAKE_TOKEN),
        &["--batch-size", "250", path.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    let rejected = rejected_lines(&out);
    let numbers: Vec<u64> = rejected.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        [3, 50, 150, 600, 601, 604, 1_200],
        "{}",
        stdout(&out)
    );
    let reason = |n: u64| &rejected.iter().find(|(l, _)| *l == n).unwrap().1;
    assert!(reason(50).contains("not valid JSON"), "{}", reason(50));
    assert!(reason(150).contains("not a JSON object"), "{}", reason(150));
    // The third batch holds lines 504-753 (lines 50, 100 and 150 took no place in the first):
    // line 600 is its input 96, named by `context.inputIndex`; line 601, input 97, only by `in`.
    assert!(
        reason(600).contains("bad is not a property (96)"),
        "{}",
        reason(600)
    );
    assert!(
        reason(601).contains("bad is not a property (97)"),
        "{}",
        reason(601)
    );

    assert_eq!(count(&out, "lines read"), 1_200);
    assert_eq!(count(&out, "stored"), 1_192);
    assert_eq!(count(&out, "rejected"), 7);
    assert_eq!(count(&out, "not sent"), 0);
    assert_eq!(count(&out, "blank"), 1);
    let expected: BTreeSet<String> = (1..=1_200u64)
        .filter(|n| !bad.contains(n) && ![50, 100, 150].contains(n))
        .map(|n| format!("u{n}"))
        .collect();
    assert_eq!(fake.stored_uuids(), expected);
    assert!(
        stderr(&out).contains("7 of 1,200 lines rejected"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_429_stops_the_run_and_every_line_read_is_stored_or_reported_not_sent() {
    let fake = fake(700);
    let input: String = (1..=2_000).map(|n| fake_line(n, false) + "\n").collect();
    let out = send(
        &fake.url,
        Some(FAKE_TOKEN),
        &["--batch-size", "100", "-"],
        Some(&input),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("429") && err.contains("monthly limit of 700"),
        "{err}"
    );
    assert_eq!(fake.stored.lock().unwrap().len(), 700);
    assert_eq!(count(&out, "stored"), 700);
    let read = count(&out, "lines read");
    assert_eq!(count(&out, "not sent"), read - 700, "{}", stdout(&out));
    assert!(read < 2_000, "the reader ran far ahead: {read}");
    assert!(
        stdout(&out).contains(&format!("not read:   every line after line {read}")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_refused_token_stops_the_run_with_the_servers_message() {
    let fake = fake(usize::MAX);
    let out = send(&fake.url, Some("wrong"), &["-"], Some(&fake_line(1, false)));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("401") && err.contains("Authentication credentials not found"),
        "{err}"
    );
    assert_eq!(count(&out, "not sent"), 1);
    assert!(fake.stored.lock().unwrap().is_empty());
}

#[test]
fn stdin_without_a_trailing_newline_is_sent_whole() {
    let fake = fake(usize::MAX);
    let input = format!("{}\r\n\n{}", fake_line(1, false), fake_line(3, false));
    let out = send(&fake.url, Some(FAKE_TOKEN), &["-"], Some(&input));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(count(&out, "lines read"), 3);
    assert_eq!(count(&out, "stored"), 2);
    assert_eq!(
        fake.stored_uuids(),
        BTreeSet::from(["u1".to_owned(), "u3".to_owned()])
    );
}

// --- against `chronik serve` ------------------------------------------------------------------

/// A server with an account, a contact, a private app that may send and define events, and the
/// definition `signup` with a `plan` property.
struct Account {
    server: Server,
    dir: tempfile::TempDir,
    token: String,
    fqn: String,
    contact_id: String,
    email: String,
}

fn http(method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut request = client
            .request(method.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    })
}

fn account(serve_args: &[&str]) -> Account {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), serve_args);
    let d = dir.path();
    let account = json(&server.admin(d, &["--json", "accounts", "create", "Acme"]));
    let portal = account["portalId"].to_string();
    let app = json(&server.admin(
        d,
        &[
            "--json",
            "private-apps",
            "create",
            "--portal-id",
            &portal,
            "--name",
            "import",
            "--scope",
            "analytics.behavioral_events.send,behavioral_events.event_definitions.read_write",
        ],
    ));
    let token = app["token"].as_str().unwrap().to_owned();
    let email = "ada@example.com".to_owned();
    let visitor = json(&server.admin(
        d,
        &[
            "--json",
            "visitors",
            "link",
            "--portal-id",
            &portal,
            "--utk",
            "utk-ada",
            "--email",
            &email,
        ],
    ));
    let contact_id = match &visitor["contactId"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (status, definition) = http(
        "POST",
        &format!("{}/events/v3/event-definitions", server.url),
        &token,
        Some(json!({"label": "Signup", "name": "signup",
                    "propertyDefinitions": [{"name": "plan", "label": "Plan", "type": "string"}]})),
    );
    assert_eq!(status, 201, "{definition}");
    let fqn = definition["fullyQualifiedName"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fqn, format!("pe{portal}_signup"));
    Account {
        server,
        dir,
        token,
        fqn,
        contact_id,
        email,
    }
}

impl Account {
    fn line(&self, n: u64) -> String {
        // Alternate the two identifiers a contact event may carry.
        let mut line = json!({"eventName": self.fqn, "uuid": format!("00000000-0000-4000-8000-{n:012}"),
                              "occurredAt": "2024-05-01T10:00:00.000Z",
                              "properties": {"plan": format!("plan-{n}")}});
        if n % 2 == 1 {
            line["email"] = json!(self.email);
        } else {
            line["objectId"] = json!(self.contact_id);
        }
        line.to_string()
    }

    fn send_file(&self, path: &Path, extra: &[&str]) -> Output {
        let mut args = extra.to_vec();
        args.push(path.to_str().unwrap());
        send(&self.server.url, Some(&self.token), &args, None)
    }

    /// Every occurrence of the definition, page by page: (ids, pages).
    fn read_back(&self, limit: u32) -> (Vec<Value>, usize) {
        let mut results = Vec::new();
        let mut pages = 0;
        let mut after: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/events/v3/events?eventType={}&limit={limit}",
                self.server.url, self.fqn
            );
            if let Some(after) = &after {
                url.push_str(&format!("&after={after}"));
            }
            let (status, page) = http("GET", &url, &self.token, None);
            assert_eq!(status, 200, "{page}");
            pages += 1;
            let batch = page["results"].as_array().unwrap();
            assert!(batch.len() <= limit as usize);
            results.extend(batch.iter().cloned());
            match page.pointer("/paging/next/after").and_then(Value::as_str) {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
            assert!(pages < 1_000, "paging does not end");
        }
        (results, pages)
    }
}

#[test]
fn thousands_of_completions_are_stored_in_several_batches_and_read_back_page_by_page() {
    let account = account(&[]);
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=2_345).map(|n| account.line(n)).collect();
    let path = write_file(dir.path(), "events.ndjson", &lines);

    let out = account.send_file(&path, &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(count(&out, "lines read"), 2_345);
    assert_eq!(count(&out, "stored"), 2_345);
    assert_eq!(count(&out, "rejected"), 0);

    let (results, pages) = account.read_back(100);
    assert_eq!(results.len(), 2_345);
    assert_eq!(pages, 24);
    let ids: BTreeSet<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2_345, "an occurrence came back twice");
    let plans: BTreeSet<&str> = results
        .iter()
        .map(|r| r["properties"]["plan"].as_str().unwrap())
        .collect();
    assert!(plans.contains("plan-1") && plans.contains("plan-2345"));
    assert!(results
        .iter()
        .all(|r| r["objectId"].as_str() == Some(account.contact_id.as_str())));

    // Sending the same file again stores nothing new: the uuids are already there.
    let out = account.send_file(&path, &["--batch-size", "300"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(account.read_back(500).0.len(), 2_345);
}

#[test]
fn bad_lines_are_named_by_number_and_every_good_line_is_stored() {
    let account = account(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = (1..=1_100).map(|n| account.line(n)).collect();
    // Line 7: not JSON.
    lines[6] = "eventName=signup".to_owned();
    // Line 260: a property the definition does not have.
    let mut unknown: Value = serde_json::from_str(&lines[259]).unwrap();
    unknown["properties"]["colour"] = json!("red");
    lines[259] = unknown.to_string();
    // Line 700: an event that is not defined.
    let mut undefined: Value = serde_json::from_str(&lines[699]).unwrap();
    undefined["eventName"] = json!("pe1_nothing_here");
    lines[699] = undefined.to_string();
    // Line 1,001: no identifier at all.
    let mut anonymous: Value = serde_json::from_str(&lines[1_000]).unwrap();
    anonymous.as_object_mut().unwrap().remove("email");
    anonymous.as_object_mut().unwrap().remove("objectId");
    lines[1_000] = anonymous.to_string();
    let path = write_file(dir.path(), "mixed.ndjson", &lines);

    let out = account.send_file(&path, &["--batch-size", "250"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let rejected = rejected_lines(&out);
    assert_eq!(
        rejected.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [7, 260, 700, 1_001],
        "{}",
        stdout(&out)
    );
    assert!(rejected[1].1.contains("colour"), "{}", rejected[1].1);
    assert!(
        rejected[2].1.contains("pe1_nothing_here"),
        "{}",
        rejected[2].1
    );
    assert!(
        rejected[3].1.contains("email") && rejected[3].1.contains("objectId"),
        "{}",
        rejected[3].1
    );
    assert_eq!(count(&out, "stored"), 1_096);
    assert_eq!(count(&out, "not sent"), 0);

    let (results, _) = account.read_back(500);
    let stored: BTreeSet<String> = results
        .iter()
        .map(|r| r["properties"]["plan"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = (1..=1_100u64)
        .filter(|n| ![7, 260, 700, 1_001].contains(n))
        .map(|n| format!("plan-{n}"))
        .collect();
    assert_eq!(stored, expected);
}

#[test]
fn an_unknown_token_or_one_without_the_send_scope_stops_with_the_servers_answer() {
    let account = account(&[]);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "one.ndjson", &[account.line(1)]);

    let out = send(
        &account.server.url,
        Some("pat-na1-not-a-token"),
        &[path.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("401") && err.contains("--token"), "{err}");
    assert_eq!(count(&out, "not sent"), 1);

    let d = account.dir.path();
    let portal = account
        .fqn
        .trim_start_matches("pe")
        .split('_')
        .next()
        .unwrap();
    let reader = json(&account.server.admin(
        d,
        &[
            "--json",
            "private-apps",
            "create",
            "--portal-id",
            portal,
            "--name",
            "crm only",
            "--scope",
            "crm.objects.contacts.read",
        ],
    ));
    let out = send(
        &account.server.url,
        reader["token"].as_str(),
        &[path.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("403") && err.contains("analytics.behavioral_events.send"),
        "{err}"
    );
    assert_eq!(account.read_back(10).0.len(), 0);
}

#[test]
fn the_monthly_quota_stops_the_run_with_exactly_the_quota_stored() {
    let account = account(&["--max-monthly-completions", "1000"]);
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=1_500).map(|n| account.line(n)).collect();
    let path = write_file(dir.path(), "too-many.ndjson", &lines);

    let out = account.send_file(&path, &["--batch-size", "200"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("429") && err.contains("1000"), "{err}");
    assert_eq!(count(&out, "stored"), 1_000, "{}", stdout(&out));
    assert_eq!(
        count(&out, "not sent"),
        count(&out, "lines read") - 1_000,
        "{}",
        stdout(&out)
    );
    assert_eq!(account.read_back(1_000).0.len(), 1_000);
}
