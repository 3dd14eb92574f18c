//! The floor for `scripts/bench`: the cheapest axum server we can write, with the same runtime
//! as `chronik serve` (tokio multi-thread, all cores) and one `GET` handler that returns a small
//! JSON body with no auth, no store, no middleware. A scenario's throughput is reported as a
//! ratio to this server's, measured in the same run on the same machine, so the ratio says how
//! much Chronik's own work (auth, store, tracing, metrics) costs on top of axum and the loopback.
//!
//! `cargo run --release --example floor -p chronik -- [ADDR]` binds ADDR (default
//! `127.0.0.1:0`) and prints `floor listening on http://ADDR` on stdout, as `chronik serve`
//! prints its address. Every path answers `GET`, so the benchmark sends the floor exactly the
//! request it sends the scenario.

use std::net::SocketAddr;

use anyhow::Context;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

/// A small JSON body, about the size of `/account-info/v3/details`'s fields that vary.
async fn handler() -> Json<Value> {
    Json(json!({ "status": "ok", "backend": "none" }))
}

fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:0")
        .parse()
        .context("the first argument must be an address such as 127.0.0.1:0")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("could not listen on {addr}"))?;
        let addr = listener
            .local_addr()
            .context("could not read the listening address")?;
        println!("floor listening on http://{addr}");
        let app = axum::Router::new()
            .route("/", get(handler))
            .route("/{*path}", get(handler));
        axum::serve(listener, app).await.context("server failed")
    })
}
