//! Prometheus metrics: what each routed request adds, kept per worker thread, and
//! the exposition `GET /metrics` serves (OpenMetrics text through `prometheus-client`).
//!
//! **No lock shared across workers per request.** Each thread that records gets its
//! own shard on first use (registered once in a process-wide list); a request updates
//! only its thread's shard, whose mutex nobody else takes except a scrape. A scrape
//! sums the shards.
//!
//! **Bounded labels.** Upstream and key labels are ids, named at scrape time from the
//! config (so a rename relabels the series, and memory is bounded by the config).
//! Model labels come from requests: each shard keeps at most [`MODEL_CAP`] distinct
//! models and counts the rest as `other`, so a client sending random model names
//! cannot grow memory.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// Distinct model labels one shard keeps before counting the rest as [`OTHER`].
pub const MODEL_CAP: usize = 100;
/// The label of models past the cap.
pub const OTHER: &str = "other";
/// The `upstream` label of a request refused before any upstream was tried.
pub const NO_UPSTREAM: &str = "none";

/// Request duration buckets: 10 ms to 10 min (LLM answers run from milliseconds for
/// errors to minutes for long generations).
pub const DURATION_BUCKETS: [f64; 15] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// Time-to-first-byte buckets: 5 ms to 60 s.
pub const TTFB_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Token kinds, in the order of [`Sample::tokens`].
pub const TOKEN_KINDS: [&str; 5] = ["input", "output", "cache_read", "cache_write", "reasoning"];

/// What one routed request adds.
pub struct Sample<'a> {
    pub client_format: &'static str,
    pub upstream_id: Option<&'a str>,
    pub model: &'a str,
    pub key_id: &'a str,
    pub status: u16,
    pub duration: Duration,
    pub ttfb: Option<Duration>,
    /// input (no cache), output, cache read, cache write, reasoning.
    pub tokens: [u64; 5],
    pub cost_usd: Option<f64>,
}

#[derive(Clone, Debug, Default)]
struct Hist {
    /// Per bucket (not cumulative), the last one `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Hist {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len() + 1];
        }
        let i = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    fn merge(&mut self, o: &Hist) {
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.sum += o.sum;
        self.count += o.count;
    }
}

/// The shards' maps: keys are short labels hashed on every request, so a fast hasher
/// (no untrusted key can flood it: model labels are capped).
type Map<K, V> = rustc_hash::FxHashMap<K, V>;

/// Nested by label so that a lookup with borrowed strings allocates nothing.
type ByModel<T> = Map<String, T>;

/// Requests of one upstream and model by (client format, status).
type ByFormatStatus = Map<(&'static str, u16), u64>;

#[derive(Debug, Default)]
struct Shard {
    /// upstream id → model → (client format, status) → count
    requests: Map<String, ByModel<ByFormatStatus>>,
    /// (client format) → upstream id → histogram
    duration: Map<&'static str, Map<String, Hist>>,
    ttfb: Map<&'static str, Map<String, Hist>>,
    /// upstream id → model → tokens by kind
    tokens: Map<String, ByModel<[u64; 5]>>,
    /// key id → model → USD
    cost: Map<String, ByModel<f64>>,
    models: rustc_hash::FxHashSet<String>,
}

fn entry<'m, T: Default>(map: &'m mut Map<String, T>, k: &str) -> &'m mut T {
    if !map.contains_key(k) {
        map.insert(k.to_string(), T::default());
    }
    map.get_mut(k)
        .unwrap_or_else(|| unreachable!("inserted above"))
}

