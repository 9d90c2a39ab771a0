//! The one place a whole config is checked for consistency. Returns every problem at
//! once, each a sentence a user can act on.

use std::collections::HashSet;

use super::model::{Api, AuthType, Config, GatewayKey, MAX_RETENTION_DAYS, Provider};

/// All problems with `config`; empty when it is valid.
pub fn problems(config: &Config) -> Vec<String> {
    let mut out = Vec::new();

    if config.server.host.trim().is_empty() {
        out.push("server.host is empty".into());
    }
    if config.server.body_limit_mb == 0 {
        out.push("server.body_limit_mb must be at least 1".into());
    }
    for o in &config.server.cors.allowed_origins {
        if o == "*" {
            if config.server.cors.allow_credentials {
                out.push(
                    "server.cors: `*` cannot go with allow_credentials (browsers refuse it); \
                     list the origins"
                        .into(),
                );
            }
        } else if !(o.starts_with("https://") || o.starts_with("http://"))
            || o.trim_end_matches('/').matches('/').count() != 2
            || o.ends_with('/')
        {
            out.push(format!(
                "server.cors.allowed_origins: {o:?} is not an origin (scheme://host[:port], \
                 no path or trailing slash)"
            ));
        }
    }
    if let Some(url) = &config.server.shared_state
        && !(url.starts_with("redis://")
            || url.starts_with("rediss://")
            || url.starts_with("unix://"))
    {
        out.push(format!(
            "server.shared_state must be a redis:// URL (redis://HOST:PORT/DB), not {:?}",
            crate::shared::redact_url(url)
        ));
    }
    if config.server.shared_state_timeout_ms == 0 || config.server.shared_state_timeout_ms > 10_000
    {
        out.push("server.shared_state_timeout_ms must be between 1 and 10000".into());
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
        key_limit_problems(k, &mut out);
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
            AuthType::OAuth if u.provider == Provider::Gemini => {
                out.push(format!(
                    "upstream {:?}: gemini upstreams use an API key (`auth_type: api-key`)",
                    u.name
                ));
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

    for (model, p) in &config.prices {
        if model.trim().is_empty() {
            out.push("prices: a model name is empty".into());
        }
        for (field, v) in [
            ("input", Some(p.input)),
            ("output", Some(p.output)),
            ("cache_read", p.cache_read),
            ("cache_write", p.cache_write),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                out.push(format!(
                    "prices.{model}.{field} must be a non-negative number (USD per million tokens)"
                ));
            }
        }
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

    let days = config.usage.retention_days;
    if !(1..=MAX_RETENTION_DAYS).contains(&days) {
        out.push(format!(
            "usage.retention_days must be between 1 and {MAX_RETENTION_DAYS} (got {days})"
        ));
    }
    out
}

/// A key's limits: positive, finite, no empty model pattern.
fn key_limit_problems(k: &GatewayKey, out: &mut Vec<String>) {
    for (name, v) in [("rpm", k.rpm), ("tpm", k.tpm)] {
        if v == Some(0) {
            out.push(format!(
                "gateway key {:?}: {name} must be at least 1 (leave it out for no limit)",
                k.name
            ));
        }
    }
    if let Some(b) = k.budget_usd
        && !(b.is_finite() && b > 0.0)
    {
        out.push(format!(
            "gateway key {:?}: budget_usd must be a positive number of dollars, not {b}",
            k.name
        ));
    }
    if k.models.iter().any(|m| m.trim().is_empty()) {
        out.push(format!(
            "gateway key {:?} has an empty model pattern",
            k.name
        ));
    }
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

    const KEY_YAML: &str = "version: 1\ngateway_keys:\n- id: key_a\n  name: a\n  \
        key_sha256: 0000000000000000000000000000000000000000000000000000000000000000\n  \
        prefix: lgw_abcdef\n  permissions: [read, write]\n  created_at: 2026-01-01T00:00:00Z\n";

    #[test]
    fn key_limits_round_trip() {
        let text = format!(
            "{KEY_YAML}  rpm: 60\n  tpm: 100000\n  budget_usd: 12.5\n  budget_period: week\n  \
             models: ['claude-*', gpt-4o]\n"
        );
        let c: Config = serde_yaml::from_str(&text).unwrap();
        assert!(problems(&c).is_empty(), "{:?}", problems(&c));
        let k = &c.gateway_keys[0];
        assert_eq!(
            (k.rpm, k.tpm, k.budget_usd),
            (Some(60), Some(100_000), Some(12.5))
        );
        assert_eq!(k.budget_period, BudgetPeriod::Week);
        assert_eq!(k.models, ["claude-*", "gpt-4o"]);
        let back: Config = serde_yaml::from_str(&serde_yaml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);

        // No limits: nothing new is written, the period defaults to month.
        let plain: Config = serde_yaml::from_str(KEY_YAML).unwrap();
        assert_eq!(plain.gateway_keys[0].budget_period, BudgetPeriod::Month);
        assert!(!plain.gateway_keys[0].has_limits());
        let out = serde_yaml::to_string(&plain).unwrap();
        for field in ["rpm", "tpm", "budget", "models"] {
            assert!(!out.contains(field), "{out}");
        }
    }

    #[test]
    fn key_limits_validated() {
        let bad = |extra: &str| -> Vec<String> {
            match serde_yaml::from_str::<Config>(&format!("{KEY_YAML}{extra}")) {
                Ok(c) => problems(&c),
                Err(e) => vec![format!("parse: {e}")],
            }
        };
        assert!(bad("  rpm: 0\n")[0].contains("rpm must be at least 1"));
        assert!(bad("  tpm: 0\n")[0].contains("tpm must be at least 1"));
        for b in ["0", "-1", ".nan", ".inf"] {
            let p = bad(&format!("  budget_usd: {b}\n"));
            assert!(p[0].contains("budget_usd must be a positive"), "{b}: {p:?}");
        }
        assert!(bad("  models: ['']\n")[0].contains("empty model pattern"));
        assert!(bad("  rpm: -3\n")[0].starts_with("parse:"));
        assert!(bad("  budget_period: year\n")[0].starts_with("parse:"));
        assert!(bad("  budget: 3\n")[0].contains("unknown field"));
    }

    #[test]
    fn prices_must_be_non_negative_and_finite() {
        let mut c = Config::default();
        let ok = PriceOverride {
            input: 3.0,
            output: 15.0,
            cache_read: Some(0.0),
            cache_write: None,
        };
        c.prices.insert("claude-x".into(), ok);
        assert!(problems(&c).is_empty());
        c.prices.insert(
            "gpt-x".into(),
            PriceOverride {
                input: -1.0,
                cache_write: Some(f64::INFINITY),
                ..ok
            },
        );
        c.prices.insert(" ".into(), ok);
        let p = problems(&c).join("\n");
        assert!(
            p.contains("prices.gpt-x.input must be a non-negative"),
            "{p}"
        );
        assert!(p.contains("prices.gpt-x.cache_write"), "{p}");
        assert!(p.contains("a model name is empty"), "{p}");
        c.prices.insert(
            "gpt-x".into(),
            PriceOverride {
                output: f64::NAN,
                ..ok
            },
        );
        assert!(problems(&c).join("\n").contains("prices.gpt-x.output"));
    }

    #[test]
    fn usage_retention_bounds() {
        let mut c = Config::default();
        assert_eq!(c.usage.retention_days, 90);
        c.usage.retention_days = 0;
        let p = problems(&c).join("\n");
        assert!(p.contains("usage.retention_days must be between 1"), "{p}");
        c.usage.retention_days = MAX_RETENTION_DAYS;
        assert!(problems(&c).is_empty());
        c.usage.retention_days = MAX_RETENTION_DAYS + 1;
        assert!(!problems(&c).is_empty());
    }

    #[test]
    fn urls() {
        assert!(check_url("https://api.openai.com/v1").is_ok());
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("api.openai.com").is_err());
        assert!(check_url("not a url").is_err());
    }
}
