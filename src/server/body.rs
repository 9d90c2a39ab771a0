//! The response body type of the gateway: either bytes it made itself, or an upstream
//! body streamed through frame by frame (never collected), with an idle timeout, a
//! usage sniffer, and an access-log line written when it ends — however it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::Sleep;

use super::stats::UpstreamStats;
use super::usage::UsageSniffer;

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
    sleep: Pin<Box<Sleep>>,
    done: Completion,
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
    pub fn upstream(inner: Incoming, idle: Duration, done: Completion) -> Self {
        GatewayBody {
            kind: Kind::Upstream(Box::new(Streamed {
                inner,
                idle,
                sleep: Box::pin(tokio::time::sleep(idle)),
                done,
            })),
        }
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
                let s = &mut **s;
                match Pin::new(&mut s.inner).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Some(data) = frame.data_ref() {
                            s.done.sniffer.observe(data);
                        }
                        let deadline = tokio::time::Instant::now() + s.idle;
                        s.sleep.as_mut().reset(deadline);
                        Poll::Ready(Some(Ok(frame)))
                    }
                    Poll::Ready(Some(Err(e))) => {
                        s.done.finish(Outcome::UpstreamBroke(e.to_string()));
                        Poll::Ready(Some(Err(e.into())))
                    }
                    Poll::Ready(None) => {
                        s.done.finish(Outcome::Complete);
                        Poll::Ready(None)
                    }
                    Poll::Pending => {
                        ready!(s.sleep.as_mut().poll(cx));
                        s.done.finish(Outcome::IdleTimeout);
                        Poll::Ready(Some(Err(Box::new(IdleTimeout(s.idle)))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Upstream(s) => s.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Kind::Full(None) => SizeHint::with_exact(0),
            Kind::Upstream(s) => s.inner.size_hint(),
        }
    }
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
}

/// Everything needed to account for a proxied request once its body has ended.
pub struct Completion {
    info: AccessInfo,
    stats: Arc<UpstreamStats>,
    sniffer: UsageSniffer,
    finished: bool,
}

impl Completion {
    pub fn new(info: AccessInfo, stats: Arc<UpstreamStats>, sniffer: UsageSniffer) -> Self {
        Completion {
            info,
            stats,
            sniffer,
            finished: false,
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let usage = self.sniffer.finish();
        self.stats.tokens(usage.input, usage.output);
        self.stats.end();
        let outcome = match outcome {
            Outcome::Complete => "complete".to_string(),
            Outcome::ClientClosed => "client_closed".to_string(),
            Outcome::IdleTimeout => {
                self.stats.failed("stream idle timeout");
                "idle_timeout".to_string()
            }
            Outcome::UpstreamBroke(e) => {
                self.stats.failed(&format!("stream broke: {e}"));
                "upstream_broke".to_string()
            }
        };
        tracing::info!(
            target: "llm_gateway::access",
            id = %self.info.request_id,
            key = %self.info.key,
            model = %self.info.model,
            upstream = %self.info.upstream,
            status = self.info.status,
            ms = self.info.started.elapsed().as_millis() as u64,
            input_tokens = usage.input,
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
