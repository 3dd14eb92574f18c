//! `chronik serve`: start-up, the admin token, configuration errors, graceful shutdown.

use std::process::Command;

use crate::{chronik, stderr, Server};

#[test]
fn generated_admin_token_is_printed_once_and_stored_privately() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), &[]);
    assert_eq!(first.preamble.len(), 1, "{:?}", first.preamble);
    let token = first.preamble[0]
        .strip_prefix("admin token (shown once, stored in the data directory): ")
        .unwrap()
        .to_owned();
    let stored = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    assert_eq!(stored.trim(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("admin-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "admin token readable by others: {mode:o}");
    }
    assert!(first.terminate().success());

    let second = Server::start(dir.path(), &[]);
    assert!(
        second.preamble.is_empty(),
        "token printed again: {:?}",
        second.preamble
    );
    // The stored token still works.
    let out = second.admin(dir.path(), &["accounts", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn configured_admin_token_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--admin-token", "operator-secret"]);
    assert!(server.preamble.is_empty());
    assert!(!dir.path().join("admin-token").exists());
    let out = crate::chronik()
        .args([
            "admin",
            "--url",
            &server.url,
            "--admin-token",
            "operator-secret",
            "accounts",
            "list",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn unsupported_database_url_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = chronik()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            "mysql://x@localhost/db",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("unsupported database URL scheme"), "{err}");
    assert!(err.contains("postgres://"), "{err}");
}

#[test]
fn sigterm_shuts_down_cleanly_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let created =
        crate::json(&server.admin(dir.path(), &["--json", "accounts", "create", "Durable"]));
    let status = server.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");

    let again = Server::start(dir.path(), &[]);
    let got = crate::json(&again.admin(
        dir.path(),
        &[
            "--json",
            "accounts",
            "get",
            &created["portalId"].to_string(),
        ],
    ));
    assert_eq!(got["name"], "Durable");
}

#[test]
fn help_lists_every_serve_flag_with_its_env_var() {
    let out = chronik().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for (flag, env) in [
        ("--addr", "CHRONIK_ADDR"),
        ("--data", "CHRONIK_DATA"),
        ("--admin-token", "CHRONIK_ADMIN_TOKEN"),
        ("--database-url", "CHRONIK_DATABASE_URL"),
        ("--log-format", "CHRONIK_LOG_FORMAT"),
        ("--access-token-ttl", "CHRONIK_ACCESS_TOKEN_TTL"),
        ("--max-body-bytes", "CHRONIK_MAX_BODY_BYTES"),
        ("--header-read-timeout", "CHRONIK_HEADER_READ_TIMEOUT"),
        ("--idle-timeout", "CHRONIK_IDLE_TIMEOUT"),
        ("--request-body-timeout", "CHRONIK_REQUEST_BODY_TIMEOUT"),
        ("--max-connections", "CHRONIK_MAX_CONNECTIONS"),
        ("--shutdown-grace-period", "CHRONIK_SHUTDOWN_GRACE_PERIOD"),
    ] {
        assert!(
            help.contains(flag) && help.contains(env),
            "{flag}/{env} missing:\n{help}"
        );
    }
    assert!(
        help.contains("127.0.0.1:8080"),
        "default address not shown:\n{help}"
    );
}

#[test]
fn json_log_format_writes_one_json_object_per_line_without_secrets() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = chronik()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--admin-token",
            "never-logged-secret",
            "--data",
        ])
        .arg(dir.path())
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        assert!(
            !line.contains("never-logged-secret"),
            "secret in log: {line}"
        );
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            value.get("level").is_some() && value.get("timestamp").is_some(),
            "{line}"
        );
        let listening = value.get("message").and_then(|m| m.as_str()) == Some("listening");
        seen.push(value);
        if listening {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let last = seen.last().expect("some log lines");
    assert_eq!(last["message"], "listening");
    assert!(
        last["addr"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{last}"
    );
}

#[test]
fn sigterm_during_writes_finishes_them_and_keeps_every_acknowledged_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--admin-token", "t"]);
    let url = server.url.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (acknowledged, server_errors) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for worker in 0..8 {
            let (client, url) = (client.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut failures = 0;
                // Bounded: at most 2,000 writes per worker; stops at the first refused connection.
                for i in 0..2_000 {
                    let name = format!("w{worker}-{i}");
                    match client
                        .post(format!("{url}/admin/v1/accounts"))
                        .bearer_auth("t")
                        .json(&serde_json::json!({ "name": name }))
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => acked.push(name),
                        Ok(_) => failures += 1,
                        Err(_) => break,
                    }
                }
                (acked, failures)
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let pid = server.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let mut acked = Vec::new();
        let mut failures = 0;
        for t in tasks {
            let (a, f) = t.await.unwrap();
            acked.extend(a);
            failures += f;
        }
        (acked, failures)
    });
    let mut server = server;
    assert!(
        server.child.wait().unwrap().success(),
        "server did not exit cleanly on SIGTERM"
    );
    assert_eq!(
        server_errors, 0,
        "requests in flight got an error status during shutdown"
    );
    assert!(
        !acknowledged.is_empty(),
        "no write was acknowledged before the signal"
    );

    let again = Server::start(dir.path(), &["--admin-token", "t"]);
    let list = crate::json(&again.admin(
        dir.path(),
        &["--json", "--admin-token", "t", "accounts", "list"],
    ));
    let stored: std::collections::HashSet<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !stored.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

#[test]
fn sigterm_with_a_half_sent_head_exits_within_the_bound() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    const BOUND: Duration = Duration::from_secs(15);
    let dir = tempfile::tempdir().unwrap();
    // No timeout would close the half-sent heads within the bound; only shutdown can.
    let mut server = Server::start(
        dir.path(),
        &[
            "--header-read-timeout",
            "600",
            "--idle-timeout",
            "600",
            "--shutdown-grace-period",
            "600",
        ],
    );
    let addr = server.url.trim_start_matches("http://").to_owned();
    // Answered once first, so the connection is surely accepted when the signal comes.
    let mut half = std::net::TcpStream::connect(&addr).unwrap();
    half.set_read_timeout(Some(BOUND)).unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = half.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    half.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    let mut fresh = std::net::TcpStream::connect(&addr).unwrap();
    fresh.write_all(b"GET /hea").unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < BOUND,
            "chronik serve still running {BOUND:?} after SIGTERM with a half-sent head open"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    // The half-sent connection was closed, not left hanging.
    assert_eq!(half.read(&mut buf).unwrap_or(0), 0);
}
