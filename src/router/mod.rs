//! Which upstreams may serve a model: explicit routes, then each upstream's declared
//! model patterns, then the model's family (`claude-*` is Anthropic's, `gpt-*` OpenAI's,
//! `gemini-*` Google's).
//!
//! [`Router::resolve`] answers "who may serve it, under which model name"; then
//! [`health`] and [`breaker`] say who can take a request now, [`ratelimit`] how long a
//! rate-limited upstream rests, and [`select`] in which order to try the rest.

pub mod breaker;
pub mod health;
pub mod ratelimit;
pub mod select;

use std::collections::HashMap;

use crate::config::{Api, Config, Provider, Route, Status, Upstream};
use crate::util::{glob_match, is_glob};

/// The provider family a model name belongs to, when it has one.
pub fn family(model: &str) -> Option<Provider> {
    let m = model.to_ascii_lowercase();
    if m.starts_with("claude") {
        return Some(Provider::Anthropic);
    }
    const OPENAI: [&str; 6] = ["gpt-", "o1", "o3", "o4", "chatgpt-", "codex-"];
    if OPENAI.iter().any(|p| m.starts_with(p)) {
        return Some(Provider::Openai);
    }
    if m.starts_with("gemini-") {
        return Some(Provider::Gemini);
    }
    None
}

/// Routes in the order they are tried: exact patterns first, then globs from the
/// longest pattern to the shortest; ties keep the order they were added in.
pub fn ordered_routes(routes: &[Route]) -> Vec<&Route> {
    route_order(routes)
        .into_iter()
        .map(|i| &routes[i])
        .collect()
}

fn route_order(routes: &[Route]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..routes.len()).collect();
    order.sort_by_key(|&i| {
        let p = &routes[i].pattern;
        (is_glob(p), std::cmp::Reverse(p.len()))
    });
    order
}

/// The answer for one model.
#[derive(Debug)]
pub struct Resolution<'a> {
    /// The model name to send upstream (a route may rewrite it).
    pub upstream_model: String,
    /// The route that matched, if any.
    pub route: Option<&'a Route>,
    /// Enabled upstreams that may serve it, highest priority first.
    pub candidates: Vec<&'a Upstream>,
}

/// Why nothing can serve a model.
#[derive(Debug, PartialEq, Eq)]
pub enum NoRoute {
    /// No upstream is configured at all.
    NoUpstreams,
    /// Upstreams exist, but none serves this model.
    Unknown(String),
    /// Some serve it, but all are disabled.
    AllDisabled(String),
}

/// Routes and upstreams compiled for fast lookups. Built once per config snapshot.
pub struct Router {
    exact: HashMap<String, usize>,
    globs: Vec<usize>,
}

impl Router {
    pub fn new(config: &Config) -> Self {
        let mut exact = HashMap::new();
        let mut globs = Vec::new();
        for i in route_order(&config.routes) {
            let r = &config.routes[i];
            if is_glob(&r.pattern) {
                globs.push(i);
            } else {
                exact.entry(r.pattern.clone()).or_insert(i);
            }
        }
        Router { exact, globs }
    }

    fn route<'a>(&self, config: &'a Config, model: &str) -> Option<&'a Route> {
        let i = self.exact.get(model).copied().or_else(|| {
            self.globs
                .iter()
                .copied()
                .find(|&i| glob_match(&config.routes[i].pattern, model))
        })?;
        config.routes.get(i)
    }

    /// The upstreams that may serve `model`, or why none can.
    pub fn resolve<'a>(&self, config: &'a Config, model: &str) -> Result<Resolution<'a>, NoRoute> {
        if config.upstreams.is_empty() {
            return Err(NoRoute::NoUpstreams);
        }
        let route = self.route(config, model);
        let upstream_model = route
            .and_then(|r| r.model.clone())
            .unwrap_or_else(|| model.to_string());

        let mut matched: Vec<&Upstream> = match route {
            Some(Route {
                upstream: Some(id), ..
            }) => config.upstreams.iter().filter(|u| &u.id == id).collect(),
            Some(Route {
                provider: Some(p), ..
            }) => {
                let of_provider: Vec<&Upstream> = config
                    .upstreams
                    .iter()
                    .filter(|u| u.provider == *p)
                    .collect();
                let serving: Vec<&Upstream> = of_provider
                    .iter()
                    .copied()
                    .filter(|u| serves(u, &upstream_model))
                    .collect();
                if serving.is_empty() {
                    of_provider
                } else {
                    serving
                }
            }
            _ => config
                .upstreams
                .iter()
                .filter(|u| serves(u, &upstream_model))
                .collect(),
        };
        if matched.is_empty() {
            return Err(NoRoute::Unknown(model.to_string()));
        }
        matched.retain(|u| u.status == Status::Enabled);
        if matched.is_empty() {
            return Err(NoRoute::AllDisabled(model.to_string()));
        }
        // Responses-only models (`gpt-5-codex`, ...) go to Responses upstreams when
        // there are any: a Chat endpoint would refuse them.
        if responses_only(&upstream_model) && matched.iter().any(|u| u.api == Api::Responses) {
            matched.retain(|u| u.api == Api::Responses || u.provider != Provider::Openai);
        }
        matched.sort_by_key(|u| std::cmp::Reverse(u.priority));
        Ok(Resolution {
            upstream_model,
            route,
            candidates: matched,
        })
    }
}

