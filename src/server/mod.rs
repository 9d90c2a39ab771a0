//! `llm-gateway server start`: the proxy.
//!
//! - [`handler`]: one request's way through — classify, authenticate, dispatch;
//! - [`auth`]: gateway keys and the local admin token;
//! - [`format`]: which API a client speaks;
//! - [`proxy`]: forwarding to an upstream and streaming the answer back;
//! - [`body`]: the streamed response body, its timeouts and its access-log line;
//! - [`errors`]: gateway errors in the caller's format;
//! - [`models`], [`tokens`]: `/v1/models` and local `count_tokens` estimates;
//! - [`admin`], [`stats`]: the live view the CLI reads;
//! - [`state`]: config snapshots and hot reload.

pub mod accounting;
pub mod admin;
pub mod auth;
pub mod body;
pub mod cors;
pub mod credentials;
pub mod errors;
pub mod format;
pub mod handler;
pub mod models;
pub mod proxy;
pub mod respond;
pub mod responses_store;
pub mod state;
pub mod stats;
pub mod stream_peek;
pub mod tls;
pub mod tokens;
pub mod translate;
pub mod ui;
pub mod usage;
pub mod websocket;
pub mod workers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{Config, ConfigStore, GatewayKey, LogFormat, Permission, Status};
use crate::keys;
use crate::upstream;
use crate::util::{Timestamp, new_id};
use admin::{RuntimeInfo, remove_runtime, write_runtime};
use state::AppState;

/// Where to listen (and with which certificate), overriding the config.
pub struct StartOptions {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
}

/// Run the server until SIGINT/SIGTERM, then drain and return.
pub fn start(store: ConfigStore, opts: StartOptions) -> anyhow::Result<()> {
    let first_key = ensure_first_key(&store)?;
    let config = store.load()?;
    init_logging(&config);
    // The control runtime: accepting, config reload, token refresh, signals. Requests
    // are served on the worker threads (see `workers`).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("lgw-control")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(store, config, opts, first_key))
}

