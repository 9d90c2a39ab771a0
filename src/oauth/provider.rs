//! The one place that knows each subscription provider's OAuth details: endpoints,
//! client id, scopes, extra authorize parameters, how token bodies are encoded, and
//! where the login redirect goes. Everything else in `oauth/` is provider-neutral
//! and reads these tables.
//!
//! | | Claude Pro/Max (`anthropic`) | ChatGPT Plus/Pro (`openai`, Codex) |
//! |---|---|---|
//! | code exchange body | JSON (with `state`) | form-urlencoded |
//! | refresh body | JSON | JSON |
//! | redirect | any free port, `/callback`; paste page shows `code#state` | `localhost:1455/auth/callback` only |
//!
//! Every URL (and the ChatGPT callback port) can be overridden by environment
//! variable, for tests and self-hosting.

use std::sync::OnceLock;

use crate::config::Provider;

/// How a token-endpoint request body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEncoding {
    Json,
    Form,
}

/// One provider's OAuth client, as the gateway uses it.
#[derive(Clone, Debug)]
pub struct ProviderEndpoints {
    pub provider: Provider,
    /// What the user logs in with, for messages ("Claude", "ChatGPT").
    pub account_label: &'static str,
    pub client_id: &'static str,
    pub authorize: String,
    pub token: String,
    /// A provider page that shows the code to paste. `None`: the paste flow reuses
    /// the local callback redirect and the user pastes the URL the browser ends on.
    pub manual_redirect: Option<String>,
    /// Path of the local callback listener.
    pub callback_path: &'static str,
    /// Callback port when none is asked for: 0 = any free port. ChatGPT only
    /// accepts its registered redirect, so its port is fixed.
    pub callback_port: u16,
    pub scopes: &'static [&'static str],
    /// Extra query parameters on the authorize URL.
    pub authorize_params: &'static [(&'static str, &'static str)],
    pub exchange_encoding: BodyEncoding,
    pub refresh_encoding: BodyEncoding,
    /// Send `state` along with the code exchange (Anthropic's endpoint wants it).
    pub state_in_exchange: bool,
}

/// Claude Code's public OAuth client id.
pub const ANTHROPIC_CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
pub const ANTHROPIC_AUTHORIZE_URL: &str = "https://claude.ai/oauth/authorize";
pub const ANTHROPIC_TOKEN_URL: &str = "https://platform.claude.com/v1/oauth/token";
/// The page that shows `code#state` for the user to paste.
pub const ANTHROPIC_MANUAL_REDIRECT_URL: &str = "https://platform.claude.com/oauth/code/callback";
pub const ANTHROPIC_SCOPES: &[&str] = &[
    "org:create_api_key",
    "user:profile",
    "user:inference",
    "user:sessions:claude_code",
    "user:mcp_servers",
    "user:file_upload",
];
pub const ANTHROPIC_AUTHORIZE_URL_ENV: &str = "LLM_GATEWAY_ANTHROPIC_OAUTH_AUTHORIZE_URL";
pub const ANTHROPIC_TOKEN_URL_ENV: &str = "LLM_GATEWAY_ANTHROPIC_OAUTH_TOKEN_URL";
pub const ANTHROPIC_MANUAL_REDIRECT_URL_ENV: &str = "LLM_GATEWAY_ANTHROPIC_OAUTH_REDIRECT_URL";

/// Codex CLI's public OAuth client id (`codex-rs/login`).
pub const OPENAI_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
pub const OPENAI_AUTHORIZE_URL: &str = "https://auth.openai.com/oauth/authorize";
pub const OPENAI_TOKEN_URL: &str = "https://auth.openai.com/oauth/token";
/// The only redirect port the ChatGPT client accepts (Codex's `DEFAULT_PORT`).
pub const OPENAI_CALLBACK_PORT: u16 = 1455;
pub const OPENAI_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];
/// What Codex adds to its authorize URL (`codex-rs/login/src/server.rs`).
pub const OPENAI_AUTHORIZE_PARAMS: &[(&str, &str)] = &[
    ("id_token_add_organizations", "true"),
    ("codex_cli_simplified_flow", "true"),
    ("originator", "codex_cli_rs"),
];
pub const OPENAI_AUTHORIZE_URL_ENV: &str = "LLM_GATEWAY_OPENAI_OAUTH_AUTHORIZE_URL";
pub const OPENAI_TOKEN_URL_ENV: &str = "LLM_GATEWAY_OPENAI_OAUTH_TOKEN_URL";
pub const OPENAI_CALLBACK_PORT_ENV: &str = "LLM_GATEWAY_OPENAI_OAUTH_CALLBACK_PORT";

