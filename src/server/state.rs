//! The server's shared state: an immutable snapshot of the config (swapped whole on
//! reload), the live counters that outlive reloads, and the hot-reload watcher.

use crate::ledger::db::KeySums;
use crate::ledger::{Ledger, LedgerHandle};
use crate::limits::{Limiter, Seed, SeedQuery, earliest_period_start, unix_millis};
use crate::prices::PriceTable;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::config::{Config, ConfigStore, GatewayKey};
use crate::keys;
use crate::router::Router;
use crate::upstream::UpstreamClient;
use crate::util::Timestamp;

use super::stats::{KeyStats, UpstreamStats};

/// How long a conversation stays on the upstream it used last.
const SESSION_TTL: Duration = Duration::from_secs(3600);

/// One consistent view of the config, compiled for the request path.
pub struct Snapshot {
    pub config: Config,
    pub router: Router,
    /// (digest, index into `config.gateway_keys`) for every key, enabled or not.
    pub keys: Vec<([u8; 32], usize)>,
    pub client: Arc<UpstreamClient>,
    pub body_limit: usize,
    /// Live counters by upstream id and key id (shared across snapshots).
    pub upstream_stats: HashMap<String, Arc<UpstreamStats>>,
    pub key_stats: HashMap<String, Arc<KeyStats>>,
    /// Per-key limits and budgets, and the counters they are checked against (the
    /// counters carry over from snapshot to snapshot).
    pub limiter: Limiter,
    /// Prices of this config (built-in snapshot + `prices` overrides).
    pub prices: Arc<PriceTable>,
}

pub struct AppState {
    pub store: ConfigStore,
    snapshot: RwLock<Arc<Snapshot>>,
    upstream_stats: Mutex<HashMap<String, Arc<UpstreamStats>>>,
    key_stats: Mutex<HashMap<String, Arc<KeyStats>>>,
    pub started: Timestamp,
    pub started_instant: Instant,
    pub listen: SocketAddr,
    /// SHA-256 of the local admin token in the runtime file.
    pub admin_token: [u8; 32],
    pub reloads: std::sync::atomic::AtomicU64,
    /// Turn counter for round-robin selection.
    pub turn: std::sync::atomic::AtomicU64,
    /// Conversation → upstream id it last used, for sticky sessions.
    pub sessions: Mutex<HashMap<String, (String, Instant)>>,
    /// Where subscription tokens are refreshed.
    pub oauth_endpoints: crate::oauth::Endpoints,
    /// One refresh at a time per upstream (across processes, the config lock).
    refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Upstream model catalogs: id → (fetched at, model ids).
    pub models_cache: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    /// The control runtime (multi-threaded), for work that blocks a thread and needs a
    /// runtime that drives I/O from any thread: token refreshes under the file lock.
    pub control: tokio::runtime::Handle,
    /// Converted Responses answers, for `previous_response_id`.
    pub responses: Arc<super::responses_store::ResponsesStore>,
    /// Where each request's usage row goes (written off the request path).
    pub ledger: LedgerHandle,
    /// The ledger's database, for seeding the limits of keys that appear on reload
    /// (never on the request path).
    ledger_db: Mutex<Option<Ledger>>,
    /// Team mode: limits, budgets and cool-downs shared through Redis.
    pub shared: Option<Arc<crate::shared::Shared>>,
    /// Team mode: subscription tokens newer than the config file's (rotated through
    /// Redis, possibly by another instance, or not writable to a read-only config):
    /// upstream id → (tokens, the file's access token when they were set). They win
    /// over the file until the file's tokens change (a new login with the CLI).
    token_overlay: Mutex<HashMap<String, (crate::config::OAuthTokens, Option<String>)>>,
}

