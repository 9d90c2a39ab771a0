//! The OAuth protocol calls, for any provider in [`super::provider`]: the authorize
//! URL (PKCE S256 and a random state, built by the `oauth2` crate), the code
//! exchange and the refresh. The token calls travel over the gateway's own HTTPS
//! client (so the configured proxy applies), with the body encoding the provider
//! wants: Anthropic takes JSON, OpenAI a form for the exchange and JSON for refresh.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::Deserialize;
use serde_json::Value;

use super::provider::{BodyEncoding, ProviderEndpoints};
use super::{form, jwt};
use crate::config::{OAuthTokens, Provider};
use crate::upstream::UpstreamClient;
use crate::util::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid OAuth endpoint {0}")]
    BadUrl(String),
    /// The authorization server refused the grant: the refresh token (or code) is
    /// spent, expired or revoked. The user must log in again.
    #[error("the login was refused ({0}); log in again with `llm-gateway oauth start`")]
    InvalidGrant(String),
    #[error("the token endpoint answered with an error: {0}")]
    Server(String),
    #[error("could not reach the token endpoint: {0}")]
    Transport(String),
    #[error("the pasted code's state does not match this login; start again")]
    StateMismatch,
}

/// What the user opens in a browser, and what must be kept to finish the login.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub verifier: PkceCodeVerifier,
    pub redirect_uri: String,
}

/// Build the authorize URL with a fresh PKCE verifier and state.
pub fn authorize(p: &ProviderEndpoints, redirect_uri: &str) -> Result<Authorization, OAuthError> {
    let bad = |u: &str| OAuthError::BadUrl(u.to_string());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = BasicClient::new(ClientId::new(p.client_id.to_string()))
        .set_auth_uri(AuthUrl::new(p.authorize.clone()).map_err(|_| bad(&p.authorize))?)
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_string()).map_err(|_| bad(redirect_uri))?,
        );
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(p.scopes.iter().map(|s| Scope::new(s.to_string())))
        .set_pkce_challenge(challenge);
    for (k, v) in p.authorize_params {
        request = request.add_extra_param(*k, *v);
    }
    let (url, state) = request.url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        verifier,
        redirect_uri: redirect_uri.to_string(),
    })
}

/// Exchange an authorization code (with the state it came back with, if any).
pub async fn exchange(
    http: &UpstreamClient,
    p: &ProviderEndpoints,
    auth: Authorization,
    code: &str,
    returned_state: Option<&str>,
) -> Result<OAuthTokens, OAuthError> {
    if returned_state.is_some_and(|s| s != auth.state) {
        return Err(OAuthError::StateMismatch);
    }
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", auth.redirect_uri.as_str()),
        ("client_id", p.client_id),
        ("code_verifier", auth.verifier.secret().as_str()),
    ];
    if p.state_in_exchange {
        fields.push(("state", auth.state.as_str()));
    }
    let answer = token_call(http, p, p.exchange_encoding, &fields, false).await?;
    tokens_from(p.provider, answer, None)
}

/// Spend a refresh token for a new access token (and, usually, a new refresh token).
pub async fn refresh(
    http: &UpstreamClient,
    p: &ProviderEndpoints,
    refresh_token: &str,
) -> Result<OAuthTokens, OAuthError> {
    let fields = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", p.client_id),
    ];
    let answer = token_call(http, p, p.refresh_encoding, &fields, true).await?;
    tokens_from(p.provider, answer, Some(refresh_token))
}

/// Fresh tokens from a refresh, keeping what the answer did not repeat (scopes,
/// the ID token and the account id: OpenAI may omit the ID token on refresh).
pub fn merge_refreshed(mut fresh: OAuthTokens, old: &OAuthTokens) -> OAuthTokens {
    if fresh.scopes.is_empty() {
        fresh.scopes = old.scopes.clone();
    }
    if fresh.id_token.is_none() {
        fresh.id_token = old.id_token.clone();
    }
    if fresh.account_id.is_none() {
        fresh.account_id = old.account_id.clone();
    }
    fresh
}

/// A successful token answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    scope: Option<String>,
}

fn tokens_from(
    provider: Provider,
    a: TokenAnswer,
    old_refresh: Option<&str>,
) -> Result<OAuthTokens, OAuthError> {
    if a.access_token.trim().is_empty() {
        return Err(OAuthError::Server("the answer has no access token".into()));
    }
    let now = Timestamp::now();
    let expires_in = a.expires_in.as_ref().and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let expires_at = match expires_in {
        Some(secs) => now.checked_add(Duration::from_secs(secs)),
        // ChatGPT access tokens are JWTs that carry their own expiry.
        None => jwt::expiry(&a.access_token),
    };
    let id_token = a.id_token.filter(|t| !t.is_empty());
    let account_id = match provider {
        Provider::Openai => id_token
            .as_deref()
            .and_then(jwt::chatgpt_account_id)
            .or_else(|| jwt::chatgpt_account_id(&a.access_token)),
        Provider::Anthropic | Provider::Gemini => None,
    };
    Ok(OAuthTokens {
        access_token: a.access_token,
        refresh_token: a
            .refresh_token
            .filter(|r| !r.is_empty())
            .or_else(|| old_refresh.map(String::from)),
        expires_at,
        scopes: a
            .scope
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
        last_refresh_at: Some(now),
        id_token,
        account_id,
        ..Default::default()
    })
}

