//! `llm-gateway config ...`: where the file is, what it holds, whether it is valid.

use serde::Serialize;

use super::args::ConfigCommand;
use super::env::redact_userinfo;
use super::{CliError, CliResult, Ctx};
use crate::config::{Config, ConfigError};
use crate::keys::redact;

/// A copy of the config that is safe to print.
pub fn redacted(c: &Config) -> Config {
    let mut c = c.clone();
    for u in &mut c.upstreams {
        u.api_key = u.api_key.as_deref().map(redact);
        if let Some(t) = &mut u.oauth {
            t.access_token = redact(&t.access_token);
            t.refresh_token = t.refresh_token.as_deref().map(redact);
            t.id_token = t.id_token.as_deref().map(redact);
            t.account_id = t.account_id.as_deref().map(redact);
        }
    }
    for p in [
        &mut c.environment.http_proxy,
        &mut c.environment.https_proxy,
    ] {
        *p = p.as_deref().map(redact_userinfo);
    }
    c
}

pub fn run(ctx: &Ctx, cmd: ConfigCommand) -> CliResult {
    match cmd {
        ConfigCommand::Path => {
            #[derive(Serialize)]
            struct P {
                path: String,
                exists: bool,
            }
            let p = P {
                path: ctx.store.path().display().to_string(),
                exists: ctx.store.exists(),
            };
            ctx.out.emit(&p, || p.path.clone())?;
        }
        ConfigCommand::Show => {
            let c = redacted(&ctx.store.load()?);
            if ctx.out.json {
                ctx.out.json(&c)?;
            } else {
                let text = serde_yaml::to_string(&c).map_err(anyhow::Error::from)?;
                ctx.out.line(text.trim_end())?;
            }
        }
        ConfigCommand::Validate => {
            #[derive(Serialize)]
            struct V {
                path: String,
                valid: bool,
                exists: bool,
                error: Option<String>,
            }
            let (valid, error) = match ctx.store.load() {
                Ok(_) => (true, None),
                Err(
                    e @ (ConfigError::Parse { .. }
                    | ConfigError::Invalid { .. }
                    | ConfigError::Version { .. }),
                ) => (false, Some(e.to_string())),
                Err(e) => return Err(e.into()),
            };
            let v = V {
                path: ctx.store.path().display().to_string(),
                valid,
                exists: ctx.store.exists(),
                error,
            };
            if ctx.out.json {
                ctx.out.json(&v)?;
                if !valid {
                    return Err(CliError::Silent);
                }
            } else if let Some(e) = v.error {
                return Err(CliError::Failed(e));
            } else if !v.exists {
                ctx.out.line(&format!(
                    "{} does not exist yet; the defaults apply.",
                    v.path
                ))?;
            } else {
                ctx.out.line(&format!("{} is valid.", v.path))?;
            }
        }
    }
    Ok(())
}
