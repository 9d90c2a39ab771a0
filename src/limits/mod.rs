//! Per-key limits and budgets: requests and tokens per minute, a spend cap per
//! calendar period, and a model allow-list. Pure logic: time is always passed in
//! (`now`), nothing here sleeps, awaits or does I/O, so the request path pays a hash
//! lookup and one short, uncontended-in-practice lock.
//!
//! - [`window`]: the sliding one-minute window behind `rpm` and `tpm` (why not a
//!   token bucket is explained there);
//! - [`period`]: budget periods as UTC calendar periods (day, ISO week, month);
//! - [`Limiter`]: the per-key counters and the request-path API, [`Limiter::check`]
//!   before anything is sent upstream and [`Limiter::settle`] when an answer ends.
//!
//! **Concurrency.** A [`Limiter`] is an immutable map (behind an `Arc`) from key id to
//! that key's limits and an `Arc<Mutex<Counters>>`. There is no global lock: requests
//! of different keys never touch the same lock, and a key's lock is held for a few
//! hundred nanoseconds of arithmetic, never across an `await`. A per-key lock (rather
//! than per-worker shards summed on every check) keeps `rpm` exact across workers: the
//! check and the count are one step. Hot reload builds a new map with
//! [`Limiter::rebuild`] that shares each surviving key's counters, so current counts
//! carry over and the new limits apply to them at once; a request that still holds the
//! previous snapshot settles into the same counters.
//!
//! **Overshoot.** `rpm` never overshoots: a request is counted when admitted. `tpm` and
//! the budget are checked before a request and charged when its usage is known (a
//! stream at its end), because what a request will cost is unknown before it runs. So
//! every request admitted while the key was under the limit may finish above it: the
//! overshoot is at most the tokens (or the cost) of the requests in flight at the moment
//! the limit was crossed — one request's worth per concurrent request — after which
//! every new request is refused until the window frees (tpm) or the period ends
//! (budget).

pub mod period;
#[cfg(test)]
mod tests;
pub mod window;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::config::{BudgetPeriod, GatewayKey};
use crate::util::{Timestamp, glob_match};
use period::unix_secs;
pub use period::{PeriodBounds, earliest_period_start, unix_millis};
pub use window::SlidingWindow;

/// One key's limits, compiled from its config entry.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct KeyLimits {
    /// The key's name, for messages.
    pub name: String,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub budget_usd: Option<f64>,
    pub budget_period: BudgetPeriod,
    /// Empty: every model.
    pub models: Vec<String>,
}

impl KeyLimits {
    /// Whether requests of this key are counted (it has an rpm, tpm or budget).
    pub fn counts(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some() || self.budget_usd.is_some()
    }

    pub fn of(k: &GatewayKey) -> Self {
        KeyLimits {
            name: k.name.clone(),
            rpm: k.rpm,
            tpm: k.tpm,
            budget_usd: k.budget_usd,
            budget_period: k.budget_period,
            models: k.models.clone(),
        }
    }

    /// Whether the allow-list lets the key ask for `model`.
    pub fn allows(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|p| glob_match(p, model))
    }
}

/// What the limiter asks the ledger about a key it has not seen yet (at start, or a
/// key added while running), or whose budget period changed (then only `spend_usd`
/// of the answer is used).
#[derive(Clone, Copy, Debug)]
pub struct SeedQuery<'a> {
    pub key_id: &'a str,
    /// Start of the key's current budget period: spend since then.
    pub period_start: SystemTime,
    /// One minute ago: tokens and requests since then.
    pub minute_start: SystemTime,
}

/// The ledger's answer to a [`SeedQuery`]. `Seed::default()` when there is no ledger.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Seed {
    pub spend_usd: f64,
    pub tokens_last_minute: u64,
    pub requests_last_minute: u64,
}

/// A request may go upstream. What is left of the per-minute limits, after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Admit {
    pub remaining_requests: Option<u64>,
    pub remaining_tokens: Option<u64>,
}

/// Why a request is refused before anything is sent upstream. `Display` is the
/// message the client sees; `GatewayError::from` turns it into the HTTP answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("gateway key {key:?} may not use model {model:?} (allowed: {})", allowed.join(", "))]
    ModelNotAllowed {
        key: String,
        model: String,
        allowed: Vec<String>,
    },
    #[error(
        "gateway key {key:?} reached its limit of {limit} requests per minute; \
         retry in {retry_after_secs} s"
    )]
    Rpm {
        key: String,
        limit: u64,
        retry_after_secs: u64,
    },
    #[error(
        "gateway key {key:?} reached its limit of {limit} tokens per minute \
         ({used} in the last minute); retry in {retry_after_secs} s"
    )]
    Tpm {
        key: String,
        limit: u64,
        used: u64,
        retry_after_secs: u64,
    },
    #[error(
        "gateway key {key:?} has used its budget of {} per {period} ({} spent); \
         the budget resets {resets_at}", usd(*budget_usd), usd(*spent_usd)
    )]
    Budget {
        key: String,
        budget_usd: f64,
        spent_usd: f64,
        period: BudgetPeriod,
        resets_at: Timestamp,
    },
}

