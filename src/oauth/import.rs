//! Reuse an existing Claude Code login: its credentials file holds
//! `{"claudeAiOauth": {"accessToken", "refreshToken", "expiresAt" (ms), "scopes"}}`.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;

use crate::config::OAuthTokens;
use crate::util::Timestamp;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    claude_ai_oauth: Option<Creds>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Creds {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<u64>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// Where Claude Code keeps its login on Linux (`$CLAUDE_CONFIG_DIR` or `~/.claude`).
pub fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join(".credentials.json"));
    }
    directories::BaseDirs::new().map(|b| b.home_dir().join(".claude").join(".credentials.json"))
}

/// Read the tokens from a Claude Code credentials file.
pub fn read(path: &Path) -> Result<OAuthTokens, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: File = serde_json::from_str(&text).map_err(|e| {
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
        last_refresh_at: None,
        last_error: None,
        needs_login: false,
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
        let t = read(&p).unwrap();
        assert_eq!(t.access_token, "sk-ant-oat01-a");
        assert_eq!(t.refresh_token.as_deref(), Some("sk-ant-ort01-r"));
        assert_eq!(t.expires_at.unwrap().unix_secs(), 1_800_000_000);
        std::fs::write(&p, "{}").unwrap();
        assert!(read(&p).unwrap_err().contains("no claudeAiOauth"));
    }
}
