//! [`HeadGuard`]: reads a connection's bytes before hyper does and lets through only request
//! heads that hyper will accept, so that every malformed or oversized head is answered with
//! HubSpot's JSON error body by us, never with hyper's bodiless 400/414/431.
//!
//! The guard walks the byte stream as HTTP/1.1 frames it: a head (up to the blank line), then
//! the body its `Content-Length` declares, then the next head. A head is checked whole, with the
//! same parser hyper uses (`httparse`, default settings) and the same rules hyper applies after
//! it (the request target as a URI, header names, `Content-Length`, `Transfer-Encoding`), but with
//! limits at or below hyper's ([`MAX_URI_BYTES`], [`MAX_HEAD_BYTES`], [`MAX_HEADERS`]); only then
//! are its bytes handed to hyper. A head that fails becomes a refusal: the bytes before it (earlier
//! requests) still reach hyper and are answered, the guard then stops reading and asks the
//! connection task to shut hyper down gracefully, and the task writes the refusal after hyper's
//! last response and closes the connection. hyper therefore never sees a head it would refuse,
//! and never holds a partial head: a connection waiting for the rest of a head is idle to hyper,
//! which is what lets a graceful shutdown close it at once.
//!
//! A chunked body, or a `CONNECT`, is not framed by the guard: it lets the rest of the stream
//! through unchecked, and [`super::must_close`] makes hyper close the connection after that
//! request's response, so no later head is parsed without the guard.
//!
//! The guard also times the head: [`HeadGuard`] closes a connection whose head has not arrived
//! whole within the header read timeout of its first byte. And it times writes: a client that
//! takes none of a response for the write timeout (the idle timeout) fails hyper's write, which
//! closes the connection, so a client that only sends cannot hold one either.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::Method;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use uuid::Uuid;

use crate::error::{ApiError, Category, ErrorDetail};
use crate::telemetry::CORRELATION_HEADER;

/// The longest request target (path and query) accepted, in bytes. hyper refuses more than
/// 65,534 itself; 32 KiB is twice what common proxies (Cloudflare, which fronts HubSpot) pass,
/// and holds hundreds of `property.*` filters.
pub const MAX_URI_BYTES: usize = 32 * 1024;

/// The largest request head (request line and headers) accepted, in bytes: the longest target
/// plus as much again for headers. hyper's own bound is its 400 KiB read buffer.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The most header lines a request may have: hyper's own limit (`DEFAULT_MAX_HEADERS`), so
/// that a head the guard passes never hits it.
pub const MAX_HEADERS: usize = 100;

/// Room for the method, the spaces and the version around the target on the request line.
const REQUEST_LINE_SLACK: usize = 64;

/// hyper refuses a `Content-Length` above `u64::MAX - 2` (its `DecodedLength::MAX_LEN`).
const MAX_CONTENT_LENGTH: u64 = u64::MAX - 2;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Where the guard is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Before or inside a request head.
    Head,
    /// Inside a body of this many bytes still to come.
    Body(u64),
    /// After a chunked or `CONNECT` request's head: everything goes through unchecked; hyper
    /// closes the connection after that request.
    Through,
    /// No more bytes go to hyper: a refusal is waiting, or the head timed out.
    Stopped,
}

/// A head the guard refused, as the response to write once hyper is done.
pub(crate) struct Refusal {
    error: ApiError,
}

impl Refusal {
    /// The whole HTTP/1.1 response: HubSpot's JSON body, its correlation id also in the header,
    /// and `Connection: close`.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let id = Uuid::new_v4();
        let status = self.error.category.status();
        let body = serde_json::to_vec(&self.error.body_with_correlation_id(id))
            .unwrap_or_else(|_| b"{\"status\":\"error\"}".to_vec());
        tracing::debug!(
            status = status.as_u16(),
            correlation_id = %id,
            message = %self.error.message,
            "request head refused"
        );
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{CORRELATION_HEADER}: {id}\r\n\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len(),
        )
        .into_bytes();
        out.extend_from_slice(&body);
        out
    }

    /// The status the refusal is sent with.
    #[cfg(test)]
    fn status(&self) -> axum::http::StatusCode {
        self.error.category.status()
    }
}

