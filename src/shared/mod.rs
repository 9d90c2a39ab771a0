//! Team mode's shared state in Redis (`server.shared_state: redis://…`): what several
//! gateway instances behind one load balancer must agree on.
//!
//! - **Key limits and budgets**: each key's requests and tokens per minute (one-second
//!   buckets in a hash, like [`crate::limits::window`]) and its spend in the current
//!   budget period (integer micro-dollars), checked and counted by one Lua script, so
//!   two instances never both admit the last request of a minute (no
//!   read-modify-write from the gateway). A busy key does not call Redis per request:
//!   the script grants (and counts) a lease of requests for the current second, sized
//!   to the key's traffic here in the previous second and down to one near the limit
//!   (`Lease`); budgets and tpm are read with each lease, so at least once a second.
//!   Tokens and cost are summed per key as answers end and sent every
//!   [`SETTLE_EVERY`] by a second script, off the request path (so the shared tpm and
//!   budget lag by at most that).
//! - **Upstream cool-downs**: a 429 learnt by one instance (`until` in Unix ms, expiring
//!   with it) is read by every instance every [`COOLDOWN_POLL`].
//! - **Subscription tokens**: one refresh at a time per account across instances (a
//!   lock with an owner and an expiry), the rotated tokens published for the others
//!   (`server::credentials`), so a refresh token is spent once.
//! - **Sticky sessions**: a conversation's account, so a conversation stays on one
//!   account whichever instance takes its next turn.
//!
//! Breakers stay per instance, and so does the usage ledger (each instance writes its
//! own `usage.db`; docs/team.md says how to gather them).
//!
//! **Redis down or slow.** Every call is bounded by `server.shared_state_timeout_ms`. A
//! call that fails or times out marks the instance *degraded* (once in the log, in
//! `status`), and the request goes on with this instance's own counters, which are
//! always kept (fail-open); with `shared_state_fail: closed`, requests of keys that
//! have a budget are refused instead. The next call that succeeds marks it healthy
//! again: recovery needs nothing but Redis coming back (the connection manager
//! reconnects by itself).
//!
//! Connections: each worker thread keeps its own multiplexed connection (made on first
//! use, on that thread's runtime), so a check never hops threads.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::FailMode;
use crate::limits::{Admit, Limiter, Refusal, unix_millis};
use crate::util::Timestamp;

/// How often cool-downs learnt by other instances are read.
pub const COOLDOWN_POLL: Duration = Duration::from_millis(500);

/// The longest a thread's first call (which connects) may take.
const FIRST_CALL: Duration = Duration::from_millis(500);

/// Prefix of every key the gateway writes.
const NS: &str = "lgw";

/// The sliding window in Redis, as in [`crate::limits::window`]: a hash of one-second
/// buckets plus `h` (the newest second seen) and `n` (the sum of the buckets still in
/// the window). Moving the window to a new second drops only the buckets that left it
/// (one per second under steady traffic), so a check costs a few hash operations,
/// not a scan of sixty buckets. A caller whose clock is behind `h` counts in `h`.
const WINDOW_LUA: &str = r#"
local function window(key, now)
  local v = redis.call('HMGET', key, 'h', 'n')
  local h, n = tonumber(v[1]), tonumber(v[2]) or 0
  if h == nil then
    redis.call('HSET', key, 'h', now, 'n', 0)
    return 0, now
  end
  if now <= h then return n, h end
  if now - h > 61 then
    redis.call('DEL', key)
    redis.call('HSET', key, 'h', now, 'n', 0)
    return 0, now
  end
  for s = h - 60, now - 61 do
    local c = redis.call('HGET', key, s)
    if c then
      n = n - tonumber(c)
      redis.call('HDEL', key, s)
    end
  end
  redis.call('HSET', key, 'h', now, 'n', n)
  return n, now
end
local function add(key, at, k)
  redis.call('HINCRBY', key, at, k)
  redis.call('HINCRBY', key, 'n', k)
  redis.call('EXPIRE', key, 120)
