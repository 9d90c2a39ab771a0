//! The typed content of `config.yaml`. Every section denies unknown fields, so a typo
//! is an error that names the field rather than a setting silently ignored.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::util::Timestamp;

/// The version this build writes. Files with a newer version are refused.
pub const CONFIG_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: u32,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub gateway_keys: Vec<GatewayKey>,
    #[serde(default)]
    pub upstreams: Vec<Upstream>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub routing: RoutingConfig,
    #[serde(default)]
    pub breaker: BreakerConfig,
    #[serde(default)]
    pub environment: Environment,
    #[serde(default)]
    pub logging: LoggingConfig,
    /// Prices per model that replace the built-in table's (`llm-gateway prices set`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, PriceOverride>,
    #[serde(default)]
    pub usage: UsageConfig,
    #[serde(default, skip_serializing_if = "MetricsConfig::is_default")]
    pub metrics: MetricsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version: CONFIG_VERSION,
            server: ServerConfig::default(),
            gateway_keys: Vec::new(),
            upstreams: Vec::new(),
            routes: Vec::new(),
            routing: RoutingConfig::default(),
            breaker: BreakerConfig::default(),
            environment: Environment::default(),
            logging: LoggingConfig::default(),
            prices: BTreeMap::new(),
            usage: UsageConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address. Loopback by default; anything else is an explicit choice.
    pub host: String,
    pub port: u16,
    /// Largest request body accepted, in MiB.
    pub body_limit_mb: u64,
    /// Seconds to open a TCP (and TLS) connection to an upstream.
    pub connect_timeout_secs: u64,
    /// Seconds from sending a request to the first response byte from an upstream.
    pub first_byte_timeout_secs: u64,
    /// Seconds a streaming response may stay silent before it is cut.
    pub idle_stream_timeout_secs: u64,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Threads serving requests; 0 = one per CPU, at most 8.
    pub workers: usize,
    /// Serve HTTPS with this certificate and key (PEM files, reloaded when they change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Browser clients on other origins (off when no origin is listed).
    #[serde(skip_serializing_if = "CorsConfig::is_off")]
    pub cors: CorsConfig,
    /// Where the server writes its runtime file and usage ledger; default the config's
    /// directory. Set it when the config is mounted read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<std::path::PathBuf>,
    /// `redis://HOST:PORT/DB`: key limits, budgets and upstream cool-downs shared with
    /// every instance pointed at the same Redis (team mode). Read at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_state: Option<String>,
    /// While Redis is unreachable: `open` (default) enforces limits and budgets on this
    /// instance's own counts; `closed` refuses requests of keys that have a budget.
    #[serde(skip_serializing_if = "FailMode::is_open")]
    pub shared_state_fail: FailMode,
    /// Longest wait for one Redis call before the request goes on without it.
    #[serde(skip_serializing_if = "is_default_redis_timeout")]
    pub shared_state_timeout_ms: u64,
}

fn is_default_redis_timeout(ms: &u64) -> bool {
    *ms == 5
}

/// What to do about budgets while the shared state is unreachable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    #[default]
    Open,
    Closed,
}

impl FailMode {
    pub fn is_open(&self) -> bool {
        *self == FailMode::Open
    }
}

/// `server.cors`: which web origins may call the gateway from a browser.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Exact origins (`https://app.example.com`), or `*` for any (not with credentials).
    pub allowed_origins: Vec<String>,
    /// Let pages send cookies or HTTP auth (`Access-Control-Allow-Credentials`).
    pub allow_credentials: bool,
}

impl CorsConfig {
    pub fn is_off(&self) -> bool {
        self.allowed_origins.is_empty() && !self.allow_credentials
    }
}

/// `server.tls`: the certificate chain and private key, as PEM files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 3847,
            body_limit_mb: 32,
            connect_timeout_secs: 10,
            first_byte_timeout_secs: 600,
            idle_stream_timeout_secs: 300,
            shutdown_grace_secs: 30,
            workers: 0,
            tls: None,
            cors: CorsConfig::default(),
            data_dir: None,
            shared_state: None,
            shared_state_fail: FailMode::Open,
            shared_state_timeout_ms: 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// List models, count tokens, read status.
    Read,
    /// Send inference requests.
    Write,
    /// Use the admin surface (`status`, `health` against this server).
    Admin,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Admin => "admin",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Enabled,
    Disabled,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Enabled => "enabled",
            Status::Disabled => "disabled",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayKey {
    pub id: String,
    pub name: String,
    /// Hex SHA-256 of the whole key. The key itself is never stored.
    pub key_sha256: String,
    /// The first characters of the key, enough to recognise it in a list.
    pub prefix: String,
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub status: Status,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Requests per minute (sliding 60 s window); absent = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens (input + output) per minute (sliding 60 s window); absent = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Spend cap in USD per `budget_period`; absent = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// The calendar period (UTC) the budget applies to.
    #[serde(default, skip_serializing_if = "BudgetPeriod::is_month")]
    pub budget_period: BudgetPeriod,
    /// Model patterns (`claude-*`, `gpt-4o`) the key may ask for; empty = every model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
}