impl Shard {
    /// The model label: the model itself while under the cap (or already known).
    fn model_label<'s>(&mut self, model: &'s str) -> &'s str {
        if self.models.contains(model) {
            return model;
        }
        if self.models.len() < MODEL_CAP {
            self.models.insert(model.to_string());
            return model;
        }
        OTHER
    }

    fn record(&mut self, s: &Sample<'_>) {
        let model = self.model_label(s.model);
        let upstream = s.upstream_id.unwrap_or(NO_UPSTREAM);
        *entry(entry(&mut self.requests, upstream), model)
            .entry((s.client_format, s.status))
            .or_default() += 1;
        entry(self.duration.entry(s.client_format).or_default(), upstream)
            .observe(&DURATION_BUCKETS, s.duration.as_secs_f64());
        if let Some(t) = s.ttfb {
            entry(self.ttfb.entry(s.client_format).or_default(), upstream)
                .observe(&TTFB_BUCKETS, t.as_secs_f64());
        }
        if s.tokens.iter().any(|t| *t > 0) {
            let t = entry(entry(&mut self.tokens, upstream), model);
            for (a, b) in t.iter_mut().zip(s.tokens) {
                *a = a.saturating_add(b);
            }
        }
        if let Some(c) = s.cost_usd.filter(|c| c.is_finite() && *c > 0.0) {
            *entry(entry(&mut self.cost, s.key_id), model) += c;
        }
    }

    fn merge_into(&self, out: &mut Shard) {
        for (u, models) in &self.requests {
            for (m, counts) in models {
                let o = entry(entry(&mut out.requests, u), m);
                for (k, v) in counts {
                    *o.entry(*k).or_default() += v;
                }
            }
        }
        for (dst, src) in [
            (&mut out.duration, &self.duration),
            (&mut out.ttfb, &self.ttfb),
        ] {
            for (f, ups) in src {
                let d = dst.entry(f).or_default();
                for (u, h) in ups {
                    entry(d, u).merge(h);
                }
            }
        }
        for (u, models) in &self.tokens {
            for (m, t) in models {
                let o = entry(entry(&mut out.tokens, u), m);
                for (a, b) in o.iter_mut().zip(t) {
                    *a = a.saturating_add(*b);
                }
            }
        }
        for (k, models) in &self.cost {
            for (m, c) in models {
                *entry(entry(&mut out.cost, k), m) += c;
            }
        }
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every thread's shard.
fn shards() -> &'static Mutex<Vec<Arc<Mutex<Shard>>>> {
    static SHARDS: OnceLock<Mutex<Vec<Arc<Mutex<Shard>>>>> = OnceLock::new();
    SHARDS.get_or_init(Default::default)
}

thread_local! {
    static MINE: RefCell<Option<Arc<Mutex<Shard>>>> = const { RefCell::new(None) };
}

/// Count one routed request (on the calling thread's shard).
pub fn record(s: &Sample<'_>) {
    MINE.with(|mine| {
        let mut mine = mine.borrow_mut();
        let shard = mine.get_or_insert_with(|| {
            let shard = Arc::new(Mutex::new(Shard::default()));
            shards()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(shard.clone());
            shard
        });
        lock(shard).record(s);
    });
}

/// The sum of every shard.
fn total() -> Shard {
    let list: Vec<_> = shards()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut out = Shard::default();
    for s in list {
        lock(&s).merge_into(&mut out);
    }
    out
}

/// One upstream's state at scrape time.
#[derive(Clone, Debug)]
pub struct UpstreamGauge {
    pub id: String,
    /// Serving: enabled, credentials accepted, breaker not open.
    pub up: bool,
    /// 0 closed, 1 half-open, 2 open.
    pub breaker: u8,
    pub in_flight: i64,
}

/// What a scrape needs besides the shards: names for ids, and upstream gauges.
#[derive(Debug, Default)]
pub struct ScrapeContext {
    pub upstream_names: HashMap<String, String>,
    pub key_names: HashMap<String, String>,
    pub upstreams: Vec<UpstreamGauge>,
}

impl ScrapeContext {
    fn upstream<'a>(&'a self, id: &'a str) -> &'a str {
        self.upstream_names.get(id).map_or(id, String::as_str)
    }
    fn key<'a>(&'a self, id: &'a str) -> &'a str {
        self.key_names.get(id).map_or(id, String::as_str)
    }
}

#[derive(Debug)]
struct Snapshot {
    shard: Shard,
    ctx: ScrapeContext,
}

fn hist(enc: &mut MetricEncoder<'_>, bounds: &[f64], h: &Hist) -> Result<(), std::fmt::Error> {
    let buckets: Vec<(f64, u64)> = bounds
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .zip(h.counts.iter().copied().chain(std::iter::repeat(0)))
        .collect();
    enc.encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)
}