/// What checking a complete head found.
enum Checked {
    /// hyper will accept the head of this many bytes; its body is framed as given.
    Pass { len: usize, framing: Framing },
    /// Not a whole head yet.
    Partial,
}

/// The IO hyper reads and writes through; see the module doc. Writes go straight to the socket,
/// bounded in time.
pub(crate) struct HeadGuard<S> {
    inner: S,
    /// Bytes read from the socket: the first `cleared` may go to hyper, the rest are the part of
    /// a head being checked.
    pending: Vec<u8>,
    cleared: usize,
    /// How much of `pending[cleared..]` has been searched for the end of the head.
    scanned: usize,
    framing: Framing,
    read_eof: bool,
    header_read_timeout: Duration,
    /// When the head being read got its first byte.
    head_started: Option<Instant>,
    /// Armed only when that head has to be waited for.
    head_deadline: Option<Pin<Box<Sleep>>>,
    write_timeout: Duration,
    /// Armed while a write waits for the client to take bytes.
    write_deadline: Option<Pin<Box<Sleep>>>,
    refusal: Option<Refusal>,
    /// Tells the connection task to shut hyper down gracefully (see the module doc).
    stop: Arc<Notify>,
    stop_sent: bool,
}

impl<S> HeadGuard<S> {
    /// Guards `inner`; `stop` is notified once hyper should take no more requests. A write that
    /// makes no progress for `write_timeout` fails.
    pub(crate) fn new(
        inner: S,
        header_read_timeout: Duration,
        write_timeout: Duration,
        stop: Arc<Notify>,
    ) -> Self {
        HeadGuard {
            inner,
            pending: Vec::new(),
            cleared: 0,
            scanned: 0,
            framing: Framing::Head,
            read_eof: false,
            header_read_timeout,
            head_started: None,
            head_deadline: None,
            write_timeout,
            write_deadline: None,
            refusal: None,
            stop,
            stop_sent: false,
        }
    }

    /// The refusal to write after hyper's last response, if a head was refused.
    pub(crate) fn take_refusal(&mut self) -> Option<Refusal> {
        self.refusal.take()
    }