impl Refusal {
    /// Seconds the client should wait (`retry-after`); `None` when waiting a little
    /// does not help (budget, model).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Refusal::Rpm {
                retry_after_secs, ..
            }
            | Refusal::Tpm {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Refusal::ModelNotAllowed { .. } | Refusal::Budget { .. } => None,
        }
    }
}

/// Dollars for messages: cents, or more digits for sub-cent amounts.
pub fn usd(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 {
        format!("${v:.4}")
    } else {
        format!("${v:.2}")
    }
}

/// A key's current use, as `apikey show/list` and `status` print it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyUsage {
    pub requests_last_minute: u64,
    pub tokens_last_minute: u64,
    pub spent_usd: f64,
    pub budget_period: BudgetPeriod,
    pub period_resets_at: Timestamp,
}

/// The mutable part of a key: what it used.
#[derive(Debug)]
struct Counters {
    requests: SlidingWindow,
    tokens: SlidingWindow,
    period_kind: BudgetPeriod,
    period: PeriodBounds,
    spent_usd: f64,
}

impl Counters {
    /// Start the next period's spend at 0 once `secs` is past the current one. A
    /// clock that steps back keeps the current period.
    fn roll(&mut self, secs: i64) {
        if secs >= self.period.end {
            self.period = PeriodBounds::containing(self.period_kind, secs);
            self.spent_usd = 0.0;
        }
    }
}

#[derive(Debug)]
struct Entry {
    limits: KeyLimits,
    counters: Arc<Mutex<Counters>>,
}

fn lock(c: &Mutex<Counters>) -> MutexGuard<'_, Counters> {
    // Counters stay meaningful even if a holder panicked mid-update.
    c.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Per-key counters and limits. Cheap to clone (one `Arc`); keep one in each config
/// snapshot, built with [`Limiter::new`] at start and [`Limiter::rebuild`] on reload.
#[derive(Clone, Debug, Default)]
pub struct Limiter {
    keys: Arc<HashMap<String, Entry>>,
}

/// The callback that reads the ledger: see [`SeedQuery`].
pub type SeedFn<'a> = dyn FnMut(SeedQuery<'_>) -> Seed + 'a;

impl Limiter {
    /// Counters for `keys`, seeded from the ledger through `seed` (called once per key).
    pub fn new(keys: &[GatewayKey], now: SystemTime, seed: &mut SeedFn<'_>) -> Self {
        Limiter::default().rebuild(keys, now, seed)
    }

    /// The limiter for a new config: surviving keys keep their counters (shared with
    /// `self`, so in-flight requests settle into them) under their new limits; new
    /// keys are seeded; keys gone from the config are dropped. A key that had no limit
    /// counted nothing, so when it gets its first one it is seeded like a new key: a
    /// budget set mid-month counts what the key already spent this month. `seed` is
    /// called for those and for keys whose budget period changed, never while a lock
    /// is held.
    pub fn rebuild(&self, keys: &[GatewayKey], now: SystemTime, seed: &mut SeedFn<'_>) -> Self {
        let (ms, secs) = (unix_millis(now), unix_secs(now));
        let minute_start = now.checked_sub(Duration::from_secs(60)).unwrap_or(now);
        let mut map = HashMap::with_capacity(keys.len());
        for k in keys {
            let limits = KeyLimits::of(k);
            let period = PeriodBounds::containing(limits.budget_period, secs);
            let query = SeedQuery {
                key_id: &k.id,
                period_start: period.start_time(),
                minute_start,
            };
            let counters = match self.keys.get(&k.id).filter(|old| old.limits.counts()) {
                Some(old) => {
                    let changed = lock(&old.counters).period_kind != limits.budget_period;
                    if changed {
                        let spend = clean_cost(seed(query).spend_usd);
                        let mut c = lock(&old.counters);
                        c.period_kind = limits.budget_period;
                        c.period = period;
                        c.spent_usd = spend;
                    }
                    Arc::clone(&old.counters)
                }
                None => {
                    let s = seed(query);
                    Arc::new(Mutex::new(Counters {
                        requests: SlidingWindow::seeded(ms, s.requests_last_minute),
                        tokens: SlidingWindow::seeded(ms, s.tokens_last_minute),
                        period_kind: limits.budget_period,
                        period,
                        spent_usd: clean_cost(s.spend_usd),
                    }))
                }
            };
            map.insert(k.id.clone(), Entry { limits, counters });
        }
        Limiter {
            keys: Arc::new(map),
        }
    }

