//! `llm-gateway upstream ...`: the provider accounts requests are sent to.

use std::io::{self, BufRead, IsTerminal};

use serde::Serialize;

use super::args::{AuthTypeArg, UpstreamAdd, UpstreamCommand};
use super::output::Table;
use super::{CliError, CliResult, Ctx, user_error};
use crate::config::validate::check_url;
use crate::config::{Api, AuthType, Config, Provider, Status, Upstream};
use crate::keys::redact;
use crate::util::{Timestamp, new_id};

/// An upstream as printed: the key is redacted.
#[derive(Serialize)]
pub struct UpstreamView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub provider: Provider,
    pub api: Api,
    #[serde(rename = "type")]
    pub auth_type: AuthType,
    pub base_url: &'a str,
    pub key: Option<String>,
    pub status: Status,
    pub priority: i32,
    pub weight: u32,
    pub models: &'a [String],
    pub created_at: String,
}

pub fn view(u: &Upstream) -> UpstreamView<'_> {
    UpstreamView {
        id: &u.id,
        name: &u.name,
        provider: u.provider,
        api: u.api,
        auth_type: u.auth_type,
        base_url: u.base_url(),
        key: u
            .api_key
            .as_deref()
            .or(u.oauth.as_ref().map(|t| t.access_token.as_str()))
            .map(redact),
        status: u.status,
        priority: u.priority,
        weight: u.weight,
        models: &u.models,
        created_at: u.created_at.to_string(),
    }
}

pub fn run(ctx: &Ctx, cmd: UpstreamCommand) -> CliResult {
    match cmd {
        UpstreamCommand::Add(a) => add(ctx, a),
        UpstreamCommand::List => list(ctx),
        UpstreamCommand::Show { id } => show(ctx, &id),
        UpstreamCommand::Remove { id } => remove(ctx, &id),
        UpstreamCommand::Enable { id } => set_status(ctx, &id, Status::Enabled),
        UpstreamCommand::Disable { id } => set_status(ctx, &id, Status::Disabled),
        UpstreamCommand::Test { id } => test(ctx, &id),
    }
}

/// Probe one upstream directly (no server needed), through the configured proxy.
fn test(ctx: &Ctx, id: &str) -> CliResult {
    let c = ctx.store.load()?;
    let u = c.upstreams[find(&c, id)?].clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = std::time::Instant::now();
    let result = rt.block_on(async {
        let client = crate::upstream::UpstreamClient::new(&c.environment, &c.server)
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(
            std::time::Duration::from_secs(15),
            crate::server::models::fetch_catalog(&client, &u),
        )
        .await
        .map_err(|_| "timed out after 15s".to_string())?
    });
    let ms = started.elapsed().as_millis() as u64;
    let (ok, models, error) = match result {
        Ok(m) => (true, m.len(), None),
        Err(e) => (false, 0, Some(e)),
    };
    let v = serde_json::json!({
        "id": u.id, "name": u.name, "base_url": u.base_url(), "reachable": ok,
        "latency_ms": ms, "models": models, "error": error,
    });
    ctx.out.emit(&v, || match &error {
        None => format!("{} answered in {ms} ms ({models} models listed).", u.name),
        Some(e) => format!("{} did not answer properly: {e} (after {ms} ms).", u.name),
    })?;
    if ok { Ok(()) } else { Err(CliError::Silent) }
}

pub fn find(c: &Config, id: &str) -> CliResult<usize> {
    c.upstream_index(id).ok_or_else(|| {
        user_error(format!(
            "no upstream with id or name {id:?}; `llm-gateway upstream list` shows them"
        ))
    })
}

fn add(ctx: &Ctx, a: UpstreamAdd) -> CliResult {
    let name = a.name.trim().to_string();
    if name.is_empty() {
        return Err(user_error("--name must not be empty"));
    }
    if let Some(url) = &a.base_url {
        check_url(url).map_err(|e| user_error(format!("--base-url {e}")))?;
    }
    let models: Vec<String> = a
        .models
        .iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if a.weight == 0 {
        return Err(user_error("--weight must be at least 1"));
    }
    // Refuse a taken name before a login makes the user do work for nothing.
    if ctx.store.load()?.upstream_index(&name).is_some() {
        return Err(user_error(format!(
            "an upstream named {name:?} already exists; pick another --name"
        )));
    }
    let (auth_type, api_key, oauth) = match a.auth_type {
        AuthTypeArg::ApiKey => {
            if a.refresh_token.is_some() || a.access_token.is_some() {
                return Err(user_error(
                    "--refresh-token and --access-token are for --type oauth",
                ));
            }
            (AuthType::ApiKey, Some(read_key(a.key)?), None)
        }
        AuthTypeArg::Oauth => {
            if matches!(a.provider, super::args::ProviderArg::Gemini) {
                return Err(super::oauth::no_gemini_login());
            }
            if a.key.is_some() {
                return Err(user_error("--key is for --type api-key"));
            }
            if a.api == Some(super::args::ApiArg::Chat)
                && matches!(a.provider, super::args::ProviderArg::Openai)
            {
                return Err(user_error(
                    "a ChatGPT subscription serves the Responses API only; drop --api chat",
                ));
            }
            let tokens = super::oauth::obtain_tokens(
                ctx,
                a.provider.into(),
                a.refresh_token,
                a.access_token,
                a.expires_at,
                &a.login,
            )?;
            (AuthType::OAuth, None, Some(tokens))
        }
    };
    let api = match (a.provider, a.auth_type, a.api) {
        (super::args::ProviderArg::Openai, AuthTypeArg::Oauth, _) => Api::Responses,
        (_, _, Some(api)) => api.into(),
        (_, _, None) => Api::Chat,
    };
    if api == Api::Responses && !matches!(a.provider, super::args::ProviderArg::Openai) {
        return Err(user_error(
            "--api responses is for --provider openai (Anthropic upstreams speak Messages, \
             Gemini upstreams generateContent)",
        ));
    }
    let entry = Upstream {
        id: new_id("up"),
        name,
        provider: a.provider.into(),
        api,
        auth_type,
        base_url: a.base_url.map(|u| u.trim_end_matches('/').to_string()),
        api_key,
        status: Status::Enabled,
        priority: a.priority,
        weight: a.weight,
        models,
        oauth,
        created_at: Timestamp::now(),
    };
    let stored = entry.clone();
    ctx.store.update(move |c| {
        if c.upstream_index(&entry.name).is_some() {
            return Err(user_error(format!(
                "an upstream named {:?} already exists; pick another --name",
                entry.name
            )));
        }
        c.upstreams.push(entry);
        Ok(())
    })?;
    ctx.out.emit(&view(&stored), || {
        format!(
            "Added upstream {:?} ({}): {} {} at {}.",
            stored.name,
            stored.id,
            provider_label(stored.provider, stored.api),
            stored.auth_type,
            stored.base_url()
        )
    })?;
    Ok(())
}

