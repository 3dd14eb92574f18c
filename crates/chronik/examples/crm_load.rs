//! The load generator of `scripts/bench crm`: creates contacts in batches over HTTP, then
//! searches them, and prints one `BENCH` line per phase.
//!
//! ```text
//! cargo run --release --example crm_load -p chronik -- --url http://127.0.0.1:PORT --token TOKEN
//! ```
//!
//! 1. **create**: `POST /crm/v3/objects/contacts/batch/create` with `--batch` (100) contacts a
//!    request from `--connections` concurrent connections until `--records` contacts exist or
//!    `--max-seconds` have passed. Contact `n` has the email `c{n}@bench.example` and four more
//!    properties (firstname, lastname, phone, company). Every answer must be 201.
//! 2. **search-email**: `POST /crm/v3/objects/contacts/search`, one `email EQ` filter on a
//!    random existing contact: after `--search-warmup` unmeasured requests, one measurement per
//!    value of `--search-connections` (default 1 and 4 concurrent connections), each of
//!    `--searches` requests or `--search-seconds`, whichever ends first. Every answer must be
//!    200 with `total` 1.
//! 3. **search-scan**: `firstname EQ`, which no index pins, so the server reads every contact:
//!    only `--scan-searches` requests, one at a time, within `--scan-seconds`.
//!
//! Output, one line per phase on stdout (times in microseconds, latencies per request):
//!
//! ```text
//! BENCH phase=create records=… requests=… errors=0 duration_us=… records_per_s=… p50_us=… p99_us=… complete=1
//! BENCH phase=search-email requests=… errors=0 duration_us=… requests_per_s=… p50_us=… p99_us=… connections=1
//! BENCH phase=search-email … connections=4
//! BENCH phase=search-scan requests=… errors=0 duration_us=… requests_per_s=… p50_us=… p99_us=… connections=1
//! ```
//!
//! Progress goes to stderr. The process exits non-zero when any request failed. It refuses
//! URLs that are not on 127.0.0.1 or localhost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Contact batch-create and search load over loopback")]
struct Args {
    /// Chronik's base URL (127.0.0.1 only).
    #[arg(long)]
    url: String,
    /// A private-app token with crm.objects.contacts.read and .write.
    #[arg(long, env = "CRM_LOAD_TOKEN", hide_env_values = true)]
    token: String,
    /// Contacts to create.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Contacts per batch request (HubSpot's limit is 100).
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// Concurrent connections while creating.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Stop creating after this many seconds, whatever the count.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
    /// Measured email searches.
    #[arg(long, default_value_t = 20_000)]
    searches: u64,
    /// Unmeasured email searches before the measured ones.
    #[arg(long, default_value_t = 1_000)]
    search_warmup: u64,
    /// Concurrent connections while searching by email: one measurement per value given
    /// (comma-separated), each of `--searches` requests.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 4])]
    search_connections: Vec<usize>,
    /// Stop the measured email searches after this many seconds.
    #[arg(long, default_value_t = 60)]
    search_seconds: u64,
    /// Full-scan searches (firstname EQ), one at a time; 0 skips them.
    #[arg(long, default_value_t = 3)]
    scan_searches: u64,
    /// Stop the full-scan searches after this many seconds.
    #[arg(long, default_value_t = 120)]
    scan_seconds: u64,
    /// Skip creating: search the first `--records` contacts of an earlier run.
    #[arg(long)]
    search_only: bool,
}

/// splitmix64: cheap, good enough to pick random contacts, and no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// The batch-create body for contacts `first..first + count`.
fn batch_body(first: u64, count: u64) -> String {
    let mut body = String::with_capacity(160 * count as usize + 16);
    body.push_str(r#"{"inputs":["#);
    for n in first..first + count {
        if n > first {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"properties":{{"email":"c{n}@bench.example","firstname":"First{n}","lastname":"Last{n}","phone":"+1555{n:07}","company":"Company {c}"}}}}"#,
            c = n % 1000
        ));
    }
    body.push_str("]}");
    body
}

fn search_body(property: &str, value: &str) -> String {
    format!(
        r#"{{"filterGroups":[{{"filters":[{{"propertyName":"{property}","operator":"EQ","value":"{value}"}}]}}],"properties":["email","firstname","lastname"],"limit":10}}"#
    )
}

/// Nearest-rank percentile of sorted microseconds.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Phase {
    latencies_us: Vec<u64>,
    errors: u64,
    elapsed: Duration,
}

impl Phase {
    fn report(mut self, name: &str, extra: &str) -> u64 {
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len() as u64;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        println!(
            "BENCH phase={name} requests={n} errors={} duration_us={} requests_per_s={:.1} p50_us={} p99_us={}{extra}",
            self.errors,
            self.elapsed.as_micros(),
            n as f64 / secs,
            percentile(&self.latencies_us, 50.0),
            percentile(&self.latencies_us, 99.0),
        );
        self.errors
    }
}

