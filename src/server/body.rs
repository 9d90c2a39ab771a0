//! The response body type of the gateway: either bytes it made itself, or an upstream
//! body streamed through frame by frame (never collected), with an idle timeout, a
//! usage sniffer, and an access-log line written when it ends — however it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::Sleep;

use super::accounting::Accounting;
use super::format::ApiFormat;
use super::stats::UpstreamStats;
use super::translate::StreamConverter;
use super::usage::UsageSniffer;
use crate::config::BreakerConfig;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct GatewayBody {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    Upstream(Box<Streamed>),
}

struct Streamed {
    inner: Incoming,
    idle: Duration,
    /// Fires `idle` after the last frame. Re-armed lazily: a frame only records its
    /// time; when the timer fires early, it is set again from that time.
    sleep: Pin<Box<Sleep>>,
    last_frame: tokio::time::Instant,
    done: Completion,
    /// For SSE answers: the client's format, so a broken upstream stream ends with an
    /// error event the SDKs understand instead of a cut connection.
    sse: Option<ApiFormat>,
    /// For streams in the other API's format: converted event by event.
    conv: Option<StreamConverter>,
    /// Output not yet handed to hyper (see [`Streamed::poll`]).
    batch: Batch,
    /// Turns given in a row to the upstream's connection that brought nothing new.
    idle_turns: u8,
    /// What comes after the batch: trailers, or how the stream failed.
    after: Option<After>,
    /// Bytes already read from `inner` (a look at the stream's start), sent first.
    prefix: Option<Bytes>,
    ended: bool,
}

/// Output bytes gathered from several upstream frames.
#[derive(Default)]
struct Batch {
    first: Option<Bytes>,
    more: Option<BytesMut>,
}

impl Batch {
    fn push(&mut self, b: Bytes) {
        if b.is_empty() {
            return;
        }
        match (&self.first, &mut self.more) {
            (None, _) => self.first = Some(b),
            (Some(_), Some(m)) => m.extend_from_slice(&b),
            (Some(f), None) => {
                let mut m = BytesMut::with_capacity((f.len() + b.len()) * 4);
                m.extend_from_slice(f);
                m.extend_from_slice(&b);
                self.more = Some(m);
            }
        }
    }