    /// The socket, to write the refusal and close.
    pub(crate) fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Fails a write (or flush) that has waited `write_timeout` without progress.
    fn bound_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.write_deadline = None;
            return polled;
        }
        let timeout = self.write_timeout;
        let deadline = self
            .write_deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if deadline.as_mut().poll(cx).is_ready() {
            self.write_deadline = None;
            tracing::debug!("the client took none of the response in time; closing");
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took none of the response within the write timeout",
            )));
        }
        Poll::Pending
    }

    fn stop_with(&mut self, refusal: Option<ApiError>) {
        self.framing = Framing::Stopped;
        self.refusal = refusal.map(|error| Refusal { error });
        self.head_started = None;
        self.head_deadline = None;
        self.pending.truncate(self.cleared);
    }

    /// Moves through `pending[cleared..]` as far as the bytes there allow.
    fn advance(&mut self) {
        loop {
            match self.framing {
                Framing::Stopped => return,
                Framing::Through => {
                    self.cleared = self.pending.len();
                    return;
                }
                Framing::Body(left) => {
                    let available = (self.pending.len() - self.cleared) as u64;
                    let take = available.min(left);
                    // `take` is at most `available`, a usize.
                    self.cleared += usize::try_from(take).unwrap_or(usize::MAX);
                    if take < left {
                        self.framing = Framing::Body(left - take);
                        return;
                    }
                    self.framing = Framing::Head;
                    self.scanned = 0;
                }
                Framing::Head => {
                    // Empty lines before a request line carry nothing (RFC 9112 §2.2); dropping
                    // them keeps hyper's buffer empty between requests.
                    let blank = leading_empty_lines(&self.pending[self.cleared..]);
                    if blank > 0 {
                        self.pending.drain(self.cleared..self.cleared + blank);
                        self.scanned = 0;
                    }
                    let head = &self.pending[self.cleared..];
                    if head.is_empty() {
                        self.head_started = None;
                        self.head_deadline = None;
                        return;
                    }
                    self.head_started.get_or_insert_with(Instant::now);
                    let Some(end) = head_end(head, self.scanned) else {
                        self.scanned = head.len();
                        if let Some(refused) = check_partial(head) {
                            self.stop_with(Some(refused));
                        }
                        return;
                    };
                    match check_head(head) {
                        Ok(Checked::Pass { len, framing }) => {
                            self.cleared += len;
                            self.framing = framing;
                            self.head_started = None;
                            self.head_deadline = None;
                        }
                        // An end marker httparse does not take as the end: search on, past
                        // it (`head_end` starts two bytes before `scanned`).
                        Ok(Checked::Partial) => self.scanned = end + 2,
                        Err(refused) => {
                            self.stop_with(Some(refused));
                            return;
                        }
                    }
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.cleared > 0 {
                let n = this.cleared.min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.drain(..n);
                this.cleared -= n;
                // An idle connection keeps no more than one read's worth of memory.
                if this.pending.is_empty() {
                    this.pending.shrink_to(READ_CHUNK);
                }
                return Poll::Ready(Ok(()));
            }
            if this.framing == Framing::Stopped {
                // Every byte before the refused head is with hyper now (and, hyper parsing as
                // it reads, its request too), so the graceful shutdown cannot overtake it.
                if !this.stop_sent {
                    this.stop_sent = true;
                    this.stop.notify_one();
                }
                return Poll::Pending;
            }
            if this.read_eof {
                return Poll::Ready(Ok(()));
            }
            let old = this.pending.len();
            this.pending.resize(old + READ_CHUNK, 0);
            let mut read = ReadBuf::new(&mut this.pending[old..]);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) => {
                    let n = read.filled().len();
                    this.pending.truncate(old + n);
                    if n == 0 {
                        // The client closed: a partial head is dropped, hyper sees a clean EOF.
                        this.read_eof = true;
                        this.pending.truncate(this.cleared);
                    } else {
                        this.advance();
                    }
                }
                Poll::Ready(Err(e)) => {
                    this.pending.truncate(old);
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => {
                    this.pending.truncate(old);
                    if let Some(started) = this.head_started {
                        let due = started + this.header_read_timeout;
                        let deadline = this
                            .head_deadline
                            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                        if deadline.as_mut().poll(cx).is_ready() {
                            tracing::debug!("request head not complete in time; closing");
                            this.stop_with(None);
                            continue;
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.bound_write(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.bound_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.bound_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// How many bytes at the start of `buf` are empty lines (`\r\n` or `\n`).
fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match &buf[at..] {
            [b'\n', ..] => at += 1,
            [b'\r', b'\n', ..] => at += 2,
            _ => return at,
        }
    }
}

/// The end of the first blank line in `buf` (the end of a head), searching from about `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from.saturating_sub(2);
    while let Some(found) = buf[at..].iter().position(|&b| b == b'\n') {
        let lf = at + found;
        match &buf[lf + 1..] {
            [b'\n', ..] => return Some(lf + 2),
            [b'\r', b'\n', ..] => return Some(lf + 3),
            _ => at = lf + 1,
        }
    }
    None
}

/// A refusal of `category` whose one item names the part of the head (`in`) and the `code`.
fn refuse(category: Category, part: &str, code: &str, message: String) -> ApiError {
    ApiError {
        category,
        errors: vec![ErrorDetail {
            message: message.clone(),
            in_: Some(part.to_owned()),
            code: Some(code.to_owned()),
            context: None,
        }],
        message,
        context: None,
    }
}

fn uri_too_long(len: usize) -> ApiError {
    refuse(
        Category::UriTooLong,
        "uri",
        "TOO_LONG",
        format!(
            "The request target (path and query) has {len} bytes or more; at most {MAX_URI_BYTES} are allowed. Send fewer query parameters, or use the endpoint's POST form."
        ),
    )
}

fn head_too_large(len: usize) -> ApiError {
    refuse(
        Category::HeadersTooLarge,
        "headers",
        "TOO_LONG",
        format!(
            "The request line and headers have {len} bytes or more; at most {MAX_HEAD_BYTES} are allowed."
        ),
    )
}

/// 400 for a `part` of the head that hyper would refuse.
fn malformed(part: &str, message: impl Into<String>) -> ApiError {
    refuse(Category::ValidationError, part, "INVALID", message.into())
}

/// Limits a head still arriving already breaks.
fn check_partial(head: &[u8]) -> Option<ApiError> {
    let line_done = head.contains(&b'\n');
    if !line_done && head.len() > MAX_URI_BYTES + REQUEST_LINE_SLACK {
        return Some(uri_too_long(head.len() - REQUEST_LINE_SLACK));
    }
    (head.len() > MAX_HEAD_BYTES).then(|| head_too_large(head.len()))
}

/// Checks a head as hyper will parse it (`hyper::proto::h1::role::Server::parse`): what hyper
/// would refuse, or what this guard refuses before hyper's own limits, becomes an error.
fn check_head(bytes: &[u8]) -> Result<Checked, ApiError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(Checked::Partial),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(refuse(
                Category::HeadersTooLarge,
                "headers",
                "TOO_MANY",
                format!("The request has more than {MAX_HEADERS} header lines; at most {MAX_HEADERS} are allowed."),
            ))
        }
        Err(httparse::Error::Token) if request.method.is_none() => {
            return Err(malformed(
                "method",
                "The request line's method is not a valid HTTP token.",
            ))
        }
        Err(httparse::Error::Token) => {
            return Err(malformed(
                "uri",
                "The request target (path and query) contains bytes HTTP does not allow there; percent-encode them.",
            ))
        }
        Err(httparse::Error::Version) => {
            return Err(malformed(
                "version",
                "The request line's HTTP version is not HTTP/1.0 or HTTP/1.1.",
            ))
        }
        Err(e) => {
            return Err(malformed(
                "headers",
                format!(
                "The request head is malformed ({e}); each header line is `name: value`."
            )))
        }
    };
    let (Some(method), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return Err(malformed("uri", "The request line is incomplete."));
    };
    if target.len() > MAX_URI_BYTES {
        return Err(uri_too_long(target.len()));
    }
    if len > MAX_HEAD_BYTES {
        return Err(head_too_large(len));
    }
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| {
        malformed(
            "method",
            "The request line's method is not a valid HTTP token.",
        )
    })?;
    if axum::http::Uri::try_from(target).is_err() {
        return Err(malformed(
            "uri",
            "The request target (path and query) is not a valid URI; percent-encode reserved and non-ASCII bytes.",
        ));
    }
    let mut content_length = None;
    let mut transfer_encoding = None;
    for header in request.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(header.name.as_bytes()) else {
            return Err(malformed(
                "headers",
                format!(
                    "The header name {:?} is not a valid HTTP token.",
                    header.name
                ),
            ));
        };
        if name == CONTENT_LENGTH {
            let Some(n) = parse_digits(header.value).filter(|n| *n <= MAX_CONTENT_LENGTH) else {
                return Err(malformed(
                    "Content-Length",
                    format!(
                    "Content-Length {:?} is not a byte count; send the body's length in decimal digits.",
                    String::from_utf8_lossy(header.value)
                )));
            };
            if content_length.is_some_and(|previous| previous != n) {
                return Err(malformed(
                    "Content-Length",
                    "The request has Content-Length headers with different values; send one.",
                ));
            }
            content_length = Some(n);
        } else if name == TRANSFER_ENCODING {
            transfer_encoding = Some(header.value);
        }
    }
    let framing = match transfer_encoding {
        None if method == Method::CONNECT => Framing::Through,
        None => Framing::Body(content_length.unwrap_or(0)),
        Some(_) if version == 0 => {
            return Err(malformed(
                "Transfer-Encoding",
                "Transfer-Encoding is not allowed in an HTTP/1.0 request.",
            ))
        }
        Some(_) if content_length.is_some() => {
            return Err(malformed(
                "Transfer-Encoding",
                "The request has both Content-Length and Transfer-Encoding; send one.",
            ))
        }
        Some(value) if is_chunked(value) => Framing::Through,
        Some(_) => return Err(malformed(
            "Transfer-Encoding",
            "Transfer-Encoding must end with chunked; send the body with a Content-Length instead.",
        )),
    };
    Ok(Checked::Pass { len, framing })
}

