//! The load of `scripts/bench render`: renders of a timeline event template's header and
//! detail with Chronik's rendering engine (`chronik_domain::render`), and their floor, measured
//! in the same process.
//!
//! ```text
//! cargo run --release --example render_bench -p chronik -- --seconds 10 --warmup-seconds 2
//! cargo run --release --example render_bench -p chronik -- --cases detail --count 20000
//! ```
//!
//! - `header`: the PetSpot header of HubSpot's v3 docs (api-reference.md §2.3), a Markdown link
//!   with two tokens.
//! - `detail`: a detail template as an app would write one: a heading, a `#formatDate`, bold, an
//!   `#each` over five question/answer objects of `extraData` forming a list, and a link, with
//!   four tokens.
//! - `header-floor`, `detail-floor`: the same Handlebars text rendered to a `String` by the
//!   plain `handlebars` crate (its default registry, compiled once, the event serialized from
//!   borrowed fields as `Handlebars::render` takes it, HTML escaping) with a `formatDate`
//!   helper that writes the same date: no Markdown, no sanitizing. The ratio of a case to its
//!   floor is what Markdown, the sanitizer and the engine's own steps cost.
//!
//! Templates are compiled once (`Templates::compile`), as the server keeps them per template
//! version; each render builds its input from the same event, single-threaded, one case after
//! another. Before timing, every case's output is checked against the expected HTML.
//!
//! Timing: renders run in batches of `--batch`; the clock (`Instant`) is read once per batch,
//! so its cost (tens of nanoseconds) is spread over the batch and stays out of the figures.
//! `p50_us` and `p99_us` are percentiles of the batches' mean time per render; a single slow
//! render inside a batch is averaged with its neighbours, so p99 is a p99 of batch means.
//! `renders_per_s` is the renders of the measured phase divided by its duration (wall time).
//! `cpu_share` is the CPU time the thread got in that phase over its duration (from
//! `/proc/thread-self/stat`, in 10 ms ticks): below 1, other processes had the core part of the
//! time, which lowers renders/s but hardly the p50 (most batches run uninterrupted).
//!
//! Prints one `BENCH phase=<case> renders=… duration_us=… renders_per_s=… p50_us=… p99_us=…
//! cpu_share=…` line per case. With `--count` each case runs exactly that many renders instead of for
//! `--seconds` (for `valgrind --tool=callgrind`, which counts instructions).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use chronik_domain::render::format_date::{format_epoch_millis, DateFormat};
use chronik_domain::render::{parse_time_zone, RenderInput, Templates};
use clap::Parser;
use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext};
use serde::Serialize;
use serde_json::{json, Value};

/// The PetSpot header (api-reference.md §2.3).
const HEADER: &str = "Registered for [{{petName}}](https://my.petspot.com/pets/{{petName}})";

/// A realistic detail template: `#each` over `extraData`, `#formatDate`, tokens and Markdown.
const DETAIL: &str = "### {{petName}} joined PetSpot

