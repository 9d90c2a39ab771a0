//! `llm-gateway oauth ...` and the token side of `upstream add --type oauth`, for
//! Claude and ChatGPT logins alike: the upstream's provider picks the OAuth client.

use std::io::IsTerminal;
use std::time::Duration;

use serde_json::json;

use super::args::{LoginArgs, OauthCommand};
use super::{CliError, CliResult, Ctx, user_error};
use crate::config::{Api, AuthType, OAuthTokens, Provider, Status, Upstream};
use crate::keys::redact;
use crate::oauth::login::{self, LoginOptions, Mode};
use crate::oauth::refresh::{When, refresh_locked};
use crate::oauth::{Endpoints, ProviderEndpoints, client, import, jwt};
use crate::upstream::UpstreamClient;
use crate::util::{Timestamp, new_id};

/// A runtime whose worker drives I/O on its own thread, so blocking code (the
/// locked refresh) can wait on it through a `Handle`.
fn runtime() -> CliResult<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?)
}

fn http(ctx: &Ctx) -> CliResult<UpstreamClient> {
    let c = ctx.store.load()?;
    UpstreamClient::new(&c.environment, &c.server)
        .map_err(|e| CliError::Other(anyhow::anyhow!("cannot build the HTTPS client: {e}")))
}

fn oauth_error(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

/// Tokens for a new OAuth upstream: from a refresh token, an access token, or a login.
pub fn obtain_tokens(
    ctx: &Ctx,
    provider: Provider,
    refresh_token: Option<String>,
    access_token: Option<String>,
    expires_at: Option<String>,
    login_args: &LoginArgs,
) -> CliResult<OAuthTokens> {
    if let Some(access) = access_token {
        let access = access.trim().to_string();
        if access.is_empty() {
            return Err(user_error("--access-token is empty"));
        }
        let expires_at = expires_at
            .map(|t| {
                humantime::parse_rfc3339_weak(t.trim())
                    .map(Timestamp)
                    .map_err(|e| {
                        user_error(format!(
                            "--expires-at {t:?}: {e}; use e.g. 2027-01-01T00:00:00Z"
                        ))
                    })
            })
            .transpose()?;
        let account_id = match provider {
            Provider::Anthropic | Provider::Gemini => None,
            Provider::Openai => Some(jwt::chatgpt_account_id(&access).ok_or_else(|| {
                user_error(
                    "this access token carries no ChatGPT account id; log in instead \
                     (omit --access-token) or pass --refresh-token",
                )
            })?),
        };
        return Ok(OAuthTokens {
            expires_at: expires_at.or_else(|| jwt::expiry(&access)),
            access_token: access,
            account_id,
            ..Default::default()
        });
    }
    let http = http(ctx)?;
    let endpoints = Endpoints::from_env();
    let p = endpoints.get(provider).ok_or_else(no_gemini_login)?;
    let rt = runtime()?;
    if let Some(r) = refresh_token {
        return rt
            .block_on(client::refresh(&http, p, r.trim()))
            .map_err(oauth_error);
    }
    run_login(&http, p, &rt, login_args)
}

fn run_login(
    http: &UpstreamClient,
    p: &ProviderEndpoints,
    rt: &tokio::runtime::Runtime,
    a: &LoginArgs,
) -> CliResult<OAuthTokens> {
    let desktop = std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
        || cfg!(target_os = "macos");
    let mode = if a.paste {
        Mode::Paste
    } else if a.callback || (std::io::stdin().is_terminal() && desktop && !a.no_browser) {
        Mode::Callback
    } else {
        Mode::Paste
    };
    let opts = LoginOptions {
        mode,
        open_browser: !a.no_browser,
        callback_port: a.callback_port,
        timeout: Duration::from_secs(600),
    };
    login::login(http, p, rt, &opts).map_err(oauth_error)
}

/// Gemini accounts are API keys: there is no subscription login to start or import.
pub fn no_gemini_login() -> CliError {
    user_error(
        "Gemini upstreams use an API key (`llm-gateway upstream add --type api-key \
         --provider gemini --name NAME --key -`); there is no Gemini subscription login",
    )
}

fn find_oauth(c: &crate::config::Config, id: &str) -> CliResult<usize> {
    let i = super::upstream::find(c, id)?;
    if c.upstreams[i].auth_type != AuthType::OAuth {
        return Err(user_error(format!(
            "upstream {:?} uses an API key, not a subscription login",
            c.upstreams[i].name
        )));
    }
    Ok(i)
}

fn status_json(u: &Upstream) -> serde_json::Value {
    let t = u.oauth.as_ref();
    let now = std::time::SystemTime::now();
    json!({
        "id": u.id,
        "name": u.name,
        "provider": u.provider,
        "account_id": t.and_then(|t| t.account_id.as_deref()).map(redact),
        "plan": t.and_then(|t| t.id_token.as_deref()).and_then(jwt::chatgpt_plan_type),
        "has_access_token": t.is_some_and(|t| !t.access_token.is_empty()),
        "access_token": t.map(|t| crate::keys::redact(&t.access_token)),
        "has_refresh_token": t.is_some_and(|t| t.refresh_token.is_some()),
        "expires_at": t.and_then(|t| t.expires_at),
        "expires_in_secs": t.and_then(|t| t.expires_at).map(|e| e.0.duration_since(now).map(|d| d.as_secs() as i64).unwrap_or_else(|e| -(e.duration().as_secs() as i64))),
        "last_refresh_at": t.and_then(|t| t.last_refresh_at),
        "last_error": t.and_then(|t| t.last_error.clone()),
        "needs_login": t.is_none_or(|t| t.needs_login),
        "scopes": t.map(|t| t.scopes.clone()).unwrap_or_default(),
    })
}

pub fn run(ctx: &Ctx, cmd: OauthCommand) -> CliResult {
    match cmd {
        OauthCommand::Start { id, login } => {
            let c = ctx.store.load()?;
            let i = find_oauth(&c, &id)?;
            let upstream_id = c.upstreams[i].id.clone();
            let provider = c.upstreams[i].provider;
            let http = http(ctx)?;
            let rt = runtime()?;
            let endpoints = Endpoints::from_env();
            let p = endpoints.get(provider).ok_or_else(no_gemini_login)?;
            let tokens = run_login(&http, p, &rt, &login)?;
            let u = ctx.store.update(|c| {
                let i = find_oauth(c, &upstream_id)?;
                c.upstreams[i].oauth = Some(tokens);
                Ok::<_, CliError>(c.upstreams[i].clone())
            })?;
            let v = status_json(&u);
            ctx.out.emit(&v, || {
                format!("Logged in; upstream {:?} has fresh tokens.", u.name)
            })?;
        }
        OauthCommand::Status { id } => {
            let c = ctx.store.load()?;
            let u = &c.upstreams[find_oauth(&c, &id)?];
            let v = status_json(u);
            ctx.out.emit(&v, || {
                let mut out = format!("upstream:      {} ({})\n", u.name, u.id);
                if let Some(a) = v["account_id"].as_str() {
                    let plan = v["plan"]
                        .as_str()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default();
                    out.push_str(&format!("account:       {a}{plan}\n"));
                }
                out.push_str(&format!(
                    "access token:  {}\n",
                    v["access_token"].as_str().unwrap_or("none")
                ));
                out.push_str(&format!(
                    "refresh token: {}\n",
                    if v["has_refresh_token"] == true {
                        "yes"
                    } else {
                        "no (long-lived token)"
                    }
                ));
                out.push_str(&format!(
                    "expires:       {}\n",
                    match (v["expires_at"].as_str(), v["expires_in_secs"].as_i64()) {
                        (Some(t), Some(s)) if s >= 0 =>
                            format!("{t} (in {})", super::status::human_secs(s as u64)),
                        (Some(t), Some(_)) => format!("{t} (expired)"),
                        _ => "unknown".into(),
                    }
                ));
                out.push_str(&format!(
                    "last refresh:  {}\n",
                    v["last_refresh_at"].as_str().unwrap_or("never")
                ));
                if let Some(e) = v["last_error"].as_str() {
                    out.push_str(&format!("last error:    {e}\n"));
                }
                if v["needs_login"] == true {
                    out.push_str(&format!(
                        "NEEDS LOGIN: run `llm-gateway oauth start {}`\n",
                        u.name
                    ));
                }
                out
            })?;
        }
        OauthCommand::Refresh { id } => {
            let c = ctx.store.load()?;
            let name = c.upstreams[find_oauth(&c, &id)?].name.clone();
            let http = http(ctx)?;
            let rt = runtime()?;
            let (config, _) = refresh_locked(
                &ctx.store,
                &http,
                &Endpoints::from_env(),
                rt.handle(),
                &name,
                None,
                When::Force,
            )
            .map_err(oauth_error)?;
            let u = &config.upstreams[find_oauth(&config, &name)?];
            let v = status_json(u);
            ctx.out.emit(&v, || {
                format!(
                    "Refreshed {:?}; the token now expires at {}.",
                    u.name,
                    v["expires_at"].as_str().unwrap_or("an unknown time")
                )
            })?;
        }
        OauthCommand::Import {
            provider,
            file,
            name,
            upstream,
        } => import_login(ctx, provider.into(), file, name, upstream)?,
    }
    Ok(())
}

/// `oauth import`: add (or update) an upstream from Claude Code's or Codex's login.
fn import_login(
    ctx: &Ctx,
    provider: Provider,
    file: Option<std::path::PathBuf>,
    name: Option<String>,
    upstream: Option<String>,
) -> CliResult {
    if provider == Provider::Gemini {
        return Err(no_gemini_login());
    }
    let source = import::source_name(provider);
    let path = file
        .or_else(|| import::default_path(provider))
        .ok_or_else(|| user_error("cannot find a home directory; pass --file"))?;
    let tokens = import::read(provider, &path).map_err(user_error)?;
    let name = name.unwrap_or_else(|| match provider {
        Provider::Anthropic => "claude-code".into(),
        Provider::Openai | Provider::Gemini => "codex".into(),
    });
    let u = ctx.store.update(|c| {
        if let Some(id) = &upstream {
            let i = find_oauth(c, id)?;
            if c.upstreams[i].provider != provider {
                return Err(user_error(format!(
                    "upstream {:?} is a {} login, not {provider}",
                    c.upstreams[i].name, c.upstreams[i].provider
                )));
            }
            c.upstreams[i].oauth = Some(tokens);
            return Ok::<_, CliError>(c.upstreams[i].clone());
        }
        if c.upstream_index(&name).is_some() {
            return Err(user_error(format!(
                "an upstream named {name:?} already exists; pass --name or --upstream"
            )));
        }
        let u = Upstream {
            id: new_id("up"),
            name: name.clone(),
            provider,
            api: match provider {
                Provider::Anthropic | Provider::Gemini => Api::Chat,
                Provider::Openai => Api::Responses,
            },
            auth_type: AuthType::OAuth,
            base_url: None,
            api_key: None,
            status: Status::Enabled,
            priority: 0,
            weight: 1,
            models: Vec::new(),
            oauth: Some(tokens),
            created_at: Timestamp::now(),
        };
        c.upstreams.push(u.clone());
        Ok(u)
    })?;
    let v = status_json(&u);
    ctx.out.emit(&v, || {
        let mut out = format!(
            "Imported the {source} login from {} into upstream {:?}.",
            path.display(),
            u.name
        );
        if u.oauth.as_ref().is_some_and(|t| t.refresh_token.is_some()) {
            out.push_str(&format!(
                "\nOnce the gateway refreshes it, {source} on this machine will need a new login."
            ));
        }
        out
    })?;
    Ok(())
}
