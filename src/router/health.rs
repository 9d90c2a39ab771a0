//! The live health of one upstream: its breaker, a rate-limit cool-down, whether its
//! credentials were refused, and its recent latencies. Kept behind a short mutex in
//! the server's per-upstream stats; never held across an await.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::breaker::{Breaker, BreakerState};
use crate::config::BreakerConfig;

const LATENCY_SAMPLES: usize = 256;

#[derive(Debug)]
pub struct Health {
    pub breaker: Breaker,
    cooling_until: Option<Instant>,
    /// The upstream refused our credentials (401/403) and has not succeeded since.
    pub auth_failed: bool,
    ewma_ms: Option<f64>,
    latencies: VecDeque<u32>,
}

/// Whether an upstream can take a request now, and if not, until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Ready,
    Open { until: Option<Instant> },
    Cooling { until: Instant },
}

impl Health {
    pub fn new(cfg: &BreakerConfig) -> Self {
        Health {
            breaker: Breaker::new(cfg),
            cooling_until: None,
            auth_failed: false,
            ewma_ms: None,
            latencies: VecDeque::with_capacity(LATENCY_SAMPLES),
        }
    }

    pub fn availability(&mut self, now: Instant) -> Availability {
        if let Some(t) = self.cooling_until {
            if now < t {
                return Availability::Cooling { until: t };
            }
            self.cooling_until = None;
        }
        if self.breaker.available(now) {
            Availability::Ready
        } else {
            Availability::Open {
                until: self.breaker.open_until(),
            }
        }
    }

    /// Rest after a 429 until `now + d` (the longer of any two rests wins).
    pub fn cool_down(&mut self, now: Instant, d: Duration) {
        let until = now + d;
        if self.cooling_until.is_none_or(|t| t < until) {
            self.cooling_until = Some(until);
        }
        self.breaker.release_probe();
    }

    pub fn cooling_until(&self, now: Instant) -> Option<Instant> {
        self.cooling_until.filter(|t| *t > now)
    }

    pub fn success(&mut self, now: Instant, cfg: &BreakerConfig, latency: Duration) {
        self.breaker.on_success(now, cfg);
        self.auth_failed = false;
        self.latency(latency);
    }

    pub fn failure(&mut self, now: Instant, cfg: &BreakerConfig) {
        self.breaker.on_failure(now, cfg);
    }

    fn latency(&mut self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        self.ewma_ms = Some(match self.ewma_ms {
            Some(e) => e * 0.8 + ms * 0.2,
            None => ms,
        });
        if self.latencies.len() == LATENCY_SAMPLES {
            self.latencies.pop_front();
        }
        self.latencies.push_back(ms.min(f64::from(u32::MAX)) as u32);
    }

    pub fn ewma_ms(&self) -> Option<f64> {
        self.ewma_ms
    }

    /// (p50, p95) of recent time-to-headers latencies, in ms.
    pub fn percentiles(&self) -> Option<(u32, u32)> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut v: Vec<u32> = self.latencies.iter().copied().collect();
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Some((at(0.5), at(0.95)))
    }

    pub fn state(&mut self, now: Instant) -> BreakerState {
        self.breaker.state(now)
    }
}

/// A tokio instant as wall-clock time, for display.
pub fn wall(now: Instant, t: Instant) -> SystemTime {
    SystemTime::now() + t.saturating_duration_since(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn cooling_is_not_breaking() {
        let cfg = BreakerConfig::default();
        let mut h = Health::new(&cfg);
        h.cool_down(Instant::now(), Duration::from_secs(30));
        assert!(matches!(
            h.availability(Instant::now()),
            Availability::Cooling { .. }
        ));
        assert_eq!(h.state(Instant::now()), BreakerState::Closed);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(h.availability(Instant::now()), Availability::Ready);
    }

    #[test]
    fn latency_percentiles() {
        let cfg = BreakerConfig::default();
        let mut h = Health::new(&cfg);
        for ms in 1..=100 {
            h.success(Instant::now(), &cfg, Duration::from_millis(ms));
        }
        let (p50, p95) = h.percentiles().unwrap();
        assert!((49..=52).contains(&p50), "{p50}");
        assert!((94..=96).contains(&p95), "{p95}");
    }
}
