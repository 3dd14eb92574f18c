//! CLI tests: run the built `chronik` binary as a user would, checking exit codes, output and
//! `--json`.

// Test helpers outside #[test] functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used)]

mod admin;
mod help;
mod project;
mod send;
mod serve;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The binary under test.
pub fn chronik() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chronik"))
}

/// A `chronik serve` child on a free port.
pub struct Server {
    pub child: Child,
    pub url: String,
    /// Lines printed before the listening line (e.g. the generated admin token).
    pub preamble: Vec<String>,
}

impl Server {
    /// Starts `chronik serve` on port 0 in `data` with extra args; waits for the address line.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let mut child = chronik()
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .env_remove("CHRONIK_ADMIN_TOKEN")
            .env_remove("CHRONIK_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut preamble = Vec::new();
        let url = loop {
            let line = lines
                .next()
                .expect("server exited before printing its address")
                .unwrap();
            if let Some(url) = line.strip_prefix("chronik listening on ") {
                break url.to_owned();
            }
            preamble.push(line);
        };
        Server {
            child,
            url,
            preamble,
        }
    }

    /// Runs `chronik admin --url <this> <args>`.
    pub fn admin(&self, data: &Path, args: &[&str]) -> Output {
        chronik()
            .args(["admin", "--url", &self.url, "--data"])
            .arg(data)
            .args(args)
            .env_remove("CHRONIK_ADMIN_TOKEN")
            .output()
            .unwrap()
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout parsed as JSON.
pub fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "command failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}
