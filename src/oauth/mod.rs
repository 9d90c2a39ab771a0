//! Claude subscription (OAuth) accounts.
//!
//! - [`client`]: the authorize URL (PKCE S256 + state), the code exchange and the
//!   refresh, through the `oauth2` crate over the project's own HTTPS client;
//! - [`login`]: the terminal flows — a local callback listener, or the pasted
//!   `code#state` (prompted on a terminal, one line from stdin otherwise);
//! - [`refresh`]: single-flight refresh under the config lock, so two processes never
//!   spend the same refresh token, and the rotated token is written atomically;
//! - [`shaping`]: what a request through an OAuth account must look like;
//! - [`import`]: an existing Claude Code login from its credentials file.
//!
//! Every endpoint can be overridden by environment variable (tests, self-hosting).

pub mod client;
pub mod import;
pub mod login;
pub mod refresh;
pub mod shaping;

/// Claude Code's public OAuth client id.
pub const CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
pub const AUTHORIZE_URL: &str = "https://claude.ai/oauth/authorize";
pub const TOKEN_URL: &str = "https://platform.claude.com/v1/oauth/token";
/// The page that shows `code#state` for the user to paste.
pub const MANUAL_REDIRECT_URL: &str = "https://platform.claude.com/oauth/code/callback";
pub const SCOPES: &[&str] = &[
    "org:create_api_key",
    "user:profile",
    "user:inference",
    "user:sessions:claude_code",
    "user:mcp_servers",
    "user:file_upload",
];

pub const AUTHORIZE_URL_ENV: &str = "LLM_GATEWAY_ANTHROPIC_OAUTH_AUTHORIZE_URL";
pub const TOKEN_URL_ENV: &str = "LLM_GATEWAY_ANTHROPIC_OAUTH_TOKEN_URL";
pub const MANUAL_REDIRECT_URL_ENV: &str = "LLM_GATEWAY_ANTHROPIC_OAUTH_REDIRECT_URL";

/// The endpoints in use: the defaults, or what the environment says.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    pub manual_redirect: String,
}

impl Endpoints {
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        Endpoints {
            authorize: var(AUTHORIZE_URL_ENV, AUTHORIZE_URL),
            token: var(TOKEN_URL_ENV, TOKEN_URL),
            manual_redirect: var(MANUAL_REDIRECT_URL_ENV, MANUAL_REDIRECT_URL),
        }
    }
}

/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN: std::time::Duration = std::time::Duration::from_secs(300);