/// A `Content-Length` value as hyper reads one: decimal digits only, no sign or spaces.
fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// hyper's rule: chunked must be the last coding of the (last) `Transfer-Encoding` header.
fn is_chunked(value: &[u8]) -> bool {
    HeaderValue::from_bytes(value)
        .ok()
        .and_then(|v| {
            v.to_str().ok().and_then(|s| {
                s.rsplit(',')
                    .next()
                    .map(|last| last.trim().eq_ignore_ascii_case("chunked"))
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn refused(head: &str) -> StatusCode {
        match check_head(head.as_bytes()) {
            Err(e) => Refusal { error: e }.status(),
            Ok(_) => panic!("accepted: {head:?}"),
        }
    }

    fn framing(head: &str) -> Framing {
        match check_head(head.as_bytes()) {
            Ok(Checked::Pass { framing, .. }) => framing,
            Ok(Checked::Partial) => panic!("partial: {head:?}"),
            Err(e) => panic!("refused {head:?}: {}", e.message),
        }
    }

    #[test]
    fn body_framing_follows_content_length_and_transfer_encoding() {
        assert_eq!(framing("GET / HTTP/1.1\r\n\r\n"), Framing::Body(0));
        assert_eq!(
            framing("POST / HTTP/1.1\r\nContent-Length: 12\r\ncontent-length: 12\r\n\r\n"),
            Framing::Body(12)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"),
            Framing::Through
        );
        assert_eq!(
            framing("CONNECT example.com:443 HTTP/1.1\r\n\r\n"),
            Framing::Through
        );
    }

    #[test]
    fn heads_hyper_would_refuse_are_refused_with_the_status_hyper_would_send() {
        let bad_request = StatusCode::BAD_REQUEST;
        for head in [
            "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 18446744073709551614\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "GET /a\x01b HTTP/1.1\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
            "GET / HTTP/1.1\r\nbad header\r\n\r\n",
        ] {
            assert_eq!(refused(head), bad_request, "{head:?}");
        }
        let at_limit = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI_BYTES - 1));
        assert_eq!(framing(&at_limit), Framing::Body(0));
        let past = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI_BYTES));
        assert_eq!(refused(&past), StatusCode::URI_TOO_LONG);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: 1\r\n")).collect();
        assert_eq!(
            refused(&format!("GET / HTTP/1.1\r\n{many}\r\n")),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        let enough: String = (0..MAX_HEADERS).map(|i| format!("x-{i}: 1\r\n")).collect();
        assert_eq!(
            framing(&format!("GET / HTTP/1.1\r\n{enough}\r\n")),
            Framing::Body(0)
        );
    }

    #[test]
    fn head_end_is_the_first_blank_line_with_either_line_ending() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nrest", 0), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nrest", 0), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n", 0), None);
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 25), Some(27));
        assert_eq!(leading_empty_lines(b"\r\n\nGET"), 3);
        assert_eq!(leading_empty_lines(b"\rGET"), 0);
    }
}
