//! The load generator of `scripts/bench events`: sends custom event completions over HTTP, reads
//! them back, and prints one `BENCH` line per phase.
//!
//! ```text
//! EVENTS_LOAD_TOKEN=… cargo run --release --example events_load -p chronik -- --url http://127.0.0.1:PORT
//! ```
//!
//! 0. **provision** (unless `--event-name` and `--contact-ids` name earlier ones): `--contacts`
//!    contacts by `POST /crm/v3/objects/contacts/batch/create` (100 a request, each answer 201)
//!    and the contact event `bench` by `POST /events/v3/event-definitions` (201), with the custom
//!    properties plan (enumeration of free, pro, team), seats (number) and source (string).
//!    `--save-provisioned FILE` writes the contact ids, one a line, for a later `--contact-ids`.
//! 1. **send-batch**: `POST /events/v3/send/batch` with `--batch` (500) completions a request
//!    from `--connections` connections until `--completions` are sent or `--max-seconds` have
//!    passed. Every answer must be 204. The bodies are built before the clock starts.
//! 2. **get-page**: `GET /events/v3/events?objectType=contact&objectId=…&limit=100` for random
//!    contacts (`get-page-contact`), then `?eventType=…&property.hs_city=…&limit=100` for random
//!    cities (`get-page-property`). One request at a time; `--page-warmup` unmeasured requests,
//!    then `--pages` measured ones or `--page-seconds`, whichever ends first. Every answer must
//!    be 200 with at least one result.
//! 3. **send-single**: `POST /events/v3/send`, one completion a request, open loop: request `i`
//!    is due at `start + i / --rate` whatever happened to the ones before, and its latency runs
//!    from that due time, so time spent queueing in the generator or the server is counted
//!    (no coordinated omission). `--single-warmup` seconds unmeasured, then `--seconds`
//!    measured. A separate thread keeps the schedule with `thread::sleep` (tokio's timer ticks
//!    in whole milliseconds, coarser than the 0.5 ms between requests at 2,000/s). Every answer
//!    must be 204; more than `--max-in-flight` unanswered requests ends the phase incomplete.
//!
//! get-page runs before send-single so that it reads exactly the store send-batch made.
//!
//! Completion `n` goes to contact `n % contacts` (round robin), happened at a random time in the
//! 30 days before the run, has a random v4 uuid and five properties: plan (one of 3), seats
//! (1 to 50), source (one of 5), hs_city (one of [`CITIES`]) and hs_page_title (one of 1,000).
//! `events_floor.rs` makes the same rows from the same generator; keep the two in step.
//!
//! Output, one line per phase on stdout (times in microseconds):
//!
//! ```text
//! BENCH phase=provision event_name=pe…_bench contacts=… duration_us=…
//! BENCH phase=send-batch completions=… requests=… errors=0 duration_us=… completions_per_s=… p50_us=… p99_us=… complete=1
//! BENCH phase=get-page-contact requests=… errors=0 duration_us=… requests_per_s=… p50_us=… p99_us=… min_results=…
//! BENCH phase=get-page-property … min_results=…
//! BENCH phase=send-single requests=… errors=0 duration_us=… requests_per_s=… p50_us=… p99_us=… rate=… start_lag_p99_us=… complete=1
//! ```
//!
//! Progress goes to stderr, with the first failures (status and body). The process exits
//! non-zero when any request failed. It refuses URLs that are not on 127.0.0.1 or localhost.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
#[path = "events_rows/mod.rs"]
mod events_rows;

