//! The OAuth protocol calls: authorize URL, code exchange, refresh.
//!
//! The `oauth2` crate builds the requests and parses the answers; they travel over
//! the gateway's own HTTPS client (so the configured proxy applies). Anthropic's
//! token endpoint takes JSON, not a form, so the transport re-encodes the form body
//! the crate produces as a JSON object of the same fields.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, HttpRequest, HttpResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardErrorResponse, TokenResponse, TokenUrl,
};

use super::{CLIENT_ID, Endpoints, SCOPES};
use crate::config::OAuthTokens;
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

fn client(
    endpoints: &Endpoints,
    redirect: Option<&str>,
) -> Result<
    oauth2::basic::BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    OAuthError,
> {
    let bad = |u: &str| OAuthError::BadUrl(u.to_string());
    let mut c = BasicClient::new(ClientId::new(CLIENT_ID.to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(
            AuthUrl::new(endpoints.authorize.clone()).map_err(|_| bad(&endpoints.authorize))?,
        )
        .set_token_uri(TokenUrl::new(endpoints.token.clone()).map_err(|_| bad(&endpoints.token))?);
    if let Some(r) = redirect {
        c = c.set_redirect_uri(RedirectUrl::new(r.to_string()).map_err(|_| bad(r))?);
    }
    Ok(c)
}

/// Build the authorize URL with a fresh PKCE verifier and state.
pub fn authorize(endpoints: &Endpoints, redirect_uri: &str) -> Result<Authorization, OAuthError> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client(endpoints, Some(redirect_uri))?
        .authorize_url(CsrfToken::new_random)
        .add_extra_param("code", "true")
        .add_scopes(SCOPES.iter().map(|s| Scope::new(s.to_string())))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        verifier,
        redirect_uri: redirect_uri.to_string(),
    })
}

/// Exchange an authorization code (with the state it came back with).
pub async fn exchange(
    http: &UpstreamClient,
    endpoints: &Endpoints,
    auth: Authorization,
    code: &str,
    returned_state: Option<&str>,
) -> Result<OAuthTokens, OAuthError> {
    if returned_state.is_some_and(|s| s != auth.state) {
        return Err(OAuthError::StateMismatch);
    }
    let c = client(endpoints, Some(&auth.redirect_uri))?;
    let resp = c
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .add_extra_param("state", auth.state.clone())
        .set_pkce_verifier(auth.verifier)
        .request_async(&|req| transport(http, req))
        .await
        .map_err(token_error)?;
    Ok(tokens_from(&resp, None))
}

/// Spend a refresh token for a new access token (and, usually, a new refresh token).
pub async fn refresh(
    http: &UpstreamClient,
    endpoints: &Endpoints,
    refresh_token: &str,
) -> Result<OAuthTokens, OAuthError> {
    let c = client(endpoints, None)?;
    let resp = c
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
        .request_async(&|req| transport(http, req))
        .await
        .map_err(token_error)?;
    Ok(tokens_from(&resp, Some(refresh_token)))
}

fn tokens_from(resp: &oauth2::basic::BasicTokenResponse, old_refresh: Option<&str>) -> OAuthTokens {
    let now = Timestamp::now();
    OAuthTokens {
        access_token: resp.access_token().secret().clone(),
        refresh_token: resp
            .refresh_token()
            .map(|r| r.secret().clone())
            .or_else(|| old_refresh.map(String::from)),
        expires_at: resp.expires_in().and_then(|d| now.checked_add(d)),
        scopes: resp
            .scopes()
            .map(|s| s.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default(),
        last_refresh_at: Some(now),
        last_error: None,
        needs_login: false,
    }
}

type TokenError = RequestTokenError<TransportError, StandardErrorResponse<BasicErrorResponseType>>;

fn token_error(e: TokenError) -> OAuthError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let detail = match r.error_description() {
                Some(d) => format!("{}: {d}", r.error()),
                None => r.error().to_string(),
            };
            match r.error() {
                BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant(detail),
                _ => OAuthError::Server(detail),
            }
        }
        RequestTokenError::Request(e) => OAuthError::Transport(e.to_string()),
        RequestTokenError::Parse(e, body) => OAuthError::Server(format!(
            "unexpected answer ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )),
        RequestTokenError::Other(e) => OAuthError::Server(e),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(String);

/// Send an oauth2 request over the gateway's client, as JSON.
async fn transport(
    http: &UpstreamClient,
    req: HttpRequest,
) -> Result<HttpResponse, TransportError> {
    let (mut parts, body) = req.into_parts();
    let is_form = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form {
        parts.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        form_to_json(&body)
    } else {
        body
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let req = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    let resp = http
        .send(req)
        .await
        .map_err(|e| TransportError(e.to_string()))?;
    let (parts, body) = resp.into_parts();
    let bytes = tokio::time::timeout(
        Duration::from_secs(30),
        Limited::new(body, 1 << 20).collect(),
    )
    .await
    .map_err(|_| TransportError("timed out reading the answer".into()))?
    .map_err(|e| TransportError(e.to_string()))?
    .to_bytes();
    Ok(http::Response::from_parts(parts, bytes.to_vec()))
}

/// `a=1&b=x%20y` → `{"a":"1","b":"x y"}`.
fn form_to_json(body: &[u8]) -> Vec<u8> {
    let mut map = serde_json::Map::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut kv = pair.splitn(2, |b| *b == b'=');
        let k = percent_decode(kv.next().unwrap_or_default());
        let v = percent_decode(kv.next().unwrap_or_default());
        map.insert(k, serde_json::Value::String(v));
    }
    serde_json::to_vec(&map).unwrap_or_default()
}

/// Decode `%XX` and `+` (form and query encoding).
pub fn percent_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex = s
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (s[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_becomes_json() {
        let j: serde_json::Value = serde_json::from_slice(&form_to_json(
            b"grant_type=refresh_token&refresh_token=a%2Bb%3D&x=1+2&bad=%zz&end=%4",
        ))
        .unwrap();
        assert_eq!(j["grant_type"], "refresh_token");
        assert_eq!(j["refresh_token"], "a+b=");
        assert_eq!(j["x"], "1 2");
        assert_eq!(j["bad"], "%zz");
        assert_eq!(j["end"], "%4");
    }

    #[test]
    fn authorize_url_has_pkce_state_and_scopes() {
        let e = Endpoints {
            authorize: "https://claude.ai/oauth/authorize".into(),
            token: "https://platform.claude.com/v1/oauth/token".into(),
            manual_redirect: "https://platform.claude.com/oauth/code/callback".into(),
        };
        let a = authorize(&e, "http://localhost:5555/callback").unwrap();
        let url = http::Uri::try_from(a.url.as_str()).unwrap();
        let q = url.query().unwrap();
        assert!(q.contains("code=true"));
        assert!(q.contains("code_challenge_method=S256"));
        assert!(q.contains("response_type=code"));
        assert!(q.contains(&format!("state={}", a.state)));
        assert!(q.contains("user%3Ainference"));
        assert!(q.contains(CLIENT_ID));
        // The challenge is the S256 of the verifier.
        use sha2::Digest;
        let digest = sha2::Sha256::digest(a.verifier.secret().as_bytes());
        let challenge = base64url(&digest);
        assert!(q.contains(&format!("code_challenge={challenge}")));
    }

    fn base64url(b: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
