//! `chronik send FILE`: streams an NDJSON file of custom event completions (one
//! `BehavioralEventHttpCompletionRequest` per line, api-reference §1.2) into an account through
//! `POST /events/v3/send/batch`, in constant memory whatever the file's size.
//!
//! A reader thread turns lines into [`Segment`]s: a contiguous range of lines split into
//! completions to send, lines rejected here (not a JSON object) and blank lines. Segments pass
//! through a bounded channel to at most [`IN_FLIGHT`] requests, so memory stays within a few
//! batches. The server stores a batch all or nothing: a 400 names the bad inputs by
//! `context.inputIndex` (or `in: "inputs[i]…"`); those lines are rejected and the rest of the
//! batch is sent again. 401, 403, 429, any other status and connection errors stop the run:
//! what was not sent is reported by line. The summary goes to stdout, the progress bar to stderr.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use chronik_domain::custom_events::completion::MAX_BATCH_INPUTS;
use chronik_domain::custom_events::SEND_SCOPE;
use chronik_domain::Secret;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::error_chain;

/// Seed (custom events, limits): a batch send takes at most 500 completions.
pub const MAX_BATCH_SIZE: usize = MAX_BATCH_INPUTS;

/// Half the server's default body limit (`--max-body-bytes`, 10 MiB): batches of large
/// completions are cut before they reach it, and a server with a lower limit answers 413.
const MAX_BATCH_BODY_BYTES: usize = 5 * 1024 * 1024;

/// A valid completion is at most a few dozen KiB (50 properties of at most 1,024 characters);
/// a longer line is rejected without being held in memory, so a file without newlines cannot
/// exhaust it.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Requests in flight: the next batch travels while the server commits the previous one.
/// More buys little and leaves more unsent when the server stops the run.
const IN_FLIGHT: usize = 2;

/// Segments read ahead of the requests; with [`IN_FLIGHT`] this bounds the lines in memory.
const QUEUED_SEGMENTS: usize = 2;

/// Rejected lines listed in the summary (the lowest line numbers); the rest are counted.
const LISTED_REJECTIONS: usize = 100;

/// How long to wait for a TCP connection before reporting the server unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The NDJSON file and where to send it.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// NDJSON file, one BehavioralEventHttpCompletionRequest per line; `-` reads stdin.
    file: PathBuf,
    /// Base URL of the running server.
    #[arg(long, env = "CHRONIK_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Private-app token or OAuth access token with the scope analytics.behavioral_events.send.
    #[arg(long, env = "CHRONIK_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    token: Option<Secret>,
    /// Completions per request (1 to 500).
    #[arg(long, env = "CHRONIK_BATCH_SIZE", default_value_t = MAX_BATCH_SIZE, value_parser = parse_batch_size)]
    batch_size: usize,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, short)]
    quiet: bool,
}

fn parse_secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::new(value))
}

fn parse_batch_size(value: &str) -> Result<usize, String> {
    let n: usize = value
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number"))?;
    if n == 0 || n > MAX_BATCH_SIZE {
        return Err(format!(
            "a batch takes 1 to {MAX_BATCH_SIZE} completions (HubSpot's batch limit); got {n}"
        ));
    }
    Ok(n)
}

/// One completion to send: its line number and the line's JSON object, as written.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    line: u64,
    json: String,
}

/// A line that was not stored, and why.
#[derive(Debug, Clone, PartialEq)]
struct Rejection {
    line: u64,
    reason: String,
}

/// Lines `first..=last` of the file: every one is an item, a rejection or blank.
#[derive(Debug, Default, PartialEq)]
struct Segment {
    first: u64,
    last: u64,
    items: Vec<Item>,
    rejected: Vec<Rejection>,
    blank: u64,
}

/// What one line of the file is.
#[derive(Debug, PartialEq)]
enum Line {
    Blank,
    Completion(String),
    Rejected(String),
}

/// Classifies one line (without its newline). `too_long` means only a prefix was kept.
fn classify(bytes: &[u8], too_long: bool) -> Line {
    if too_long {
        return Line::Rejected(format!(
            "the line has more than {} bytes; a completion is far smaller",
            thousands(MAX_LINE_BYTES as u64)
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Line::Rejected(format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ))
        }
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Line::Blank;
    }
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let full = e.to_string();
        let reason = full
            .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
            .unwrap_or(&full);
        return Line::Rejected(format!("not valid JSON: {reason} at column {}", e.column()));
    }
    let kind = match text.as_bytes()[0] {
        b'{' => return Line::Completion(text.to_owned()),
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    };
    Line::Rejected(format!(
        "not a JSON object but {kind}; each line is one completion object"
    ))
}