impl Collector for Snapshot {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let (s, c) = (&self.shard, &self.ctx);
        {
            let mut m = e.encode_descriptor(
                "llm_gateway_requests",
                "Routed requests by client format, upstream, model and HTTP status.",
                None,
                MetricType::Counter,
            )?;
            for (u, models) in &s.requests {
                for (model, counts) in models {
                    for ((format, status), n) in counts {
                        let status = status.to_string();
                        let labels = [
                            ("client_format", *format),
                            ("upstream", c.upstream(u)),
                            ("model", model.as_str()),
                            ("status", status.as_str()),
                        ];
                        m.encode_family(&labels)?
                            .encode_counter::<NoLabelSet, _, u64>(n, None)?;
                    }
                }
            }
        }
        for (name, help, src, bounds) in [
            (
                "llm_gateway_request_duration_seconds",
                "From arrival to the last byte of the answer.",
                &s.duration,
                &DURATION_BUCKETS[..],
            ),
            (
                "llm_gateway_time_to_first_byte_seconds",
                "From arrival to the first byte of the answer.",
                &s.ttfb,
                &TTFB_BUCKETS[..],
            ),
        ] {
            let mut m = e.encode_descriptor(name, help, None, MetricType::Histogram)?;
            for (format, ups) in src {
                for (u, h) in ups {
                    let labels = [("client_format", *format), ("upstream", c.upstream(u))];
                    hist(&mut m.encode_family(&labels)?, bounds, h)?;
                }
            }
        }
        {
            let mut m = e.encode_descriptor(
                "llm_gateway_tokens",
                "Tokens by upstream, model and kind (input excludes cache tokens; reasoning is part of output).",
                None,
                MetricType::Counter,
            )?;
            for (u, models) in &s.tokens {
                for (model, t) in models {
                    for (kind, n) in TOKEN_KINDS.iter().zip(t) {
                        let labels = [
                            ("upstream", c.upstream(u)),
                            ("model", model.as_str()),
                            ("kind", kind),
                        ];
                        m.encode_family(&labels)?
                            .encode_counter::<NoLabelSet, _, u64>(n, None)?;
                    }
                }
            }
        }
        {
            let mut m = e.encode_descriptor(
                "llm_gateway_cost_usd",
                "Cost in USD from the price table, by gateway key and model.",
                None,
                MetricType::Counter,
            )?;
            for (k, models) in &s.cost {
                for (model, usd) in models {
                    let labels = [("key", c.key(k)), ("model", model.as_str())];
                    m.encode_family(&labels)?
                        .encode_counter::<NoLabelSet, _, u64>(usd, None)?;
                }
            }
        }
        for (name, help, value) in [
            (
                "llm_gateway_upstream_up",
                "1 while the upstream serves (enabled, credentials accepted, breaker not open).",
                (|g: &UpstreamGauge| i64::from(g.up)) as fn(&UpstreamGauge) -> i64,
            ),
            (
                "llm_gateway_breaker_state",
                "The upstream's circuit breaker: 0 closed, 1 half-open, 2 open.",
                |g: &UpstreamGauge| i64::from(g.breaker),
            ),
            (
                "llm_gateway_in_flight_requests",
                "Requests sent to the upstream and not yet answered to the end.",
                |g: &UpstreamGauge| g.in_flight,
            ),
        ] {
            let mut m = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for g in &c.upstreams {
                let labels = [("upstream", c.upstream(&g.id))];
                m.encode_family(&labels)?.encode_gauge(&value(g))?;
            }
        }
        Ok(())
    }
}

/// The exposition: every metric, summed over the shards, named through `ctx`.
pub fn render(ctx: ScrapeContext) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot {
        shard: total(),
        ctx,
    }));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(model: &str) -> Sample<'_> {
        Sample {
            client_format: "chat",
            upstream_id: Some("up_1"),
            model,
            key_id: "key_1",
            status: 200,
            duration: Duration::from_millis(120),
            ttfb: Some(Duration::from_millis(30)),
            tokens: [10, 5, 2, 1, 0],
            cost_usd: Some(0.5),
        }
    }

    #[test]
    fn shard_counts_and_caps_models() {
        let mut s = Shard::default();
        s.record(&sample("gpt-4o"));
        s.record(&sample("gpt-4o"));
        for i in 0..(MODEL_CAP + 50) {
            s.record(&sample(&format!("random-{i}")));
        }
        assert_eq!(s.models.len(), MODEL_CAP);
        let up = &s.requests["up_1"];
        assert_eq!(up["gpt-4o"][&("chat", 200)], 2);
        assert_eq!(up[OTHER][&("chat", 200)], 51);
        assert_eq!(up.len(), MODEL_CAP + 1);
        let h = &s.duration["chat"]["up_1"];
        assert_eq!(h.count, MODEL_CAP as u64 + 52);
        // 0.12 s falls in the 0.25 s bucket (index 4).
        assert_eq!(h.counts[4], h.count);
        let mut total = Shard::default();
        s.merge_into(&mut total);
        s.merge_into(&mut total);
        assert_eq!(total.requests["up_1"]["gpt-4o"][&("chat", 200)], 4);
        assert_eq!(total.cost["key_1"]["gpt-4o"], 2.0);
        assert_eq!(total.tokens["up_1"]["gpt-4o"], [40, 20, 8, 4, 0]);
    }
}
