//! Refreshing a subscription login, safely across processes.
//!
//! The whole refresh runs under the config file's exclusive lock: re-read the file,
//! and if another process already refreshed (the access token changed, or it is no
//! longer near expiry) use its result; otherwise spend the refresh token, and write
//! the rotated tokens back before the lock is released. Two gateways, or a gateway
//! and `llm-gateway oauth refresh`, therefore never spend the same refresh token.
//! A refused refresh (`invalid_grant`, or OpenAI's `refresh_token_*` codes) marks the
//! account as needing a new login. The provider's OAuth client is picked from the
//! upstream's `provider`; what a refresh answer does not repeat (OpenAI's ID token and
//! account id, the scopes) is kept.

use tokio::runtime::Handle;

use super::client::{self, OAuthError};
use super::{Endpoints, REFRESH_MARGIN};
use crate::config::{AuthType, Config, ConfigError, ConfigStore};
use crate::upstream::UpstreamClient;
use crate::util::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("no upstream {0:?}")]
    NoSuchUpstream(String),
    #[error("upstream {0:?} is not an OAuth login")]
    NotOAuth(String),
    #[error(
        "upstream {0:?} has a long-lived token without a refresh token; when it expires, \
         add a new one (`llm-gateway oauth start {0}`)"
    )]
    NoRefreshToken(String),
    #[error(transparent)]
    OAuth(#[from] OAuthError),
}

/// When to refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Now, whatever the expiry (`oauth refresh`).
    Force,
    /// Only if it expires within the margin (proactive refresh).
    NearExpiry,
    /// The upstream refused this access token: refresh unless someone already did.
    Refused,
}

/// Refresh one upstream's tokens under the config lock. Blocking: call it from a
/// blocking thread (`spawn_blocking`) or outside any runtime, with the handle of a
/// multi-thread runtime for the HTTP call (a current-thread runtime's handle cannot
/// drive I/O from another thread). Returns the config as written (or as found) and whether a
/// refresh token was spent. `endpoints` holds every provider's client; the upstream's
/// provider picks one.
pub fn refresh_locked(
    store: &ConfigStore,
    http: &UpstreamClient,
    endpoints: &Endpoints,
    handle: &Handle,
    upstream: &str,
    seen_access_token: Option<&str>,
    when: When,
) -> Result<(Config, bool), RefreshError> {
    let lock = store.lock()?;
    let mut config = store.load()?;
    let i = config
        .upstream_index(upstream)
        .ok_or_else(|| RefreshError::NoSuchUpstream(upstream.to_string()))?;
    let u = &config.upstreams[i];
    if u.auth_type != AuthType::OAuth {
        return Err(RefreshError::NotOAuth(u.name.clone()));
    }
    let name = u.name.clone();
    let Some(provider) = endpoints.get(u.provider) else {
        return Err(RefreshError::NotOAuth(u.name.clone()));
    };
    let Some(tokens) = u.oauth.clone() else {
        return Err(RefreshError::NotOAuth(name));
    };
    let near_expiry = tokens
        .expires_at
        .is_some_and(|t| t.0 <= std::time::SystemTime::now() + REFRESH_MARGIN);
    let already_done = match when {
        When::Force => false,
        When::NearExpiry => !near_expiry,
        When::Refused => seen_access_token.is_some_and(|seen| seen != tokens.access_token),
    };
    if already_done {
        return Ok((config, false));
    }
    let Some(refresh_token) = tokens.refresh_token.clone() else {
        return Err(RefreshError::NoRefreshToken(name));
    };
    let result = handle.block_on(client::refresh(http, provider, &refresh_token));
    let slot = &mut config.upstreams[i].oauth;
    let outcome = match result {
        Ok(fresh) => {
            *slot = Some(client::merge_refreshed(fresh, &tokens));
            Ok(())
        }
        Err(e) => {
            let mut t = tokens;
            t.last_error = Some(format!("{} at {}", e, Timestamp::now()));
            if matches!(e, OAuthError::InvalidGrant(_)) {
                t.needs_login = true;
            }
            *slot = Some(t);
            Err(e)
        }
    };
    store.write(&config, &lock)?;
    outcome?;
    Ok((config, true))
}