/// Reads one line into `buf` (newline included), keeping at most `max` bytes of it. Returns
/// the bytes consumed (0 at the end of input) and whether the line was cut.
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    buf.clear();
    let mut consumed = 0;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed, too_long));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            too_long = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        reader.consume(n);
        consumed += n;
        if done {
            return Ok((consumed, too_long));
        }
    }
}

fn strip_newline(mut bytes: &[u8]) -> &[u8] {
    if let Some(rest) = bytes.strip_suffix(b"\n") {
        bytes = rest;
    }
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Cuts lines into segments of at most `max_items` completions whose request body stays
/// within `max_bytes` (a single larger completion goes alone). Rejected lines are held no
/// longer than `max_items` of them either, so memory is bounded whatever the file holds.
#[derive(Debug)]
struct Batcher {
    max_items: usize,
    max_bytes: usize,
    next_line: u64,
    current: Segment,
    body_bytes: usize,
}

/// `{"inputs":[` and `]}`.
const BODY_OVERHEAD_BYTES: usize = 13;

impl Batcher {
    fn new(max_items: usize, max_bytes: usize) -> Self {
        Batcher {
            max_items,
            max_bytes,
            next_line: 1,
            current: Segment {
                first: 1,
                ..Segment::default()
            },
            body_bytes: BODY_OVERHEAD_BYTES,
        }
    }

    /// Adds the next line of the file; returns a segment when one is complete.
    fn push(&mut self, line: Line) -> Option<Segment> {
        let number = self.next_line;
        let mut done = None;
        if let Line::Completion(json) = &line {
            let cost = json.len() + 1;
            if !self.current.items.is_empty() && self.body_bytes + cost > self.max_bytes {
                done = self.take();
            }
            self.body_bytes += cost;
        }
        self.next_line += 1;
        self.current.last = number;
        match line {
            Line::Blank => self.current.blank += 1,
            Line::Completion(json) => self.current.items.push(Item { line: number, json }),
            Line::Rejected(reason) => self.current.rejected.push(Rejection {
                line: number,
                reason,
            }),
        }
        if done.is_none()
            && (self.current.items.len() >= self.max_items
                || self.current.rejected.len() >= self.max_items)
        {
            done = self.take();
        }
        done
    }

    /// The lines not yet handed out, if any.
    fn finish(mut self) -> Option<Segment> {
        self.take()
    }

    fn take(&mut self) -> Option<Segment> {
        if self.current.first == self.next_line {
            return None;
        }
        let segment = std::mem::take(&mut self.current);
        self.current.first = self.next_line;
        self.body_bytes = BODY_OVERHEAD_BYTES;
        Some(segment)
    }
}

/// The request body for `items`.
fn batch_body(items: &[Item]) -> Vec<u8> {
    let len = items.iter().map(|i| i.json.len() + 1).sum::<usize>() + BODY_OVERHEAD_BYTES;
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(b"{\"inputs\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.json.as_bytes());
    }
    body.extend_from_slice(b"]}");
    body
}

/// What a 400 says about a batch.
#[derive(Debug, PartialEq)]
enum ItemErrors {
    /// Messages for the inputs it names, by index in the request's `inputs`.
    Items(BTreeMap<usize, Vec<String>>),
    /// No input named: the whole batch is refused with this message.
    Whole(String),
}

/// Reads a 400 body: each `errors[]` entry names its input by `context.inputIndex` or, failing
/// that, by an `in` path starting with `inputs[i]`. Indices outside the batch are ignored, and
/// `inputs[i].` is taken out of the messages.
fn item_errors(body: &Value, batch_len: usize) -> ItemErrors {
    let mut items: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for error in body
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let from_context = error
            .pointer("/context/inputIndex/0")
            .and_then(|v| match v {
                Value::String(s) => s.parse::<usize>().ok(),
                Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
                _ => None,
            });
        let from_path = || {
            error
                .get("in")
                .and_then(Value::as_str)
                .and_then(|path| path.strip_prefix("inputs["))
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(index, _)| index.parse::<usize>().ok())
        };
        let Some(index) = from_context.or_else(from_path) else {
            continue;
        };
        if index >= batch_len {
            continue;
        }
        // The batch index means nothing to someone reading line numbers.
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("refused by the server")
            .replace(&format!("inputs[{index}]."), "");
        let messages = items.entry(index).or_default();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }
    if items.is_empty() {
        ItemErrors::Whole(top_message(body))
    } else {
        ItemErrors::Items(items)
    }
}