/// A calendar period in UTC over which a key's budget is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    /// 00:00:00Z to the next 00:00:00Z.
    Day,
    /// ISO week: Monday 00:00:00Z to the next Monday.
    Week,
    /// The 1st 00:00:00Z to the next month's 1st.
    #[default]
    Month,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "day",
            BudgetPeriod::Week => "week",
            BudgetPeriod::Month => "month",
        }
    }

    fn is_month(&self) -> bool {
        *self == BudgetPeriod::Month
    }
}

impl fmt::Display for BudgetPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl GatewayKey {
    /// Enabled and not expired: a request with it would be let in.
    pub fn usable(&self) -> bool {
        self.status == Status::Enabled && self.expires_at.is_none_or(|t| !t.is_past())
    }

    /// Whether the key has any limit, budget or model list.
    pub fn has_limits(&self) -> bool {
        self.rpm.is_some()
            || self.tpm.is_some()
            || self.budget_usd.is_some()
            || !self.models.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Anthropic,
    Openai,
    /// Google's Gemini API (`generateContent`), with an API key.
    Gemini,
}

impl Provider {
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::Anthropic => "https://api.anthropic.com",
            Provider::Openai => "https://api.openai.com/v1",
            Provider::Gemini => "https://generativelanguage.googleapis.com",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::Openai => "openai",
            Provider::Gemini => "gemini",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which API an `openai` upstream speaks: Chat Completions (the default, and what
/// every OpenAI-compatible service offers) or Responses (`/v1/responses`; Codex
/// models and the newest OpenAI models are served there first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    #[default]
    Chat,
    Responses,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Chat => "chat",
            Api::Responses => "responses",
        }
    }

    fn is_chat(&self) -> bool {
        *self == Api::Chat
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    #[serde(rename = "api-key")]
    ApiKey,
    #[serde(rename = "oauth")]
    OAuth,
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthType::ApiKey => "api-key",
            AuthType::OAuth => "oauth",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub id: String,
    pub name: String,
    pub provider: Provider,
    /// For `openai` upstreams: the API requests are sent to.
    #[serde(default, skip_serializing_if = "Api::is_chat")]
    pub api: Api,
    #[serde(rename = "type")]
    pub auth_type: AuthType,
    /// Defaults to the provider's public API. For `openai` this is how any
    /// OpenAI-compatible service is reached; it includes the `/v1` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The upstream API key (type `api-key`). Redacted in every output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default)]
    pub status: Status,
    /// Higher is tried first.
    #[serde(default)]
    pub priority: i32,
    /// Share of traffic among upstreams of equal priority.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Model patterns (`claude-*`, `deepseek-chat`) this upstream serves. Empty means
    /// "every model of its provider's family".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Subscription login tokens (type `oauth`). Redacted in every output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthTokens>,
    pub created_at: Timestamp,
}

/// Tokens of a subscription (OAuth) login. The server refreshes them before they
/// expire and writes the rotated refresh token back under the config lock.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthTokens {
    pub access_token: String,
    /// Absent for long-lived tokens from `claude setup-token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The refresh token was refused: the account is skipped until `oauth start`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub needs_login: bool,
    /// ChatGPT logins: the OpenID ID token (a JWT) the account id was read from.
    /// Redacted in every output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// ChatGPT logins: the account (workspace) requests are billed to, sent as
    /// `chatgpt-account-id`. Redacted in every output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

fn default_weight() -> u32 {
    1
}

impl Upstream {
    /// An enabled API-key upstream with defaults, for tests.
    #[cfg(test)]
    pub fn for_test(id: &str, provider: Provider) -> Self {
        Upstream {
            id: id.into(),
            name: id.into(),
            provider,
            api: Api::Chat,
            auth_type: AuthType::ApiKey,
            base_url: None,
            api_key: Some("sk-test-secret".into()),
            status: Status::Enabled,
            priority: 0,
            weight: 1,
            models: Vec::new(),
            oauth: None,
            created_at: Timestamp::now(),
        }
    }