impl AppState {
    /// Build the state; call it on the control runtime, whose handle it keeps.
    pub fn new(
        store: ConfigStore,
        config: Config,
        listen: SocketAddr,
        admin_token: [u8; 32],
        ledger: Option<Ledger>,
    ) -> anyhow::Result<Self> {
        let control = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow::anyhow!("the server state needs a running runtime"))?;
        let shared = match &config.server.shared_state {
            Some(url) => Some(Arc::new(
                crate::shared::Shared::new(
                    url,
                    std::time::Duration::from_millis(config.server.shared_state_timeout_ms),
                    config.server.shared_state_fail,
                )
                .map_err(|e| {
                    anyhow::anyhow!(
                        "server.shared_state {:?}: {e}",
                        crate::shared::redact_url(url)
                    )
                })?,
            )),
            None => None,
        };
        let client = Arc::new(UpstreamClient::new(&config.environment, &config.server)?);
        let upstream_stats = Mutex::new(HashMap::new());
        let key_stats = Mutex::new(HashMap::new());
        let handle = ledger
            .as_ref()
            .map(Ledger::handle)
            .unwrap_or_else(LedgerHandle::disabled);
        let ledger_db = Mutex::new(ledger);
        let limiter = Limiter::new(
            &config.gateway_keys,
            SystemTime::now(),
            &mut seed_from(&ledger_db),
        );
        let snap = compile(config, client, &upstream_stats, &key_stats, limiter);
        Ok(AppState {
            store,
            snapshot: RwLock::new(Arc::new(snap)),
            upstream_stats,
            key_stats,
            turn: Default::default(),
            sessions: Mutex::new(HashMap::new()),
            oauth_endpoints: crate::oauth::Endpoints::from_env(),
            refresh_locks: Mutex::new(HashMap::new()),
            started: Timestamp::now(),
            started_instant: Instant::now(),
            listen,
            admin_token,
            reloads: Default::default(),
            models_cache: Mutex::new(HashMap::new()),
            control,
            responses: Default::default(),
            ledger: handle,
            ledger_db,
            shared,
            token_overlay: Mutex::new(HashMap::new()),
        })
    }

    /// The current snapshot. The lock is held only to clone an `Arc`.
    /// Run a read on the usage ledger (blocking: call it from a blocking thread).
    /// `None` when the server runs without a ledger.
    pub fn read_ledger<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Option<rusqlite::Result<T>> {
        let guard = self.ledger_db.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|l| f(l.reader()))
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Install a new config. The upstream client (and its connection pool) is rebuilt
    /// only when proxy settings or timeouts changed.
    pub fn install(&self, mut config: Config) -> anyhow::Result<()> {
        self.apply_overlay(&mut config);
        let old = self.snapshot();
        let client = if old.config.environment == config.environment
            && same_client_settings(&old.config, &config)
        {
            old.client.clone()
        } else {
            Arc::new(UpstreamClient::new(&config.environment, &config.server)?)
        };
        let limiter = old.limiter.rebuild(
            &config.gateway_keys,
            SystemTime::now(),
            &mut seed_from(&self.ledger_db),
        );
        self.ledger.set_retention_days(config.usage.retention_days);
        // New credentials (or an upstream enabled again) deserve a new try: forget that
        // the old ones were refused, so routing stops putting the account last.
        for u in &config.upstreams {
            let was = old.config.upstreams.iter().find(|o| o.id == u.id);
            if let Some(o) = was
                && (o.api_key != u.api_key
                    || o.base_url != u.base_url
                    || o.status != u.status
                    || o.oauth.as_ref().map(|t| &t.access_token)
                        != u.oauth.as_ref().map(|t| &t.access_token))
                && let Some(stats) = old.stats(&u.id)
            {
                stats.health().auth_failed = false;
            }
        }
        let snap = Arc::new(compile(
            config,
            client,
            &self.upstream_stats,
            &self.key_stats,
            limiter,
        ));
        match self.snapshot.write() {
            Ok(mut s) => *s = snap,
            Err(poisoned) => *poisoned.into_inner() = snap,
        }
        self.reloads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// The single-flight lock for refreshing one upstream's tokens.
    pub fn refresh_lock(&self, upstream_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(upstream_id.to_string()).or_default().clone()
    }

    /// Remember which upstream a conversation used (bounded; old entries expire).
    /// Remember a conversation's account; true when that is news (a new
    /// conversation here, or another account than before).
    pub fn remember_session(&self, session: &str, upstream_id: &str) -> bool {
        const CAP: usize = 10_000;
        let mut m = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= CAP {
            m.retain(|_, (_, t)| t.elapsed() < SESSION_TTL);
            if m.len() >= CAP {
                m.clear();
            }
        }
        let old = m.insert(
            session.to_string(),
            (upstream_id.to_string(), Instant::now()),
        );
        old.is_none_or(|(id, t)| id != upstream_id || t.elapsed() >= SESSION_TTL)
    }

    pub fn session_upstream(&self, session: &str) -> Option<String> {
        let m = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        m.get(session)
            .filter(|(_, t)| t.elapsed() < SESSION_TTL)
            .map(|(id, _)| id.clone())
    }

    /// Watch the config file and install each valid change. An invalid file is logged
    /// and the previous config keeps serving.
    pub async fn watch(self: Arc<Self>) {
        let mut last = stamp(&self.store);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            let now = stamp(&self.store);
            if now == last {
                continue;
            }
            last = now;
            match self.store.load() {
                Ok(config) => match self.install(config) {
                    Ok(()) => {
                        tracing::info!("config reloaded from {}", self.store.path().display())
                    }
                    Err(e) => tracing::warn!("config change not applied: {e:#}"),
                },
                Err(e) => {
                    tracing::warn!("config change not applied, still serving the previous one: {e}")
                }
            }
        }
    }
}

impl AppState {
    /// Use these tokens for an upstream from now on (see `token_overlay`), and
    /// install them at once.
    pub fn overlay_tokens(&self, upstream_id: &str, tokens: crate::config::OAuthTokens) {
        let file = self.store.load().ok();
        let file_access = file.as_ref().and_then(|c| {
            c.upstreams
                .iter()
                .find(|u| u.id == upstream_id)
                .and_then(|u| u.oauth.as_ref())
                .map(|t| t.access_token.clone())
        });
        if let Ok(mut o) = self.token_overlay.lock() {
            o.insert(upstream_id.to_string(), (tokens, file_access));
        }
        let config = file.unwrap_or_else(|| self.snapshot().config.clone());
        if let Err(e) = self.install(config) {
            tracing::warn!("shared tokens not applied: {e:#}");
        }
    }