end
local function retry_after(key, now, total, max_total)
  local v = redis.call('HGETALL', key)
  local buckets = {}
  for i = 1, #v, 2 do
    local s = tonumber(v[i])
    if s then buckets[#buckets + 1] = {s, tonumber(v[i + 1])} end
  end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  for _, b in ipairs(buckets) do
    total = total - b[2]
    if total <= max_total then return math.max(1, b[1] + 61 - now) end
  end
  return 1
end
"#;

/// Check a key and lease it requests. KEYS: requests window, tokens window, spend.
/// ARGV: now (s), rpm, tpm, budget (µ$) — each -1 when unset —, the spend to start
/// from when the period's counter does not exist yet (µ$), the counter's TTL (s), and
/// how many requests the caller would like to admit this second (the lease). The
/// grant is counted now; near the limit it is one (an eighth of what is left, at
/// least one), so the limit stays exact. Returns {0, requests, spent, granted} to
/// admit; {1, spent, 0, 0} over budget; {2, tokens, retry, 0} over tpm; {3,
/// requests, retry, 0} over rpm.
const CHECK_BODY: &str = r#"
local now = tonumber(ARGV[1])
local want = tonumber(ARGV[7] or '1')
local budget = tonumber(ARGV[4])
local spent = 0
if budget >= 0 then
  local s = redis.call('GET', KEYS[3])
  if not s then
    redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[6])
    s = ARGV[5]
  end
  spent = tonumber(s)
  if spent >= budget then return {1, spent, 0, 0} end
end
local tpm = tonumber(ARGV[3])
if tpm >= 0 then
  local t, at = window(KEYS[2], now)
  if t >= tpm then return {2, t, retry_after(KEYS[2], at, t, tpm - 1), 0} end
end
local rpm = tonumber(ARGV[2])
if rpm >= 0 then
  local r, at = window(KEYS[1], now)
  if r >= rpm then return {3, r, retry_after(KEYS[1], at, r, rpm - 1), 0} end
  local g = math.min(want, math.max(1, math.floor((rpm - r) / 8)))
  add(KEYS[1], at, g)
  return {0, r + g, spent, g}
end
return {0, 0, spent, want}
"#;

/// Charge answers (summed over a short batch). KEYS: tokens window, spend. ARGV: now
/// (s), tokens, cost (µ$), the spend to start from (µ$), the spend counter's TTL (s),
/// "1" when the key has a budget.
const SETTLE_BODY: &str = r#"
if tonumber(ARGV[2]) > 0 then
  local _, at = window(KEYS[1], tonumber(ARGV[1]))
  add(KEYS[1], at, tonumber(ARGV[2]))
end
if ARGV[6] == '1' and tonumber(ARGV[3]) > 0 then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
  end
  redis.call('INCRBY', KEYS[2], ARGV[3])
end
return 1
"#;

/// The check script's source (for tests that drive it directly).
pub fn check_script() -> String {
    format!("{WINDOW_LUA}{CHECK_BODY}")
}

/// How long answers' tokens and cost are summed before one settlement per key goes to
/// Redis: the shared tpm and budget lag by at most this, and Redis sees one call per
/// key per batch instead of one per answer.
pub const SETTLE_EVERY: Duration = Duration::from_millis(50);

/// Distinguishes instances of [`Shared`] in the per-thread connection table.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's connection to each shared state (by [`Shared::id`]).
    static CONNECTIONS: RefCell<HashMap<u64, ConnectionManager>> = RefCell::new(HashMap::new());
}

fn micros(usd: f64) -> i64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1e6).round() as i64
    } else {
        0
    }
}

/// `redis://user:secret@host` → `redis://user:***@host`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Whether the shared state answers, as `status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SharedStatus {
    pub url: String,
    /// `ok` or `degraded`.
    pub state: &'static str,
    pub since: Timestamp,
    pub last_error: Option<String>,
    pub failures: u64,
    pub fail_mode: FailMode,
}

