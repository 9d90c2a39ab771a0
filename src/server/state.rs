//! The server's shared state: an immutable snapshot of the config (swapped whole on
//! reload), the live counters that outlive reloads, and the hot-reload watcher.

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

/// One consistent view of the config, compiled for the request path.
pub struct Snapshot {
    pub config: Config,
    pub router: Router,
    /// (digest, index into `config.gateway_keys`) for every key, enabled or not.
    pub keys: Vec<([u8; 32], usize)>,
    pub client: Arc<UpstreamClient>,
    pub body_limit: usize,
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
    /// Upstream model catalogs: id → (fetched at, model ids).
    pub models_cache: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl AppState {
    pub fn new(
        store: ConfigStore,
        config: Config,
        listen: SocketAddr,
        admin_token: [u8; 32],
    ) -> anyhow::Result<Self> {
        let client = Arc::new(UpstreamClient::new(&config.environment, &config.server)?);
        Ok(AppState {
            store,
            snapshot: RwLock::new(Arc::new(compile(config, client))),
            upstream_stats: Mutex::new(HashMap::new()),
            key_stats: Mutex::new(HashMap::new()),
            started: Timestamp::now(),
            started_instant: Instant::now(),
            listen,
            admin_token,
            reloads: Default::default(),
            models_cache: Mutex::new(HashMap::new()),
        })
    }

    /// The current snapshot. The lock is held only to clone an `Arc`.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Install a new config. The upstream client (and its connection pool) is rebuilt
    /// only when proxy settings or timeouts changed.
    pub fn install(&self, config: Config) -> anyhow::Result<()> {
        let old = self.snapshot();
        let client = if old.config.environment == config.environment
            && same_client_settings(&old.config, &config)
        {
            old.client.clone()
        } else {
            Arc::new(UpstreamClient::new(&config.environment, &config.server)?)
        };
        let snap = Arc::new(compile(config, client));
        match self.snapshot.write() {
            Ok(mut s) => *s = snap,
            Err(poisoned) => *poisoned.into_inner() = snap,
        }
        self.reloads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    pub fn upstream_stats(&self, id: &str) -> Arc<UpstreamStats> {
        let mut m = self
            .upstream_stats
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        m.entry(id.to_string()).or_default().clone()
    }

    pub fn key_stats(&self, id: &str) -> Arc<KeyStats> {
        let mut m = self.key_stats.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(id.to_string()).or_default().clone()
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

fn compile(config: Config, client: Arc<UpstreamClient>) -> Snapshot {
    let keys = config
        .gateway_keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| keys::parse_hex_digest(&k.key_sha256).map(|d| (d, i)))
        .collect();
    let body_limit = usize::try_from(config.server.body_limit_mb.saturating_mul(1024 * 1024))
        .unwrap_or(usize::MAX);
    Snapshot {
        router: Router::new(&config),
        keys,
        client,
        body_limit,
        config,
    }
}

impl Snapshot {
    /// The key whose digest matches, checked against every key without early exit.
    pub fn find_key(&self, presented: &str) -> Option<&GatewayKey> {
        let d = keys::digest(presented);
        let mut found = None;
        for (digest, i) in &self.keys {
            if keys::ct_eq(digest, &d) {
                found = Some(*i);
            }
        }
        found.and_then(|i| self.config.gateway_keys.get(i))
    }
}
