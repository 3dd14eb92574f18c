//! The connection layer over raw TCP: idle and half-sent connections are closed, the connection
//! cap holds and clears, shutdown is bounded, and every head hyper would refuse is answered with
//! HubSpot's JSON error body.
//!
//! Timeouts are shortened through `ServerConfig`; every wait has a generous bound, and no test
//! asserts how fast anything happens.

use std::time::Duration;

use chronik_server::http_conn::head::{MAX_HEADERS, MAX_HEAD_BYTES, MAX_URI_BYTES};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, TestResponse, ADMIN_TOKEN};

/// How long a test waits for something the server must do; far above the shortened timeouts.
const BOUND: Duration = Duration::from_secs(10);

/// Timeouts short enough for tests.
fn short(config: &mut chronik_server::ServerConfig) {
    config.header_read_timeout = Duration::from_millis(500);
    config.idle_timeout = Duration::from_millis(800);
    config.request_body_timeout = Duration::from_millis(800);
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.socket_addr()).await.unwrap()
}

/// Reads until the server closes the connection (EOF or reset), within [`BOUND`]; panics if it
/// stays open.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {BOUND:?}; read so far: {:?}",
        String::from_utf8_lossy(&out)
    );
    out
}

/// Splits what a connection received into responses (each with a `Content-Length` body).
fn responses(mut bytes: &[u8]) -> Vec<TestResponse> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(bytes)));
        let head = std::str::from_utf8(&bytes[..end]).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let code: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').unwrap();
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
        let length: usize = headers
            .get("content-length")
            .map(|v| v.to_str().unwrap().parse().unwrap())
            .unwrap_or_else(|| panic!("a response without Content-Length: {head}"));
        let body_bytes = &bytes[end + 4..end + 4 + length];
        let text = String::from_utf8_lossy(body_bytes).into_owned();
        out.push(TestResponse {
            status: StatusCode::from_u16(code).unwrap(),
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        });
        bytes = &bytes[end + 4 + length..];
    }
    out
}

/// Sends `request` on a fresh connection and returns every response until the server closes.
async fn exchange(app: &TestApp, request: &[u8]) -> Vec<TestResponse> {
    let mut stream = connect(app).await;
    stream.write_all(request).await.unwrap();
    responses(&read_until_closed(&mut stream).await)
}

/// Sends `request` and returns its one response.
async fn one(app: &TestApp, request: &[u8]) -> TestResponse {
    let mut got = exchange(app, request).await;
    assert_eq!(got.len(), 1, "one response expected: {got:?}");
    got.remove(0)
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
const HEALTH_CLOSE: &[u8] = b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn idle_connection_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_with(short).await;
    let mut stream = connect(&app).await;
    assert!(read_until_closed(&mut stream).await.is_empty());
}

#[tokio::test]
async fn keep_alive_connection_is_closed_once_idle_after_its_response() {
    let app = TestApp::spawn_with(short).await;
    let mut stream = connect(&app).await;
    stream.write_all(HEALTH).await.unwrap();
    let got = responses(&read_until_closed(&mut stream).await);
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].assert_status(200);
}

#[tokio::test]
async fn half_sent_head_is_closed_after_the_header_read_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.header_read_timeout = Duration::from_secs(1);
        // The idle timeout alone would not close it within the bound.
        c.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    assert!(read_until_closed(&mut stream).await.is_empty());

    // A head that does arrive whole in time is answered.
    let mut stream = connect(&app).await;
    stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
        .write_all(b"Host: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let got = responses(&read_until_closed(&mut stream).await);
    got[0].assert_status(200);
}

#[tokio::test]
async fn body_that_does_not_arrive_in_time_is_refused_and_the_connection_closed() {
    let app = TestApp::spawn_with(short).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{{\"name\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let got = responses(&read_until_closed(&mut stream).await);
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].assert_api_error(400, "VALIDATION_ERROR");
    assert!(
        got[0].str("message").contains("request body timeout"),
        "{}",
        got[0].text
    );
}

#[tokio::test]
async fn connection_cap_holds_and_health_answers_once_stale_connections_close() {
    let app = TestApp::spawn_with(|c| {
        short(c);
        // Long enough that the held connections surely outlast the check below.
        c.idle_timeout = Duration::from_secs(2);
        c.max_connections = 2;
    })
    .await;
    // Two connections take the two places: each is answered, then idles.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        stream.write_all(HEALTH).await.unwrap();
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
        held.push(stream);
    }
    // A third waits: no answer while both places are held.
    let mut third = connect(&app).await;
    third.write_all(HEALTH_CLOSE).await.unwrap();
    let mut buf = [0u8; 4096];
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a connection past the cap was served: {early:?}"
    );
    // The idle timeout closes the two held connections; the third is then served.
    let got = responses(&read_until_closed(&mut third).await);
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].assert_status(200);
    for mut stream in held {
        assert!(read_until_closed(&mut stream).await.is_empty());
    }
    // And the server keeps serving.
    one(&app, HEALTH_CLOSE).await.assert_status(200);
}