#[derive(Debug)]
struct HealthInfo {
    since: SystemTime,
    last_error: Option<String>,
}

/// The shared state; one per server, made at start.
pub struct Shared {
    id: u64,
    client: redis::Client,
    url: String,
    timeout: Duration,
    fail: FailMode,
    ok: AtomicBool,
    failures: AtomicU64,
    info: Mutex<HealthInfo>,
    check: redis::Script,
    settle: redis::Script,
    /// Release a lock only if this instance still holds it.
    unlock: redis::Script,
    /// Tokens and cost waiting for the next settlement, per key.
    pending: Mutex<HashMap<String, Pending>>,
    /// Requests each key was granted by the shared state for the current second.
    leases: Mutex<HashMap<String, Lease>>,
}

/// Requests of one key this instance may admit in one second without asking Redis:
/// granted (and counted) by the check script, so the total across instances never
/// passes the limit. Unused ones lapse with the second (counted, never used: the
/// limit errs on the strict side). A lease is asked for about as many requests as
/// the key had here in the previous second; near the limit the script grants one at
/// a time. Budgets and tpm are read with each lease, so at least once a second.
#[derive(Debug, Default)]
struct Lease {
    second: u64,
    left: u64,
    used_this_second: u64,
    used_last_second: u64,
}

impl Lease {
    /// Move to `second`, keeping the previous second's count for sizing the next lease.
    fn roll(&mut self, second: u64) {
        if second != self.second {
            self.used_last_second = if second == self.second + 1 {
                self.used_this_second
            } else {
                0
            };
            self.used_this_second = 0;
            self.left = 0;
            self.second = second;
        }
    }
}

/// Largest lease asked for (per key, per second, per instance).
const MAX_LEASE: u64 = 10_000;

/// One key's answers since the last settlement.
#[derive(Debug, Clone)]
struct Pending {
    tokens: u64,
    cost_micros: i64,
    /// What this instance counted as spent before these answers (the seed).
    seed_micros: i64,
    period_start: i64,
    ttl: i64,
    has_budget: bool,
}