/// POST one token request and read the answer (or the error it carries).
async fn token_call(
    http: &UpstreamClient,
    p: &ProviderEndpoints,
    encoding: BodyEncoding,
    fields: &[(&str, &str)],
    is_refresh: bool,
) -> Result<TokenAnswer, OAuthError> {
    let (content_type, body) = match encoding {
        BodyEncoding::Json => {
            let map: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect();
            (
                "application/json",
                serde_json::to_vec(&map).unwrap_or_default(),
            )
        }
        BodyEncoding::Form => (
            "application/x-www-form-urlencoded",
            form::encode(fields).into_bytes(),
        ),
    };
    let req = http::Request::post(p.token.as_str())
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| OAuthError::BadUrl(p.token.clone()))?;
    let resp = http
        .send(req)
        .await
        .map_err(|e| OAuthError::Transport(e.to_string()))?;
    let status = resp.status();
    let bytes = tokio::time::timeout(
        Duration::from_secs(30),
        Limited::new(resp.into_body(), 1 << 20).collect(),
    )
    .await
    .map_err(|_| OAuthError::Transport("timed out reading the answer".into()))?
    .map_err(|e| OAuthError::Transport(e.to_string()))?
    .to_bytes();
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| OAuthError::Server(format!("unexpected answer (HTTP {status}): {e}")));
    }
    Err(error_from(status.as_u16(), &bytes, is_refresh))
}

/// Read an error answer: `{"error": "invalid_grant", "error_description": ...}`
/// (RFC 6749) or OpenAI's `{"error": {"code": ..., "message": ...}}`.
fn error_from(status: u16, body: &[u8], is_refresh: bool) -> OAuthError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = match &v["error"] {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("code").and_then(Value::as_str).map(String::from),
        _ => v["code"].as_str().map(String::from),
    };
    let message = v["error_description"]
        .as_str()
        .or_else(|| v["error"]["message"].as_str())
        .map(String::from);
    let detail = match (&code, &message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.clone(),
        (None, Some(m)) => format!("HTTP {status}: {m}"),
        (None, None) => format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ),
    };
    let refused = matches!(
        code.as_deref(),
        Some(
            "invalid_grant"
                | "refresh_token_expired"
                | "refresh_token_reused"
                | "refresh_token_invalidated"
        )
    );
    // OpenAI answers a dead refresh token with 401; Codex treats that as final too.
    if refused || (is_refresh && status == 401) {
        OAuthError::InvalidGrant(detail)
    } else {
        OAuthError::Server(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_has_pkce_state_scopes_and_extras() {
        let p = ProviderEndpoints::anthropic_from_env();
        let a = authorize(&p, "http://localhost:5555/callback").unwrap();
        let q = a.url.split_once('?').unwrap().1.to_string();
        assert!(q.contains("code=true"));
        assert!(q.contains("code_challenge_method=S256"));
        assert!(q.contains("response_type=code"));
        assert!(q.contains(&format!("state={}", a.state)));
        assert!(q.contains("user%3Ainference"));
        assert!(q.contains(p.client_id));
        use sha2::Digest;
        let digest = sha2::Sha256::digest(a.verifier.secret().as_bytes());
        assert!(q.contains(&format!("code_challenge={}", form::base64url(&digest))));

        let o = ProviderEndpoints::openai_from_env();
        let a = authorize(&o, &o.callback_redirect(1455)).unwrap();
        for p in [
            "client_id=app_EMoamEEZ73f0CkXaXp7hrann",
            "redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback",
            "id_token_add_organizations=true",
            "codex_cli_simplified_flow=true",
            "originator=codex_cli_rs",
            "offline_access",
        ] {
            assert!(a.url.contains(p), "{p} in {}", a.url);
        }
    }

    #[test]
    fn errors_are_classified() {
        let e = |s, b: &str, r| error_from(s, b.as_bytes(), r);
        assert!(matches!(
            e(400, r#"{"error":"invalid_grant","error_description":"gone"}"#, true),
            OAuthError::InvalidGrant(d) if d == "invalid_grant: gone"
        ));
        assert!(matches!(
            e(
                401,
                r#"{"error":{"code":"refresh_token_reused","message":"used"}}"#,
                true
            ),
            OAuthError::InvalidGrant(_)
        ));
        assert!(matches!(e(401, "nope", true), OAuthError::InvalidGrant(_)));
        assert!(matches!(e(401, "nope", false), OAuthError::Server(_)));
        assert!(matches!(
            e(500, r#"{"error":"server_error"}"#, true),
            OAuthError::Server(d) if d == "server_error"
        ));
    }

    #[test]
    fn answers_become_tokens() {
        let a: TokenAnswer = serde_json::from_str(
            r#"{"access_token":"at","refresh_token":"","expires_in":"60","scope":"a b"}"#,
        )
        .unwrap();
        let t = tokens_from(Provider::Anthropic, a, Some("old")).unwrap();
        assert_eq!(t.refresh_token.as_deref(), Some("old"));
        assert_eq!(t.scopes, ["a", "b"]);
        assert!(t.expires_at.is_some());
        let old = OAuthTokens {
            id_token: Some("id".into()),
            account_id: Some("acct".into()),
            ..Default::default()
        };
        let m = merge_refreshed(t, &old);
        assert_eq!(m.account_id.as_deref(), Some("acct"));
        let bad: TokenAnswer = serde_json::from_str(r#"{"access_token":" "}"#).unwrap();
        assert!(tokens_from(Provider::Openai, bad, None).is_err());
    }
}
