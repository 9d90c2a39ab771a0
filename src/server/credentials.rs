//! Keeping subscription (OAuth) tokens fresh while the server runs: proactively
//! before they expire, and once when an upstream refuses one. Refreshes are
//! single-flight per account in this process and run under the config lock across
//! processes (see `oauth::refresh`); the new snapshot is installed at once.

use std::sync::Arc;
use std::time::Duration;

use super::state::{AppState, Snapshot};
use crate::config::{AuthType, OAuthTokens};
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
    // Team mode: across instances, through Redis; the file path below only when
    // Redis cannot be reached.
    if let Some(shared) = state.shared.clone() {
        match refresh_shared(state, &shared, upstream_id, seen.as_deref(), when).await {
            Shared::Done(snap) => return Ok(snap),
            Shared::Failed(e) => return Err(e),
            Shared::Unavailable => {
                tracing::warn!(upstream = %upstream_id, "shared state unavailable: refreshing under the config file's lock only");
            }
        }
    }
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

enum Shared {
    Done(Arc<Snapshot>),
    Failed(RefreshError),
    Unavailable,
}

/// Of two token sets for one account, the one that expires later (a fresh refresh or
/// login) is the newer.
pub fn newer(a: &OAuthTokens, b: &OAuthTokens) -> bool {
    matches!((a.expires_at, b.expires_at), (Some(x), Some(y)) if x.0 > y.0)
}

/// Team mode's refresh: under the account's lock in Redis, start from the newest
/// tokens any instance published; spend the refresh token only if they still need it;
/// publish the result for the others, write it to the config file if it is writable,
/// and use it here at once.
async fn refresh_shared(
    state: &AppState,
    shared: &crate::shared::Shared,
    upstream_id: &str,
    seen: Option<&str>,
    when: When,
) -> Shared {
    let snap = state.snapshot();
    let Some(u) = snap.config.upstreams.iter().find(|u| u.id == upstream_id) else {
        return Shared::Failed(RefreshError::NoSuchUpstream(upstream_id.to_string()));
    };
    let name = u.name.clone();
    let (Some(endpoints), true) = (
        state.oauth_endpoints.get(u.provider).cloned(),
        u.auth_type == AuthType::OAuth,
    ) else {
        return Shared::Failed(RefreshError::NotOAuth(name));
    };
    let local = u.oauth.clone();
    let owner = match shared
        .lock_refresh(upstream_id, Duration::from_secs(20))
        .await
    {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Shared::Failed(RefreshError::OAuth(
                crate::oauth::client::OAuthError::Transport(
                    "another instance has been refreshing this account for 20 s".into(),
                ),
            ));
        }
        Err(_) => return Shared::Unavailable,
    };
    let outcome = async {
        let published = match shared.tokens(&[upstream_id.to_string()]).await {
            Ok(v) => v.into_iter().next().flatten(),
            Err(_) => return Shared::Unavailable,
        };
        let tokens = match (published, local) {
            (Some(p), Some(l)) if newer(&l, &p) => l,
            (Some(p), _) => p,
            (None, Some(l)) => l,
            (None, None) => return Shared::Failed(RefreshError::NotOAuth(name)),
        };
        if snap
            .config
            .upstreams
            .iter()
            .find(|u| u.id == upstream_id)
            .and_then(|u| u.oauth.as_ref())
            != Some(&tokens)
        {
            state.overlay_tokens(upstream_id, tokens.clone());
        }
        let near_expiry = tokens
            .expires_at
            .is_some_and(|t| t.0 <= std::time::SystemTime::now() + REFRESH_MARGIN);
        let already_done = match when {
            When::Force => false,
            When::NearExpiry => !near_expiry,
            When::Refused => seen.is_some_and(|s| s != tokens.access_token),
        };
        if already_done {
            return Shared::Done(state.snapshot());
        }
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Shared::Failed(RefreshError::NoRefreshToken(name));
        };
        let http = state.snapshot().client.clone();
        let spent = state
            .control
            .spawn(async move {
                crate::oauth::client::refresh(&http, &endpoints, &refresh_token).await
            })
            .await;
        let (next, result) = match spent {
            Ok(Ok(fresh)) => (
                crate::oauth::client::merge_refreshed(fresh, &tokens),
                Ok(()),
            ),
            Ok(Err(e)) => {
                let mut t = tokens;
                t.last_error = Some(format!("{} at {}", e, crate::util::Timestamp::now()));
                if matches!(e, crate::oauth::client::OAuthError::InvalidGrant(_)) {
                    t.needs_login = true;
                }
                (t, Err(RefreshError::OAuth(e)))
            }
            Err(e) => {
                return Shared::Failed(RefreshError::OAuth(
                    crate::oauth::client::OAuthError::Transport(format!(
                        "refresh task failed: {e}"
                    )),
                ));
            }
        };
        if let Err(e) = shared.put_tokens(upstream_id, &next).await {
            tracing::warn!(upstream = %upstream_id, "refreshed tokens not published to the shared state ({e}); other instances will refresh on their own");
        }
        write_back(state, upstream_id, &next);
        state.overlay_tokens(upstream_id, next);
        match result {
            Ok(()) => {
                tracing::info!(upstream = %upstream_id, "refreshed subscription tokens (shared)");
                Shared::Done(state.snapshot())
            }
            Err(e) => Shared::Failed(e),
        }
    }
    .await;
    shared.unlock_refresh(upstream_id, &owner).await;
    outcome
}

/// Write rotated tokens to the config file when it can be written (not when it is
/// mounted read-only: then they live in the shared state, and `status` still shows
/// them in use).
fn write_back(state: &AppState, upstream_id: &str, tokens: &OAuthTokens) {
    let written = state.store.update(|c| {
        if let Some(u) = c.upstreams.iter_mut().find(|u| u.id == upstream_id) {
            u.oauth = Some(tokens.clone());
        }
        Ok::<_, crate::config::ConfigError>(())
    });
    if let Err(e) = written {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            tracing::info!("the config file cannot be written ({e}); subscription tokens are kept in the shared state");
        });
    }
}

/// Adopt tokens other instances rotated (team mode), when they are newer than ours.
pub async fn adopt_shared_tokens(state: &AppState, shared: &crate::shared::Shared) {
    let snap = state.snapshot();
    let oauth: Vec<(String, Option<OAuthTokens>)> = snap
        .config
        .upstreams
        .iter()
        .filter(|u| u.auth_type == AuthType::OAuth)
        .map(|u| (u.id.clone(), u.oauth.clone()))
        .collect();
    if oauth.is_empty() {
        return;
    }
    let ids: Vec<String> = oauth.iter().map(|(id, _)| id.clone()).collect();
    let Ok(published) = shared.tokens(&ids).await else {
        return;
    };
    for ((id, ours), theirs) in oauth.into_iter().zip(published) {
        if let Some(t) = theirs
            && ours.as_ref().is_none_or(|o| newer(&t, o))
        {
            tracing::info!(upstream = %id, "using subscription tokens another instance refreshed");
            state.overlay_tokens(&id, t);
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