/// Why a shared check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("Redis did not answer within {0} ms")]
    Timeout(u64),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl Shared {
    /// Parse the URL (no connection is made here).
    pub fn new(url: &str, timeout: Duration, fail: FailMode) -> Result<Shared, redis::RedisError> {
        Ok(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            client: redis::Client::open(url)?,
            url: redact_url(url),
            timeout,
            fail,
            ok: AtomicBool::new(true),
            failures: AtomicU64::new(0),
            info: Mutex::new(HealthInfo {
                since: SystemTime::now(),
                last_error: None,
            }),
            check: redis::Script::new(&check_script()),
            settle: redis::Script::new(&format!("{WINDOW_LUA}{SETTLE_BODY}")),
            unlock: redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
            ),
            pending: Mutex::new(HashMap::new()),
            leases: Mutex::new(HashMap::new()),
        })
    }

    /// This thread's connection (made lazily, on this thread's runtime), and whether
    /// it is new (its first call also connects, so it gets longer).
    fn conn(&self) -> Result<(ConnectionManager, bool), SharedError> {
        CONNECTIONS.with(|c| {
            if let Some(m) = c.borrow().get(&self.id) {
                return Ok((m.clone(), false));
            }
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_millis(500)))
                .set_response_timeout(Some(self.timeout.max(Duration::from_millis(50))))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_secs(2));
            let m = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
            c.borrow_mut().insert(self.id, m.clone());
            Ok((m, true))
        })
    }

    /// Run one call, bounded, and keep the health up to date.
    async fn call<T, F>(&self, f: impl FnOnce(ConnectionManager) -> F) -> Result<T, SharedError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let result = match self.conn() {
            Ok((conn, new)) => {
                // A thread's first call also opens its connection.
                let limit = if new {
                    self.timeout.max(FIRST_CALL)
                } else {
                    self.timeout
                };
                match tokio::time::timeout(limit, f(conn)).await {
                    Ok(r) => r.map_err(SharedError::from),
                    Err(_) => Err(SharedError::Timeout(limit.as_millis() as u64)),
                }
            }
            Err(e) => Err(e),
        };
        match &result {
            Ok(_) => self.mark_ok(),
            Err(e) => self.mark_failed(e),
        }
        result
    }

    fn mark_ok(&self) {
        if !self.ok.swap(true, Ordering::Relaxed) {
            if let Ok(mut i) = self.info.lock() {
                i.since = SystemTime::now();
            }
            tracing::info!(url = %self.url, "shared state reachable again; limits are shared");
        }
    }

    fn mark_failed(&self, e: &SharedError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let was_ok = self.ok.swap(false, Ordering::Relaxed);
        if let Ok(mut i) = self.info.lock() {
            if was_ok {
                i.since = SystemTime::now();
            }
            i.last_error = Some(e.to_string());
        }
        if was_ok {
            tracing::warn!(
                url = %self.url,
                "shared state unavailable ({e}); degraded: limits and budgets count on this instance only ({})",
                match self.fail {
                    FailMode::Open => "fail-open",
                    FailMode::Closed => "fail-closed: keys with a budget are refused",
                }
            );
        }
    }

    pub fn status(&self) -> SharedStatus {
        let (since, last_error) = self
            .info
            .lock()
            .map(|i| (i.since, i.last_error.clone()))
            .unwrap_or((SystemTime::now(), None));
        SharedStatus {
            url: self.url.clone(),
            state: if self.ok.load(Ordering::Relaxed) {
                "ok"
            } else {
                "degraded"
            },
            since: Timestamp(since),
            last_error,
            failures: self.failures.load(Ordering::Relaxed),
            fail_mode: self.fail,
        }
    }

    /// The key's limits, checked (and the request counted) across every instance; on
    /// this instance's counters while Redis is unreachable (see the module docs).
    pub async fn check(
        &self,
        limiter: &Limiter,
        key_id: &str,
        model: &str,
        now: SystemTime,
    ) -> Result<Admit, CheckError> {
        // The model list is the config's; a key that counts nothing needs no call.
        if limiter
            .limits(key_id)
            .is_none_or(|l| !l.allows(model) || !l.counts())
        {
            return limiter
                .check(key_id, model, now)
                .map_err(CheckError::Refused);
        }
        let now_s = unix_millis(now) / 1000;
        // A request of the lease this second: no call.
        let want = match self.leases.lock() {
            Ok(mut leases) => {
                let lease = leases.entry(key_id.to_string()).or_default();
                lease.roll(now_s);
                if lease.left > 0 {
                    lease.left -= 1;
                    lease.used_this_second += 1;
                    drop(leases);
                    limiter.note_admitted(key_id, now);
                    return Ok(Admit::default());
                }
                lease.used_last_second.clamp(1, MAX_LEASE)
            }
            Err(_) => 1,
        };
        let Some(view) = limiter.shared_view(key_id, now) else {
            return limiter
                .check(key_id, model, now)
                .map_err(CheckError::Refused);
        };
        let l = &view.limits;
        let ttl = spend_ttl(&view.period, now_s as i64);
        let keys = key_names(key_id, view.period.start);
        let result: Result<(i64, i64, i64, i64), SharedError> = self
            .call(|mut conn| async move {
                self.check
                    .key(&keys[0])
                    .key(&keys[1])
                    .key(&keys[2])
                    .arg(now_s)
                    .arg(l.rpm.map_or(-1, |v| v as i64))
                    .arg(l.tpm.map_or(-1, |v| v as i64))
                    .arg(l.budget_usd.map_or(-1, micros))
                    .arg(micros(view.local_spent_usd))
                    .arg(ttl)
                    .arg(want)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
        match result {
            Ok((0, requests, _, granted)) => {
                if let Ok(mut leases) = self.leases.lock() {
                    let lease = leases.entry(key_id.to_string()).or_default();
                    lease.roll(now_s);
                    lease.left += (granted.max(1) as u64) - 1;
                    lease.used_this_second += 1;
                }
                limiter.note_admitted(key_id, now);
                Ok(Admit {
                    remaining_requests: l.rpm.map(|r| r.saturating_sub(requests.max(0) as u64)),
                    remaining_tokens: None,
                })
            }
            Ok((1, spent, _, _)) => Err(CheckError::Refused(Refusal::Budget {
                key: l.name.clone(),
                budget_usd: l.budget_usd.unwrap_or(0.0),
                spent_usd: spent as f64 / 1e6,
                period: l.budget_period,
                resets_at: view.period.resets_at(),
            })),
            Ok((2, used, retry, _)) => Err(CheckError::Refused(Refusal::Tpm {
                key: l.name.clone(),
                limit: l.tpm.unwrap_or(0),
                used: used.max(0) as u64,
                retry_after_secs: retry.max(1) as u64,
            })),
            Ok((_, _, retry, _)) => Err(CheckError::Refused(Refusal::Rpm {
                key: l.name.clone(),
                limit: l.rpm.unwrap_or(0),
                retry_after_secs: retry.max(1) as u64,
            })),
            Err(e) => {
                if self.fail == FailMode::Closed && l.budget_usd.is_some() {
                    return Err(CheckError::Unavailable(format!(
                        "gateway key {:?} has a budget, which is kept in the shared state, \
                         and the shared state is unavailable ({e}); try again shortly",
                        l.name
                    )));
                }
                limiter
                    .check(key_id, model, now)
                    .map_err(CheckError::Refused)
            }
        }
    }

    /// Charge an answer's tokens and cost to the shared counters: summed per key and
    /// sent every [`SETTLE_EVERY`] by [`Shared::settle_loop`]. Call before charging
    /// the local limiter.
    pub fn settle(
        &self,
        limiter: &Limiter,
        key_id: &str,
        tokens: u64,
        cost_usd: f64,
        now: SystemTime,
    ) {
        let cost = micros(cost_usd);
        if tokens == 0 && cost == 0 {
            return;
        }
        let Some(l) = limiter.limits(key_id).filter(|l| l.counts()) else {
            return;
        };
        let now_s = (unix_millis(now) / 1000) as i64;
        let period = crate::limits::PeriodBounds::containing(l.budget_period, now_s);
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if let Some(p) = pending.get_mut(key_id)
            && p.period_start == period.start
        {
            p.tokens += tokens;
            p.cost_micros += cost;
            return;
        }
        // The key's first answer in this batch (or of a new budget period): the seed is
        // what this instance counts as spent before it.
        let new_period = pending.contains_key(key_id);
        let seed = if new_period {
            0
        } else {
            limiter
                .shared_view(key_id, now)
                .map_or(0, |v| micros(v.local_spent_usd))
        };
        let carried = pending.get(key_id).map_or(0, |p| p.tokens);
        pending.insert(
            key_id.to_string(),
            Pending {
                tokens: carried + tokens,
                cost_micros: cost,
                seed_micros: seed,
                period_start: period.start,
                ttl: spend_ttl(&period, now_s),
                has_budget: l.budget_usd.is_some(),
            },
        );
    }

    /// Send the summed settlements every [`SETTLE_EVERY`], until the runtime ends.
    /// What Redis does not take (down, slow) is kept for the next round, so the
    /// shared counters end whole once it is back.
    pub async fn settle_loop(self: std::sync::Arc<Self>) {
        let mut tick = tokio::time::interval(SETTLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let batch: Vec<(String, Pending)> = match self.pending.lock() {
                Ok(mut p) if !p.is_empty() => p.drain().collect(),
                _ => continue,
            };
            let now_s = unix_millis(SystemTime::now()) / 1000;
            for (key_id, p) in batch {
                let keys = key_names(&key_id, p.period_start);
                let done: Result<i64, _> = self
                    .call(|mut conn| {
                        let mut inv = self.settle.key(&keys[1]);
                        inv.key(&keys[2])
                            .arg(now_s)
                            .arg(p.tokens)
                            .arg(p.cost_micros)
                            .arg(p.seed_micros)
                            .arg(p.ttl)
                            .arg(if p.has_budget { "1" } else { "0" });
                        async move { inv.invoke_async(&mut conn).await }
                    })
                    .await;
                if done.is_err()
                    && let Ok(mut pending) = self.pending.lock()
                {
                    let e = pending.entry(key_id).or_insert(Pending {
                        tokens: 0,
                        cost_micros: 0,
                        ..p.clone()
                    });
                    e.tokens += p.tokens;
                    e.cost_micros += p.cost_micros;
                }
            }
        }
    }

    /// Tell the other instances that an upstream rests until `until` (fire and forget).
    pub fn publish_cooldown(self: &std::sync::Arc<Self>, upstream_id: &str, rest: Duration) {
        let until = unix_millis(SystemTime::now() + rest);
        let ms = rest.as_millis().max(1) as u64;
        self.set_later(
            format!("{NS}:cool:{upstream_id}"),
            until.to_string(),
            "PX",
            ms,
        );
    }

    /// `SET key value <expiry_kind> <expiry>` off the request path (fire and forget);
    /// never from outside a runtime (a body dropped late).
    fn set_later(
        self: &std::sync::Arc<Self>,
        key: String,
        value: String,
        expiry_kind: &'static str,
        expiry: u64,
    ) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let this = self.clone();
        rt.spawn(async move {
            let _: Result<(), _> = this
                .call(|mut conn| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(&value)
                        .arg(expiry_kind)
                        .arg(expiry)
                        .query_async(&mut conn)
                        .await
                })
                .await;
        });
    }

    /// The account a conversation last used, on any instance (`None` when unknown or
    /// Redis does not answer in time).
    pub async fn session(&self, session: &str) -> Option<String> {
        let key = session_key(session);
        self.call(|mut conn| async move {
            redis::cmd("GET")
                .arg(&key)
                .query_async::<Option<String>>(&mut conn)
                .await
        })
        .await
        .ok()
        .flatten()
    }

    /// Record a conversation's account for the other instances (fire and forget).
    pub fn publish_session(self: &std::sync::Arc<Self>, session: &str, upstream_id: &str) {
        self.set_later(
            session_key(session),
            upstream_id.to_string(),
            "EX",
            SESSION_TTL_SECS,
        );
    }

    /// When each of `upstream_ids` rests until (Unix ms), as other instances learnt.
    pub async fn cooldowns(
        &self,
        upstream_ids: &[String],
    ) -> Result<Vec<Option<u64>>, SharedError> {
        if upstream_ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = upstream_ids
            .iter()
            .map(|id| format!("{NS}:cool:{id}"))
            .collect();
        self.call(
            |mut conn| async move { redis::cmd("MGET").arg(&keys).query_async(&mut conn).await },
        )
        .await
    }
}