/// Models OpenAI serves on the Responses API only.
pub fn responses_only(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    m.contains("codex") || m.ends_with("-pro")
}

/// An upstream serves a model when one of its patterns matches, or, having no
/// patterns, when the model belongs to its provider's family.
pub fn serves(u: &Upstream, model: &str) -> bool {
    if u.models.is_empty() {
        family(model) == Some(u.provider)
    } else {
        u.models.iter().any(|p| glob_match(p, model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Upstream;

    fn up(id: &str, p: Provider, models: &[&str], prio: i32) -> Upstream {
        Upstream {
            priority: prio,
            models: models.iter().map(|s| s.to_string()).collect(),
            ..Upstream::for_test(id, p)
        }
    }

    fn route(id: &str, pat: &str, upstream: Option<&str>, model: Option<&str>) -> Route {
        Route {
            id: id.into(),
            pattern: pat.into(),
            upstream: upstream.map(Into::into),
            provider: None,
            model: model.map(Into::into),
        }
    }

    fn config() -> Config {
        let mut c = Config::default();
        c.upstreams.push(up("ant", Provider::Anthropic, &[], 0));
        c.upstreams.push(up("oai", Provider::Openai, &[], 0));
        c.upstreams
            .push(up("ds", Provider::Openai, &["deepseek-*"], 5));
        c
    }

    #[test]
    fn families() {
        assert_eq!(family("claude-sonnet-4-5"), Some(Provider::Anthropic));
        assert_eq!(family("gpt-4o"), Some(Provider::Openai));
        assert_eq!(family("o3-mini"), Some(Provider::Openai));
        assert_eq!(family("gemini-2.5-pro"), Some(Provider::Gemini));
        assert_eq!(family("chatgpt-4o-latest"), Some(Provider::Openai));
        assert_eq!(family("deepseek-chat"), None);
    }

    #[test]
    fn family_and_patterns() {
        let c = config();
        let r = Router::new(&c);
        let ids = |m: &str| -> Vec<String> {
            r.resolve(&c, m)
                .unwrap()
                .candidates
                .iter()
                .map(|u| u.id.clone())
                .collect()
        };
        assert_eq!(ids("claude-3-haiku"), vec!["ant"]);
        assert_eq!(ids("gpt-4o"), vec!["oai"]);
        assert_eq!(ids("deepseek-chat"), vec!["ds"]);
        assert_eq!(
            r.resolve(&c, "llama-3").unwrap_err(),
            NoRoute::Unknown("llama-3".into())
        );
    }

    #[test]
    fn exact_beats_glob_and_longest_glob_wins() {
        let mut c = config();
        c.routes
            .push(route("r1", "claude-*", Some("oai"), Some("gpt-4o")));
        c.routes.push(route(
            "r2",
            "claude-sonnet-*",
            Some("ds"),
            Some("deepseek-chat"),
        ));
        c.routes
            .push(route("r3", "claude-sonnet-4", Some("ant"), None));
        let r = Router::new(&c);
        let res = r.resolve(&c, "claude-sonnet-4").unwrap();
        assert_eq!(res.route.unwrap().id, "r3");
        let res = r.resolve(&c, "claude-sonnet-4-5").unwrap();
        assert_eq!(res.route.unwrap().id, "r2");
        assert_eq!(res.upstream_model, "deepseek-chat");
        let res = r.resolve(&c, "claude-haiku").unwrap();
        assert_eq!(res.route.unwrap().id, "r1");
        assert_eq!(res.candidates[0].id, "oai");
        let order: Vec<_> = ordered_routes(&c.routes)
            .iter()
            .map(|r| r.id.clone())
            .collect();
        assert_eq!(order, vec!["r3", "r2", "r1"]);
    }

    #[test]
    fn disabled_and_priority() {
        let mut c = config();
        c.upstreams.push(up("ant2", Provider::Anthropic, &[], 10));
        let r = Router::new(&c);
        let res = r.resolve(&c, "claude-x").unwrap();
        assert_eq!(res.candidates[0].id, "ant2");
        for u in c.upstreams.iter_mut() {
            u.status = Status::Disabled;
        }
        let r = Router::new(&c);
        assert_eq!(
            r.resolve(&c, "claude-x").unwrap_err(),
            NoRoute::AllDisabled("claude-x".into())
        );
        assert_eq!(
            Router::new(&Config::default())
                .resolve(&Config::default(), "x")
                .unwrap_err(),
            NoRoute::NoUpstreams
        );
    }
}
