//! What each request leaves behind once it has ended: one usage row for the ledger
//! (written off the request path) and its tokens and cost settled against the key's
//! limits and budget. Built when the request is routed; finished by the response body
//! when it ends (or by the proxy for a request refused or failed before any answer).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::errors::GatewayError;
use super::format::Endpoint;
use super::proxy::RequestCtx;
use super::translate::Shape;
use super::usage::Usage;
use crate::config::Upstream;
use crate::ledger::{LedgerHandle, UsageRecord, now_ms};
use crate::limits::Limiter;
use crate::prices::{PriceTable, Tokens};

/// A request's accounting, up to its outcome.
pub struct Accounting {
    ledger: LedgerHandle,
    limiter: Limiter,
    shared: Option<Arc<crate::shared::Shared>>,
    prices: Arc<PriceTable>,
    recorded: Arc<AtomicBool>,
    key_id: String,
    key_name: String,
    client_format: &'static str,
    upstream_id: Option<String>,
    upstream_format: Option<&'static str>,
    model_asked: String,
    model_served: Option<String>,
}

/// The ledger's name of an API shape.
pub fn format_name(s: Shape) -> &'static str {
    match s {
        Shape::Messages => "anthropic",
        Shape::Chat => "chat",
        Shape::Completions => "completions",
        Shape::Responses => "responses",
        Shape::Gemini => "gemini",
    }
}

impl Accounting {
    /// The accounting of a routed request, sent to `upstream` (none yet: a refusal).
    pub fn for_request(
        rc: &RequestCtx<'_>,
        model: &str,
        upstream: Option<(&Upstream, &str)>,
    ) -> Accounting {
        Accounting {
            ledger: rc.state.ledger.clone(),
            limiter: rc.snap.limiter.clone(),
            shared: rc.state.shared.clone(),
            prices: rc.snap.prices.clone(),
            recorded: rc.recorded.clone(),
            key_id: rc.caller.id.clone(),
            key_name: rc.caller.name.clone(),
            client_format: format_name(rc.endpoint.client_shape()),
            upstream_id: upstream.map(|(u, _)| u.id.clone()),
            upstream_format: upstream.map(|(u, _)| format_name(Shape::of_upstream(u))),
            model_asked: model.to_string(),
            model_served: upstream.map(|(_, m)| m.to_string()),
        }
    }

    /// Write the row and settle the key's counters (once per request: a second
    /// accounting of the same request writes nothing).
    pub fn finish(
        self,
        request_id: &str,
        status: u16,
        error_class: Option<&str>,
        started: Instant,
        ttfb: Option<Duration>,
        usage: Usage,
    ) {
        if self.recorded.swap(true, Ordering::Relaxed) {
            return;
        }
        let tokens = Tokens {
            input: usage.input,
            output: usage.output,
            cache_read: usage.cache_read,
            cache_write: usage.cache_write,
            reasoning: usage.reasoning,
        };
        let priced_model = self.model_served.as_deref().unwrap_or(&self.model_asked);
        let cost = self.prices.cost(priced_model, &tokens);
        let latency = started.elapsed();
        crate::metrics::record(&crate::metrics::Sample {
            client_format: self.client_format,
            upstream_id: self.upstream_id.as_deref(),
            model: priced_model,
            key_id: &self.key_id,
            status,
            duration: latency,
            ttfb,
            tokens: [
                usage.input,
                usage.output,
                usage.cache_read,
                usage.cache_write,
                usage.reasoning,
            ],
            cost_usd: cost,
        });
        let total = usage.total_input() + usage.output;
        if total > 0 || cost.is_some_and(|c| c > 0.0) {
            let now = SystemTime::now();
            // Shared first: it seeds a missing counter from the local spend before this.
            if let Some(s) = &self.shared {
                s.settle(&self.limiter, &self.key_id, total, cost.unwrap_or(0.0), now);
            }
            self.limiter
                .settle(&self.key_id, total, cost.unwrap_or(0.0), now);
        }
        self.ledger.record(UsageRecord {
            at_ms: now_ms(),
            request_id: request_id.to_string(),
            key_id: self.key_id,
            key_name: self.key_name,
            client_format: self.client_format.to_string(),
            upstream_id: self.upstream_id,
            upstream_format: self.upstream_format.map(str::to_string),
            model_asked: self.model_asked,
            model_served: self.model_served,
            status,
            error_class: error_class.map(str::to_string),
            latency_ms: latency.as_millis() as u64,
            ttfb_ms: ttfb.map(|d| d.as_millis() as u64),
            input_tokens: usage.input,
            output_tokens: usage.output,
            cache_read_tokens: usage.cache_read,
            cache_write_tokens: usage.cache_write,
            reasoning_tokens: usage.reasoning,
            cost_usd: cost,
        });
    }

    /// The row of a request that ended with a gateway error before any answer.
    pub fn record_refusal(self, rc: &RequestCtx<'_>, e: &GatewayError) {
        if rc.endpoint == Endpoint::CountTokens {
            return;
        }
        self.finish(
            rc.request_id,
            e.status_for(rc.format).as_u16(),
            Some(e.class()),
            rc.started,
            None,
            Usage::default(),
        );
    }
}