/// The error body's `message`, or the body itself when it has none.
fn top_message(body: &Value) -> String {
    match body.get("message").and_then(Value::as_str) {
        Some(message) => message.to_owned(),
        None => match body {
            Value::Null => "no details given".to_owned(),
            Value::String(text) => text.chars().take(300).collect(),
            other => other.to_string().chars().take(300).collect(),
        },
    }
}

/// Splits off the inputs a 400 named: returns the rest, to send again, and their rejections.
fn split_rejected(
    items: Vec<Item>,
    errors: &BTreeMap<usize, Vec<String>>,
) -> (Vec<Item>, Vec<Rejection>) {
    let mut keep = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match errors.get(&index) {
            Some(messages) => rejected.push(Rejection {
                line: item.line,
                reason: messages.join("; "),
            }),
            None => keep.push(item),
        }
    }
    (keep, rejected)
}

/// How the server answered one batch request.
#[derive(Debug, PartialEq)]
enum Reply {
    Stored,
    Invalid(Value),
    /// Stop sending: the reason, for the user.
    Stop(String),
}

fn reply(status: reqwest::StatusCode, body: Value, inputs: usize, bytes: usize) -> Reply {
    use reqwest::StatusCode;
    if status.is_success() {
        return Reply::Stored;
    }
    let message = top_message(&body);
    match status {
        StatusCode::BAD_REQUEST => Reply::Invalid(body),
        StatusCode::UNAUTHORIZED => Reply::Stop(format!(
            "the server refused the token ({status}): {message}; pass a private-app or OAuth \
             access token with --token or CHRONIK_TOKEN"
        )),
        StatusCode::FORBIDDEN => Reply::Stop(format!(
            "the token may not send events ({status}): {message}; it needs the scope {SEND_SCOPE}"
        )),
        StatusCode::TOO_MANY_REQUESTS => Reply::Stop(format!(
            "the server stopped accepting completions ({status}): {message}"
        )),
        StatusCode::PAYLOAD_TOO_LARGE => Reply::Stop(format!(
            "the server refused a batch of {inputs} completions ({} bytes) as too large \
             ({status}): {message}; lower --batch-size",
            thousands(bytes as u64)
        )),
        _ => {
            let correlation = body
                .get("correlationId")
                .and_then(Value::as_str)
                .map(|id| format!(" (correlationId {id})"))
                .unwrap_or_default();
            Reply::Stop(format!(
                "the server answered {status}: {message}{correlation}"
            ))
        }
    }
}

/// The batch endpoint and the credentials for it.
struct Api {
    http: reqwest::Client,
    endpoint: String,
    token: Secret,
}

impl Api {
    async fn post(&self, items: &[Item]) -> Result<Reply, String> {
        let body = batch_body(items);
        let bytes = body.len();
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "could not reach {}: {}; is `chronik serve` running?",
                    self.endpoint,
                    error_chain(&e)
                )
            })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            format!(
                "the connection to {} broke while reading the answer: {}",
                self.endpoint,
                error_chain(&e)
            )
        })?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(reply(status, body, items.len(), bytes))
    }
}

/// What became of one segment's completions.
#[derive(Debug, Default)]
struct Outcome {
    stored: u64,
    rejected: Vec<Rejection>,
    /// Lines not sent because the run stopped.
    unsent: Vec<u64>,
    stop: Option<String>,
}

/// Sends `items`, dropping the inputs a 400 names and sending the rest again until the server
/// stores them, refuses them all, or stops the run.
async fn send_items(api: Arc<Api>, mut items: Vec<Item>) -> Outcome {
    let mut outcome = Outcome::default();
    while !items.is_empty() {
        match api.post(&items).await {
            Ok(Reply::Stored) => {
                outcome.stored += items.len() as u64;
                break;
            }
            Ok(Reply::Invalid(body)) => match item_errors(&body, items.len()) {
                ItemErrors::Items(errors) => {
                    let (rest, rejected) = split_rejected(items, &errors);
                    outcome.rejected.extend(rejected);
                    items = rest;
                }
                ItemErrors::Whole(message) => {
                    outcome
                        .rejected
                        .extend(items.drain(..).map(|item| Rejection {
                            line: item.line,
                            reason: message.clone(),
                        }));
                }
            },
            Ok(Reply::Stop(reason)) | Err(reason) => {
                outcome.unsent = items.iter().map(|item| item.line).collect();
                outcome.stop = Some(reason);
                break;
            }
        }
    }
    outcome
}