/// On first run (no gateway key at all), create one so the user can connect at once.
fn ensure_first_key(store: &ConfigStore) -> anyhow::Result<Option<(GatewayKey, String)>> {
    // Read first: a config with keys is never locked or written here (it may be
    // mounted read-only, as in team deployments).
    if store.path().exists() && !store.load()?.gateway_keys.is_empty() {
        return Ok(None);
    }
    store.update(|c| {
        if !c.gateway_keys.is_empty() {
            return Ok::<_, anyhow::Error>(None);
        }
        let key =
            keys::generate().map_err(|e| anyhow::anyhow!("OS random generator failed: {e}"))?;
        let entry = GatewayKey {
            id: new_id("key"),
            name: "default".into(),
            key_sha256: keys::hash_hex(&key),
            prefix: keys::visible_prefix(&key),
            permissions: vec![Permission::Read, Permission::Write],
            status: Status::Enabled,
            created_at: Timestamp::now(),
            expires_at: None,
            rpm: None,
            tpm: None,
            budget_usd: None,
            budget_period: Default::default(),
            models: Vec::new(),
        };
        c.gateway_keys.push(entry.clone());
        Ok(Some((entry, key)))
    })
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.logging.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    let _ = match config.logging.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn serve(
    store: ConfigStore,
    config: Config,
    opts: StartOptions,
    first_key: Option<(GatewayKey, String)>,
) -> anyhow::Result<()> {
    let host = opts.host.unwrap_or_else(|| config.server.host.clone());
    let port = opts.port.unwrap_or(config.server.port);
    // TLS from the flags, else the config; a bad pair stops the start here.
    let tls_files = match (opts.tls_cert, opts.tls_key, &config.server.tls) {
        (Some(cert), Some(key), _) => Some(tls::TlsFiles { cert, key }),
        // Relative paths in the config are relative to the config's directory.
        (_, _, Some(t)) => Some(tls::TlsFiles {
            cert: store.dir().join(&t.cert),
            key: store.dir().join(&t.key),
        }),
        _ => None,
    };
    let tls = match tls_files {
        Some(f) => Some(tls::Tls::new(f).context("cannot serve HTTPS")?),
        None => None,
    };
    // Beyond loopback, a gateway with no usable key is refused before it binds.
    let beyond_loopback = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => !ip.is_loopback(),
        Err(_) => host != "localhost",
    };
    if beyond_loopback && !config.gateway_keys.iter().any(|k| k.usable()) {
        anyhow::bail!(
            "refusing to listen on {host}:{port}, beyond loopback, while no gateway key is \
             enabled. Add one with `llm-gateway apikey add --name NAME` (or enable one)"
        );
    }
    let listener = TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| {
            format!("cannot listen on {host}:{port} (is another gateway running? try --port)")
        })?;
    let addr = listener.local_addr()?;
    let exposed = !addr.ip().is_loopback();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", client_addr(addr));

    let admin_token =
        keys::generate().map_err(|e| anyhow::anyhow!("OS random generator failed: {e}"))?;
    let data_dir = admin::data_dir(&store, &config);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let runtime_file = data_dir.join(admin::RUNTIME_FILE);
    write_runtime(
        &runtime_file,
        &RuntimeInfo {
            pid: std::process::id(),
            url: url.clone(),
            admin_token: admin_token.clone(),
            started_at: Timestamp::now(),
            version: env!("CARGO_PKG_VERSION").into(),
            tls_cert: tls.as_ref().map(|t| t.files.cert.clone()),
        },
    )
    .with_context(|| format!("cannot write {}", runtime_file.display()))?;

    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let n_workers = workers::count(config.server.workers);
    upstream::set_pool_slots(n_workers + 1);
    // The usage ledger beside the config file. Without it the server still serves
    // (rows are counted as dropped, and `status` says so).
    let ledger = match crate::ledger::Ledger::open(&data_dir, config.usage.retention_days) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!("usage ledger unavailable, requests are not recorded: {e}");
            None
        }
    };
    let state = Arc::new(AppState::new(
        store,
        config,
        addr,
        keys::digest(&admin_token),
        ledger,
    )?);
    tokio::spawn(state.clone().watch());
    if let Some(shared) = &state.shared {
        tokio::spawn(share_cooldowns(state.clone()));
        tokio::spawn(shared.clone().settle_loop());
    }
    tokio::spawn(credentials::keep_fresh(state.clone()));
    let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
    if let Some(t) = &tls {
        tokio::spawn(tls::Tls::watch(t.store.clone(), t.files.clone()));
    }
    let mut workers = workers::Workers::start(n_workers, &state, grace, acceptor)
        .context("cannot start the worker threads")?;
    tracing::debug!("serving on {n_workers} worker thread(s)");
    print_banner(
        &url,
        &state.snapshot().config,
        first_key.as_ref(),
        exposed,
        tls.is_some(),
    );

    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, _)) => workers.dispatch(stream),
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(
        "shutting down: waiting up to {}s for in-flight requests",
        grace.as_secs()
    );
    if workers.shutdown().await {
        tracing::info!("all requests finished");
    } else {
        tracing::warn!("grace period over; closing the remaining connections");
    }
    // The last usage rows reach the database before the process ends.
    let ledger = state.ledger.clone();
    let flushed =
        tokio::task::spawn_blocking(move || ledger.flush_blocking(Duration::from_secs(5)))
            .await
            .unwrap_or(false);
    if !flushed {
        tracing::warn!("usage ledger: not every row was written before exit");
    }
    remove_runtime(&runtime_file);
    Ok(())
}

