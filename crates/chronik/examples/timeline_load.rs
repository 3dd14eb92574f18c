//! The load generator of `scripts/bench timeline`: creates timeline v3 events over HTTP, reads a
//! record timeline's first page, and prints one `BENCH` line per phase.
//!
//! ```text
//! TIMELINE_LOAD_TOKEN=… cargo run --release --example timeline_load -p chronik -- \
//!     --url http://127.0.0.1:PORT --template-id T --phases create
//! TIMELINE_LOAD_TOKEN=… cargo run --release --example timeline_load -p chronik -- \
//!     --url http://127.0.0.1:PORT --phases read --contact-id C
//! ```
//!
//! The token is the OAuth access token of the bench app's install, with the scopes `timeline`
//! and `crm.objects.contacts.read`; the template is the bench template (`timeline_rows`: five
//! tokens, `jobTitle` stamping `jobtitle`), both provisioned by `scripts/bench`.
//!
//! 1. **create**: `POST /integrators/timeline/v3/events/batch/create` with `--batch` (500)
//!    events a request from `--connections` connections until `--events` are created or
//!    `--max-seconds` have passed. Each event names its contact by `email` only (so Chronik
//!    looks it up and, for its first event, creates it), has an `id`, a `timestamp` (epoch ms)
//!    and the five tokens. Every answer must be 201. The bodies are built before the clock
//!    starts.
//! 2. **read**: `GET /crm/v3/objects/contacts/{--contact-id}/timeline` (the first page: 50 cards,
//!    each with its header and detail rendered) from `--read-connections` (4) connections, each
//!    one request after another: `--page-warmup` unmeasured requests, then `--pages` measured
//!    ones or `--page-seconds`, whichever ends first. Every answer must be 200 with 50 results.
//!
//! Output, one line per phase on stdout (times in microseconds):
//!
//! ```text
//! BENCH phase=create events=… requests=… errors=0 duration_us=… events_per_s=… p50_us=… p99_us=… complete=1
//! BENCH phase=read requests=… errors=0 duration_us=… requests_per_s=… p50_us=… p99_us=… connections=… results=50
//! ```
//!
//! Progress goes to stderr, with the first failures (status and body). The process exits
//! non-zero when any request failed. It refuses URLs that are not on 127.0.0.1 or localhost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
#[path = "timeline_rows/mod.rs"]
mod timeline_rows;

use clap::{Parser, ValueEnum};
use timeline_rows::{contact_of, email, generate, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PhaseName {
    Create,
    Read,
}

#[derive(Debug, Parser)]
#[command(about = "Timeline event load over loopback")]
struct Args {
    /// Chronik's base URL (127.0.0.1 only).
    #[arg(long)]
    url: String,
    /// The access token of the bench app's install (timeline, crm.objects.contacts.read).
    #[arg(long, env = "TIMELINE_LOAD_TOKEN", hide_env_values = true)]
    token: String,
    /// The phases to run (always in the order create, read).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PhaseName::Create])]
    phases: Vec<PhaseName>,
    /// The bench template's eventTemplateId (create).
    #[arg(long)]
    template_id: Option<i64>,
    /// Events to create.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Contacts the events go to, round robin (by email; created by their first event).
    #[arg(long, default_value_t = 160_000)]
    contacts: u64,
    /// Events per batch request (HubSpot's limit is 500).
    #[arg(long, default_value_t = 500)]
    batch: u64,
    /// Concurrent connections in create.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Stop create after this many seconds, whatever the count.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
    /// The contact whose timeline read reads.
    #[arg(long)]
    contact_id: Option<i64>,
    /// Concurrent connections in read, each one request after another.
    #[arg(long, default_value_t = 4)]
    read_connections: usize,
    /// Measured first pages (over all read connections).
    #[arg(long, default_value_t = 4_000)]
    pages: u64,
    /// Unmeasured first pages before the measured ones.
    #[arg(long, default_value_t = 200)]
    page_warmup: u64,
    /// Stop the measured reads after this many seconds.
    #[arg(long, default_value_t = 60)]
    page_seconds: u64,
}

/// Cards on a first page (the route's default limit).
const FIRST_PAGE_CARDS: usize = 50;

/// Appends event `n`'s JSON to `out`.
fn push_event(out: &mut String, n: u64, now_ms: i64, args: &Args, template: i64) {
    let g = generate(n, now_ms);
    let contact = email(contact_of(n, args.events, args.contacts, 0));
    out.push_str(&format!(
        r#"{{"eventTemplateId":"{template}","email":"{contact}","id":"{}","timestamp":{},"tokens":{{"plan":"{}","seats":{},"source":"{}","page":"Pricing page {}","jobTitle":"{}"}}}}"#,
        g.id,
        g.occurred_at,
        g.plan,
        g.seats,
        g.source,
        g.page,
        g.job_title_value()
    ));
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
    /// Prints the phase's `BENCH` line (rates in requests/s) and returns its errors.
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

/// Logs the first few failures of a phase to stderr.
fn log_failure(errors: &AtomicU64, what: &str, e: &str) {
    if errors.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("timeline_load: {what}: {e}");
    }
}

/// Sends one request; returns the answer's body, or a description of what went wrong, with
/// the body of any answer whose status is not `expect`.
async fn call(request: reqwest::RequestBuilder, expect: u16) -> Result<String, String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    if status != expect {
        return Err(format!(
            "status {status}, wanted {expect}: {}",
            text.chars().take(1000).collect::<String>()
        ));
    }
    Ok(text)
}