    /// The explicit `base_url`, else the provider's public API — or, for a ChatGPT
    /// subscription (`openai` + `oauth`), the Codex backend
    /// (`LLM_GATEWAY_CODEX_BASE_URL`, default `https://chatgpt.com/backend-api/codex`).
    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or_else(|| match (self.provider, self.auth_type) {
                (Provider::Openai, AuthType::OAuth) => crate::oauth::codex_base_url(),
                _ => self.provider.default_base_url(),
            })
    }

    /// A ChatGPT (Codex) subscription login: requests need [`crate::oauth::chatgpt`]
    /// shaping.
    pub fn is_chatgpt_subscription(&self) -> bool {
        self.provider == Provider::Openai && self.auth_type == AuthType::OAuth
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub id: String,
    /// Exact model name or glob (`*`, `?`). Exact beats glob; the longest glob wins.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Send to this upstream (by id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Or to any upstream of this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Rewrite the model name sent upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    HealthFirst,
    RoundRobin,
    Weighted,
    LeastConnections,
    Random,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    pub strategy: Strategy,
    /// Upstreams tried for one request before giving up.
    pub max_attempts: u32,
    /// Seconds one request may spend across all attempts before the first byte.
    pub total_deadline_secs: u64,
    /// Keep a conversation on the same account while it stays healthy.
    pub sticky_sessions: bool,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            strategy: Strategy::HealthFirst,
            max_attempts: 3,
            total_deadline_secs: 900,
            sticky_sessions: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit.
    pub consecutive_failures: u32,
    /// Error ratio over the rolling window that opens the circuit (0–1).
    pub error_ratio: f64,
    /// Requests in the window before the ratio counts.
    pub min_requests: u32,
    pub window_secs: u64,
    /// First cool-down; doubles on each failed probe up to `max_cooldown_secs`.
    pub cooldown_secs: u64,
    pub max_cooldown_secs: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            consecutive_failures: 5,
            error_ratio: 0.5,
            min_requests: 10,
            window_secs: 60,
            cooldown_secs: 10,
            max_cooldown_secs: 300,
        }
    }
}

/// Proxy settings for upstream traffic. Applied by the server without restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// A `RUST_LOG`-style filter; the `RUST_LOG` variable wins when set.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// A model's price set in the config, in USD per million tokens. It replaces the
/// built-in entry of the same model whole (no long-context tier). A missing cache price
/// means no discount: cache reads and writes are priced as input.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    pub input: f64,
    pub output: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
}

/// The usage ledger (`usage.db` beside the config file; see docs/usage.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsageConfig {
    /// Days a request's row is kept; older rows are pruned in the background (1–36500).
    pub retention_days: u32,
}

/// `GET /metrics` (see docs/metrics.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` without a key on a listener beyond loopback (on loopback it is
    /// always open). Otherwise it takes an admin gateway key.
    pub public: bool,
}

impl MetricsConfig {
    fn is_default(&self) -> bool {
        *self == MetricsConfig::default()
    }
}

/// Rows kept this many days unless the config says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// The longest retention accepted (100 years: "keep everything").
pub const MAX_RETENTION_DAYS: u32 = 36_500;

impl Default for UsageConfig {
    fn default() -> Self {
        UsageConfig {
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }
}

impl Config {
    /// Find a gateway key by id or name.
    pub fn key_index(&self, id_or_name: &str) -> Option<usize> {
        find(&self.gateway_keys, id_or_name, |k| (&k.id, &k.name))
    }

    /// Find an upstream by id or name.
    pub fn upstream_index(&self, id_or_name: &str) -> Option<usize> {
        find(&self.upstreams, id_or_name, |u| (&u.id, &u.name))
    }

    /// Upstreams that may take traffic.
    pub fn enabled_upstreams(&self) -> impl Iterator<Item = &Upstream> {
        self.upstreams
            .iter()
            .filter(|u| u.status == Status::Enabled)
    }

    pub fn upstream(&self, id_or_name: &str) -> Option<&Upstream> {
        self.upstream_index(id_or_name).map(|i| &self.upstreams[i])
    }
}

/// Ids win over names, so an entry named like another's id stays reachable.
fn find<T>(items: &[T], key: &str, f: impl Fn(&T) -> (&String, &String)) -> Option<usize> {
    items
        .iter()
        .position(|i| f(i).0 == key)
        .or_else(|| items.iter().position(|i| f(i).1 == key))
}