/// Apply the upstream cool-downs other instances learnt, and adopt the subscription
/// tokens they rotated (team mode), every
/// [`crate::shared::COOLDOWN_POLL`].
async fn share_cooldowns(state: Arc<AppState>) {
    let Some(shared) = state.shared.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(crate::shared::COOLDOWN_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let snap = state.snapshot();
        let ids: Vec<String> = snap
            .config
            .enabled_upstreams()
            .map(|u| u.id.clone())
            .collect();
        credentials::adopt_shared_tokens(&state, &shared).await;
        let Ok(untils) = shared.cooldowns(&ids).await else {
            continue;
        };
        let now_ms = crate::limits::unix_millis(std::time::SystemTime::now());
        let now = tokio::time::Instant::now();
        for (id, until) in ids.iter().zip(untils) {
            let Some(until) = until.filter(|u| *u > now_ms) else {
                continue;
            };
            let Some(stats) = snap.stats(id) else {
                continue;
            };
            let rest = Duration::from_millis(until - now_ms);
            let mut h = stats.health();
            if h.cooling_until(now)
                .is_none_or(|t| t + Duration::from_millis(50) < now + rest)
            {
                h.cool_down(now, rest);
                tracing::info!(upstream = %id, "rate limited (learnt from another instance); resting {}ms", rest.as_millis());
            }
        }
    }
}

/// Where a client on this machine reaches a listen address.
fn client_addr(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => SocketAddr::from(([127, 0, 0, 1], addr.port())),
            SocketAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        }
    } else {
        addr
    }
}

fn print_banner(
    url: &str,
    config: &Config,
    first_key: Option<&(GatewayKey, String)>,
    exposed: bool,
    tls: bool,
) {
    let mut s = format!(
        "llm-gateway {} listening on {url}\n",
        env!("CARGO_PKG_VERSION")
    );
    if exposed && tls {
        s.push_str("Note: listening beyond loopback; every request still needs a gateway key.\n");
    } else if exposed {
        s.push_str(
            "Warning: serving plain HTTP beyond loopback: gateway keys and prompts cross the \
             network unencrypted. Serve HTTPS with --tls-cert and --tls-key (docs/team.md).\n",
        );
        tracing::warn!("serving plain HTTP beyond loopback; use --tls-cert and --tls-key");
    }
    match first_key {
        Some((k, key)) => {
            s.push_str(&format!(
                "\nFirst run: created gateway key {:?} ({}). It is shown only this once:\n\n    {key}\n\n\
                 Claude Code / Anthropic SDK:\n    export ANTHROPIC_BASE_URL={url}\n    export ANTHROPIC_AUTH_TOKEN={key}\n\
                 OpenAI SDK:\n    export OPENAI_BASE_URL={url}/v1\n    export OPENAI_API_KEY={key}\n\
                 Gemini CLI / google-genai:\n    export GOOGLE_GEMINI_BASE_URL={url}\n    export GEMINI_API_KEY={key}\n",
                k.name, k.id
            ));
        }
        None => s.push_str(&format!(
            "{} gateway key(s); clients use ANTHROPIC_BASE_URL={url}, OPENAI_BASE_URL={url}/v1 or GOOGLE_GEMINI_BASE_URL={url}\n",
            config.gateway_keys.len()
        )),
    }
    let has_admin = config
        .gateway_keys
        .iter()
        .any(|k| k.permissions.contains(&Permission::Admin));
    s.push_str(&format!(
        "Dashboard: {url}/ui ({})\n",
        if has_admin {
            "sign in with an admin key"
        } else {
            "needs an admin key: llm-gateway apikey add --name dashboard --permissions admin"
        }
    ));
    if config.upstreams.is_empty() {
        s.push_str(
            "\nNo upstream is configured yet, so requests get 503. Add one (the running server \
             picks it up within a second):\n    llm-gateway upstream add --type api-key --provider anthropic --name anthropic --key -\n",
        );
    } else {
        s.push_str(&format!(
            "{} upstream(s) configured.\n",
            config.upstreams.len()
        ));
    }
    print!("{s}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