/// Sends one POST; returns the latency, or a description of what went wrong.
async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: String,
    expect: u16,
    check: Option<&str>,
) -> Result<u64, String> {
    let started = Instant::now();
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    let us = started.elapsed().as_micros() as u64;
    if status != expect {
        return Err(format!(
            "status {status}, wanted {expect}: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
    if let Some(needle) = check {
        if !text.contains(needle) {
            return Err(format!(
                "the answer lacks {needle}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
    }
    Ok(us)
}

/// Logs the first few failures of a phase to stderr.
fn log_failure(errors: &AtomicU64, what: &str, e: &str) {
    if errors.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("crm_load: {what}: {e}");
    }
}

async fn create(args: &Args, client: &reqwest::Client) -> (Phase, u64) {
    let batches = args.records.div_ceil(args.batch);
    let next = Arc::new(AtomicU64::new(0));
    let created = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let url = format!("{}/crm/v3/objects/contacts/batch/create", args.url);
    let progress = {
        let created = Arc::clone(&created);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            loop {
                tick.tick().await;
                let n = created.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "crm_load: {n} contacts in {secs:.0} s ({:.0}/s)",
                    n as f64 / secs
                );
            }
        })
    };
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (client, url, token) = (client.clone(), url.clone(), args.token.clone());
        let (next, created, errors) = (next.clone(), created.clone(), errors.clone());
        let (records, batch) = (args.records, args.batch);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                if Instant::now() >= deadline || errors.load(Ordering::Relaxed) > 0 {
                    break;
                }
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    break;
                }
                let first = b * batch;
                let count = batch.min(records - first);
                match post(&client, &url, &token, batch_body(first, count), 201, None).await {
                    Ok(us) => {
                        latencies.push(us);
                        created.fetch_add(count, Ordering::Relaxed);
                    }
                    Err(e) => log_failure(&errors, "batch create", &e),
                }
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for w in workers {
        latencies_us.extend(w.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    progress.abort();
    let phase = Phase {
        latencies_us,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
    };
    (phase, created.load(Ordering::Relaxed))
}

/// `count` searches (or until `seconds` pass) from `connections` connections; `make` builds the
/// filter's (property, value, expected substring) from a random number.
async fn search(
    args: &Args,
    client: &reqwest::Client,
    count: u64,
    connections: usize,
    seconds: u64,
    make: fn(&mut Rng, u64) -> (&'static str, String),
    existing: u64,
) -> Phase {
    let url = format!("{}/crm/v3/objects/contacts/search", args.url);
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for w in 0..connections {
        let (client, url, token) = (client.clone(), url.clone(), args.token.clone());
        let (sent, errors) = (sent.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(0x5eed_0000 + w as u64);
            let mut latencies = Vec::new();
            while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < count {
                let (property, value) = make(&mut rng, existing);
                let body = search_body(property, &value);
                match post(&client, &url, &token, body, 200, Some(r#""total":1,"#)).await {
                    Ok(us) => latencies.push(us),
                    Err(e) => log_failure(&errors, "search", &e),
                }
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for w in workers {
        latencies_us.extend(w.await.unwrap_or_default());
    }
    Phase {
        latencies_us,
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}

fn by_email(rng: &mut Rng, existing: u64) -> (&'static str, String) {
    ("email", format!("c{}@bench.example", rng.below(existing)))
}

fn by_firstname(rng: &mut Rng, existing: u64) -> (&'static str, String) {
    ("firstname", format!("First{}", rng.below(existing)))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let host = reqwest::Url::parse(&args.url)
        .context("--url must be a URL such as http://127.0.0.1:8080")?
        .host_str()
        .map(str::to_owned);
    if !matches!(host.as_deref(), Some("127.0.0.1" | "localhost")) {
        bail!("--url must point at 127.0.0.1 or localhost");
    }
    if args.batch == 0 || args.batch > 100 || args.connections == 0 {
        bail!("--batch must be 1 to 100 and --connections at least 1");
    }
    if args.search_connections.contains(&0) {
        bail!("--search-connections must be at least 1");
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(
            args.search_connections
                .iter()
                .fold(args.connections, |a, &b| a.max(b)),
        )
        .timeout(Duration::from_secs(
            args.scan_seconds.max(args.search_seconds).max(60),
        ))
        .tcp_nodelay(true)
        .build()
        .context("could not build the HTTP client")?;
    let mut failed = 0;
    let existing = if args.search_only {
        args.records
    } else {
        eprintln!(
            "crm_load: creating {} contacts, {} a batch, {} connections",
            args.records, args.batch, args.connections
        );
        let (phase, created) = create(&args, &client).await;
        let secs = phase.elapsed.as_secs_f64().max(1e-9);
        let extra = format!(
            " records={created} records_per_s={:.1} complete={}",
            created as f64 / secs,
            u8::from(created == args.records)
        );
        failed += phase.report("create", &extra);
        created
    };
    if failed > 0 || existing == 0 {
        bail!("creating failed; not searching");
    }
    if args.searches > 0 && args.search_warmup > 0 {
        let connections = args.search_connections.iter().copied().max().unwrap_or(1);
        let warm = search(
            &args,
            &client,
            args.search_warmup,
            connections,
            args.search_seconds,
            by_email,
            existing,
        )
        .await;
        failed += warm.errors;
    }
    for &connections in args.search_connections.iter().filter(|_| args.searches > 0) {
        let phase = search(
            &args,
            &client,
            args.searches,
            connections,
            args.search_seconds,
            by_email,
            existing,
        )
        .await;
        failed += phase.report("search-email", &format!(" connections={connections}"));
    }
    if args.scan_searches > 0 {
        let phase = search(
            &args,
            &client,
            args.scan_searches,
            1,
            args.scan_seconds,
            by_firstname,
            existing,
        )
        .await;
        failed += phase.report("search-scan", " connections=1");
    }
    if failed > 0 {
        bail!("{failed} requests failed");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // One thread: the generator shares the machine with the server and should take little.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(run(args))
}
