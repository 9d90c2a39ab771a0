//! `llm-gateway env ...`: proxy settings for upstream traffic.

use serde::Serialize;

use super::args::EnvCommand;
use super::output::Table;
use super::{CliError, CliResult, Ctx, user_error};
use crate::config::validate::check_url;
use crate::config::{Config, Environment};

const NAMES: [&str; 3] = ["http_proxy", "https_proxy", "no_proxy"];

#[derive(Serialize)]
struct Setting {
    name: &'static str,
    value: Option<String>,
}

/// `HTTPS_PROXY`, `https-proxy` and `https_proxy` all name the same setting.
fn canonical(name: &str) -> CliResult<&'static str> {
    let n = name.trim().to_ascii_lowercase().replace('-', "_");
    NAMES.into_iter().find(|k| *k == n).ok_or_else(|| {
        user_error(format!(
            "unknown setting {name:?}; use one of {}",
            NAMES.join(", ")
        ))
    })
}

fn slot<'a>(env: &'a mut Environment, name: &str) -> &'a mut Option<String> {
    match name {
        "http_proxy" => &mut env.http_proxy,
        "https_proxy" => &mut env.https_proxy,
        _ => &mut env.no_proxy,
    }
}

fn get(env: &Environment, name: &'static str) -> Setting {
    let value = match name {
        "http_proxy" => env.http_proxy.as_deref().map(redact_userinfo),
        "https_proxy" => env.https_proxy.as_deref().map(redact_userinfo),
        _ => env.no_proxy.clone(),
    };
    Setting { name, value }
}

/// A proxy URL may carry `user:password@`; never print the password.
pub fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:****@{}", &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

fn all(c: &Config) -> Vec<Setting> {
    NAMES.into_iter().map(|n| get(&c.environment, n)).collect()
}

fn render(out: &super::output::Output, settings: &[Setting]) -> String {
    let mut t = Table::new(vec!["NAME", "VALUE"]);
    for s in settings {
        t.row(vec![
            s.name.into(),
            s.value.clone().unwrap_or_else(|| out.status("(unset)")),
        ]);
    }
    t.render()
}

pub fn run(ctx: &Ctx, cmd: EnvCommand) -> CliResult {
    match cmd {
        EnvCommand::List => {
            let c = ctx.store.load()?;
            let s = all(&c);
            ctx.out.emit(&s, || render(&ctx.out, &s))?;
        }
        EnvCommand::Set {
            http_proxy,
            https_proxy,
            no_proxy,
        } => {
            if http_proxy.is_none() && https_proxy.is_none() && no_proxy.is_none() {
                return Err(user_error(
                    "nothing to set; pass --http-proxy, --https-proxy or --no-proxy",
                ));
            }
            for (flag, v) in [
                ("--http-proxy", &http_proxy),
                ("--https-proxy", &https_proxy),
            ] {
                if let Some(url) = v {
                    check_url(url).map_err(|e| user_error(format!("{flag} {e}")))?;
                }
            }
            let c = ctx.store.update(|c| {
                for (name, v) in [
                    ("http_proxy", &http_proxy),
                    ("https_proxy", &https_proxy),
                    ("no_proxy", &no_proxy),
                ] {
                    if let Some(v) = v {
                        let v = v.trim();
                        *slot(&mut c.environment, name) = (!v.is_empty()).then(|| v.to_string());
                    }
                }
                Ok::<_, CliError>(c.clone())
            })?;
            let s = all(&c);
            ctx.out.emit(&s, || {
                format!(
                    "Saved. A running server applies it to new upstream connections.\n{}",
                    render(&ctx.out, &s)
                )
            })?;
        }
        EnvCommand::Show { name } => {
            let name = canonical(&name)?;
            let c = ctx.store.load()?;
            let s = get(&c.environment, name);
            ctx.out
                .emit(&s, || s.value.clone().unwrap_or_else(|| "(unset)".into()))?;
        }
        EnvCommand::Unset { name } => {
            let name = canonical(&name)?;
            ctx.store.update(|c| {
                *slot(&mut c.environment, name) = None;
                Ok::<_, CliError>(())
            })?;
            let s = Setting { name, value: None };
            ctx.out.emit(&s, || format!("Unset {name}."))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted() {
        assert_eq!(
            redact_userinfo("http://bob:s3cret@proxy:8080"),
            "http://bob:****@proxy:8080"
        );
        assert_eq!(redact_userinfo("http://proxy:8080"), "http://proxy:8080");
    }

    #[test]
    fn names_are_forgiving() {
        assert_eq!(canonical("HTTPS_PROXY").unwrap(), "https_proxy");
        assert_eq!(canonical("no-proxy").unwrap(), "no_proxy");
        assert!(canonical("ftp_proxy").is_err());
    }
}