    fn len(&self) -> usize {
        match (&self.first, &self.more) {
            (_, Some(m)) => m.len(),
            (Some(f), None) => f.len(),
            (None, None) => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn take(&mut self) -> Option<Bytes> {
        let first = self.first.take();
        match self.more.take() {
            Some(m) => Some(m.freeze()),
            None => first,
        }
    }
}

enum After {
    Trailers(Frame<Bytes>),
    Broke(BoxError),
}

/// Stop gathering output at this size and send it.
const BATCH_LIMIT: usize = 64 * 1024;
/// Scheduler turns the upstream's connection task gets, while output waits, to hand
/// over what it has already read. One is not enough: a chunk taken from hyper's body
/// channel reaches the next poll only after two rounds of this thread's run queue.
const PRODUCER_TURNS: u8 = 2;

fn data(b: Bytes) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    Poll::Ready(Some(Ok(Frame::data(b))))
}

impl Streamed {
    /// The next output frame. Frames the upstream has already delivered are sent as
    /// one: when the upstream body has nothing ready but output is waiting, this task
    /// yields so that the upstream's connection task (on this same thread) can decode
    /// what it has already read; only when [`PRODUCER_TURNS`] turns in a row bring
    /// nothing is the batch handed to hyper.
    /// An SSE answer read in one go thus costs one write to the client instead of one
    /// per event, and nothing waits for bytes that have not arrived.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(p) = self.prefix.take() {
            self.done.sniffer.observe(&p);
            match &mut self.conv {
                Some(c) => self.batch.push(c.feed(&p)),
                None => self.batch.push(p),
            }
        }
        loop {
            if self.ended {
                if let Some(b) = self.batch.take() {
                    return data(b);
                }
                return match self.after.take() {
                    Some(After::Trailers(t)) => Poll::Ready(Some(Ok(t))),
                    Some(After::Broke(e)) => self.fail(e),
                    None => Poll::Ready(None),
                };
            }
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    self.last_frame = tokio::time::Instant::now();
                    self.idle_turns = 0;
                    let chunk = match frame.into_data() {
                        Ok(d) => d,
                        Err(trailers) if self.conv.is_none() => match self.batch.take() {
                            None => return Poll::Ready(Some(Ok(trailers))),
                            Some(b) => {
                                self.after = Some(After::Trailers(trailers));
                                return data(b);
                            }
                        },
                        Err(_) => continue,
                    };
                    self.done.sniffer.observe(&chunk);
                    // A body with a known length may never be polled past its last
                    // frame: account for it as complete here.
                    let end = self.inner.is_end_stream();
                    match &mut self.conv {
                        Some(c) => {
                            self.batch.push(c.feed(&chunk));
                            if end {
                                self.batch.push(c.finish());
                            }
                        }
                        None => self.batch.push(chunk),
                    }
                    if end {
                        self.done.finish(Outcome::Complete);
                        self.ended = true;
                    } else if self.batch.len() >= BATCH_LIMIT
                        && let Some(b) = self.batch.take()
                    {
                        return data(b);
                    }
                }
                Poll::Ready(None) => {
                    self.done.finish(Outcome::Complete);
                    self.ended = true;
                    if let Some(c) = &mut self.conv {
                        self.batch.push(c.finish());
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.done.finish(Outcome::UpstreamBroke(e.to_string()));
                    self.ended = true;
                    self.after = Some(After::Broke(Box::new(e)));
                }
                Poll::Pending => {
                    if !self.batch.is_empty() {
                        if self.idle_turns < PRODUCER_TURNS {
                            self.idle_turns += 1;
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        self.idle_turns = 0;
                        if let Some(b) = self.batch.take() {
                            return data(b);
                        }
                    }
                    loop {
                        ready!(self.sleep.as_mut().poll(cx));
                        let due = self.last_frame + self.idle;
                        if due <= tokio::time::Instant::now() {
                            break;
                        }
                        self.sleep.as_mut().reset(due);
                    }
                    self.done.finish(Outcome::IdleTimeout);
                    self.ended = true;
                    self.after = Some(After::Broke(Box::new(IdleTimeout(self.idle))));
                }
            }
        }
    }

    /// End a failed stream the way the client understands: the converter's closing
    /// error frames, an SSE error event, or (not a stream) a cut connection.
    fn fail(&mut self, e: BoxError) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(c) = &mut self.conv {
            return data(c.finish());
        }
        match self.sse {
            Some(f) => {
                let msg = if e.is::<IdleTimeout>() {
                    format!(
                        "the upstream sent nothing for {}s; stream cut",
                        self.idle.as_secs()
                    )
                } else {
                    "the upstream connection broke mid-stream".to_string()
                };
                data(stream_error(f, &msg))
            }
            None => Poll::Ready(Some(Err(e))),
        }
    }
}

impl GatewayBody {
    pub fn full(bytes: Bytes) -> Self {
        GatewayBody {
            kind: Kind::Full(Some(bytes).filter(|b| !b.is_empty())),
        }
    }

    pub fn empty() -> Self {
        GatewayBody {
            kind: Kind::Full(None),
        }
    }

    /// Stream an upstream body through; `done` is told how it ended.
    pub fn upstream(
        inner: Incoming,
        idle: Duration,
        done: Completion,
        sse: Option<ApiFormat>,
        conv: Option<StreamConverter>,
    ) -> Self {
        GatewayBody {
            kind: Kind::Upstream(Box::new(Streamed {
                inner,
                idle,
                sleep: Box::pin(tokio::time::sleep(idle)),
                last_frame: tokio::time::Instant::now(),
                done,
                sse,
                conv,
                batch: Batch::default(),
                idle_turns: 0,
                after: None,
                prefix: None,
                ended: false,
            })),
        }
    }