/// The ChatGPT backend Codex talks to; requests go to `<base>/responses`.
pub const CODEX_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";
pub const CODEX_BASE_URL_ENV: &str = "LLM_GATEWAY_CODEX_BASE_URL";

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// The base URL of ChatGPT (Codex) upstreams without an explicit `base_url`.
pub fn codex_base_url() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        var(CODEX_BASE_URL_ENV, CODEX_BASE_URL)
            .trim_end_matches('/')
            .to_string()
    })
}

impl ProviderEndpoints {
    pub fn anthropic_from_env() -> Self {
        ProviderEndpoints {
            provider: Provider::Anthropic,
            account_label: "Claude",
            client_id: ANTHROPIC_CLIENT_ID,
            authorize: var(ANTHROPIC_AUTHORIZE_URL_ENV, ANTHROPIC_AUTHORIZE_URL),
            token: var(ANTHROPIC_TOKEN_URL_ENV, ANTHROPIC_TOKEN_URL),
            manual_redirect: Some(var(
                ANTHROPIC_MANUAL_REDIRECT_URL_ENV,
                ANTHROPIC_MANUAL_REDIRECT_URL,
            )),
            callback_path: "/callback",
            callback_port: 0,
            scopes: ANTHROPIC_SCOPES,
            authorize_params: &[("code", "true")],
            exchange_encoding: BodyEncoding::Json,
            refresh_encoding: BodyEncoding::Json,
            state_in_exchange: true,
        }
    }

    pub fn openai_from_env() -> Self {
        let port = std::env::var(OPENAI_CALLBACK_PORT_ENV)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
            .filter(|p| *p != 0)
            .unwrap_or(OPENAI_CALLBACK_PORT);
        ProviderEndpoints {
            provider: Provider::Openai,
            account_label: "ChatGPT",
            client_id: OPENAI_CLIENT_ID,
            authorize: var(OPENAI_AUTHORIZE_URL_ENV, OPENAI_AUTHORIZE_URL),
            token: var(OPENAI_TOKEN_URL_ENV, OPENAI_TOKEN_URL),
            manual_redirect: None,
            callback_path: "/auth/callback",
            callback_port: port,
            scopes: OPENAI_SCOPES,
            authorize_params: OPENAI_AUTHORIZE_PARAMS,
            exchange_encoding: BodyEncoding::Form,
            refresh_encoding: BodyEncoding::Json,
            state_in_exchange: false,
        }
    }

    /// The redirect URI of the local callback listener on `port`.
    pub fn callback_redirect(&self, port: u16) -> String {
        format!("http://localhost:{port}{}", self.callback_path)
    }
}

/// The endpoints of every provider, as the environment says.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub anthropic: ProviderEndpoints,
    pub openai: ProviderEndpoints,
}

impl Endpoints {
    pub fn from_env() -> Self {
        Endpoints {
            anthropic: ProviderEndpoints::anthropic_from_env(),
            openai: ProviderEndpoints::openai_from_env(),
        }
    }

    /// The OAuth client of an upstream's provider (Gemini has no subscription login).
    pub fn get(&self, provider: Provider) -> Option<&ProviderEndpoints> {
        match provider {
            Provider::Anthropic => Some(&self.anthropic),
            Provider::Openai => Some(&self.openai),
            Provider::Gemini => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_has_its_own_client() {
        let e = Endpoints::from_env();
        assert_eq!(
            e.get(Provider::Anthropic).unwrap().client_id,
            ANTHROPIC_CLIENT_ID
        );
        let o = e.get(Provider::Openai).unwrap();
        assert_eq!(o.client_id, OPENAI_CLIENT_ID);
        assert_eq!(o.exchange_encoding, BodyEncoding::Form);
        assert_eq!(o.refresh_encoding, BodyEncoding::Json);
        assert!(o.manual_redirect.is_none());
        assert_eq!(
            o.callback_redirect(1455),
            "http://localhost:1455/auth/callback"
        );
    }
}
