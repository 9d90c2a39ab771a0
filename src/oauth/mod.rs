//! Subscription (OAuth) accounts: Claude Pro/Max logins and ChatGPT Plus/Pro logins
//! (the one Codex CLI uses).
//!
//! - [`provider`]: the one place that knows each provider's endpoints, client id,
//!   scopes, body encoding and redirect;
//! - [`client`]: the authorize URL (PKCE S256 + state), the code exchange and the
//!   refresh, over the project's own HTTPS client;
//! - [`login`]: the terminal flows — a local callback listener, or a pasted
//!   `code#state` / redirected URL (prompted on a terminal, one line from stdin
//!   otherwise);
//! - [`refresh`]: single-flight refresh under the config lock, so two processes never
//!   spend the same refresh token, and the rotated token is written atomically;
//! - [`shaping`]: what a request through a Claude subscription must look like;
//! - [`chatgpt`]: what a request to the ChatGPT (Codex) backend must look like, and
//!   [`collect`]: folding its stream-only answers into one `response` object;
//! - [`jwt`]: reading claims (account id, expiry) out of OpenAI's tokens;
//! - [`import`]: an existing Claude Code or Codex login from its credentials file.

pub mod chatgpt;
pub mod client;
pub mod collect;
pub mod form;
pub mod import;
pub mod jwt;
pub mod login;
pub mod provider;
pub mod refresh;
pub mod shaping;

pub use provider::{BodyEncoding, Endpoints, ProviderEndpoints, codex_base_url};

/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN: std::time::Duration = std::time::Duration::from_secs(300);
