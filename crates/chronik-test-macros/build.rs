//! Decides, when the test crates are built, whether `#[postgres]` marks their PostgreSQL tests
//! `#[ignore]`: see `src/gate.rs` for the rule. Cargo reruns this (and rebuilds the tests that use
//! the attribute, nothing else) when `CHRONIK_TEST_DATABASE_URL` or `CI` changes.

#[path = "src/gate.rs"]
mod gate;

fn main() {
    println!("cargo::rerun-if-env-changed=CHRONIK_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/gate.rs");
    println!("cargo::rustc-check-cfg=cfg(chronik_postgres_tests_ignored)");
    let url = std::env::var("CHRONIK_TEST_DATABASE_URL").ok();
    let ci = std::env::var("CI").ok();
    if gate::postgres_tests_ignored(url.as_deref(), ci.as_deref()) {
        println!("cargo::rustc-cfg=chronik_postgres_tests_ignored");
    }
}