Registered on {{#formatDate timestamp}}{{/formatDate}} by **{{ownerName}}** ({{petAge}} years, {{petColor}}).

#### Questions
{{#each extraData.questions}}
- **{{question}}** {{answer}}
{{/each}}

[Open the profile of {{petName}}](https://my.petspot.com/pets/{{petId}})";

const EXPECTED_HEADER: &str = r#"<p>Registered for <a href="https://my.petspot.com/pets/Pocket" rel="noopener noreferrer nofollow">Pocket</a></p>"#;

const EXPECTED_DETAIL: &str = r#"<h3>Pocket joined PetSpot</h3><p>Registered on Jan 30, 2020, 1:13:25 PM by <strong>Art3mis</strong> (3 years, yellow).</p><h4>Questions</h4><ul><li><p><strong>Who&#x27;s a good kitty?</strong> Purr...</p></li><li><p><strong>Will you stop playing with that?</strong> Meow!</p></li><li><p><strong>Favourite toy?</strong> The red laser dot</p></li><li><p><strong>Indoor or outdoor?</strong> Indoor, mostly</p></li><li><p><strong>How did you hear about us?</strong> A friend&#x27;s recommendation</p></li></ul><p><a href="https://my.petspot.com/pets/1001298-pocket" rel="noopener noreferrer nofollow">Open the profile of Pocket</a></p>"#;

/// 2020-01-30T18:13:25.665Z, the PetSpot event of HubSpot's v3 spec.
const TIMESTAMP_MS: i64 = 1_580_408_005_665;

const CASES: &[&str] = &["header-floor", "header", "detail-floor", "detail"];

#[derive(Debug, Parser)]
#[command(about = "Renders of a header and a detail template, and their floor")]
struct Args {
    /// Measured seconds per case.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unmeasured seconds of the same renders before each case.
    #[arg(long, default_value_t = 2)]
    warmup_seconds: u64,
    /// Renders per timed batch.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Exactly this many renders per case, no warm-up, instead of --seconds.
    #[arg(long)]
    count: Option<usize>,
    /// The cases to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = CASES.iter().map(|c| (*c).to_owned()))]
    cases: Vec<String>,
}

/// The event's fields as the floor gives them to `Handlebars::render`.
#[derive(Serialize)]
struct FloorData<'a> {
    #[serde(flatten)]
    tokens: &'a BTreeMap<String, String>,
    timestamp: i64,
    #[serde(rename = "extraData", skip_serializing_if = "Option::is_none")]
    extra_data: Option<&'a Value>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.batch > 0, "--batch must be positive");
    for case in &args.cases {
        ensure!(
            CASES.contains(&case.as_str()),
            "unknown case {case:?}; known: {}",
            CASES.join(", ")
        );
    }

    let tokens: BTreeMap<String, String> = [
        ("petName", "Pocket"),
        ("petId", "1001298-pocket"),
        ("ownerName", "Art3mis"),
        ("petAge", "3"),
        ("petColor", "yellow"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let extra = json!({"questions": [
        {"question": "Who's a good kitty?", "answer": "Purr..."},
        {"question": "Will you stop playing with that?", "answer": "Meow!"},
        {"question": "Favourite toy?", "answer": "The red laser dot"},
        {"question": "Indoor or outdoor?", "answer": "Indoor, mostly"},
        {"question": "How did you hear about us?", "answer": "A friend's recommendation"}
    ]});
    let time_zone =
        parse_time_zone("timeZone", "America/New_York").map_err(|e| anyhow::anyhow!(e.message))?;
    let event = RenderInput {
        tokens: &tokens,
        timestamp_ms: TIMESTAMP_MS,
        extra_data: Some(&extra),
        time_zone,
    };

    let templates = Templates::compile(Some(HEADER), Some(DETAIL)).context("templates compile")?;

    let mut floor = Handlebars::new();
    floor.register_template_string("header", HEADER)?;
    floor.register_template_string("detail", DETAIL)?;
    floor.register_helper(
        "formatDate",
        Box::new(
            move |h: &Helper<'_>,
                  _: &Handlebars<'_>,
                  _: &Context,
                  _: &mut RenderContext<'_, '_>,
                  out: &mut dyn Output|
                  -> HelperResult {
                if let Some(text) = h
                    .param(0)
                    .and_then(|p| p.value().as_i64())
                    .and_then(|ms| format_epoch_millis(ms, time_zone, DateFormat::Medium))
                {
                    out.write(&text).map_err(|e| {
                        handlebars::RenderError::from(handlebars::RenderErrorReason::IOError(e))
                    })?;
                }
                Ok(())
            },
        ),
    );
    let header_data = FloorData {
        tokens: &tokens,
        timestamp: TIMESTAMP_MS,
        extra_data: None,
    };
    let detail_data = FloorData {
        tokens: &tokens,
        timestamp: TIMESTAMP_MS,
        extra_data: Some(&extra),
    };
    let floor_render =
        |name: &str, data: &FloorData<'_>| floor.render(name, data).unwrap_or_default();

    // Check what each case renders before timing it.
    ensure!(
        templates.render_header(&event) == EXPECTED_HEADER,
        "header renders {:?}",
        templates.render_header(&event)
    );
    ensure!(
        templates.render_detail(&event) == EXPECTED_DETAIL,
        "detail renders {:?}",
        templates.render_detail(&event)
    );
    let header_floor = floor_render("header", &header_data);
    ensure!(
        header_floor == "Registered for [Pocket](https://my.petspot.com/pets/Pocket)",
        "header-floor renders {header_floor:?}"
    );
    let detail_floor = floor_render("detail", &detail_data);
    ensure!(
        detail_floor.contains("Registered on Jan 30, 2020, 1:13:25 PM")
            && detail_floor.matches("- **").count() == 5,
        "detail-floor renders {detail_floor:?}"
    );

    for case in &args.cases {
        let render: Box<dyn Fn() -> String + '_> = match case.as_str() {
            "header" => Box::new(|| templates.render_header(&event)),
            "detail" => Box::new(|| templates.render_detail(&event)),
            "header-floor" => Box::new(|| floor_render("header", &header_data)),
            "detail-floor" => Box::new(|| floor_render("detail", &detail_data)),
            other => bail!("unknown case {other:?}"),
        };
        let summary = match args.count {
            Some(count) => measure_count(&render, count, args.batch),
            None => {
                measure_for(
                    &render,
                    Duration::from_secs(args.warmup_seconds),
                    args.batch,
                );
                measure_for(&render, Duration::from_secs(args.seconds), args.batch)
            }
        };
        summary.print(case);
    }
    Ok(())
}

/// What one case measured.
struct Summary {
    renders: usize,
    duration: Duration,
    /// CPU time of this thread in the phase, in seconds (`None` without `/proc`).
    cpu_seconds: Option<f64>,
    /// Mean nanoseconds per render of each batch.
    batch_means_ns: Vec<f64>,
}

impl Summary {
    fn new() -> Self {
        Summary {
            renders: 0,
            duration: Duration::ZERO,
            cpu_seconds: None,
            batch_means_ns: Vec::new(),
        }
    }

    /// Ends the phase that began at `started` with the thread's CPU time at `cpu_started`.
    fn finish(&mut self, started: Instant, cpu_started: Option<f64>) {
        self.duration = started.elapsed();
        self.cpu_seconds = thread_cpu_seconds()
            .zip(cpu_started)
            .map(|(now, then)| now - then);
    }

    fn percentile_us(&self, p: f64) -> f64 {
        let mut v = self.batch_means_ns.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[i] / 1000.0
    }

    fn print(&self, case: &str) {
        let secs = self.duration.as_secs_f64();
        println!(
            "BENCH phase={case} renders={} duration_us={} renders_per_s={:.0} p50_us={:.3} p99_us={:.3} cpu_share={}",
            self.renders,
            self.duration.as_micros(),
            if secs > 0.0 { self.renders as f64 / secs } else { 0.0 },
            self.percentile_us(50.0),
            self.percentile_us(99.0),
            match self.cpu_seconds {
                Some(cpu) if secs > 0.0 => format!("{:.2}", cpu / secs),
                _ => "-".to_owned(),
            },
        );
    }
}

/// This thread's CPU time (user and system) in seconds: fields 14 and 15 of
/// `/proc/thread-self/stat`, in ticks of 1/100 s (Linux's USER_HZ).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// One timed batch: its duration.
fn batch(render: &dyn Fn() -> String, n: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        black_box(render());
    }
    started.elapsed()
}

/// Batches of `n` renders until `length` has passed.
fn measure_for(render: &dyn Fn() -> String, length: Duration, n: usize) -> Summary {
    let mut s = Summary::new();
    let cpu_started = thread_cpu_seconds();
    let started = Instant::now();
    while started.elapsed() < length {
        let took = batch(render, n);
        s.renders += n;
        s.batch_means_ns.push(took.as_nanos() as f64 / n as f64);
    }
    s.finish(started, cpu_started);
    s
}

/// Exactly `count` renders, in batches of `n` (the last one may be shorter).
fn measure_count(render: &dyn Fn() -> String, count: usize, n: usize) -> Summary {
    let mut s = Summary::new();
    let cpu_started = thread_cpu_seconds();
    let started = Instant::now();
    while s.renders < count {
        let k = n.min(count - s.renders);
        let took = batch(render, k);
        s.renders += k;
        s.batch_means_ns.push(took.as_nanos() as f64 / k as f64);
    }
    s.finish(started, cpu_started);
    s
}
