//! Keeping subscription (OAuth) tokens fresh while the server runs: proactively
//! before they expire, and once when an upstream refuses one. Refreshes are
//! single-flight per account in this process and run under the config lock across
//! processes (see `oauth::refresh`); the new snapshot is installed at once.

use std::sync::Arc;
use std::time::Duration;

use super::state::{AppState, Snapshot};
use crate::config::AuthType;
use crate::oauth::REFRESH_MARGIN;
use crate::oauth::refresh::{RefreshError, When, refresh_locked};

/// Refresh one account's tokens and install the result. `seen` is the access token
/// the caller used (so a refresh someone else already did is not repeated).
pub async fn refresh(
    state: &AppState,
    upstream_id: &str,
    seen: Option<String>,
    when: When,
) -> Result<Arc<Snapshot>, RefreshError> {
    let lock = state.refresh_lock(upstream_id);
    let _one_at_a_time = lock.lock().await;
    let store = state.store.clone();
    let client = state.snapshot().client.clone();
    let endpoints = state.oauth_endpoints.clone();
    let handle = state.control.clone();
    let id = upstream_id.to_string();
    let joined = tokio::task::spawn_blocking(move || {
        refresh_locked(
            &store,
            &client,
            &endpoints,
            &handle,
            &id,
            seen.as_deref(),
            when,
        )
    })
    .await;
    let result = match joined {
        Ok(r) => r,
        Err(e) => {
            return Err(RefreshError::OAuth(
                crate::oauth::client::OAuthError::Transport(format!("refresh task failed: {e}")),
            ));
        }
    };
    match result {
        Ok((config, spent)) => {
            if spent {
                tracing::info!(upstream = %upstream_id, "refreshed subscription tokens");
            }
            if let Err(e) = state.install(config) {
                tracing::warn!("refreshed tokens not applied: {e:#}");
            }
            Ok(state.snapshot())
        }
        Err(e) => {
            tracing::warn!(upstream = %upstream_id, "token refresh failed: {e}");
            // The failure (and a needed login) was written to the file; apply it now.
            if let Ok(config) = state.store.load() {
                let _ = state.install(config);
            }
            Err(e)
        }
    }
}

/// Refresh every subscription account whose token expires within the margin.
pub async fn keep_fresh(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        let snap = state.snapshot();
        let due: Vec<String> = snap
            .config
            .enabled_upstreams()
            .filter(|u| u.auth_type == AuthType::OAuth)
            .filter_map(|u| {
                let t = u.oauth.as_ref()?;
                let soon = std::time::SystemTime::now() + REFRESH_MARGIN;
                (!t.needs_login
                    && t.refresh_token.is_some()
                    && t.expires_at.is_some_and(|e| e.0 <= soon))
                .then(|| u.id.clone())
            })
            .collect();
        for id in due {
            let _ = refresh(&state, &id, None, When::NearExpiry).await;
        }
    }
}