async fn create(args: &Args, client: &reqwest::Client, template: i64) -> (Phase, u64) {
    let now = now_ms().unwrap_or_default();
    let mut bodies = Vec::new();
    let mut first = 0;
    while first < args.events {
        let count = args.batch.min(args.events - first);
        let mut body = String::with_capacity(330 * count as usize + 16);
        body.push_str(r#"{"inputs":["#);
        for n in first..first + count {
            if n > first {
                body.push(',');
            }
            push_event(&mut body, n, now, args, template);
        }
        body.push_str("]}");
        bodies.push((count, body));
        first += count;
    }
    let queue = Arc::new(Mutex::new(bodies.into_iter()));
    let created = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let url = format!("{}/integrators/timeline/v3/events/batch/create", args.url);
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
                    "timeline_load: {n} events in {secs:.0} s ({:.0}/s)",
                    n as f64 / secs
                );
            }
        })
    };
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (client, url, token) = (client.clone(), url.clone(), args.token.clone());
        let (queue, created, errors) = (queue.clone(), created.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                if Instant::now() >= deadline || errors.load(Ordering::Relaxed) > 0 {
                    break;
                }
                let next = queue.lock().expect("no worker panics holding it").next();
                let Some((count, body)) = next else { break };
                let at = Instant::now();
                let request = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body);
                match call(request, 201).await {
                    Ok(_) => {
                        latencies.push(at.elapsed().as_micros() as u64);
                        created.fetch_add(count, Ordering::Relaxed);
                    }
                    Err(e) => log_failure(&errors, "POST …/events/batch/create", &e),
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

/// `count` first pages from `args.read_connections` connections (or until `seconds` pass);
/// each answer must hold a full first page.
async fn read(
    args: &Args,
    client: &reqwest::Client,
    contact: i64,
    count: u64,
    seconds: u64,
) -> Phase {
    let url = Arc::new(format!(
        "{}/crm/v3/objects/contacts/{contact}/timeline",
        args.url
    ));
    let errors = Arc::new(AtomicU64::new(0));
    let left = Arc::new(AtomicU64::new(count));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..args.read_connections {
        let (client, url, token) = (client.clone(), Arc::clone(&url), args.token.clone());
        let (errors, left) = (Arc::clone(&errors), Arc::clone(&left));
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline
                && errors.load(Ordering::Relaxed) == 0
                && left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
            {
                let at = Instant::now();
                match call(client.get(url.as_str()).bearer_auth(&token), 200).await {
                    Ok(text) => {
                        latencies.push(at.elapsed().as_micros() as u64);
                        let cards = serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|v| v["results"].as_array().map(Vec::len))
                            .unwrap_or(0);
                        if cards != FIRST_PAGE_CARDS {
                            log_failure(
                                &errors,
                                &format!("GET {url}"),
                                &format!(
                                    "{cards} cards, wanted {FIRST_PAGE_CARDS}: {}",
                                    text.chars().take(500).collect::<String>()
                                ),
                            );
                        }
                    }
                    Err(e) => log_failure(&errors, &format!("GET {url}"), &e),
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

async fn run(args: Args) -> anyhow::Result<()> {
    let host = reqwest::Url::parse(&args.url)
        .context("--url must be a URL such as http://127.0.0.1:8080")?
        .host_str()
        .map(str::to_owned);
    if !matches!(host.as_deref(), Some("127.0.0.1" | "localhost")) {
        bail!("--url must point at 127.0.0.1 or localhost");
    }
    if args.batch == 0 || args.batch > 500 || args.connections == 0 || args.read_connections == 0 {
        bail!("--batch must be 1 to 500, --connections and --read-connections at least 1");
    }
    if args.contacts == 0 {
        bail!("--contacts must be at least 1");
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections.max(args.read_connections).max(64))
        .timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .context("could not build the HTTP client")?;
    let mut failed = 0;
    if args.phases.contains(&PhaseName::Create) {
        let template = args.template_id.context("create needs --template-id")?;
        eprintln!(
            "timeline_load: creating {} events, {} a batch, {} connections",
            args.events, args.batch, args.connections
        );
        let (phase, created) = create(&args, &client, template).await;
        let secs = phase.elapsed.as_secs_f64().max(1e-9);
        let extra = format!(
            " events={created} events_per_s={:.1} complete={}",
            created as f64 / secs,
            u8::from(created == args.events)
        );
        failed += phase.report("create", &extra);
        if failed > 0 {
            bail!("create failed; stopping");
        }
    }
    if args.phases.contains(&PhaseName::Read) {
        let contact = args.contact_id.context("read needs --contact-id")?;
        if args.page_warmup > 0 {
            failed += read(&args, &client, contact, args.page_warmup, args.page_seconds)
                .await
                .errors;
        }
        let phase = read(&args, &client, contact, args.pages, args.page_seconds).await;
        let extra = format!(
            " connections={} results={FIRST_PAGE_CARDS}",
            args.read_connections
        );
        failed += phase.report("read", &extra);
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
