//! `llm-gateway route ...`: send models to chosen upstreams, optionally renamed.

use serde::Serialize;

use super::args::RouteCommand;
use super::output::Table;
use super::upstream::find as find_upstream;
use super::{CliError, CliResult, Ctx, user_error};
use crate::config::{Config, Provider, Route};
use crate::router::ordered_routes;
use crate::util::new_id;

#[derive(Serialize)]
struct RouteView<'a> {
    id: &'a str,
    #[serde(rename = "match")]
    pattern: &'a str,
    upstream: Option<&'a str>,
    upstream_name: Option<&'a str>,
    provider: Option<Provider>,
    model: Option<&'a str>,
}

fn view<'a>(c: &'a Config, r: &'a Route) -> RouteView<'a> {
    RouteView {
        id: &r.id,
        pattern: &r.pattern,
        upstream: r.upstream.as_deref(),
        upstream_name: r
            .upstream
            .as_deref()
            .and_then(|id| c.upstream(id))
            .map(|u| u.name.as_str()),
        provider: r.provider,
        model: r.model.as_deref(),
    }
}

fn target(v: &RouteView) -> String {
    match (v.upstream_name, v.upstream, v.provider) {
        (Some(name), Some(id), _) => format!("upstream {name} ({id})"),
        (None, Some(id), _) => format!("upstream {id}"),
        (_, _, Some(p)) => format!("provider {p}"),
        _ => "?".into(),
    }
}

pub fn run(ctx: &Ctx, cmd: RouteCommand) -> CliResult {
    match cmd {
        RouteCommand::Add {
            pattern,
            upstream,
            provider,
            model,
        } => {
            let pattern = pattern.trim().to_string();
            if pattern.is_empty() {
                return Err(user_error("--match must not be empty"));
            }
            let model = model.map(|m| m.trim().to_string());
            if model.as_deref() == Some("") {
                return Err(user_error("--model must not be empty"));
            }
            let (route, config) = ctx.store.update(|c| {
                let upstream = match &upstream {
                    Some(u) => Some(c.upstreams[find_upstream(c, u)?].id.clone()),
                    None => None,
                };
                let route = Route {
                    id: new_id("rt"),
                    pattern,
                    upstream,
                    provider: provider.map(Into::into),
                    model,
                };
                c.routes.push(route.clone());
                Ok::<_, CliError>((route, c.clone()))
            })?;
            let v = view(&config, &route);
            ctx.out.emit(&v, || {
                format!(
                    "Added route {}: {} → {}{}.",
                    v.id,
                    v.pattern,
                    target(&v),
                    v.model.map(|m| format!(" as {m}")).unwrap_or_default()
                )
            })?;
        }
        RouteCommand::List => {
            let c = ctx.store.load()?;
            let views: Vec<_> = ordered_routes(&c.routes)
                .into_iter()
                .map(|r| view(&c, r))
                .collect();
            ctx.out.emit(&views, || {
                if views.is_empty() {
                    return "No routes. Models go to upstreams by their declared --models \
                            patterns, else by family (claude-* → anthropic, gpt-*/o* → openai)."
                        .into();
                }
                let mut t = Table::new(vec!["ORDER", "ID", "MATCH", "TARGET", "MODEL"]);
                for (i, v) in views.iter().enumerate() {
                    t.row(vec![
                        (i + 1).to_string(),
                        v.id.into(),
                        v.pattern.into(),
                        target(v),
                        v.model.unwrap_or("(unchanged)").into(),
                    ]);
                }
                t.render()
            })?;
        }
        RouteCommand::Remove { id } => {
            let (route, config) = ctx.store.update(|c| {
                let i = c.routes.iter().position(|r| r.id == id).ok_or_else(|| {
                    user_error(format!(
                        "no route with id {id:?}; `llm-gateway route list` shows them"
                    ))
                })?;
                let r = c.routes.remove(i);
                Ok::<_, CliError>((r, c.clone()))
            })?;
            let v = view(&config, &route);
            ctx.out
                .emit(&v, || format!("Removed route {}: {}.", v.id, v.pattern))?;
        }
    }
    Ok(())
}
