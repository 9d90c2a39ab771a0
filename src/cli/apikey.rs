//! `llm-gateway apikey ...`: the keys clients present to the gateway.

use serde::Serialize;

use super::apikey_limits::{self as limits, LimitChanges, LimitsView};
use super::args::{ApikeyCommand, LimitArgs};
use super::output::Table;
use super::{CliError, CliResult, Ctx, user_error};
use crate::config::{BudgetPeriod, GatewayKey, Permission, Status};
use crate::keys;
use crate::limits::KeyUsage;
use crate::util::{Timestamp, new_id, parse_duration};

/// How a key appears in `list`, `show` and `--json` output. Never the key itself.
#[derive(Serialize)]
struct KeyView<'a> {
    id: &'a str,
    name: &'a str,
    prefix: &'a str,
    permissions: &'a [Permission],
    status: &'static str,
    created_at: String,
    expires_at: Option<String>,
    #[serde(flatten)]
    limits: LimitsView<'a>,
}

fn view(k: &GatewayKey) -> KeyView<'_> {
    view_with(k, None)
}

/// The view with the current use a running server reported.
fn view_with(k: &GatewayKey, usage: Option<KeyUsage>) -> KeyView<'_> {
    KeyView {
        id: &k.id,
        name: &k.name,
        prefix: &k.prefix,
        permissions: &k.permissions,
        status: state(k),
        created_at: k.created_at.to_string(),
        expires_at: k.expires_at.map(|t| t.to_string()),
        limits: limits::view(k, usage),
    }
}

fn state(k: &GatewayKey) -> &'static str {
    match (k.status, k.expires_at) {
        (Status::Disabled, _) => "disabled",
        (_, Some(t)) if t.is_past() => "expired",
        _ => "enabled",
    }
}

fn perms(p: &[Permission]) -> String {
    p.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn run(ctx: &Ctx, cmd: ApikeyCommand) -> CliResult {
    match cmd {
        ApikeyCommand::Add {
            name,
            permissions,
            expires,
            limits,
        } => add(ctx, name, permissions, expires, limits),
        ApikeyCommand::Set {
            id,
            rpm,
            tpm,
            budget,
            budget_period,
            models,
        } => {
            let changes = LimitChanges::parse(rpm, tpm, budget, budget_period, models)?;
            set(ctx, &id, changes)
        }
        ApikeyCommand::List => list(ctx),
        ApikeyCommand::Show { id } => show(ctx, &id),
        ApikeyCommand::Remove { id } => {
            let removed = ctx.store.update(|c| {
                let i = find(c, &id)?;
                Ok::<_, CliError>(c.gateway_keys.remove(i))
            })?;
            ctx.out.emit(&view(&removed), || {
                format!("Removed gateway key {:?} ({}).", removed.name, removed.id)
            })?;
            Ok(())
        }
        ApikeyCommand::Enable { id } => set_status(ctx, &id, Status::Enabled),
        ApikeyCommand::Disable { id } => set_status(ctx, &id, Status::Disabled),
    }
}

fn find(c: &crate::config::Config, id: &str) -> CliResult<usize> {
    c.key_index(id).ok_or_else(|| {
        user_error(format!(
            "no gateway key with id or name {id:?}; `llm-gateway apikey list` shows them"
        ))
    })
}

fn add(
    ctx: &Ctx,
    name: String,
    permissions: Vec<super::args::PermissionArg>,
    expires: Option<String>,
    limit_args: LimitArgs,
) -> CliResult {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(user_error("--name must not be empty"));
    }
    let mut permissions: Vec<Permission> = if permissions.is_empty() {
        vec![Permission::Read, Permission::Write]
    } else {
        permissions.into_iter().map(Into::into).collect()
    };
    permissions.sort();
    permissions.dedup();
    let now = Timestamp::now();
    let expires_at = match expires {
        Some(s) => {
            let d = parse_duration(&s).map_err(user_error)?;
            Some(
                now.checked_add(d)
                    .ok_or_else(|| user_error(format!("--expires {s} is too far away")))?,
            )
        }
        None => None,
    };
    let key =
        keys::generate().map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
    let mut entry = GatewayKey {
        id: new_id("key"),
        name,
        key_sha256: keys::hash_hex(&key),
        prefix: keys::visible_prefix(&key),
        permissions,
        status: Status::Enabled,
        created_at: now,
        expires_at,
        rpm: None,
        tpm: None,
        budget_usd: None,
        budget_period: BudgetPeriod::Month,
        models: Vec::new(),
    };
    limits::apply_add(&mut entry, limit_args)?;
    let stored = entry.clone();
    ctx.store.update(move |c| {
        if c.gateway_keys.iter().any(|k| k.name == entry.name) {
            return Err(user_error(format!(
                "a gateway key named {:?} already exists; pick another --name",
                entry.name
            )));
        }
        c.gateway_keys.push(entry);
        Ok(())
    })?;

    #[derive(Serialize)]
    struct Created<'a> {
        #[serde(flatten)]
        view: KeyView<'a>,
        key: &'a str,
    }
    ctx.out.emit(
        &Created {
            view: view(&stored),
            key: &key,
        },
        || {
            let cfg = ctx.store.load().unwrap_or_default();
            let base = format!("http://{}:{}", display_host(&cfg.server.host), cfg.server.port);
            format!(
                "Created gateway key {:?} ({}) with permissions {}{}.\n\n\
                 Key — shown only this once, store it now:\n\n    {}\n\n\
                 Claude Code:\n    export ANTHROPIC_BASE_URL={base}\n    export ANTHROPIC_AUTH_TOKEN={}\n\
                 OpenAI SDK:\n    export OPENAI_BASE_URL={base}/v1\n    export OPENAI_API_KEY={}\n\
                 Gemini CLI:\n    export GOOGLE_GEMINI_BASE_URL={base}\n    export GEMINI_API_KEY={}",
                stored.name,
                stored.id,
                perms(&stored.permissions),
                stored
                    .expires_at
                    .map(|t| format!(", expiring {t}"))
                    .unwrap_or_default(),
                ctx.out.bold(&key),
                key,
                key,
                key,
            )
        },
    )?;
    Ok(())
}

