//! A circuit breaker per upstream, as a pure state machine: time comes in as an
//! argument, so tests drive it with paused tokio time. What counts as a failure is
//! decided by the caller (connect errors, timeouts, 5xx and 529 — never 4xx or 429).
//!
//! closed ──(N consecutive failures, or error ratio over the window)──► open
//! open ──(cooldown elapsed)──► half-open: one probe request is let through
//! half-open ──probe succeeds──► closed;  ──probe fails──► open, cooldown doubled (capped)

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::config::BreakerConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// What [`Breaker::acquire`] grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permit {
    Denied,
    Normal,
    /// The half-open probe: whoever holds it must report an outcome or release it.
    Probe,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    state: BreakerState,
    consecutive: u32,
    /// Cool-down that applies the next time the circuit opens (or now, while open).
    cooldown: Duration,
    open_until: Option<Instant>,
    probe_in_flight: bool,
    window: Window,
}

/// Success/failure counts over a rolling window, in ten buckets.
#[derive(Debug, Clone)]
struct Window {
    bucket_len: Duration,
    buckets: [(u32, u32); 10],
    head: usize,
    head_start: Option<Instant>,
}

impl Window {
    fn new(window: Duration) -> Self {
        Window {
            bucket_len: (window / 10).max(Duration::from_millis(100)),
            buckets: [(0, 0); 10],
            head: 0,
            head_start: None,
        }
    }

    fn rotate(&mut self, now: Instant) {
        let start = *self.head_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        let steps = (elapsed.as_millis() / self.bucket_len.as_millis().max(1)) as usize;
        if steps == 0 {
            return;
        }
        for _ in 0..steps.min(10) {
            self.head = (self.head + 1) % 10;
            self.buckets[self.head] = (0, 0);
        }
        self.head_start = Some(start + self.bucket_len * steps as u32);
    }

    fn record(&mut self, now: Instant, ok: bool) {
        self.rotate(now);
        let b = &mut self.buckets[self.head];
        if ok {
            b.0 += 1;
        } else {
            b.1 += 1;
        }
    }

    /// (requests, failures) over the window.
    fn totals(&mut self, now: Instant) -> (u32, u32) {
        self.rotate(now);
        self.buckets
            .iter()
            .fold((0, 0), |(n, f), (ok, bad)| (n + ok + bad, f + bad))
    }
}

impl Breaker {
    pub fn new(cfg: &BreakerConfig) -> Self {
        Breaker {
            state: BreakerState::Closed,
            consecutive: 0,
            cooldown: Duration::from_secs(cfg.cooldown_secs),
            open_until: None,
            probe_in_flight: false,
            window: Window::new(Duration::from_secs(cfg.window_secs)),
        }
    }

    /// The state, moving open → half-open when the cool-down is over.
    pub fn state(&mut self, now: Instant) -> BreakerState {
        if self.state == BreakerState::Open && self.open_until.is_some_and(|t| now >= t) {
            self.state = BreakerState::HalfOpen;
            self.probe_in_flight = false;
        }
        self.state
    }

