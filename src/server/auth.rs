//! Who is calling: a gateway key from `x-api-key` or `Authorization: Bearer`, or the
//! local admin token the CLI reads from the runtime file. A rejected request never
//! reaches an upstream.

use http::HeaderMap;

use super::errors::GatewayError;
use super::state::{AppState, Snapshot};
use crate::config::{Permission, Status};
use crate::keys;

/// An authenticated caller.
pub struct Caller {
    /// Key id (or `admin-token`).
    pub id: String,
    /// Key name, for logs.
    pub name: String,
    pub permissions: Vec<Permission>,
}

impl Caller {
    pub fn require(&self, p: Permission) -> Result<(), GatewayError> {
        if self.permissions.contains(&p) {
            Ok(())
        } else {
            Err(GatewayError::Forbidden(format!(
                "gateway key {:?} lacks the {p} permission (add it with a new key: \
                 llm-gateway apikey add --permissions ...)",
                self.name
            )))
        }
    }
}

/// The credential a client presented, from either header style.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !v.is_empty() {
            return Some(v);
        }
    }
    let auth = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub fn authenticate(
    state: &AppState,
    snap: &Snapshot,
    headers: &HeaderMap,
) -> Result<Caller, GatewayError> {
    let Some(token) = presented(headers) else {
        return Err(GatewayError::Unauthorized(
            "missing gateway key: send it as `x-api-key` or `Authorization: Bearer` \
             (create one with `llm-gateway apikey add --name NAME`)"
                .into(),
        ));
    };
    let digest = keys::digest(token);
    if keys::ct_eq(&digest, &state.admin_token) {
        return Ok(Caller {
            id: "admin-token".into(),
            name: "admin-token".into(),
            permissions: vec![Permission::Read, Permission::Admin],
        });
    }
    let Some(key) = snap.find_key(&digest) else {
        return Err(GatewayError::Unauthorized("invalid gateway key".into()));
    };
    if key.status == Status::Disabled {
        return Err(GatewayError::Unauthorized(format!(
            "gateway key {:?} is disabled",
            key.name
        )));
    }
    if let Some(t) = key.expires_at.filter(|t| t.is_past()) {
        return Err(GatewayError::Unauthorized(format!(
            "gateway key {:?} expired at {t}",
            key.name
        )));
    }
    if let Some(s) = snap.key_stats.get(&key.id) {
        s.used();
    }
    Ok(Caller {
        id: key.id.clone(),
        name: key.name.clone(),
        permissions: key.permissions.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_header_styles() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert("authorization", "Bearer  lgw_abc ".parse().unwrap());
        assert_eq!(presented(&h), Some("lgw_abc"));
        h.insert("x-api-key", "lgw_xyz".parse().unwrap());
        assert_eq!(presented(&h), Some("lgw_xyz"));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(presented(&h), None);
    }
}
