//! The command tree, as clap derive definitions. No logic lives here: each subcommand
//! has a handler module of the same name. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{BudgetPeriod, Permission, Provider};

/// One local endpoint for every LLM account you own.
///
/// Point Claude Code and the OpenAI / Anthropic SDKs at the gateway; it authenticates
/// them with its own keys, converts between the two APIs when needed, and routes each
/// request to the healthiest upstream account.
#[derive(Debug, Parser)]
#[command(name = "llm-gateway", version, propagate_version = true)]
pub struct Cli {
    /// Config file to use [default: ~/.llm-gateway/config.yaml]
    #[arg(long, global = true, value_name = "PATH", env = "LLM_GATEWAY_CONFIG")]
    pub config: Option<PathBuf>,

    /// Print one JSON document on stdout instead of text (for scripts)
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the keys clients use to call the gateway
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Manage upstream accounts (provider API keys)
    #[command(subcommand)]
    Upstream(UpstreamCommand),
    /// Send models to chosen upstreams, optionally renaming them
    #[command(subcommand)]
    Route(RouteCommand),
    /// Subscription logins (Claude Pro/Max, ChatGPT Plus/Pro): start, status, refresh, import
    #[command(subcommand)]
    Oauth(OauthCommand),
    /// Proxy settings for upstream traffic (http_proxy, https_proxy, no_proxy)
    #[command(subcommand)]
    Env(EnvCommand),
    /// Run the gateway, or ask a running one how it is
    #[command(subcommand)]
    Server(ServerCommand),
    /// Live view of the running server: upstream health, circuits, traffic
    Status,
    /// Is the server up and is every upstream reachable? Exit code 0 only when healthy
    Health,
    /// Requests, tokens and cost from the usage ledger (usage.db; no server needed)
    Usage(UsageArgs),
    /// Inspect the config file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Prices per model that usage costs are computed from (built-in, or set in the config)
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Print a shell completion script (e.g. `llm-gateway completions bash > ...`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key. It is printed once; only its SHA-256 is stored
    Add {
        /// A name to recognise the key by (unique)
        #[arg(long)]
        name: String,
        /// What the key may do [default: read,write]
        #[arg(long, value_delimiter = ',', value_enum)]
        permissions: Vec<PermissionArg>,
        /// Expire the key after this long (e.g. 30d, 12h)
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Change a key's limits, budget or model list (`none` removes one)
    Set {
        /// Key id or name
        id: String,
        /// Requests per minute, or `none`
        #[arg(long, value_name = "N|none", allow_hyphen_values = true)]
        rpm: Option<String>,
        /// Tokens (input + output) per minute, or `none`
        #[arg(long, value_name = "N|none", allow_hyphen_values = true)]
        tpm: Option<String>,
        /// Spend cap in USD per budget period, or `none`
        #[arg(long, value_name = "USD|none", allow_hyphen_values = true)]
        budget: Option<String>,
        /// Calendar period (UTC) the budget is counted over
        #[arg(long, value_enum, value_name = "PERIOD")]
        budget_period: Option<BudgetPeriodArg>,
        /// Models the key may use (comma-separated patterns), or `none` for every model
        #[arg(long, value_name = "PATTERNS|none")]
        models: Option<String>,
    },
    /// List keys (secrets are never shown)
    List,
    /// Show one key by id or name
    Show { id: String },
    /// Delete a key; clients using it are refused at once
    Remove { id: String },
    /// Allow a disabled key again
    Enable { id: String },
    /// Refuse a key without deleting it
    Disable { id: String },
}

/// Limits a new key starts with (`apikey add`).
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Requests per minute (sliding window)
    #[arg(long, value_name = "N")]
    pub rpm: Option<u64>,
    /// Tokens (input + output) per minute (sliding window)
    #[arg(long, value_name = "N")]
    pub tpm: Option<u64>,
    /// Spend cap in USD per budget period
    #[arg(long, value_name = "USD", allow_hyphen_values = true)]
    pub budget: Option<String>,
    /// Calendar period (UTC) the budget is counted over [default: month]
    #[arg(long, value_enum, value_name = "PERIOD")]
    pub budget_period: Option<BudgetPeriodArg>,
    /// Models the key may use: comma-separated patterns (`claude-*,gpt-4o`) [default: all]
    #[arg(long, value_name = "PATTERNS", value_delimiter = ',')]
    pub models: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BudgetPeriodArg {
    Day,
    Week,
    Month,
}

impl From<BudgetPeriodArg> for BudgetPeriod {
    fn from(p: BudgetPeriodArg) -> Self {
        match p {
            BudgetPeriodArg::Day => BudgetPeriod::Day,
            BudgetPeriodArg::Week => BudgetPeriod::Week,
            BudgetPeriodArg::Month => BudgetPeriod::Month,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PermissionArg {
    Read,
    Write,
    Admin,
}

impl From<PermissionArg> for Permission {
    fn from(p: PermissionArg) -> Self {
        match p {
            PermissionArg::Read => Permission::Read,
            PermissionArg::Write => Permission::Write,
            PermissionArg::Admin => Permission::Admin,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    Anthropic,
    Openai,
    Gemini,
}

impl From<ProviderArg> for Provider {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Anthropic => Provider::Anthropic,
            ProviderArg::Openai => Provider::Openai,
            ProviderArg::Gemini => Provider::Gemini,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    Chat,
    Responses,
}

impl From<ApiArg> for crate::config::Api {
    fn from(a: ApiArg) -> Self {
        match a {
            ApiArg::Chat => crate::config::Api::Chat,
            ApiArg::Responses => crate::config::Api::Responses,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuthTypeArg {
    ApiKey,
    Oauth,
}

#[derive(Debug, Subcommand)]
pub enum UpstreamCommand {
    /// Add an upstream account
    ///
    /// `--provider openai --base-url URL` reaches any OpenAI-compatible service
    /// (DeepSeek, DashScope, OpenRouter, Ollama, vLLM); include the `/v1` part.
    /// `--provider openai --api responses` sends requests to the Responses API.
    /// `--provider gemini` is a Gemini API key (Google AI Studio); `--base-url` is the
    /// host, like GOOGLE_GEMINI_BASE_URL.
    /// `--type oauth --provider anthropic` logs in with a Claude Pro/Max subscription;
    /// `--type oauth --provider openai` with a ChatGPT Plus/Pro subscription (the login
    /// Codex CLI uses; served as a Responses upstream on the ChatGPT Codex backend).
    Add(UpstreamAdd),
    /// List upstreams (keys redacted)
    List,
    /// Show one upstream by id or name (key redacted)
    Show { id: String },
    /// Delete an upstream (and the routes that point at it)
    Remove { id: String },
    /// Route traffic to an upstream again
    Enable { id: String },
    /// Stop routing traffic to an upstream without deleting it
    Disable { id: String },
    /// Probe one upstream now (an authenticated model-list call); exit 0 when it answers
    Test { id: String },
}

#[derive(Debug, Args)]
pub struct UpstreamAdd {
    /// How the gateway authenticates to the upstream
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub auth_type: AuthTypeArg,
    /// Which API the upstream speaks
    #[arg(long, value_enum)]
    pub provider: ProviderArg,
    /// For --provider openai: the API to call, Chat Completions or Responses
    /// (`/v1/responses`, needed for Responses-only models such as gpt-5-codex)
    /// [default: chat; a ChatGPT subscription (--type oauth) is always responses]
    #[arg(long, value_enum)]
    pub api: Option<ApiArg>,
    /// A name to recognise the upstream by (unique)
    #[arg(long)]
    pub name: String,
    /// The upstream API key; `-` reads it from stdin. Prompted for when omitted on a terminal
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// API base URL [default: the provider's public API]
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Higher priorities are tried first
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Share of traffic among upstreams of the same priority
    #[arg(long, default_value_t = 1)]
    pub weight: u32,
    /// Model patterns this upstream serves, comma-separated (e.g. 'claude-*,deepseek-chat')
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    pub models: Vec<String>,
    #[command(flatten)]
    pub login: LoginArgs,
    /// oauth: start from this refresh token (it is refreshed at once) instead of a login
    #[arg(long, value_name = "TOKEN", conflicts_with = "access_token")]
    pub refresh_token: Option<String>,
    /// oauth: use this access token as is (e.g. a long-lived `claude setup-token` token;
    /// for ChatGPT the account id is read from the token)
    #[arg(long, value_name = "TOKEN")]
    pub access_token: Option<String>,
    /// oauth: when --access-token expires (RFC 3339, e.g. 2027-01-01T00:00:00Z)
    #[arg(long, value_name = "TIME", requires = "access_token")]
    pub expires_at: Option<String>,
}

/// How an interactive subscription login runs.
#[derive(Debug, Args, Clone)]
pub struct LoginArgs {
    /// Do not try to open a browser; just print the URL
    #[arg(long)]
    pub no_browser: bool,
    /// Paste what the login ends with: `code#state` from Anthropic's page, or for
    /// ChatGPT the `http://localhost:1455/auth/callback?code=...` URL the browser was
    /// sent to [default when no browser can be used]
    #[arg(long, conflicts_with = "callback")]
    pub paste: bool,
    /// Receive the code on a local callback listener [default on a desktop terminal]
    #[arg(long)]
    pub callback: bool,
    /// Port for the local callback listener (0 = the provider's: any free port for
    /// Claude, 1455 for ChatGPT, whose login only accepts that one)
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub callback_port: u16,
}

#[derive(Debug, Subcommand)]
pub enum OauthCommand {
    /// Log in again for an existing OAuth upstream (replaces its tokens)
    Start {
        id: String,
        #[command(flatten)]
        login: LoginArgs,
    },
    /// Show whether tokens exist, when they expire, the last refresh and error
    Status { id: String },
    /// Refresh the tokens now
    Refresh { id: String },
    /// Add (or update) an upstream from an existing Claude Code or Codex login
    ///
    /// Once the gateway refreshes an imported login, the refresh token the other CLI
    /// holds is spent: that CLI will ask you to log in again.
    Import {
        /// Whose login: anthropic (Claude Code) or openai (Codex, a ChatGPT login)
        #[arg(long, value_enum, default_value_t = ProviderArg::Anthropic)]
        provider: ProviderArg,
        /// The credentials file [default: ~/.claude/.credentials.json ($CLAUDE_CONFIG_DIR),
        /// or for openai ~/.codex/auth.json ($CODEX_HOME)]
        #[arg(long, value_name = "PATH")]
        file: Option<std::path::PathBuf>,
        /// Name of the new upstream [default: claude-code, or codex for openai]
        #[arg(long)]
        name: Option<String>,
        /// Update this existing OAuth upstream instead of adding one
        #[arg(long, value_name = "ID")]
        upstream: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Add a route: requests for models matching PATTERN go to an upstream or provider
    Add {
        /// Exact model name or glob (`*`, `?`)
        #[arg(long = "match", value_name = "PATTERN")]
        pattern: String,
        /// Target upstream (id or name)
        #[arg(
            long,
            conflicts_with = "provider",
            required_unless_present = "provider"
        )]
        upstream: Option<String>,
        /// Target any upstream of this provider
        #[arg(long, value_enum)]
        provider: Option<ProviderArg>,
        /// Send this model name upstream instead of the requested one
        #[arg(long, value_name = "TARGET")]
        model: Option<String>,
    },
    /// List routes in the order they are tried
    List,
    /// Delete a route by id
    Remove { id: String },
}

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// List prices in USD per million tokens: the built-in table (a LiteLLM snapshot)
    /// and the ones set in the config, which replace built-in ones
    List {
        /// Only models matching this glob (`*`, `?`), or containing this text
        #[arg(long, value_name = "PATTERN")]
        model: Option<String>,
    },
    /// Set a model's price in the config; it replaces the built-in one and applies to
    /// dated names of the model too (`claude-sonnet-4-5` covers `claude-sonnet-4-5-20250929`)
    Set {
        /// The model name as served (without a date suffix to cover every date)
        model: String,
        /// USD per million input tokens
        #[arg(long, value_name = "USD_PER_MTOK")]
        input: f64,
        /// USD per million output tokens (reasoning included)
        #[arg(long, value_name = "USD_PER_MTOK")]
        output: f64,
        /// USD per million tokens read from the prompt cache [default: the input price]
        #[arg(long, value_name = "USD_PER_MTOK")]
        cache_read: Option<f64>,
        /// USD per million tokens written to the prompt cache [default: the input price]
        #[arg(long, value_name = "USD_PER_MTOK")]
        cache_write: Option<f64>,
    },
    /// Remove a model's price from the config (the built-in one applies again, if any)
    Unset {
        /// The model name as given to `prices set`
        model: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Show every proxy setting
    List,
    /// Set proxy settings for upstream traffic
    Set {
        #[arg(long, value_name = "URL")]
        http_proxy: Option<String>,
        #[arg(long, value_name = "URL")]
        https_proxy: Option<String>,
        /// Comma-separated hosts, domains (.example.com) or CIDRs that bypass the proxy
        #[arg(long, value_name = "LIST")]
        no_proxy: Option<String>,
    },
    /// Show one setting (http_proxy, https_proxy or no_proxy)
    Show {
        #[arg(long)]
        name: String,
    },
    /// Clear one setting
    Unset {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Run the gateway in the foreground (Ctrl-C stops it gracefully)
    Start {
        /// Listen address [default: server.host in the config, 127.0.0.1]
        #[arg(long)]
        host: Option<String>,
        /// Listen port [default: server.port in the config, 3847]; 0 picks a free one
        #[arg(long)]
        port: Option<u16>,
        /// Serve HTTPS with this PEM certificate chain [default: server.tls.cert]
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<std::path::PathBuf>,
        /// The certificate's PEM private key [default: server.tls.key]
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<std::path::PathBuf>,
    },
    /// Is a gateway running for this config, and where?
    Status,
}

/// `llm-gateway usage`: which rows, grouped how.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Start of the window: a duration back from now (24h, 7d, 30d, 365d), a UTC date
    /// (2026-01-31), an RFC 3339 time, or `all`
    #[arg(long, default_value = "30d", value_name = "WHEN")]
    pub since: String,
    /// Group by gateway key, model (as served), upstream or UTC day
    #[arg(long, value_enum, default_value_t = UsageBy::Model)]
    pub by: UsageBy,
    /// Only requests made with this gateway key (id or name)
    #[arg(long, value_name = "ID")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UsageBy {
    Key,
    Model,
    Upstream,
    Day,
}

impl From<UsageBy> for crate::ledger::query::GroupBy {
    fn from(b: UsageBy) -> Self {
        use crate::ledger::query::GroupBy;
        match b {
            UsageBy::Key => GroupBy::Key,
            UsageBy::Model => GroupBy::Model,
            UsageBy::Upstream => GroupBy::Upstream,
            UsageBy::Day => GroupBy::Day,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the config file's path
    Path,
    /// Print the config with secrets redacted
    Show,
    /// Check the config file and report every problem
    Validate,
}