    /// Whether a request may go to this upstream now (without taking the probe slot).
    pub fn available(&mut self, now: Instant) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => !self.probe_in_flight,
        }
    }

    /// Take permission for one request. In half-open, only one probe at a time.
    pub fn acquire(&mut self, now: Instant) -> Permit {
        match self.state(now) {
            BreakerState::Closed => Permit::Normal,
            BreakerState::Open => Permit::Denied,
            BreakerState::HalfOpen if self.probe_in_flight => Permit::Denied,
            BreakerState::HalfOpen => {
                self.probe_in_flight = true;
                Permit::Probe
            }
        }
    }

    /// [`Breaker::acquire`], as a yes or no.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        self.acquire(now) != Permit::Denied
    }

    pub fn on_success(&mut self, now: Instant, cfg: &BreakerConfig) {
        self.window.record(now, true);
        self.consecutive = 0;
        if self.state(now) == BreakerState::HalfOpen {
            self.state = BreakerState::Closed;
            self.probe_in_flight = false;
            self.open_until = None;
            self.cooldown = Duration::from_secs(cfg.cooldown_secs);
        }
    }

    pub fn on_failure(&mut self, now: Instant, cfg: &BreakerConfig) {
        self.window.record(now, false);
        self.consecutive += 1;
        match self.state(now) {
            BreakerState::HalfOpen => {
                // The probe failed: open again, for longer.
                let max = Duration::from_secs(cfg.max_cooldown_secs);
                self.cooldown = (self.cooldown * 2).min(max);
                self.open(now);
            }
            BreakerState::Closed => {
                let (n, failed) = self.window.totals(now);
                let ratio_trips = n >= cfg.min_requests
                    && n > 0
                    && f64::from(failed) / f64::from(n) >= cfg.error_ratio;
                if self.consecutive >= cfg.consecutive_failures || ratio_trips {
                    self.open(now);
                }
            }
            BreakerState::Open => {}
        }
    }

    /// A request that took the probe slot ended without telling success or failure
    /// (e.g. the client went away): free the slot.
    pub fn release_probe(&mut self) {
        self.probe_in_flight = false;
    }

    fn open(&mut self, now: Instant) {
        self.state = BreakerState::Open;
        self.probe_in_flight = false;
        self.open_until = Some(now + self.cooldown);
    }

    /// When an open circuit will let a probe through.
    pub fn open_until(&self) -> Option<Instant> {
        (self.state == BreakerState::Open)
            .then_some(self.open_until)
            .flatten()
    }

    /// Recent error ratio over the window (0 when idle).
    pub fn error_ratio(&mut self, now: Instant) -> f64 {
        let (n, f) = self.window.totals(now);
        if n == 0 {
            0.0
        } else {
            f64::from(f) / f64::from(n)
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            consecutive_failures: 3,
            error_ratio: 0.5,
            min_requests: 10,
            window_secs: 60,
            cooldown_secs: 10,
            max_cooldown_secs: 40,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_probes_after_cooldown() {
        let c = cfg();
        let mut b = Breaker::new(&c);
        for _ in 0..2 {
            b.on_failure(Instant::now(), &c);
        }
        assert_eq!(b.state(Instant::now()), BreakerState::Closed);
        b.on_failure(Instant::now(), &c);
        assert_eq!(b.state(Instant::now()), BreakerState::Open);
        assert!(!b.try_acquire(Instant::now()));

        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(!b.available(Instant::now()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(b.state(Instant::now()), BreakerState::HalfOpen);
        assert!(b.try_acquire(Instant::now()), "one probe");
        assert!(!b.try_acquire(Instant::now()), "only one probe at a time");
        b.on_success(Instant::now(), &c);
        assert_eq!(b.state(Instant::now()), BreakerState::Closed);
        assert!(b.try_acquire(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_doubles_the_cooldown_up_to_the_cap() {
        let c = cfg();
        let mut b = Breaker::new(&c);
        for _ in 0..3 {
            b.on_failure(Instant::now(), &c);
        }
        let mut expected = [20u64, 40, 40].into_iter();
        tokio::time::advance(Duration::from_secs(10)).await;
        for _ in 0..3 {
            assert!(b.try_acquire(Instant::now()));
            b.on_failure(Instant::now(), &c);
            assert_eq!(b.state(Instant::now()), BreakerState::Open);
            let wait = expected.next().unwrap();
            tokio::time::advance(Duration::from_secs(wait - 1)).await;
            assert_eq!(b.state(Instant::now()), BreakerState::Open, "still cooling");
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(b.state(Instant::now()), BreakerState::HalfOpen);
        }
        // A success resets the cool-down to its base.
        assert!(b.try_acquire(Instant::now()));
        b.on_success(Instant::now(), &c);
        for _ in 0..3 {
            b.on_failure(Instant::now(), &c);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.state(Instant::now()), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn error_ratio_over_the_window_opens() {
        let c = cfg();
        let mut b = Breaker::new(&c);
        // Alternate: never 3 in a row, but 50% errors once 10 requests are in.
        for i in 0..10 {
            if i % 2 == 0 {
                b.on_success(Instant::now(), &c);
            } else {
                b.on_failure(Instant::now(), &c);
            }
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        assert_eq!(b.state(Instant::now()), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn old_failures_leave_the_window() {
        let c = cfg();
        let mut b = Breaker::new(&c);
        for _ in 0..5 {
            b.on_success(Instant::now(), &c);
            b.on_failure(Instant::now(), &c);
            b.on_success(Instant::now(), &c);
        }
        assert!(b.error_ratio(Instant::now()) > 0.3);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(b.error_ratio(Instant::now()), 0.0);
        assert_eq!(b.state(Instant::now()), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn released_probe_lets_another_through() {
        let c = cfg();
        let mut b = Breaker::new(&c);
        for _ in 0..3 {
            b.on_failure(Instant::now(), &c);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(b.try_acquire(Instant::now()));
        b.release_probe();
        assert!(b.try_acquire(Instant::now()));
    }
}
