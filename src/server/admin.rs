//! The admin surface the CLI's `status`, `health` and `server status` read, and the
//! runtime file (`server.json`, 0600, beside the config) that tells the CLI where the
//! server listens and which local token opens that surface.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::models::fetch_catalog;
use super::state::{AppState, Snapshot};
use crate::config::{ConfigStore, Status, Upstream};
use crate::util::Timestamp;

/// What the running server writes for the CLI.
#[derive(Serialize, Deserialize, Debug)]
pub struct RuntimeInfo {
    pub pid: u32,
    /// `http://127.0.0.1:PORT`: where the CLI reaches the server.
    pub url: String,
    pub admin_token: String,
    pub started_at: Timestamp,
    pub version: String,
}

pub fn runtime_path(store: &ConfigStore) -> PathBuf {
    store.path().with_file_name("server.json")
}

pub fn write_runtime(path: &Path, info: &RuntimeInfo) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".server.")
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(&serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Remove the runtime file if it is still ours (another server may have replaced it).
pub fn remove_runtime(path: &Path) {
    let ours = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<RuntimeInfo>(&b).ok())
        .is_some_and(|i| i.pid == std::process::id());
    if ours {
        let _ = std::fs::remove_file(path);
    }
}

/// The state word `status` shows for an upstream.
fn state_word(u: &Upstream, s: &super::stats::UpstreamSnapshot) -> &'static str {
    if u.status == Status::Disabled {
        return "disabled";
    }
    if s.last.auth_failed {
        return "auth_failed";
    }
    match (s.last.failed_at, s.last.ok_at) {
        (Some(f), Some(o)) if f > o => "failing",
        (Some(_), None) => "failing",
        (_, Some(_)) => "ok",
        _ => "idle",
    }
}

pub fn status(state: &AppState, snap: &Snapshot) -> Value {
    let upstreams: Vec<Value> = snap
        .config
        .upstreams
        .iter()
        .map(|u| {
            let s = state.upstream_stats(&u.id).snapshot();
            json!({
                "id": u.id,
                "name": u.name,
                "provider": u.provider,
                "type": u.auth_type,
                "enabled": u.status == Status::Enabled,
                "priority": u.priority,
                "state": state_word(u, &s),
                "stats": s,
            })
        })
        .collect();
    let keys: Vec<Value> = snap
        .config
        .gateway_keys
        .iter()
        .map(|k| {
            let s = state.key_stats(&k.id);
            json!({
                "id": k.id,
                "name": k.name,
                "requests": s.requests.load(std::sync::atomic::Ordering::Relaxed),
                "last_used_at": s.last_used(),
            })
        })
        .collect();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "listen": state.listen.to_string(),
        "started_at": state.started,
        "uptime_secs": state.started_instant.elapsed().as_secs(),
        "config_path": state.store.path().display().to_string(),
        "config_reloads": state.reloads.load(std::sync::atomic::Ordering::Relaxed),
        "upstreams": upstreams,
        "keys": keys,
    })
}

/// Probe every enabled upstream with a cheap authenticated call (its model list).
pub async fn health(snap: &Snapshot) -> Value {
    let enabled: Vec<&Upstream> = snap
        .config
        .upstreams
        .iter()
        .filter(|u| u.status == Status::Enabled)
        .collect();
    let probes = join_all(enabled.iter().map(|u| async move {
        let t = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(8), fetch_catalog(&snap.client, u)).await;
        let ms = t.elapsed().as_millis() as u64;
        let (ok, error) = match r {
            Ok(Ok(_)) => (true, None),
            Ok(Err(e)) => (false, Some(e)),
            Err(_) => (false, Some("timed out".to_string())),
        };
        json!({
            "id": u.id, "name": u.name, "provider": u.provider,
            "reachable": ok, "latency_ms": ms, "error": error,
        })
    }))
    .await;
    let all_ok = !probes.is_empty() && probes.iter().all(|p| p["reachable"] == true);
    let problem = if snap.config.upstreams.is_empty() {
        Some("no upstream is configured")
    } else if enabled.is_empty() {
        Some("every upstream is disabled")
    } else {
        None
    };
    json!({
        "server": "ok",
        "healthy": all_ok,
        "problem": problem,
        "upstreams": probes,
    })
}