/// How clients reach a listen address: a wildcard bind is reached on loopback.
pub fn display_host(host: &str) -> String {
    match host {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1".into(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.into(),
    }
}

fn list(ctx: &Ctx) -> CliResult {
    let c = ctx.store.load()?;
    let mut use_of = limits::server_usage(&ctx.store);
    let views: Vec<_> = c
        .gateway_keys
        .iter()
        .map(|k| view_with(k, use_of.remove(&k.id)))
        .collect();
    ctx.out.emit(&views, || {
        if views.is_empty() {
            return "No gateway keys yet. Create one: llm-gateway apikey add --name NAME".into();
        }
        let mut t = Table::new(vec![
            "ID",
            "NAME",
            "KEY",
            "PERMISSIONS",
            "STATUS",
            "CREATED",
            "EXPIRES",
            "LIMITS",
        ]);
        for (k, v) in c.gateway_keys.iter().zip(&views) {
            t.row(vec![
                v.id.into(),
                v.name.into(),
                format!("{}…", v.prefix),
                perms(&k.permissions),
                ctx.out.status(v.status),
                v.created_at.clone(),
                v.expires_at.clone().unwrap_or_else(|| "never".into()),
                limits::summary(k, v.limits.usage()),
            ]);
        }
        t.render()
    })?;
    Ok(())
}

fn show(ctx: &Ctx, id: &str) -> CliResult {
    let c = ctx.store.load()?;
    let k = &c.gateway_keys[find(&c, id)?];
    let v = view_with(k, limits::server_usage(&ctx.store).remove(&k.id));
    ctx.out.emit(&v, || {
        format!(
            "id:          {}\nname:        {}\nkey:         {}… (only the SHA-256 is stored)\n\
             permissions: {}\nstatus:      {}\ncreated:     {}\nexpires:     {}\n{}",
            v.id,
            v.name,
            v.prefix,
            perms(&k.permissions),
            ctx.out.status(v.status),
            v.created_at,
            v.expires_at.clone().unwrap_or_else(|| "never".into()),
            limits::detail(k, v.limits.usage()),
        )
    })?;
    Ok(())
}

fn set(ctx: &Ctx, id: &str, changes: LimitChanges) -> CliResult {
    let k = ctx.store.update(|c| {
        let i = find(c, id)?;
        changes.apply(&mut c.gateway_keys[i]);
        Ok::<_, CliError>(c.gateway_keys[i].clone())
    })?;
    ctx.out.emit(&view(&k), || {
        format!(
            "Gateway key {:?} ({}) now has limits: {}.\n\
             A running server applies them within a second, to the use it has counted.",
            k.name,
            k.id,
            limits::summary(&k, None)
        )
    })?;
    Ok(())
}

fn set_status(ctx: &Ctx, id: &str, status: Status) -> CliResult {
    let k = ctx.store.update(|c| {
        let i = find(c, id)?;
        c.gateway_keys[i].status = status;
        Ok::<_, CliError>(c.gateway_keys[i].clone())
    })?;
    ctx.out.emit(&view(&k), || {
        format!("Gateway key {:?} ({}) is now {status}.", k.name, k.id)
    })?;
    Ok(())
}