    /// Bytes already read from the upstream body, to go out (and be converted and
    /// counted) before the rest of it.
    pub fn with_prefix(mut self, prefix: Option<Bytes>) -> Self {
        if let Kind::Upstream(s) = &mut self.kind {
            s.prefix = prefix.filter(|p| !p.is_empty());
        }
        self
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the upstream stream was idle for {0:?} and was cut")]
pub struct IdleTimeout(Duration);

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.kind {
            Kind::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Kind::Upstream(s) => {
                let frame = s.poll(cx);
                if let Poll::Ready(Some(Ok(_))) = &frame {
                    s.done.first_byte();
                }
                frame
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Upstream(s) => s.ended && s.batch.is_empty() && s.after.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Kind::Full(None) => SizeHint::with_exact(0),
            // The part already read (a peeked start) counts too.
            Kind::Upstream(s) if s.conv.is_none() => {
                let inner = s.inner.size_hint();
                let p = s.prefix.as_ref().map_or(0, |p| p.len() as u64);
                let mut h = SizeHint::new();
                h.set_lower(inner.lower() + p);
                if let Some(u) = inner.upper() {
                    h.set_upper(u + p);
                }
                h
            }
            Kind::Upstream(_) => SizeHint::default(),
        }
    }
}

/// A final SSE event telling the client the stream failed, in its API's shape.
pub fn stream_error(format: ApiFormat, message: &str) -> Bytes {
    let text = match format {
        ApiFormat::Anthropic => format!(
            "event: error\ndata: {}\n\n",
            serde_json::json!({"type": "error", "error": {"type": "api_error", "message": message}})
        ),
        ApiFormat::OpenAi => format!(
            "data: {}\n\n",
            serde_json::json!({"error": {"message": message, "type": "server_error", "param": null, "code": "upstream_stream_error"}})
        ),
        ApiFormat::Gemini => format!(
            "data: {}\n\n",
            serde_json::json!({"error": {"code": 502, "message": message, "status": "UNAVAILABLE"}})
        ),
    };
    Bytes::from(text)
}

/// How a proxied response ended.
pub enum Outcome {
    Complete,
    ClientClosed,
    UpstreamBroke(String),
    IdleTimeout,
}

/// What the access-log line says about a proxied request.
pub struct AccessInfo {
    pub request_id: String,
    pub key: String,
    pub model: String,
    pub upstream: String,
    pub status: u16,
    pub started: Instant,
    /// The upstream's own id for the request (`request-id` / `x-request-id`), if it sent one.
    pub upstream_request_id: Option<String>,
}

/// Everything needed to account for a proxied request once its body has ended.
pub struct Completion {
    info: AccessInfo,
    stats: Arc<UpstreamStats>,
    breaker: BreakerConfig,
    pub sniffer: UsageSniffer,
    finished: bool,
    /// The usage row and the key's counters.
    acct: Option<Accounting>,
    /// When the first bytes went to the client.
    first_byte: Option<Instant>,
}

impl Completion {
    pub fn new(
        info: AccessInfo,
        stats: Arc<UpstreamStats>,
        breaker: BreakerConfig,
        sniffer: UsageSniffer,
    ) -> Self {
        Completion {
            info,
            stats,
            breaker,
            sniffer,
            finished: false,
            acct: None,
            first_byte: None,
        }
    }

    /// Write a usage row (and settle the key's counters) when the request ends.
    pub fn with_accounting(mut self, acct: Accounting) -> Self {
        self.acct = Some(acct);
        self
    }

    /// The first bytes of the answer are on their way to the client.
    fn first_byte(&mut self) {
        if self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
    }

    pub fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let usage = self.sniffer.finish();
        self.stats.tokens(usage.total_input(), usage.output);
        self.stats.end();
        if let Some(acct) = self.acct.take() {
            let status = self.info.status;
            let class = match &outcome {
                Outcome::Complete => match status {
                    429 => Some("upstream_429"),
                    400..=499 => Some("upstream_4xx"),
                    500.. => Some("upstream_5xx"),
                    _ => None,
                },
                Outcome::ClientClosed => Some("client_closed"),
                Outcome::IdleTimeout => Some("idle_timeout"),
                Outcome::UpstreamBroke(_) => Some("upstream_broke"),
            };
            let ttfb = self
                .first_byte
                .map(|t| t.saturating_duration_since(self.info.started));
            acct.finish(
                &self.info.request_id,
                status,
                class,
                self.info.started,
                ttfb.or_else(|| Some(self.info.started.elapsed())),
                usage,
            );
        }
        let outcome = match outcome {
            Outcome::Complete => "complete".to_string(),
            Outcome::ClientClosed => "client_closed".to_string(),
            Outcome::IdleTimeout => {
                self.stats.failed("stream idle timeout");
                self.stats
                    .health()
                    .failure(tokio::time::Instant::now(), &self.breaker);
                "idle_timeout".to_string()
            }
            Outcome::UpstreamBroke(e) => {
                self.stats.failed(&format!("stream broke: {e}"));
                self.stats
                    .health()
                    .failure(tokio::time::Instant::now(), &self.breaker);
                "upstream_broke".to_string()
            }
        };
        tracing::info!(
            target: "llm_gateway::access",
            id = %self.info.request_id,
            key = %self.info.key,
            model = %self.info.model,
            upstream = %self.info.upstream,
            upstream_request_id = self.info.upstream_request_id.as_deref().map(tracing::field::display),
            status = self.info.status,
            ms = self.info.started.elapsed().as_millis() as u64,
            input_tokens = usage.total_input(),
            output_tokens = usage.output,
            outcome = %outcome,
            "request"
        );
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        self.finish(Outcome::ClientClosed);
    }
}