/// The upstream key: from `--key`, from stdin with `--key -`, or a hidden prompt.
fn read_key(arg: Option<String>) -> CliResult<String> {
    let key = match arg.as_deref() {
        Some("-") => {
            let mut line = String::new();
            io::stdin().lock().read_line(&mut line)?;
            line
        }
        Some(k) => k.to_string(),
        None if io::stdin().is_terminal() => dialoguer::Password::new()
            .with_prompt("Upstream API key")
            .interact()
            .map_err(|e| user_error(format!("could not read the key: {e}")))?,
        None => {
            return Err(user_error(
                "--key is required (use `--key -` to read it from stdin)",
            ));
        }
    };
    let key = key.trim().to_string();
    if key.is_empty() {
        return Err(user_error("the upstream key is empty"));
    }
    if key.chars().any(|c| c.is_control() || c == ' ') {
        return Err(user_error(
            "the upstream key contains spaces or control characters",
        ));
    }
    Ok(key)
}

/// `openai`, or `openai/responses` for an upstream that speaks the Responses API.
fn provider_label(p: Provider, api: Api) -> String {
    match api {
        Api::Chat => p.to_string(),
        Api::Responses => format!("{p}/responses"),
    }
}

fn list(ctx: &Ctx) -> CliResult {
    let c = ctx.store.load()?;
    let views: Vec<_> = c.upstreams.iter().map(view).collect();
    ctx.out.emit(&views, || {
        if views.is_empty() {
            return "No upstreams yet. Add one: llm-gateway upstream add --type api-key \
                    --provider anthropic --name NAME --key -"
                .into();
        }
        let mut t = Table::new(vec![
            "ID", "NAME", "PROVIDER", "TYPE", "STATUS", "PRIO", "WEIGHT", "MODELS", "BASE URL",
            "KEY",
        ]);
        for v in &views {
            t.row(vec![
                v.id.into(),
                v.name.into(),
                provider_label(v.provider, v.api),
                v.auth_type.to_string(),
                ctx.out.status(&v.status.to_string()),
                v.priority.to_string(),
                v.weight.to_string(),
                if v.models.is_empty() {
                    "(family)".into()
                } else {
                    v.models.join(",")
                },
                v.base_url.into(),
                v.key.clone().unwrap_or_default(),
            ]);
        }
        t.render()
    })?;
    Ok(())
}

fn show(ctx: &Ctx, id: &str) -> CliResult {
    let c = ctx.store.load()?;
    let u = &c.upstreams[find(&c, id)?];
    let v = view(u);
    ctx.out.emit(&v, || {
        format!(
            "id:       {}\nname:     {}\nprovider: {}\ntype:     {}\nbase url: {}\nkey:      {}\n\
             status:   {}\npriority: {}\nweight:   {}\nmodels:   {}\ncreated:  {}",
            v.id,
            v.name,
            provider_label(v.provider, v.api),
            v.auth_type,
            v.base_url,
            v.key.clone().unwrap_or_default(),
            ctx.out.status(&v.status.to_string()),
            v.priority,
            v.weight,
            if v.models.is_empty() {
                format!("every {} model (by name family)", v.provider)
            } else {
                v.models.join(", ")
            },
            v.created_at
        )
    })?;
    Ok(())
}

fn remove(ctx: &Ctx, id: &str) -> CliResult {
    let (removed, routes) = ctx.store.update(|c| {
        let i = find(c, id)?;
        let u = c.upstreams.remove(i);
        let before = c.routes.len();
        c.routes
            .retain(|r| r.upstream.as_deref() != Some(u.id.as_str()));
        Ok::<_, CliError>((u, before - c.routes.len()))
    })?;
    ctx.out.emit(&view(&removed), || {
        let extra = if routes > 0 {
            format!(" and {routes} route(s) that pointed at it")
        } else {
            String::new()
        };
        format!(
            "Removed upstream {:?} ({}){extra}.",
            removed.name, removed.id
        )
    })?;
    Ok(())
}

fn set_status(ctx: &Ctx, id: &str, status: Status) -> CliResult {
    let u = ctx.store.update(|c| {
        let i = find(c, id)?;
        c.upstreams[i].status = status;
        Ok::<_, CliError>(c.upstreams[i].clone())
    })?;
    ctx.out.emit(&view(&u), || {
        format!("Upstream {:?} ({}) is now {status}.", u.name, u.id)
    })?;
    Ok(())
}