    /// Before anything is sent upstream: may key `key_id` send a request for `model`
    /// now? On `Ok` the request is counted against `rpm`. Checks in this order: the
    /// model list (403), the budget (no retry helps), tokens per minute, requests per
    /// minute. A key the limiter does not know is admitted (it has no limits).
    pub fn check(&self, key_id: &str, model: &str, now: SystemTime) -> Result<Admit, Refusal> {
        let Some(e) = self.keys.get(key_id) else {
            return Ok(Admit::default());
        };
        let l = &e.limits;
        if !l.allows(model) {
            return Err(Refusal::ModelNotAllowed {
                key: l.name.clone(),
                model: model.to_string(),
                allowed: l.models.clone(),
            });
        }
        // A key with no rpm, tpm or budget has nothing to count: no lock taken.
        if !l.counts() {
            return Ok(Admit::default());
        }
        let ms = unix_millis(now);
        let mut c = lock(&e.counters);
        c.roll(unix_secs(now));
        if let Some(budget) = l.budget_usd
            && c.spent_usd >= budget
        {
            return Err(Refusal::Budget {
                key: l.name.clone(),
                budget_usd: budget,
                spent_usd: c.spent_usd,
                period: l.budget_period,
                resets_at: c.period.resets_at(),
            });
        }
        let tokens = c.tokens.used(ms);
        if let Some(tpm) = l.tpm
            && tokens >= tpm
        {
            return Err(Refusal::Tpm {
                key: l.name.clone(),
                limit: tpm,
                used: tokens,
                retry_after_secs: c.tokens.retry_after(ms, tpm.saturating_sub(1)),
            });
        }
        let requests = c.requests.used(ms);
        if let Some(rpm) = l.rpm
            && requests >= rpm
        {
            return Err(Refusal::Rpm {
                key: l.name.clone(),
                limit: rpm,
                retry_after_secs: c.requests.retry_after(ms, rpm.saturating_sub(1)),
            });
        }
        c.requests.add(ms, 1);
        Ok(Admit {
            remaining_requests: l.rpm.map(|r| r.saturating_sub(requests + 1)),
            remaining_tokens: l.tpm.map(|t| t.saturating_sub(tokens)),
        })
    }

    /// When an answer ends (a stream when its usage is known): charge its tokens
    /// (input + output) to `tpm` and its cost to the budget. Also for failures that
    /// used tokens; a request that used none need not settle.
    pub fn settle(&self, key_id: &str, tokens: u64, cost_usd: f64, now: SystemTime) {
        let Some(e) = self.keys.get(key_id).filter(|e| e.limits.counts()) else {
            return;
        };
        let mut c = lock(&e.counters);
        c.roll(unix_secs(now));
        if tokens > 0 {
            c.tokens.add(unix_millis(now), tokens);
        }
        c.spent_usd += clean_cost(cost_usd);
    }

    /// The key's current use; `None` for a key the limiter does not know.
    pub fn usage(&self, key_id: &str, now: SystemTime) -> Option<KeyUsage> {
        let e = self.keys.get(key_id)?;
        let ms = unix_millis(now);
        let mut c = lock(&e.counters);
        c.roll(unix_secs(now));
        Some(KeyUsage {
            requests_last_minute: c.requests.used(ms),
            tokens_last_minute: c.tokens.used(ms),
            spent_usd: c.spent_usd,
            budget_period: c.period_kind,
            period_resets_at: c.period.resets_at(),
        })
    }

    /// The limits in force for a key.
    pub fn limits(&self, key_id: &str) -> Option<&KeyLimits> {
        self.keys.get(key_id).map(|e| &e.limits)
    }

    /// What a shared (Redis) check of the key needs: its limits, its current budget
    /// period and what this instance counts as spent in it (the seed of a shared
    /// counter that does not exist yet). `None` for a key that counts nothing.
    pub fn shared_view(&self, key_id: &str, now: SystemTime) -> Option<SharedView> {
        let e = self.keys.get(key_id).filter(|e| e.limits.counts())?;
        let mut c = lock(&e.counters);
        c.roll(unix_secs(now));
        Some(SharedView {
            limits: e.limits.clone(),
            period: c.period,
            local_spent_usd: c.spent_usd,
        })
    }

    /// Count a request the shared state admitted, so this instance's own counts stay
    /// whole for when the shared state is unreachable.
    pub fn note_admitted(&self, key_id: &str, now: SystemTime) {
        if let Some(e) = self.keys.get(key_id).filter(|e| e.limits.counts()) {
            lock(&e.counters).requests.add(unix_millis(now), 1);
        }
    }
}

/// See [`Limiter::shared_view`].
#[derive(Clone, Debug)]
pub struct SharedView {
    pub limits: KeyLimits,
    pub period: PeriodBounds,
    pub local_spent_usd: f64,
}

/// Costs that are not a finite, positive number count as 0.
fn clean_cost(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}