/// Rejections with the lowest line numbers, at most `cap` of them, and how many there were.
#[derive(Debug)]
struct Rejections {
    cap: usize,
    total: u64,
    listed: BTreeMap<u64, String>,
}

impl Rejections {
    fn new(cap: usize) -> Self {
        Rejections {
            cap,
            total: 0,
            listed: BTreeMap::new(),
        }
    }

    fn add(&mut self, rejection: Rejection) {
        self.total += 1;
        self.listed.insert(rejection.line, rejection.reason);
        if self.listed.len() > self.cap {
            self.listed.pop_last();
        }
    }
}

/// The tally of a run, printed at its end.
#[derive(Debug)]
struct Summary {
    /// The last line handed to the sender; every line up to it is accounted for below.
    lines_read: u64,
    read_to_end: bool,
    blank: u64,
    stored: u64,
    rejected: Rejections,
    /// Completions read but not sent because the run stopped.
    not_sent: Vec<u64>,
}

impl Summary {
    fn new() -> Self {
        Summary {
            lines_read: 0,
            read_to_end: false,
            blank: 0,
            stored: 0,
            rejected: Rejections::new(LISTED_REJECTIONS),
            not_sent: Vec::new(),
        }
    }

    /// Counts a segment as read; its completions are still to be accounted.
    fn read(&mut self, segment: &mut Segment) {
        self.lines_read = self.lines_read.max(segment.last);
        self.blank += segment.blank;
        for rejection in segment.rejected.drain(..) {
            self.rejected.add(rejection);
        }
    }

    fn apply(&mut self, outcome: Outcome) {
        self.stored += outcome.stored;
        for rejection in outcome.rejected {
            self.rejected.add(rejection);
        }
        self.not_sent.extend(outcome.unsent);
    }

    fn is_clean(&self) -> bool {
        self.read_to_end && self.rejected.total == 0 && self.not_sent.is_empty()
    }

    fn render(&self) -> String {
        let mut out = format!(
            "lines read: {}\nstored:     {}\nrejected:   {}\n",
            thousands(self.lines_read),
            thousands(self.stored),
            thousands(self.rejected.total),
        );
        if self.not_sent.is_empty() {
            out.push_str("not sent:   0\n");
        } else {
            out.push_str(&format!(
                "not sent:   {} (lines {})\n",
                thousands(self.not_sent.len() as u64),
                line_ranges(&self.not_sent)
            ));
        }
        if !self.read_to_end {
            out.push_str(&format!(
                "not read:   every line after line {}\n",
                self.lines_read
            ));
        }
        if self.blank > 0 {
            out.push_str(&format!("blank:      {}\n", thousands(self.blank)));
        }
        for (line, reason) in &self.rejected.listed {
            out.push_str(&format!("line {line}: {reason}\n"));
        }
        let unlisted = self.rejected.total - self.rejected.listed.len() as u64;
        if unlisted > 0 {
            out.push_str(&format!(
                "… and {} more rejected lines\n",
                thousands(unlisted)
            ));
        }
        out
    }
}

/// `1-3, 7, 9-10` for lines 1, 2, 3, 7, 9, 10 (any order).
fn line_ranges(lines: &[u64]) -> String {
    let mut sorted = lines.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|group| std::str::from_utf8(group).expect("digits are ASCII"))
        .collect();
    groups.join(",")
}

/// What the reader thread hands to the sender.
enum FromReader {
    Segment(Segment),
    /// The end of the input; every line was handed out.
    End,
    /// Reading failed; every line before the failing one was handed out.
    Failed(anyhow::Error),
}