use clap::{Parser, ValueEnum};
use events_rows::{generate, now_ms, Rng, CITIES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PhaseName {
    SendBatch,
    GetPage,
    SendSingle,
}

#[derive(Debug, Parser)]
#[command(about = "Custom event completion load over loopback")]
struct Args {
    /// Chronik's base URL (127.0.0.1 only).
    #[arg(long)]
    url: String,
    /// A private-app token with analytics.behavioral_events.send,
    /// behavioral_events.event_definitions.read_write and crm.objects.contacts.write.
    #[arg(long, env = "EVENTS_LOAD_TOKEN", hide_env_values = true)]
    token: String,
    /// The phases to run (they always run in the order send-batch, get-page, send-single).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [PhaseName::SendBatch, PhaseName::GetPage, PhaseName::SendSingle])]
    phases: Vec<PhaseName>,
    /// An existing event's fullyQualifiedName; with --contact-ids, skips provisioning.
    #[arg(long, requires = "contact_ids")]
    event_name: Option<String>,
    /// A file of existing contact ids, one a line (as --save-provisioned writes it).
    #[arg(long, requires = "event_name")]
    contact_ids: Option<PathBuf>,
    /// Contacts to create when provisioning.
    #[arg(long, default_value_t = 10_000)]
    contacts: u64,
    /// Where to write the provisioned contact ids.
    #[arg(long)]
    save_provisioned: Option<PathBuf>,
    /// Completions to send in send-batch.
    #[arg(long, default_value_t = 1_000_000)]
    completions: u64,
    /// Completions per batch request (HubSpot's limit is 500).
    #[arg(long, default_value_t = 500)]
    batch: u64,
    /// Concurrent connections in send-batch.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Stop send-batch after this many seconds, whatever the count.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
    /// Measured requests per get-page filter.
    #[arg(long, default_value_t = 2_000)]
    pages: u64,
    /// Unmeasured requests before each get-page measurement.
    #[arg(long, default_value_t = 200)]
    page_warmup: u64,
    /// Stop each get-page measurement after this many seconds.
    #[arg(long, default_value_t = 60)]
    page_seconds: u64,
    /// send-single: requests started per second.
    #[arg(long, default_value_t = 2_000)]
    rate: u64,
    /// send-single: measured seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// send-single: unmeasured seconds at the same rate before the measured ones.
    #[arg(long, default_value_t = 2)]
    single_warmup: u64,
    /// send-single: most requests awaiting an answer before the phase gives up.
    #[arg(long, default_value_t = 4_000)]
    max_in_flight: usize,
    /// send-single: writes each measured send's due time (ms from the phase's start, given in
    /// unix ms on a first `#` line) and latency (us), one `due_ms latency_us` line each, in due
    /// order: where the tail comes from.
    #[arg(long)]
    single_trace: Option<PathBuf>,
}

/// Appends completion `n`'s JSON to `out`.
fn push_completion(out: &mut String, n: u64, now_ms: i64, event: &str, contacts: &[String]) {
    let g = generate(n, now_ms);
    let contact = &contacts[(n % contacts.len() as u64) as usize];
    out.push_str(&format!(
        r#"{{"eventName":"{event}","objectId":"{contact}","occurredAt":{},"uuid":"{}","properties":{{"plan":"{}","seats":{},"source":"{}","hs_city":"{}","hs_page_title":"Pricing page {}"}}}}"#,
        g.occurred_at, g.uuid, g.plan, g.seats, g.source, g.city, g.page
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
        eprintln!("events_load: {what}: {e}");
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

fn post(client: &reqwest::Client, url: &str, token: &str, body: String) -> reqwest::RequestBuilder {
    client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
}

/// Creates the contacts and the event definition; returns the event's name and the ids.
async fn provision(args: &Args, client: &reqwest::Client) -> anyhow::Result<(String, Vec<String>)> {
    let started = Instant::now();
    let url = format!("{}/crm/v3/objects/contacts/batch/create", args.url);
    let mut ids = Vec::with_capacity(args.contacts as usize);
    let mut first = 0;
    while first < args.contacts {
        let count = 100.min(args.contacts - first);
        let inputs: Vec<String> = (first..first + count)
            .map(|n| format!(r#"{{"properties":{{"email":"e{n}@events.bench.example","firstname":"Event{n}"}}}}"#))
            .collect();
        let body = format!(r#"{{"inputs":[{}]}}"#, inputs.join(","));
        let text = call(post(client, &url, &args.token, body), 201)
            .await
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("POST {url} (contacts {first}..{})", first + count))?;
        let answer: serde_json::Value = serde_json::from_str(&text)?;
        let results = answer["results"]
            .as_array()
            .with_context(|| format!("no results in {text}"))?;
        for r in results {
            ids.push(r["id"].as_str().context("a result without id")?.to_owned());
        }
        first += count;
    }
    let url = format!("{}/events/v3/event-definitions", args.url);
    let body = r#"{"label":"Bench","name":"bench","propertyDefinitions":[{"name":"plan","label":"Plan","type":"enumeration","options":[{"label":"Free","value":"free"},{"label":"Pro","value":"pro"},{"label":"Team","value":"team"}]},{"name":"seats","label":"Seats","type":"number"},{"name":"source","label":"Source","type":"string"}]}"#;
    let text = call(post(client, &url, &args.token, body.to_owned()), 201)
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("POST {url}"))?;
    let answer: serde_json::Value = serde_json::from_str(&text)?;
    let name = answer["fullyQualifiedName"]
        .as_str()
        .with_context(|| format!("no fullyQualifiedName in {text}"))?
        .to_owned();
    println!(
        "BENCH phase=provision event_name={name} contacts={} duration_us={}",
        ids.len(),
        started.elapsed().as_micros()
    );
    Ok((name, ids))
}

async fn send_batch(
    args: &Args,
    client: &reqwest::Client,
    event: &str,
    contacts: &[String],
) -> anyhow::Result<(Phase, u64)> {
    let now = now_ms()?;
    let mut bodies = Vec::new();
    let mut first = 0;
    while first < args.completions {
        let count = args.batch.min(args.completions - first);
        let mut body = String::with_capacity(300 * count as usize + 16);
        body.push_str(r#"{"inputs":["#);
        for n in first..first + count {
            if n > first {
                body.push(',');
            }
            push_completion(&mut body, n, now, event, contacts);
        }
        body.push_str("]}");
        bodies.push((count, body));
        first += count;
    }
    let queue = Arc::new(Mutex::new(bodies.into_iter()));
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let url = format!("{}/events/v3/send/batch", args.url);
    let progress = {
        let sent = Arc::clone(&sent);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            loop {
                tick.tick().await;
                let n = sent.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "events_load: {n} completions in {secs:.0} s ({:.0}/s)",
                    n as f64 / secs
                );
            }
        })
    };
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (client, url, token) = (client.clone(), url.clone(), args.token.clone());
        let (queue, sent, errors) = (queue.clone(), sent.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                if Instant::now() >= deadline || errors.load(Ordering::Relaxed) > 0 {
                    break;
                }
                let next = queue.lock().expect("no worker panics holding it").next();
                let Some((count, body)) = next else { break };
                let at = Instant::now();
                match call(post(&client, &url, &token, body), 204).await {
                    Ok(_) => {
                        latencies.push(at.elapsed().as_micros() as u64);
                        sent.fetch_add(count, Ordering::Relaxed);
                    }
                    Err(e) => log_failure(&errors, "POST /events/v3/send/batch", &e),
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
    Ok((phase, sent.load(Ordering::Relaxed)))
}

/// Makes a get-page query string from a random number.
type MakeQuery<'a> = &'a dyn Fn(&mut Rng) -> String;

/// One get-page measurement: `count` requests one at a time (or until `seconds` pass), each
/// query made by `make` from a random number. Returns the phase and the fewest results a page
/// had.
async fn get_pages(
    args: &Args,
    client: &reqwest::Client,
    count: u64,
    seconds: u64,
    make: MakeQuery<'_>,
) -> (Phase, usize) {
    let errors = AtomicU64::new(0);
    let mut rng = Rng(0x5eed_0000 ^ count);
    let mut latencies_us = Vec::new();
    let mut fewest = usize::MAX;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    for _ in 0..count {
        if Instant::now() >= deadline || errors.load(Ordering::Relaxed) > 0 {
            break;
        }
        let url = format!("{}/events/v3/events?{}", args.url, make(&mut rng));
        let at = Instant::now();
        match call(client.get(&url).bearer_auth(&args.token), 200).await {
            Ok(text) => {
                latencies_us.push(at.elapsed().as_micros() as u64);
                let results = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["results"].as_array().map(Vec::len))
                    .unwrap_or(0);
                if results == 0 {
                    log_failure(
                        &errors,
                        &format!("GET {url}"),
                        &format!("no results: {text}"),
                    );
                }
                fewest = fewest.min(results);
            }
            Err(e) => log_failure(&errors, &format!("GET {url}"), &e),
        }
    }
    let phase = Phase {
        latencies_us,
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    };
    (phase, if fewest == usize::MAX { 0 } else { fewest })
}

/// What one open-loop run saw.
struct OpenLoop {
    phase: Phase,
    start_lags_us: Vec<u64>,
    /// Each answered send's slot and latency (us), in due order.
    answered: Vec<(u64, u64)>,
    /// When slot 0 was due, in unix ms, and the time between slots.
    start_unix_ms: i64,
    period: Duration,
    complete: bool,
}

impl OpenLoop {
    /// One `due_ms latency_us` line per answered send, after a `#` line with the start.
    fn trace(&self) -> String {
        let period_ms = self.period.as_secs_f64() * 1e3;
        std::iter::once(format!("# started at unix ms {}\n", self.start_unix_ms))
            .chain(
                self.answered
                    .iter()
                    .map(|(i, latency)| format!("{:.1} {latency}\n", *i as f64 * period_ms)),
            )
            .collect()
    }
}

/// Sends each body as one completion, `args.rate` a second, each when its slot is due whatever
/// the earlier ones do; latencies run from the due time.
async fn open_loop(
    args: &Args,
    client: &reqwest::Client,
    bodies: Vec<String>,
) -> anyhow::Result<OpenLoop> {
    let total = bodies.len() as u64;
    let period = Duration::from_secs_f64(1.0 / args.rate as f64);
    let url = Arc::new(format!("{}/events/v3/send", args.url));
    let token = Arc::new(args.token.clone());
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let start = Instant::now() + Duration::from_millis(20);
    let start_unix_ms = now_ms()? + 20;
    let pacer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            for i in 0..total {
                let due = start + period.mul_f64(i as f64);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                if stop.load(Ordering::Relaxed) || due_tx.send((i, due)).is_err() {
                    break;
                }
            }
        })
    };
    let mut bodies: Vec<Option<String>> = bodies.into_iter().map(Some).collect();
    let mut set = tokio::task::JoinSet::new();
    let mut start_lags_us = Vec::with_capacity(total as usize);
    let mut answered = Vec::with_capacity(total as usize);
    let mut complete = true;
    let mut schedule_open = true;
    while schedule_open || !set.is_empty() {
        tokio::select! {
            biased;
            due = due_rx.recv(), if schedule_open => {
                let Some((i, due)) = due else {
                    schedule_open = false;
                    continue;
                };
                if set.len() >= args.max_in_flight {
                    eprintln!(
                        "events_load: {} single sends unanswered at once (--max-in-flight); the server is not keeping up with {}/s",
                        set.len(), args.rate
                    );
                    complete = false;
                    schedule_open = false;
                    stop.store(true, Ordering::Relaxed);
                    continue;
                }
                let body = bodies[i as usize].take().expect("each slot is due once");
                let (client, url, token, errors) =
                    (client.clone(), url.clone(), token.clone(), errors.clone());
                set.spawn(async move {
                    let lag = due.elapsed().as_micros() as u64;
                    match call(post(&client, &url, &token, body), 204).await {
                        Ok(_) => Some((i, due.elapsed().as_micros() as u64, lag)),
                        Err(e) => {
                            log_failure(&errors, "POST /events/v3/send", &e);
                            None
                        }
                    }
                });
            }
            Some(done) = set.join_next() => {
                if let Ok(Some((i, latency, lag))) = done {
                    start_lags_us.push(lag);
                    answered.push((i, latency));
                }
            }
        }
    }
    let elapsed = start.elapsed();
    pacer
        .join()
        .map_err(|_| anyhow::anyhow!("the pacer thread panicked"))?;
    let errors = errors.load(Ordering::Relaxed);
    answered.sort_unstable();
    Ok(OpenLoop {
        phase: Phase {
            latencies_us: answered.iter().map(|&(_, latency)| latency).collect(),
            errors,
            elapsed,
        },
        start_lags_us,
        answered,
        start_unix_ms,
        period,
        complete: complete && errors == 0,
    })
}

async fn send_single(
    args: &Args,
    client: &reqwest::Client,
    event: &str,
    contacts: &[String],
) -> anyhow::Result<u64> {
    let now = now_ms()?;
    // Numbers past the batch's, so no uuid repeats one send-batch stored.
    let first = args.completions;
    let make = |from: u64, count: u64| -> Vec<String> {
        (from..from + count)
            .map(|n| {
                let mut body = String::with_capacity(320);
                push_completion(&mut body, n, now, event, contacts);
                body
            })
            .collect()
    };
    let warm = args.rate * args.single_warmup;
    let measured = args.rate * args.seconds;
    let mut failed = 0;
    if warm > 0 {
        let w = open_loop(args, client, make(first, warm)).await?;
        failed += w.phase.errors;
        if !w.complete {
            eprintln!("events_load: the send-single warm-up did not keep up; measuring anyway");
        }
    }
    if failed > 0 {
        bail!("the send-single warm-up failed");
    }
    let mut run = open_loop(args, client, make(first + warm, measured)).await?;
    if let Some(path) = &args.single_trace {
        std::fs::write(path, run.trace()).with_context(|| format!("writing {}", path.display()))?;
    }
    run.start_lags_us.sort_unstable();
    let extra = format!(
        " rate={} start_lag_p99_us={} complete={}",
        args.rate,
        percentile(&run.start_lags_us, 99.0),
        u8::from(run.complete && run.phase.latencies_us.len() as u64 == measured)
    );
    failed += run.phase.report("send-single", &extra);
    Ok(failed)
}

fn read_ids(path: &PathBuf) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

async fn run(args: Args) -> anyhow::Result<()> {
    let host = reqwest::Url::parse(&args.url)
        .context("--url must be a URL such as http://127.0.0.1:8080")?
        .host_str()
        .map(str::to_owned);
    if !matches!(host.as_deref(), Some("127.0.0.1" | "localhost")) {
        bail!("--url must point at 127.0.0.1 or localhost");
    }
    if args.batch == 0 || args.batch > 500 || args.connections == 0 {
        bail!("--batch must be 1 to 500 and --connections at least 1");
    }
    if args.rate == 0 || args.contacts == 0 {
        bail!("--rate and --contacts must be at least 1");
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections.max(256))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .build()
        .context("could not build the HTTP client")?;
    let (event, contacts) = match (&args.event_name, &args.contact_ids) {
        (Some(name), Some(path)) => (name.clone(), read_ids(path)?),
        _ => {
            let (name, ids) = provision(&args, &client).await?;
            if let Some(path) = &args.save_provisioned {
                std::fs::write(path, ids.join("\n") + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            (name, ids)
        }
    };
    if contacts.is_empty() {
        bail!("no contact ids");
    }
    let mut failed = 0;
    if args.phases.contains(&PhaseName::SendBatch) {
        eprintln!(
            "events_load: sending {} completions, {} a batch, {} connections",
            args.completions, args.batch, args.connections
        );
        let (phase, sent) = send_batch(&args, &client, &event, &contacts).await?;
        let secs = phase.elapsed.as_secs_f64().max(1e-9);
        let extra = format!(
            " completions={sent} completions_per_s={:.1} complete={}",
            sent as f64 / secs,
            u8::from(sent == args.completions)
        );
        failed += phase.report("send-batch", &extra);
        if failed > 0 {
            bail!("send-batch failed; stopping");
        }
    }
    if args.phases.contains(&PhaseName::GetPage) {
        let by_contact = |rng: &mut Rng| {
            let id = &contacts[rng.below(contacts.len() as u64) as usize];
            format!("objectType=contact&objectId={id}&limit=100")
        };
        let by_city = |rng: &mut Rng| {
            let city = CITIES[rng.below(CITIES.len() as u64) as usize];
            format!("eventType={event}&property.hs_city={city}&limit=100")
        };
        let filters: [(&str, MakeQuery<'_>); 2] = [
            ("get-page-contact", &by_contact),
            ("get-page-property", &by_city),
        ];
        for (name, make) in filters {
            if args.page_warmup > 0 {
                let (warm, _) =
                    get_pages(&args, &client, args.page_warmup, args.page_seconds, make).await;
                failed += warm.errors;
            }
            let (phase, fewest) =
                get_pages(&args, &client, args.pages, args.page_seconds, make).await;
            failed += phase.report(name, &format!(" min_results={fewest}"));
        }
    }
    if args.phases.contains(&PhaseName::SendSingle) {
        failed += send_single(&args, &client, &event, &contacts).await?;
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