    fn apply_overlay(&self, config: &mut Config) {
        let Ok(mut overlay) = self.token_overlay.lock() else {
            return;
        };
        overlay.retain(|id, (tokens, file_access)| {
            let Some(u) = config.upstreams.iter_mut().find(|u| &u.id == id) else {
                return false;
            };
            let now_file = u.oauth.as_ref().map(|t| t.access_token.clone());
            // The file moved on by itself (a new login): it wins from now on.
            if now_file != *file_access && now_file.as_ref() != Some(&tokens.access_token) {
                return false;
            }
            u.oauth = Some(tokens.clone());
            true
        });
    }
}

fn same_client_settings(a: &Config, b: &Config) -> bool {
    a.server.connect_timeout_secs == b.server.connect_timeout_secs
        && a.server.first_byte_timeout_secs == b.server.first_byte_timeout_secs
        && a.server.idle_stream_timeout_secs == b.server.idle_stream_timeout_secs
}

/// What identifies a version of the file: modification time and length.
fn stamp(store: &ConfigStore) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(store.path()).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Seeds a key's limits from the ledger: spend in its budget period so far, requests
/// and tokens in the last minute (without a ledger, nothing). The ledger is read once,
/// at the first key that needs it, for every key: from the earliest start any budget
/// period can have now (a month's or a week's).
fn seed_from(db: &Mutex<Option<Ledger>>) -> impl FnMut(SeedQuery<'_>) -> Seed + '_ {
    let mut sums: Option<HashMap<String, KeySums>> = None;
    move |q| {
        let ms = |t: SystemTime| i64::try_from(unix_millis(t)).unwrap_or(i64::MAX);
        let sums = sums.get_or_insert_with(|| {
            let guard = db.lock().unwrap_or_else(|p| p.into_inner());
            let Some(l) = guard.as_ref() else {
                return HashMap::new();
            };
            let since = earliest_period_start(q.minute_start);
            l.seed_sums(ms(since), ms(q.minute_start))
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "usage ledger: could not seed the limits; counting from zero");
                    HashMap::new()
                })
        });
        let Some(s) = sums.get(q.key_id) else {
            return Seed::default();
        };
        Seed {
            spend_usd: s.spend_since(ms(q.period_start)),
            tokens_last_minute: s.minute_tokens,
            requests_last_minute: s.minute_requests,
        }
    }
}

fn compile(
    config: Config,
    client: Arc<UpstreamClient>,
    upstream_registry: &Mutex<HashMap<String, Arc<UpstreamStats>>>,
    key_registry: &Mutex<HashMap<String, Arc<KeyStats>>>,
    limiter: Limiter,
) -> Snapshot {
    let upstream_stats = {
        let mut reg = upstream_registry.lock().unwrap_or_else(|p| p.into_inner());
        config
            .upstreams
            .iter()
            .map(|u| {
                let s = reg
                    .entry(u.id.clone())
                    .or_insert_with(|| Arc::new(UpstreamStats::new(&config.breaker)))
                    .clone();
                (u.id.clone(), s)
            })
            .collect()
    };
    let key_stats = {
        let mut reg = key_registry.lock().unwrap_or_else(|p| p.into_inner());
        config
            .gateway_keys
            .iter()
            .map(|k| (k.id.clone(), reg.entry(k.id.clone()).or_default().clone()))
            .collect()
    };
    let keys = config
        .gateway_keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| keys::parse_hex_digest(&k.key_sha256).map(|d| (d, i)))
        .collect();
    let body_limit = usize::try_from(config.server.body_limit_mb.saturating_mul(1024 * 1024))
        .unwrap_or(usize::MAX);
    // A config that validated always has a table; the built-in one is the fallback.
    let prices = PriceTable::from_config(&config)
        .or_else(|_| PriceTable::new(&Default::default()))
        .map(Arc::new)
        .unwrap_or_else(|e| {
            tracing::warn!("no price table: {e}");
            Arc::new(PriceTable::empty())
        });
    Snapshot {
        router: Router::new(&config),
        keys,
        client,
        body_limit,
        upstream_stats,
        key_stats,
        limiter,
        prices,
        config,
    }
}

impl Snapshot {
    /// Counters for an upstream of this snapshot.
    pub fn stats(&self, upstream_id: &str) -> Option<&Arc<UpstreamStats>> {
        self.upstream_stats.get(upstream_id)
    }

    /// The key whose digest matches, checked against every key without early exit.
    pub fn find_key(&self, d: &[u8; 32]) -> Option<&GatewayKey> {
        let mut found = None;
        for (digest, i) in &self.keys {
            if keys::ct_eq(digest, d) {
                found = Some(*i);
            }
        }
        found.and_then(|i| self.config.gateway_keys.get(i))
    }
}