/// The reader thread: lines to segments, until the end of input or until the sender hangs up.
fn read_segments(
    input: Box<dyn std::io::Read + Send>,
    name: &str,
    limits: (usize, usize),
    progress: &ProgressBar,
    out: &mpsc::Sender<FromReader>,
) {
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let mut batcher = Batcher::new(limits.0, limits.1);
    let mut buf = Vec::new();
    let mut line_number = 1u64;
    let end = loop {
        match read_line_bounded(&mut reader, &mut buf, MAX_LINE_BYTES) {
            Ok((0, _)) => break FromReader::End,
            Ok((consumed, too_long)) => {
                progress.inc(consumed as u64);
                let line = classify(strip_newline(&buf), too_long);
                if let Some(segment) = batcher.push(line) {
                    if out.blocking_send(FromReader::Segment(segment)).is_err() {
                        return;
                    }
                }
                line_number += 1;
            }
            Err(e) => {
                break FromReader::Failed(
                    anyhow::Error::new(e)
                        .context(format!("could not read line {line_number} of {name}")),
                )
            }
        }
    };
    if let Some(segment) = batcher.finish() {
        if out.blocking_send(FromReader::Segment(segment)).is_err() {
            return;
        }
    }
    let _ = out.blocking_send(end);
}

fn open(path: &Path) -> anyhow::Result<(Box<dyn std::io::Read + Send>, Option<u64>, String)> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin()), None, "stdin".to_owned()));
    }
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("could not open {name}"))?;
    let metadata = file
        .metadata()
        .with_context(|| format!("could not read the metadata of {name}"))?;
    if metadata.is_dir() {
        bail!("{name} is a directory; pass an NDJSON file or - for stdin");
    }
    let len = metadata.is_file().then_some(metadata.len());
    Ok((Box::new(file), len, name))
}

const BAR_TEMPLATE: &str =
    "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}";
const SPINNER_TEMPLATE: &str = "{spinner} {elapsed_precise} {bytes} read ({bytes_per_sec}) {msg}";

fn progress_bar(len: Option<u64>, quiet: bool) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let template = if len.is_some() {
        BAR_TEMPLATE
    } else {
        SPINNER_TEMPLATE
    };
    let bar = ProgressBar::with_draw_target(len, target);
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("the templates are constants that the tests parse")
            .progress_chars("=> "),
    );
    if len.is_none() {
        bar.enable_steady_tick(Duration::from_millis(120));
    }
    bar
}

