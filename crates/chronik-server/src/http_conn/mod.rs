//! The connection layer: accepting TCP connections, bounding what each may hold, and shutting
//! down in a bounded time. [`serve`] runs hyper's HTTP/1 connection over each accepted socket, in
//! place of `axum::serve`, because the bounds below need hold of the socket and of hyper's
//! per-connection settings.
//!
//! What a connection may hold, each bound a `ServerConfig` field and a `chronik serve` flag:
//! - **Connections at once** (`max_connections`): the accept loop takes a permit before it
//!   accepts, so past the cap a new connection waits in the listen queue, and is served as soon
//!   as any connection closes; the loop itself never blocks on a connection.
//! - **The head** (`header_read_timeout`): [`head::HeadGuard`] closes a connection whose request
//!   head has not arrived whole within the timeout of its first byte.
//! - **Idle time** (`idle_timeout`): hyper's `header_read_timeout` runs from the moment hyper is
//!   ready for the next request (the connection opened, or the last response went out) until a
//!   whole head has reached it; the guard hands hyper only whole heads, so for hyper this is the
//!   idle time plus the head's, and it closes the connection when it runs out. The same bound
//!   applies to a client that takes none of a response (the guard fails the write).
//! - **The body** (`request_body_timeout`): [`DeadlineBody`] ends a body that has not arrived
//!   whole within the timeout of its head with an error, which the extractors answer with 400;
//!   hyper then closes the connection, as the rest of the body is not read.
//! - **Heads hyper would refuse** are answered by the guard with HubSpot's JSON error body (see
//!   [`head`]), as hyper's own answers have no body and no `Content-Type`.
//!
//! **Shutdown.** When the shutdown future resolves, the listener closes and every connection gets
//! hyper's graceful shutdown: a connection without a request in flight (idle, or waiting for the
//! rest of a head, which hyper never holds) closes at once, one with a request in flight closes
//! after its response. After `shutdown_grace_period` the connections still open are dropped, and
//! [`serve`] returns.

pub mod head;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{HeaderValue, CONNECTION, TRANSFER_ENCODING};
use axum::http::{Method, Request};
use axum::response::Response;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::ServerConfig;
use head::HeadGuard;

/// After an accept error other than a refused or reset connection (usually no file descriptor
/// left), the loop pauses this long so it does not spin while connections close.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How long writing a refusal to a client (and reading what it still sends, so that closing
/// does not reset the connection before the client read the refusal) may take.
const REFUSAL_LINGER: Duration = Duration::from_secs(2);

/// At most this many bytes are read and dropped while lingering after a refusal.
const REFUSAL_LINGER_BYTES: usize = 1024 * 1024;

/// The connection layer's settings, from [`ServerConfig`].
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// See [`ServerConfig::header_read_timeout`].
    pub header_read_timeout: Duration,
    /// See [`ServerConfig::idle_timeout`].
    pub idle_timeout: Duration,
    /// See [`ServerConfig::request_body_timeout`].
    pub request_body_timeout: Duration,
    /// See [`ServerConfig::max_connections`].
    pub max_connections: usize,
    /// See [`ServerConfig::shutdown_grace_period`].
    pub shutdown_grace_period: Duration,
}

impl From<&ServerConfig> for Settings {
    fn from(config: &ServerConfig) -> Self {
        Settings {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            request_body_timeout: config.request_body_timeout,
            max_connections: config.max_connections.max(1),
            shutdown_grace_period: config.shutdown_grace_period,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then shuts down as the module doc says.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Unpin
        + 'static,
    S::Future: Send,
{
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    let handler = Handler {
        app,
        body_timeout: settings.request_body_timeout,
    };
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "could not accept a connection");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    }
                }
            },
        };
        connections.spawn(serve_connection(
            stream,
            handler.clone(),
            settings,
            closing_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    tracing::info!(
        open = connections.len(),
        grace_period_s = settings.shutdown_grace_period.as_secs_f64(),
        "closing connections; requests in flight may finish within the grace period"
    );
    let _ = closing_tx.send(true);
    let drained = tokio::time::timeout(settings.shutdown_grace_period, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "requests still in flight after the shutdown grace period; closing their connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Errors of one connection that was already gone, which the accept loop skips.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One connection from accept to close; `_permit` holds its place under the connection cap.
async fn serve_connection<S>(
    stream: TcpStream,
    handler: Handler<S>,
    settings: Settings,
    mut closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Unpin
        + 'static,
    S::Future: Send,
{
    let stop = Arc::new(Notify::new());
    let guard = HeadGuard::new(
        stream,
        settings.header_read_timeout,
        settings.idle_timeout,
        stop.clone(),
    );
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.idle_timeout);
    let mut conn = builder.serve_connection(TokioIo::new(guard), handler);
    let mut shutting_down = false;
    let result = loop {
        tokio::select! {
            result = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => break result,
            () = stop.notified(), if !shutting_down => {
                shutting_down = true;
                Pin::new(&mut conn).graceful_shutdown();
            }
            changed = closing.changed(), if !shutting_down => {
                // A dropped sender means the server is gone: shut down too.
                if changed.is_err() || *closing.borrow() {
                    shutting_down = true;
                    Pin::new(&mut conn).graceful_shutdown();
                }
            }
        }
    };
    if let Err(e) = result {
        // Timeouts, resets and malformed bodies end here; the client is gone or was told.
        tracing::debug!(error = %e, "connection ended");
    }
    let mut guard = conn.into_parts().io.into_inner();
    let refusal = guard.take_refusal();
    let socket = guard.inner_mut();
    match refusal {
        Some(refusal) => {
            let bytes = refusal.to_bytes();
            let _ = tokio::time::timeout(REFUSAL_LINGER, async {
                socket.write_all(&bytes).await?;
                socket.shutdown().await?;
                // Read what the client still sends until it closes, so that closing with
                // unread bytes does not reset the connection before the refusal is read.
                let mut sink = vec![0u8; 16 * 1024];
                let mut drained = 0;
                while drained < REFUSAL_LINGER_BYTES {
                    match socket.read(&mut sink).await? {
                        0 => break,
                        n => drained += n,
                    }
                }
                io::Result::Ok(())
            })
            .await;
        }
        None => {
            let _ = tokio::time::timeout(REFUSAL_LINGER, socket.shutdown()).await;
        }
    }
}

/// Whether hyper must close the connection after this request's response: a chunked body or a
/// `CONNECT` is not framed by the head guard (see [`head`]), so no later head may follow it.
pub(crate) fn must_close<B>(request: &Request<B>) -> bool {
    request.method() == Method::CONNECT || request.headers().contains_key(TRANSFER_ENCODING)
}

/// The hyper service over the axum app: bounds the body's arrival and closes after a request
/// the head guard does not frame.
#[derive(Clone)]
struct Handler<S> {
    app: S,
    body_timeout: Duration,
}

impl<S> hyper::service::Service<Request<Incoming>> for Handler<S>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let close = must_close(&request);
        let timeout = self.body_timeout;
        let request = request.map(|body| Body::new(DeadlineBody::new(body, timeout)));
        let app = self.app.clone();
        Box::pin(async move {
            let mut response = app.oneshot(request).await?;
            if close {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        })
    }
}

/// A request body that fails once it has not arrived whole within its timeout.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    timeout: Duration,
    /// Armed on the first wait, so a body that is already there costs no timer.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            deadline: Instant::now() + timeout,
            timeout,
            sleep: None,
        }
    }
}

/// The error a body ends with when it is late.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s (the request body timeout)", .0.as_secs_f64())]
pub struct BodyTimeout(Duration);

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(BodyTimeout(this.timeout).into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
