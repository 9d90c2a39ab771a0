//! Who is calling: a gateway key from `x-api-key`, `Authorization: Bearer`, or
//! Gemini's `x-goog-api-key` header and `?key=` query parameter, or the
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

/// The credential a client presented, from any of the styles (the query's `key` last).
pub fn presented<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    for name in ["x-api-key", crate::upstream::GOOG_API_KEY] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            let v = v.trim();
            if !v.is_empty() {
                return Some(v);
            }
        }
    }
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    bearer.or_else(|| super::format::query_key(query))
}

pub fn authenticate(
    state: &AppState,
    snap: &Snapshot,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Caller, GatewayError> {
    let Some(token) = presented(headers, query) else {
        return Err(GatewayError::Unauthorized(
            "missing gateway key: send it as `x-api-key`, `Authorization: Bearer` or \
             (Gemini clients) `x-goog-api-key` (create one with `llm-gateway apikey add \
             --name NAME`)"
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
        assert_eq!(presented(&h, None), None);
        h.insert("authorization", "Bearer  lgw_abc ".parse().unwrap());
        assert_eq!(presented(&h, None), Some("lgw_abc"));
        h.insert("x-api-key", "lgw_xyz".parse().unwrap());
        assert_eq!(presented(&h, None), Some("lgw_xyz"));
        let mut g = HeaderMap::new();
        assert_eq!(presented(&g, Some("alt=sse&key=lgw_q")), Some("lgw_q"));
        g.insert("x-goog-api-key", "lgw_goog".parse().unwrap());
        assert_eq!(presented(&g, Some("key=lgw_q")), Some("lgw_goog"));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(presented(&h, None), None);
    }
}