pub async fn run(args: SendArgs) -> anyhow::Result<()> {
    let Some(token) = args.token else {
        bail!(
            "no token: pass --token or set CHRONIK_TOKEN to a private-app or OAuth access token \
             with the scope {SEND_SCOPE}"
        );
    };
    let (input, len, name) = open(&args.file)?;
    let api = Arc::new(Api {
        http: reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .context("could not set up the HTTP client")?,
        endpoint: format!("{}/events/v3/send/batch", args.url.trim_end_matches('/')),
        token,
    });
    let progress = progress_bar(len, args.quiet);

    let (tx, mut rx) = mpsc::channel(QUEUED_SEGMENTS);
    let reader_progress = progress.clone();
    let limits = (args.batch_size, MAX_BATCH_BODY_BYTES);
    let reader_name = name.clone();
    // A plain thread, not spawn_blocking: when the run stops while it waits on stdin, the
    // process exits without waiting for it.
    std::thread::Builder::new()
        .name("chronik-send-reader".to_owned())
        .spawn(move || read_segments(input, &reader_name, limits, &reader_progress, &tx))
        .context("could not start the reader thread")?;

    let mut summary = Summary::new();
    let mut in_flight = JoinSet::new();
    let mut stop: Option<anyhow::Error> = None;
    let mut input_open = true;
    loop {
        tokio::select! {
            Some(joined) = in_flight.join_next() => {
                let outcome: Outcome = joined.context("a send task failed")?;
                if let (None, Some(reason)) = (&stop, &outcome.stop) {
                    stop = Some(anyhow::anyhow!("{reason}"));
                }
                summary.apply(outcome);
                progress.set_message(format!(
                    "{} stored, {} rejected",
                    thousands(summary.stored),
                    thousands(summary.rejected.total)
                ));
            }
            read = rx.recv(), if input_open && stop.is_none() && in_flight.len() < IN_FLIGHT => {
                match read {
                    Some(FromReader::Segment(mut segment)) => {
                        summary.read(&mut segment);
                        if !segment.items.is_empty() {
                            in_flight.spawn(send_items(api.clone(), segment.items));
                        }
                    }
                    Some(FromReader::End) => {
                        summary.read_to_end = true;
                        input_open = false;
                    }
                    Some(FromReader::Failed(e)) => {
                        stop = Some(e);
                        input_open = false;
                    }
                    None => {
                        stop = Some(anyhow::anyhow!("the reader of {name} ended unexpectedly"));
                        input_open = false;
                    }
                }
            }
            else => break,
        }
    }
    // Stopped early: segments already read are reported as not sent; the reader sees the
    // closed channel and ends.
    rx.close();
    while let Some(read) = rx.recv().await {
        match read {
            FromReader::Segment(mut segment) => {
                summary.read(&mut segment);
                summary
                    .not_sent
                    .extend(segment.items.iter().map(|item| item.line));
            }
            FromReader::End => summary.read_to_end = true,
            FromReader::Failed(_) => {}
        }
    }
    progress.finish_and_clear();

    print!("{}", summary.render());
    if let Some(stop) = stop {
        return Err(stop);
    }
    if !summary.is_clean() {
        bail!(
            "{} of {} lines rejected; fix them and send those lines again",
            thousands(summary.rejected.total),
            thousands(summary.lines_read)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn completion(n: u64) -> Line {
        Line::Completion(format!(
            r#"{{"eventName":"pe1_x","uuid":"u{n}","email":"a@b.c"}}"#
        ))
    }

    #[test]
    fn batch_size_takes_1_to_500() {
        assert_eq!(parse_batch_size("1"), Ok(1));
        assert_eq!(parse_batch_size("500"), Ok(500));
        let zero = parse_batch_size("0").unwrap_err();
        assert!(zero.contains("500") && zero.contains("got 0"), "{zero}");
        let over = parse_batch_size("501").unwrap_err();
        assert!(over.contains("500") && over.contains("got 501"), "{over}");
        assert!(parse_batch_size("ten").is_err());
    }

    #[test]
    fn lines_are_classified_as_blank_completion_or_rejected_with_a_reason() {
        assert_eq!(classify(b"", false), Line::Blank);
        assert_eq!(classify(b"  \t ", false), Line::Blank);
        assert_eq!(
            classify(br#" {"eventName":"pe1_x"} "#, false),
            Line::Completion(r#"{"eventName":"pe1_x"}"#.to_owned())
        );
        assert_eq!(
            classify("\u{feff}{}".as_bytes(), false),
            Line::Completion("{}".to_owned())
        );
        for (line, needle) in [
            (&b"[1,2]"[..], "an array"),
            (b"\"x\"", "a string"),
            (b"42", "a number"),
            (b"true", "a boolean"),
            (b"null", "null"),
            (b"{\"a\":", "not valid JSON"),
            (b"{} {}", "trailing characters"),
            (b"hello", "at column 1"),
            (b"{\"a\":\"\xff\"}", "not UTF-8"),
        ] {
            let Line::Rejected(reason) = classify(line, false) else {
                panic!("{line:?} was accepted");
            };
            assert!(reason.contains(needle), "{line:?}: {reason}");
        }
        let Line::Rejected(reason) = classify(b"{}", true) else {
            panic!("a cut line was accepted");
        };
        assert!(reason.contains("1,048,576 bytes"), "{reason}");
    }

    #[test]
    fn long_lines_are_cut_at_the_limit_and_the_next_line_is_read_whole() {
        let input = format!("{}\nshort\r\nlast", "x".repeat(100));
        let mut reader = BufReader::with_capacity(8, input.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 10).unwrap(),
            (101, true)
        );
        assert_eq!(buf.len(), 10);
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 10).unwrap(),
            (7, false)
        );
        assert_eq!(strip_newline(&buf), b"short");
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 10).unwrap(),
            (4, false)
        );
        assert_eq!(strip_newline(&buf), b"last");
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 10).unwrap(),
            (0, false)
        );
    }

    fn segments(lines: Vec<Line>, max_items: usize, max_bytes: usize) -> Vec<Segment> {
        let mut batcher = Batcher::new(max_items, max_bytes);
        let mut out: Vec<Segment> = lines.into_iter().filter_map(|l| batcher.push(l)).collect();
        out.extend(batcher.finish());
        out
    }

    /// Every line lands in exactly one segment, and the segments tile the file.
    fn assert_tiles(segments: &[Segment], lines: u64) {
        let mut next = 1;
        for s in segments {
            assert_eq!(s.first, next, "{segments:?}");
            let count = s.items.len() as u64 + s.rejected.len() as u64 + s.blank;
            assert_eq!(s.last - s.first + 1, count, "{s:?}");
            assert!(s.items.iter().all(|i| (s.first..=s.last).contains(&i.line)));
            next = s.last + 1;
        }
        assert_eq!(next, lines + 1);
    }

    #[test]
    fn batches_hold_at_most_batch_size_completions_and_tile_the_file() {
        let mut lines: Vec<Line> = (1..=1_203).map(completion).collect();
        lines.insert(10, Line::Blank);
        lines.insert(20, Line::Rejected("bad".into()));
        let segs = segments(lines, 500, MAX_BATCH_BODY_BYTES);
        assert_eq!(
            segs.iter().map(|s| s.items.len()).collect::<Vec<_>>(),
            [500, 500, 203]
        );
        assert_tiles(&segs, 1_205);
        assert_eq!(segs[0].blank, 1);
        assert_eq!(segs[0].rejected[0].line, 21);
        assert_eq!(segs[0].items[10].line, 12);
        assert_eq!(segs[2].last, 1_205);
    }

    #[test]
    fn a_batch_is_cut_before_its_body_passes_the_byte_limit() {
        let line = |n: u64| Line::Completion(format!("{{\"k\":\"{n:0>86}\"}}"));
        // 94 bytes each plus a comma: 10 fit in 13 + 10 * 95 = 963 bytes, 11 do not.
        let segs = segments((1..=25).map(line).collect(), 500, 1_000);
        assert_eq!(
            segs.iter().map(|s| s.items.len()).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        assert_tiles(&segs, 25);
        assert!(segs.iter().all(|s| batch_body(&s.items).len() <= 1_000));
        // A completion larger than the limit still goes, alone.
        let big = Line::Completion(format!("{{\"k\":\"{}\"}}", "x".repeat(2_000)));
        let segs = segments(vec![line(1), big, line(3)], 500, 1_000);
        assert_eq!(
            segs.iter().map(|s| s.items.len()).collect::<Vec<_>>(),
            [1, 1, 1]
        );
        assert_tiles(&segs, 3);
    }

    #[test]
    fn a_file_of_only_bad_lines_still_comes_out_in_bounded_segments() {
        let lines = (0..1_001).map(|_| Line::Rejected("bad".into())).collect();
        let segs = segments(lines, 500, MAX_BATCH_BODY_BYTES);
        assert_eq!(
            segs.iter().map(|s| s.rejected.len()).collect::<Vec<_>>(),
            [500, 500, 1]
        );
        assert_tiles(&segs, 1_001);
        assert!(segments(Vec::new(), 500, 1_000).is_empty());
    }

    #[test]
    fn the_body_is_the_lines_as_written_in_an_inputs_array() {
        let items = vec![
            Item {
                line: 1,
                json: r#"{"a":"1"}"#.into(),
            },
            Item {
                line: 3,
                json: r#"{"b":"2"}"#.into(),
            },
        ];
        let body: Value = serde_json::from_slice(&batch_body(&items)).unwrap();
        assert_eq!(body, json!({"inputs": [{"a": "1"}, {"b": "2"}]}));
        assert_eq!(batch_body(&[]), b"{\"inputs\":[]}");
    }

    #[test]
    fn input_indices_map_back_to_line_numbers_with_their_messages() {
        let items: Vec<Item> = [4u64, 5, 7, 9]
            .into_iter()
            .map(|line| Item {
                line,
                json: "{}".into(),
            })
            .collect();
        let body = json!({
            "status": "error", "message": "2 inputs are invalid", "category": "VALIDATION_ERROR",
            "errors": [
                {"message": "foo is not a property of pe1_x", "in": "inputs[1].properties.foo",
                 "context": {"inputIndex": ["1"]}},
                {"message": "inputs[3].identify the record: give email, utk, or objectId",
                 "in": "inputs[3]"},
                {"message": "bar is not a property of pe1_x", "in": "inputs[1].properties.bar",
                 "context": {"inputIndex": [1]}},
                {"message": "index out of range", "context": {"inputIndex": ["9"]}},
            ]
        });
        let ItemErrors::Items(errors) = item_errors(&body, items.len()) else {
            panic!("no items named");
        };
        let (rest, rejected) = split_rejected(items, &errors);
        assert_eq!(rest.iter().map(|i| i.line).collect::<Vec<_>>(), [4, 7]);
        assert_eq!(
            rejected,
            [
                Rejection {
                    line: 5,
                    reason: "foo is not a property of pe1_x; bar is not a property of pe1_x".into()
                },
                Rejection {
                    line: 9,
                    reason: "identify the record: give email, utk, or objectId".into()
                },
            ]
        );
    }

    #[test]
    fn an_error_without_input_indices_refuses_the_whole_batch() {
        let body = json!({"message": "inputs has 501 items", "errors": [{"message": "x", "in": "inputs"}]});
        assert_eq!(
            item_errors(&body, 3),
            ItemErrors::Whole("inputs has 501 items".into())
        );
        assert_eq!(
            item_errors(&Value::String("bad request".into()), 3),
            ItemErrors::Whole("bad request".into())
        );
    }

    #[test]
    fn statuses_map_to_stored_invalid_or_stop() {
        use reqwest::StatusCode;
        let body = json!({"message": "msg", "correlationId": "c-1"});
        assert_eq!(
            reply(StatusCode::NO_CONTENT, Value::Null, 1, 10),
            Reply::Stored
        );
        assert_eq!(
            reply(StatusCode::BAD_REQUEST, body.clone(), 1, 10),
            Reply::Invalid(body.clone())
        );
        for (status, needle) in [
            (StatusCode::UNAUTHORIZED, "--token"),
            (StatusCode::FORBIDDEN, SEND_SCOPE),
            (StatusCode::TOO_MANY_REQUESTS, "429"),
            (StatusCode::PAYLOAD_TOO_LARGE, "--batch-size"),
            (StatusCode::INTERNAL_SERVER_ERROR, "correlationId c-1"),
        ] {
            let Reply::Stop(reason) = reply(status, body.clone(), 1, 10) else {
                panic!("{status} did not stop");
            };
            assert!(
                reason.contains(needle) && reason.contains("msg"),
                "{status}: {reason}"
            );
        }
    }

    #[test]
    fn the_summary_counts_every_line_and_lists_the_first_rejections() {
        let mut summary = Summary::new();
        summary.rejected = Rejections::new(2);
        let mut segment = Segment {
            first: 1,
            last: 12,
            items: Vec::new(),
            rejected: vec![Rejection {
                line: 9,
                reason: "not valid JSON".into(),
            }],
            blank: 1,
        };
        summary.read(&mut segment);
        summary.apply(Outcome {
            stored: 6,
            rejected: vec![
                Rejection {
                    line: 4,
                    reason: "unknown property foo".into(),
                },
                Rejection {
                    line: 11,
                    reason: "no identifier".into(),
                },
            ],
            unsent: Vec::new(),
            stop: None,
        });
        summary.apply(Outcome {
            stored: 0,
            rejected: Vec::new(),
            unsent: vec![3, 1],
            stop: Some("429".into()),
        });
        let text = summary.render();
        assert!(text.contains("lines read: 12\n"), "{text}");
        assert!(text.contains("stored:     6\n"), "{text}");
        assert!(text.contains("rejected:   3\n"), "{text}");
        assert!(text.contains("not sent:   2 (lines 1, 3)\n"), "{text}");
        assert!(
            text.contains("not read:   every line after line 12\n"),
            "{text}"
        );
        assert!(text.contains("blank:      1\n"), "{text}");
        assert!(
            text.contains("line 4: unknown property foo\nline 9: not valid JSON\n"),
            "{text}"
        );
        assert!(!text.contains("line 11:"), "{text}");
        assert!(text.contains("… and 1 more rejected lines"), "{text}");
        assert!(!summary.is_clean());
    }

    #[test]
    fn a_clean_run_reads_to_the_end_and_lists_nothing() {
        let mut summary = Summary::new();
        summary.read(&mut Segment {
            first: 1,
            last: 2_500,
            ..Segment::default()
        });
        summary.apply(Outcome {
            stored: 2_500,
            ..Outcome::default()
        });
        summary.read_to_end = true;
        assert!(summary.is_clean());
        assert_eq!(
            summary.render(),
            "lines read: 2,500\nstored:     2,500\nrejected:   0\nnot sent:   0\n"
        );
    }

    #[test]
    fn ranges_and_thousands_read_as_people_write_them() {
        assert_eq!(line_ranges(&[10, 1, 2, 3, 7, 9]), "1-3, 7, 9-10");
        assert_eq!(line_ranges(&[]), "");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(30_000_000), "30,000,000");
    }

    #[test]
    fn progress_templates_parse() {
        for template in [BAR_TEMPLATE, SPINNER_TEMPLATE] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }
}