#[tokio::test]
async fn shutdown_with_a_half_sent_head_finishes_within_the_bound() {
    let mut app = TestApp::spawn_with(|c| {
        // No timeout would close the half-sent head within the bound.
        c.header_read_timeout = Duration::from_secs(600);
        c.idle_timeout = Duration::from_secs(600);
        c.shutdown_grace_period = Duration::from_secs(600);
    })
    .await;
    // The connection is surely accepted once a first request was answered on it.
    let mut half = connect(&app).await;
    half.write_all(HEALTH).await.unwrap();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(BOUND, half.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let mut fresh = connect(&app).await;
    fresh
        .write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let server = app.shut_down();
    let finished = tokio::time::timeout(BOUND, server).await;
    assert!(
        finished.is_ok(),
        "serve did not return within {BOUND:?} of the shutdown signal"
    );
    finished.unwrap().unwrap().unwrap();
    assert!(read_until_closed(&mut half).await.is_empty());
    assert!(read_until_closed(&mut fresh).await.is_empty());
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_closes_the_rest_after_the_grace_period() {
    let mut app = TestApp::spawn_with(|c| {
        c.header_read_timeout = Duration::from_secs(600);
        c.idle_timeout = Duration::from_secs(600);
        c.request_body_timeout = Duration::from_secs(600);
        c.shutdown_grace_period = Duration::from_secs(2);
    })
    .await;
    let body = br#"{"name":"In flight"}"#;
    let head = format!(
        "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // One request in flight whose body is finished after the signal, one that never is.
    let mut finishing = connect(&app).await;
    finishing.write_all(head.as_bytes()).await.unwrap();
    finishing.write_all(&body[..5]).await.unwrap();
    let mut stalled = connect(&app).await;
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let server = app.shut_down();
    tokio::time::sleep(Duration::from_millis(200)).await;
    finishing.write_all(&body[5..]).await.unwrap();
    let got = responses(&read_until_closed(&mut finishing).await);
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].assert_status(201);
    assert_eq!(got[0].body["name"], "In flight");

    let finished = tokio::time::timeout(BOUND, server).await;
    assert!(finished.is_ok(), "serve outlived its grace period");
    assert!(read_until_closed(&mut stalled).await.is_empty());
}

/// A request whose target is `len` bytes long.
fn target_of(len: usize) -> String {
    let prefix = "/health?pad=";
    format!("{prefix}{}", "a".repeat(len - prefix.len()))
}

#[tokio::test]
async fn request_target_past_the_limit_gets_414_with_hubspots_error_body() {
    let app = TestApp::spawn().await;
    let at_limit = format!(
        "GET {} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        target_of(MAX_URI_BYTES)
    );
    one(&app, at_limit.as_bytes()).await.assert_status(200);

    let past = format!(
        "GET {} HTTP/1.1\r\nHost: t\r\n\r\n",
        target_of(MAX_URI_BYTES + 1)
    );
    let got = one(&app, past.as_bytes()).await;
    got.assert_api_error(414, "VALIDATION_ERROR");
    assert!(
        got.str("message").contains(&MAX_URI_BYTES.to_string()),
        "{}",
        got.text
    );
    assert_eq!(got.body["errors"][0]["in"], "uri", "{}", got.text);
    assert_eq!(got.header("connection"), Some("close"));

    // Far past hyper's own limit (65,534), still ours, even before the line ends.
    let huge = format!("GET {}", target_of(100_000));
    one(&app, huge.as_bytes())
        .await
        .assert_api_error(414, "VALIDATION_ERROR");
}

/// A head of exactly `len` bytes, padded with one header.
fn head_of(len: usize) -> String {
    let start = "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\nx-pad: ";
    let end = "\r\n\r\n";
    format!("{start}{}{end}", "a".repeat(len - start.len() - end.len()))
}

#[tokio::test]
async fn request_head_past_the_limit_gets_431_with_hubspots_error_body() {
    let app = TestApp::spawn().await;
    one(&app, head_of(MAX_HEAD_BYTES).as_bytes())
        .await
        .assert_status(200);
    let got = one(&app, head_of(MAX_HEAD_BYTES + 1).as_bytes()).await;
    got.assert_api_error(431, "VALIDATION_ERROR");
    assert!(
        got.str("message").contains(&MAX_HEAD_BYTES.to_string()),
        "{}",
        got.text
    );
    // Far past it, as one header that never ends.
    let endless = format!(
        "GET /health HTTP/1.1\r\nx-pad: {}",
        "a".repeat(4 * MAX_HEAD_BYTES)
    );
    one(&app, endless.as_bytes())
        .await
        .assert_api_error(431, "VALIDATION_ERROR");
}

#[tokio::test]
async fn more_header_lines_than_the_limit_get_431_with_hubspots_error_body() {
    let app = TestApp::spawn().await;
    let lines = |n: usize| -> String { (0..n).map(|i| format!("x-h{i}: 1\r\n")).collect() };
    // Host and Connection count too.
    let at_limit = format!(
        "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{}\r\n",
        lines(MAX_HEADERS - 2)
    );
    one(&app, at_limit.as_bytes()).await.assert_status(200);
    let past = format!(
        "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{}\r\n",
        lines(MAX_HEADERS - 1)
    );
    let got = one(&app, past.as_bytes()).await;
    got.assert_api_error(431, "VALIDATION_ERROR");
    assert!(
        got.str("message").contains(&MAX_HEADERS.to_string()),
        "{}",
        got.text
    );
}

#[tokio::test]
async fn heads_hyper_refuses_get_400_with_hubspots_error_body_naming_the_part() {
    let app = TestApp::spawn().await;
    for (description, head, part) in [
        (
            "Content-Length not a number",
            "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nContent-Length: ten\r\n\r\n",
            "Content-Length",
        ),
        (
            "negative Content-Length",
            "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
            "Content-Length",
        ),
        (
            "Content-Length past hyper's maximum",
            "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nContent-Length: 18446744073709551615\r\n\r\n",
            "Content-Length",
        ),
        (
            "two different Content-Lengths",
            "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "Content-Length",
        ),
        (
            "a control byte in the path",
            "GET /hea\x01lth HTTP/1.1\r\nHost: t\r\n\r\n",
            "uri",
        ),
        (
            "a DEL byte in the path",
            "GET /hea\x7flth HTTP/1.1\r\nHost: t\r\n\r\n",
            "uri",
        ),
        (
            "a space in the path",
            "GET /hea lth HTTP/1.1\r\nHost: t\r\n\r\n",
            "version",
        ),
        (
            "a method that is not a token",
            "GE(T /health HTTP/1.1\r\nHost: t\r\n\r\n",
            "method",
        ),
        ("HTTP/2 over HTTP/1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "version"),
        (
            "a header line without a colon",
            "GET /health HTTP/1.1\r\nHost t\r\n\r\n",
            "headers",
        ),
        (
            "a transfer coding other than chunked",
            "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
            "Transfer-Encoding",
        ),
        (
            "both Content-Length and Transfer-Encoding",
            "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            "Transfer-Encoding",
        ),
    ] {
        let got = one(&app, head.as_bytes()).await;
        assert_eq!(got.status.as_u16(), 400, "{description}: {}", got.text);
        got.assert_api_error(400, "VALIDATION_ERROR");
        assert_eq!(
            got.body["errors"][0]["in"], part,
            "{description}: {}",
            got.text
        );
    }
}

#[tokio::test]
async fn refusal_on_a_keep_alive_connection_follows_the_answers_before_it() {
    let app = TestApp::spawn().await;
    let body = br#"{"name":"Before the bad head"}"#;
    let mut pipelined = format!(
        "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    pipelined.extend_from_slice(body);
    pipelined.extend_from_slice(HEALTH);
    pipelined.extend_from_slice(b"GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n");
    pipelined.extend_from_slice(HEALTH);
    let got = exchange(&app, &pipelined).await;
    assert_eq!(got.len(), 3, "{got:?}");
    got[0].assert_status(201);
    assert_eq!(got[0].body["name"], "Before the bad head");
    got[1].assert_status(200);
    got[2].assert_api_error(400, "VALIDATION_ERROR");

    // The same, with the requests sent one at a time on one connection.
    let mut stream = connect(&app).await;
    let mut buf = [0u8; 4096];
    for _ in 0..2 {
        stream.write_all(HEALTH).await.unwrap();
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    }
    stream
        .write_all(b"GET /he\x01alth HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let got = responses(&read_until_closed(&mut stream).await);
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].assert_api_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn chunked_request_is_served_and_its_connection_closed_after_it() {
    let app = TestApp::spawn().await;
    let request = format!(
        "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{{\"name\":\r\n9\r\n\"Chunked\"\r\n1\r\n}}\r\n0\r\n\r\n"
    );
    let mut bytes = request.into_bytes();
    // A request after it on the same connection is not taken.
    bytes.extend_from_slice(HEALTH);
    let got = exchange(&app, &bytes).await;
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].assert_status(201);
    assert_eq!(got[0].body["name"], "Chunked");
    assert_eq!(got[0].header("connection"), Some("close"));
}

#[tokio::test]
async fn ordinary_requests_on_a_keep_alive_connection_are_all_served() {
    let app = TestApp::spawn().await;
    let mut bytes = Vec::new();
    for _ in 0..5 {
        // Empty lines between requests are allowed and ignored.
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(HEALTH);
    }
    bytes.extend_from_slice(HEALTH_CLOSE);
    let got = exchange(&app, &bytes).await;
    assert_eq!(got.len(), 6, "{got:?}");
    for response in &got {
        response.assert_status(200);
    }
}

#[tokio::test]
async fn client_that_reads_no_response_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_with(short).await;
    let mut stream = connect(&app).await;
    // Far more response bytes than the socket buffers hold, and never read while they are sent.
    const REQUESTS: usize = 400;
    let request = b"GET /openapi.json HTTP/1.1\r\nHost: t\r\n\r\n";
    let all: Vec<u8> = request.repeat(REQUESTS);
    let _ = tokio::time::timeout(BOUND, stream.write_all(&all)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = read_until_closed(&mut stream).await;
    let answered = received
        .windows(12)
        .filter(|w| w == b"HTTP/1.1 200")
        .count();
    assert!(
        answered < REQUESTS,
        "the server kept writing to a client that read nothing ({answered} responses)"
    );
}

#[tokio::test]
async fn requests_split_into_small_pieces_are_framed_as_whole_ones() {
    let app = TestApp::spawn().await;
    let body = br#"{"name":"In pieces"}"#;
    let mut bytes = format!(
        "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(HEALTH);
    bytes.extend_from_slice(b"GET /health HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n");
    let mut stream = connect(&app).await;
    stream.set_nodelay(true).unwrap();
    for piece in bytes.chunks(7) {
        stream.write_all(piece).await.unwrap();
        stream.flush().await.unwrap();
    }
    let got = responses(&read_until_closed(&mut stream).await);
    assert_eq!(got.len(), 3, "{got:?}");
    got[0].assert_status(201);
    assert_eq!(got[0].body["name"], "In pieces");
    got[1].assert_status(200);
    got[2].assert_api_error(400, "VALIDATION_ERROR");
    assert_eq!(got[2].body["errors"][0]["in"], "Content-Length");
}

#[tokio::test]
async fn expect_100_continue_gets_its_interim_answer_and_the_body_is_read() {
    let app = TestApp::spawn().await;
    let body = br#"{"name":"Expected"}"#;
    let head = format!(
        "POST /admin/v1/accounts HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = connect(&app).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
    let mut buf = vec![0u8; interim.len()];
    tokio::time::timeout(BOUND, stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(buf, interim);
    stream.write_all(body).await.unwrap();
    let got = responses(&read_until_closed(&mut stream).await);
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].assert_status(201);
    assert_eq!(got[0].body["name"], "Expected");
}

#[tokio::test]
async fn request_asking_for_an_upgrade_is_answered_and_the_connection_goes_on() {
    let app = TestApp::spawn().await;
    let mut bytes =
        b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
            .to_vec();
    bytes.extend_from_slice(HEALTH_CLOSE);
    let got = exchange(&app, &bytes).await;
    assert_eq!(got.len(), 2, "{got:?}");
    got[0].assert_status(200);
    got[1].assert_status(200);
}
