//! Live counters per upstream and per gateway key, read by `status`. Atomics on the
//! request path, plus short mutexes (never held across an await) for the upstream's
//! health and its "last seen" details.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use crate::config::BreakerConfig;
use crate::router::health::Health;
use crate::util::Timestamp;

pub struct UpstreamStats {
    health: Mutex<Health>,
    pub requests: AtomicU64,
    /// Responses 5xx/529, connect errors, timeouts, broken streams.
    pub failures: AtomicU64,
    pub in_flight: AtomicI64,
    pub input_tokens: AtomicU64,
    pub output_tokens: AtomicU64,
    latency_ms_total: AtomicU64,
    latency_count: AtomicU64,
    last: Mutex<Last>,
}

#[derive(Default, Clone, Serialize)]
pub struct Last {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub used_at: Option<Timestamp>,
    pub ok_at: Option<Timestamp>,
    pub failed_at: Option<Timestamp>,
    /// The upstream refused our credentials (401/403) on its last answer.
    pub auth_failed: bool,
}

/// What `status` shows for one upstream.
#[derive(Serialize)]
pub struct UpstreamSnapshot {
    pub requests: u64,
    pub failures: u64,
    pub in_flight: i64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub avg_latency_ms: Option<u64>,
    #[serde(flatten)]
    pub last: Last,
}

impl UpstreamStats {
    pub fn new(cfg: &BreakerConfig) -> Self {
        UpstreamStats {
            health: Mutex::new(Health::new(cfg)),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
            input_tokens: AtomicU64::new(0),
            output_tokens: AtomicU64::new(0),
            latency_ms_total: AtomicU64::new(0),
            latency_count: AtomicU64::new(0),
            last: Mutex::new(Last::default()),
        }
    }

    /// The upstream's breaker, cool-down and latencies. Hold the guard briefly.
    pub fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn start(&self) {
        self.requests.fetch_add(1, Relaxed);
        self.in_flight.fetch_add(1, Relaxed);
    }

    /// In flight again without counting a new request (an earlier answer is returned).
    pub fn resume(&self) {
        self.in_flight.fetch_add(1, Relaxed);
    }

    pub fn end(&self) {
        self.in_flight.fetch_sub(1, Relaxed);
    }

    /// The upstream answered with `status` after `latency_ms` (time to headers).
    pub fn answered(&self, status: u16, latency_ms: u64) {
        self.latency_ms_total.fetch_add(latency_ms, Relaxed);
        self.latency_count.fetch_add(1, Relaxed);
        let failed = status >= 500 || status == 529;
        if failed {
            self.failures.fetch_add(1, Relaxed);
        }
        if let Ok(mut l) = self.last.lock() {
            let now = Timestamp::now();
            l.status = Some(status);
            l.used_at = Some(now);
            l.auth_failed = status == 401 || status == 403;
            if failed {
                l.failed_at = Some(now);
                l.error = Some(format!("HTTP {status}"));
            } else if status < 400 {
                l.ok_at = Some(now);
            }
        }
    }

    /// The upstream could not be reached, timed out, or broke a stream.
    pub fn failed(&self, error: &str) {
        self.failures.fetch_add(1, Relaxed);
        if let Ok(mut l) = self.last.lock() {
            let now = Timestamp::now();
            l.used_at = Some(now);
            l.failed_at = Some(now);
            l.error = Some(error.to_string());
        }
    }

    pub fn tokens(&self, input: u64, output: u64) {
        self.input_tokens.fetch_add(input, Relaxed);
        self.output_tokens.fetch_add(output, Relaxed);
    }

    pub fn snapshot(&self) -> UpstreamSnapshot {
        let n = self.latency_count.load(Relaxed);
        UpstreamSnapshot {
            requests: self.requests.load(Relaxed),
            failures: self.failures.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            input_tokens: self.input_tokens.load(Relaxed),
            output_tokens: self.output_tokens.load(Relaxed),
            avg_latency_ms: (n > 0).then(|| self.latency_ms_total.load(Relaxed) / n),
            last: self.last.lock().map(|l| l.clone()).unwrap_or_default(),
        }
    }
}

#[derive(Default)]
pub struct KeyStats {
    pub requests: AtomicU64,
    last_used: Mutex<Option<Timestamp>>,
}

impl KeyStats {
    pub fn used(&self) {
        self.requests.fetch_add(1, Relaxed);
        if let Ok(mut l) = self.last_used.lock() {
            *l = Some(Timestamp::now());
        }
    }

    pub fn last_used(&self) -> Option<Timestamp> {
        self.last_used.lock().ok().and_then(|l| *l)
    }
}