/// Subscription tokens shared by every instance: one refresh at a time per account
/// (a lock with an owner and an expiry), and the rotated tokens where the others read
/// them, so a refresh token is spent once.
impl Shared {
    fn oauth_key(upstream_id: &str, what: &str) -> String {
        format!("{NS}:oauth:{{{upstream_id}}}:{what}")
    }

    /// Take the refresh lock of an account, waiting up to `wait` for another
    /// instance's refresh to end. `Ok(Some(owner))` when taken; `Ok(None)` when the
    /// wait ran out.
    pub async fn lock_refresh(
        &self,
        upstream_id: &str,
        wait: Duration,
    ) -> Result<Option<String>, SharedError> {
        let key = Self::oauth_key(upstream_id, "lock");
        let owner = format!("{:016x}", rand::random::<u64>());
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let (k, o) = (key.clone(), owner.clone());
            let got: Option<String> = self
                .call(|mut conn| async move {
                    redis::cmd("SET")
                        .arg(&k)
                        .arg(&o)
                        .arg("NX")
                        .arg("PX")
                        .arg(30_000)
                        .query_async(&mut conn)
                        .await
                })
                .await?;
            if got.is_some() {
                return Ok(Some(owner));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Release a refresh lock this instance holds (and only then).
    pub async fn unlock_refresh(&self, upstream_id: &str, owner: &str) {
        let key = Self::oauth_key(upstream_id, "lock");
        let script = &self.unlock;
        let _: Result<i64, _> = self
            .call(
                |mut conn| async move { script.key(&key).arg(owner).invoke_async(&mut conn).await },
            )
            .await;
    }

    /// The newest tokens of each account, as the last refresh on any instance left them.
    pub async fn tokens(
        &self,
        upstream_ids: &[String],
    ) -> Result<Vec<Option<crate::config::OAuthTokens>>, SharedError> {
        if upstream_ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = upstream_ids
            .iter()
            .map(|id| Self::oauth_key(id, "tokens"))
            .collect();
        let raw: Vec<Option<String>> =
            self.call(|mut conn| async move {
                redis::cmd("MGET").arg(&keys).query_async(&mut conn).await
            })
            .await?;
        Ok(raw
            .into_iter()
            .map(|r| r.and_then(|s| serde_json::from_str(&s).ok()))
            .collect())
    }

    /// Publish an account's new tokens.
    pub async fn put_tokens(
        &self,
        upstream_id: &str,
        tokens: &crate::config::OAuthTokens,
    ) -> Result<(), SharedError> {
        let key = Self::oauth_key(upstream_id, "tokens");
        let json = serde_json::to_string(tokens).unwrap_or_default();
        self.call(|mut conn| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(json)
                .query_async(&mut conn)
                .await
        })
        .await
    }
}

/// How long a conversation's account is remembered in Redis (as in the instance).
const SESSION_TTL_SECS: u64 = 3600;

/// A conversation's key: a hash of its id (Claude Code's carries an account and a
/// session uuid, which need not sit in Redis as they are).
fn session_key(session: &str) -> String {
    format!(
        "{NS}:sticky:{}",
        crate::convert::common::short_hash(session, 32)
    )
}

/// How long a budget period's spend counter lives: to the period's end, and a day
/// beyond (at least a minute, for a clock past the end).
fn spend_ttl(period: &crate::limits::PeriodBounds, now_s: i64) -> i64 {
    (period.end - now_s).max(60) + 86_400
}

/// The three keys of a gateway key's counters (one hash slot: `{id}`).
fn key_names(key_id: &str, period_start: i64) -> [String; 3] {
    [
        format!("{NS}:{{{key_id}}}:req"),
        format!("{NS}:{{{key_id}}}:tok"),
        format!("{NS}:{{{key_id}}}:spend:{period_start}"),
    ]
}

/// Why [`Shared::check`] did not admit a request.
#[derive(Debug)]
pub enum CheckError {
    Refused(Refusal),
    /// Fail-closed and Redis unreachable.
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_and_keys_share_a_slot() {
        assert_eq!(
            redact_url("redis://default:hunter2@redis:6379/0"),
            "redis://default:***@redis:6379/0"
        );
        assert_eq!(redact_url("redis://redis:6379/0"), "redis://redis:6379/0");
        let k = key_names("key_1", 1_700_000_000);
        assert!(k.iter().all(|n| n.contains("{key_1}")));
        assert_eq!(micros(0.0012345), 1235);
        assert_eq!(micros(f64::NAN), 0);
    }
}
