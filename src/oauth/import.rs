//! Reuse a login another CLI already has on this machine:
//! - Claude Code: `$CLAUDE_CONFIG_DIR/.credentials.json` or `~/.claude/.credentials.json`,
//!   `{"claudeAiOauth": {"accessToken", "refreshToken", "expiresAt" (ms), "scopes"}}`;
//! - Codex: `$CODEX_HOME/auth.json` or `~/.codex/auth.json`,
//!   `{"OPENAI_API_KEY": null, "tokens": {"id_token", "access_token", "refresh_token",
//!   "account_id"}, "last_refresh": "<RFC 3339>"}` (`codex-rs/login`, `AuthDotJson`).
//!
//! Errors name the file, never its secrets.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;

use super::jwt;
use crate::config::{OAuthTokens, Provider};
use crate::util::Timestamp;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaudeFile {
    claude_ai_oauth: Option<ClaudeCreds>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaudeCreds {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<u64>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
struct CodexFile {
    #[serde(rename = "OPENAI_API_KEY", default)]
    openai_api_key: Option<String>,
    #[serde(default)]
    tokens: Option<CodexTokens>,
    #[serde(default)]
    last_refresh: Option<String>,
}

#[derive(Deserialize)]
struct CodexTokens {
    #[serde(default)]
    id_token: Option<String>,
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
}

/// Where the provider's CLI keeps its login.
pub fn default_path(provider: Provider) -> Option<PathBuf> {
    let (dir_env, dir, file) = match provider {
        Provider::Anthropic => ("CLAUDE_CONFIG_DIR", ".claude", ".credentials.json"),
        Provider::Openai => ("CODEX_HOME", ".codex", "auth.json"),
        Provider::Gemini => return None,
    };
    if let Some(d) = std::env::var_os(dir_env).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join(file));
    }
    directories::BaseDirs::new().map(|b| b.home_dir().join(dir).join(file))
}

/// Which CLI's file this provider imports from, for messages.
pub fn source_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Anthropic => "Claude Code",
        Provider::Openai => "Codex",
        Provider::Gemini => "Gemini CLI",
    }
}

/// Read the tokens from the provider's CLI credentials file.
pub fn read(provider: Provider, path: &Path) -> Result<OAuthTokens, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match provider {
        Provider::Anthropic => read_claude(path, &text),
        Provider::Openai => read_codex(path, &text),
        Provider::Gemini => Err("a Gemini login cannot be imported; add a Gemini API key".into()),
    }
}

fn read_claude(path: &Path, text: &str) -> Result<OAuthTokens, String> {
    let file: ClaudeFile = serde_json::from_str(text).map_err(|e| {
        format!(
            "{} is not a Claude Code credentials file: {e}",
            path.display()
        )
    })?;
    let c = file
        .claude_ai_oauth
        .ok_or_else(|| format!("{} holds no claudeAiOauth login", path.display()))?;
    if c.access_token.is_empty() {
        return Err(format!("{} has an empty access token", path.display()));
    }
    Ok(OAuthTokens {
        access_token: c.access_token,
        refresh_token: c.refresh_token.filter(|r| !r.is_empty()),
        expires_at: c
            .expires_at
            .map(|ms| Timestamp(UNIX_EPOCH + Duration::from_millis(ms))),
        scopes: c.scopes,
        ..Default::default()
    })
}

fn read_codex(path: &Path, text: &str) -> Result<OAuthTokens, String> {
    let file: CodexFile = serde_json::from_str(text)
        .map_err(|e| format!("{} is not a Codex auth.json: {e}", path.display()))?;
    let Some(t) = file.tokens else {
        return Err(if file.openai_api_key.is_some_and(|k| !k.is_empty()) {
            format!(
                "{} holds an API key, not a ChatGPT login; add the key with \
                 `llm-gateway upstream add --type api-key --provider openai`",
                path.display()
            )
        } else {
            format!("{} holds no ChatGPT login (no \"tokens\")", path.display())
        });
    };
    if t.access_token.is_empty() {
        return Err(format!("{} has an empty access token", path.display()));
    }
    let id_token = t.id_token.filter(|s| !s.is_empty());
    let account_id = t
        .account_id
        .filter(|s| !s.is_empty())
        .or_else(|| id_token.as_deref().and_then(jwt::chatgpt_account_id))
        .or_else(|| jwt::chatgpt_account_id(&t.access_token))
        .ok_or_else(|| {
            format!(
                "{} has no ChatGPT account id (neither `account_id` nor an ID token \
                 carrying one); log in with `llm-gateway upstream add --type oauth \
                 --provider openai` instead",
                path.display()
            )
        })?;
    Ok(OAuthTokens {
        expires_at: jwt::expiry(&t.access_token),
        access_token: t.access_token,
        refresh_token: t.refresh_token.filter(|r| !r.is_empty()),
        last_refresh_at: file
            .last_refresh
            .as_deref()
            .and_then(|s| humantime::parse_rfc3339_weak(s.trim()).ok())
            .map(Timestamp),
        id_token,
        account_id: Some(account_id),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claude_code_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".credentials.json");
        std::fs::write(&p, r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-a","refreshToken":"sk-ant-ort01-r","expiresAt":1800000000000,"scopes":["user:inference"],"subscriptionType":"max"}}"#).unwrap();
        let t = read(Provider::Anthropic, &p).unwrap();
        assert_eq!(t.access_token, "sk-ant-oat01-a");
        assert_eq!(t.refresh_token.as_deref(), Some("sk-ant-ort01-r"));
        assert_eq!(t.expires_at.unwrap().unix_secs(), 1_800_000_000);
        std::fs::write(&p, "{}").unwrap();
        assert!(
            read(Provider::Anthropic, &p)
                .unwrap_err()
                .contains("no claudeAiOauth")
        );
    }

    #[test]
    fn reads_codex_auth_json() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth.json");
        std::fs::write(&p, r#"{"OPENAI_API_KEY":null,"tokens":{"id_token":"x.y.z","access_token":"at-1","refresh_token":"rt-1","account_id":"acct-1"},"last_refresh":"2025-09-01T12:34:56.123456Z"}"#).unwrap();
        let t = read(Provider::Openai, &p).unwrap();
        assert_eq!(t.access_token, "at-1");
        assert_eq!(t.refresh_token.as_deref(), Some("rt-1"));
        assert_eq!(t.account_id.as_deref(), Some("acct-1"));
        assert_eq!(t.id_token.as_deref(), Some("x.y.z"));
        assert!(t.last_refresh_at.is_some());

        std::fs::write(&p, r#"{"OPENAI_API_KEY":"sk-secret-key"}"#).unwrap();
        let e = read(Provider::Openai, &p).unwrap_err();
        assert!(e.contains("API key") && !e.contains("sk-secret-key"), "{e}");
        std::fs::write(
            &p,
            r#"{"tokens":{"access_token":"at","refresh_token":"rt"}}"#,
        )
        .unwrap();
        assert!(
            read(Provider::Openai, &p)
                .unwrap_err()
                .contains("account id")
        );
    }
}
