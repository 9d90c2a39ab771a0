//! The one place a whole config is checked for consistency. Returns every problem at
//! once, each a sentence a user can act on.

use std::collections::HashSet;

use super::model::{Api, AuthType, Config, Provider};

/// All problems with `config`; empty when it is valid.
pub fn problems(config: &Config) -> Vec<String> {
    let mut out = Vec::new();

    if config.server.host.trim().is_empty() {
        out.push("server.host is empty".into());
    }
    if config.server.body_limit_mb == 0 {
        out.push("server.body_limit_mb must be at least 1".into());
    }
    if config.server.workers > 256 {
        out.push("server.workers must be at most 256 (0 = one per CPU)".into());
    }
    for (name, v) in [
        ("connect_timeout_secs", config.server.connect_timeout_secs),
        (
            "first_byte_timeout_secs",
            config.server.first_byte_timeout_secs,
        ),
        (
            "idle_stream_timeout_secs",
            config.server.idle_stream_timeout_secs,
        ),
    ] {
        if v == 0 {
            out.push(format!("server.{name} must be at least 1"));
        }
    }

    let mut ids = HashSet::new();
    let mut key_names = HashSet::new();
    for k in &config.gateway_keys {
        if !ids.insert(k.id.as_str()) {
            out.push(format!("duplicate id {:?}", k.id));
        }
        if !key_names.insert(k.name.as_str()) {
            out.push(format!("two gateway keys are named {:?}", k.name));
        }
        if k.key_sha256.len() != 64 || !k.key_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.push(format!(
                "gateway key {:?}: key_sha256 must be 64 hex digits",
                k.name
            ));
        }
        if k.name.trim().is_empty() {
            out.push(format!("gateway key {:?} has an empty name", k.id));
        }
    }

    let mut up_names = HashSet::new();
    for u in &config.upstreams {
        if !ids.insert(u.id.as_str()) {
            out.push(format!("duplicate id {:?}", u.id));
        }
        if !up_names.insert(u.name.as_str()) {
            out.push(format!("two upstreams are named {:?}", u.name));
        }
        if u.name.trim().is_empty() {
            out.push(format!("upstream {:?} has an empty name", u.id));
        }
        if let Err(e) = check_url(u.base_url()) {
            out.push(format!("upstream {:?}: base_url {e}", u.name));
        }
        match u.auth_type {
            AuthType::ApiKey if u.api_key.as_deref().is_none_or(str::is_empty) => {
                out.push(format!("upstream {:?} (api-key) has no api_key", u.name));
            }
            AuthType::OAuth if u.provider == Provider::Openai && u.api != Api::Responses => {
                out.push(format!(
                    "upstream {:?}: a ChatGPT (openai oauth) login serves the Responses API; \
                     set `api: responses`",
                    u.name
                ));
            }
            AuthType::OAuth if u.oauth.as_ref().is_none_or(|t| t.access_token.is_empty()) => {
                out.push(format!(
                    "upstream {:?} (oauth) has no tokens; log in with `llm-gateway oauth start {}`",
                    u.name, u.name
                ));
            }
            _ => {}
        }
        if u.weight == 0 {
            out.push(format!("upstream {:?}: weight must be at least 1", u.name));
        }
        for m in &u.models {
            if m.trim().is_empty() {
                out.push(format!("upstream {:?} has an empty model pattern", u.name));
            }
        }
    }

    for r in &config.routes {
        if !ids.insert(r.id.as_str()) {
            out.push(format!("duplicate id {:?}", r.id));
        }
        if r.pattern.trim().is_empty() {
            out.push(format!("route {:?} has an empty match pattern", r.id));
        }
        match (&r.upstream, &r.provider) {
            (Some(up), None) => {
                if !config.upstreams.iter().any(|u| &u.id == up) {
                    out.push(format!(
                        "route {:?} ({}) points at upstream {up:?}, which does not exist",
                        r.id, r.pattern
                    ));
                }
            }
            (None, Some(_)) => {}
            _ => out.push(format!(
                "route {:?} ({}) needs exactly one of upstream or provider",
                r.id, r.pattern
            )),
        }
        if r.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            out.push(format!("route {:?} rewrites to an empty model", r.id));
        }
    }

    let b = &config.breaker;
    if b.consecutive_failures == 0 {
        out.push("breaker.consecutive_failures must be at least 1".into());
    }
    if !(b.error_ratio > 0.0 && b.error_ratio <= 1.0) {
        out.push("breaker.error_ratio must be in (0, 1]".into());
    }
    if b.cooldown_secs == 0 || b.max_cooldown_secs < b.cooldown_secs {
        out.push("breaker: need 1 <= cooldown_secs <= max_cooldown_secs".into());
    }
    if config.routing.max_attempts == 0 {
        out.push("routing.max_attempts must be at least 1".into());
    }

    let env = &config.environment;
    for (name, v) in [
        ("http_proxy", &env.http_proxy),
        ("https_proxy", &env.https_proxy),
    ] {
        if let Some(url) = v
            && let Err(e) = check_url(url)
        {
            out.push(format!("environment.{name} {e}"));
        }
    }
    out
}

/// An absolute http(s) URL with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("{url:?} must start with http:// or https://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    if uri.query().is_some() {
        return Err(format!("{url:?} must not carry a query string"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::*;

    fn upstream(id: &str, name: &str) -> Upstream {
        Upstream {
            name: name.into(),
            ..Upstream::for_test(id, Provider::Openai)
        }
    }

    #[test]
    fn default_is_valid() {
        assert!(problems(&Config::default()).is_empty());
    }

    #[test]
    fn catches_duplicates_urls_and_dangling_routes() {
        let mut c = Config::default();
        c.upstreams.push(upstream("up_1", "a"));
        let mut bad = upstream("up_2", "a");
        bad.base_url = Some("ftp://x".into());
        c.upstreams.push(bad);
        c.routes.push(Route {
            id: "rt_1".into(),
            pattern: "gpt-*".into(),
            upstream: Some("up_404".into()),
            provider: None,
            model: None,
        });
        let p = problems(&c).join("\n");
        assert!(p.contains("two upstreams are named \"a\""), "{p}");
        assert!(p.contains("must start with http"), "{p}");
        assert!(p.contains("does not exist"), "{p}");
    }

    #[test]
    fn server_limits() {
        let mut c = Config::default();
        c.server.workers = 256;
        assert!(problems(&c).is_empty());
        c.server.workers = 257;
        c.server.body_limit_mb = 0;
        let p = problems(&c);
        assert!(
            p.iter()
                .any(|m| m.starts_with("server.workers must be at most 256")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.starts_with("server.body_limit_mb")),
            "{p:?}"
        );
    }

    #[test]
    fn urls() {
        assert!(check_url("https://api.openai.com/v1").is_ok());
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("api.openai.com").is_err());
        assert!(check_url("not a url").is_err());
    }
}
