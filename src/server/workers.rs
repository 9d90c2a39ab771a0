//! Thread-per-core serving: the control runtime accepts connections and hands each
//! to one of N worker threads in turn; a worker runs a single-threaded runtime and
//! serves its connections start to finish, with its own upstream connection pool.
//!
//! A request then never leaves its thread: the client connection, the handler and
//! the upstream connection it borrows are all driven by the same runtime. With one
//! work-stealing runtime, the same request woke two or three threads on its way
//! through (measured in `docs/benchmarks.md`: 30–35 % of the gateway's CPU per
//! request). Connections are long-lived (SDKs and Claude Code keep them alive), so
//! round-robin at accept time spreads the load well.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::state::AppState;
use super::{handler, tls};
use crate::upstream;

/// The running workers.
pub struct Workers {
    inboxes: Vec<mpsc::UnboundedSender<std::net::TcpStream>>,
    threads: Vec<JoinHandle<bool>>,
    next: usize,
}

/// Default ceiling on workers: eight already serve well over 100k requests/s, and
/// each one costs about 2 MB of memory even when idle (its allocator heap).
const DEFAULT_MAX_WORKERS: usize = 8;

/// How many workers to run: the configured number, or one per CPU (at most 8).
pub fn count(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(DEFAULT_MAX_WORKERS))
}

impl Workers {
    /// Start `n` workers (pool slots 1..=n; slot 0 stays with the control runtime).
    /// Call [`upstream::set_pool_slots`] with `n + 1` before building the state.
    ///
    /// With a TLS acceptor, each worker does its connections' handshakes itself.
    pub fn start(
        n: usize,
        state: &Arc<AppState>,
        grace: Duration,
        tls: Option<TlsAcceptor>,
    ) -> std::io::Result<Self> {
        let mut inboxes = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for slot in 1..=n {
            let (tx, rx) = mpsc::unbounded_channel();
            let state = state.clone();
            let ready = ready_tx.clone();
            let tls = tls.clone();
            let thread = std::thread::Builder::new()
                .name(format!("lgw-worker-{slot}"))
                .spawn(move || run(slot, rx, state, grace, tls, ready))?;
            inboxes.push(tx);
            threads.push(thread);
        }
        drop(ready_tx);
        // Serving starts once every worker has its runtime.
        for _ in 0..n {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(std::io::Error::other("a worker thread ended at start")),
            }
        }
        Ok(Workers {
            inboxes,
            threads,
            next: 0,
        })
    }

    /// Hand an accepted connection to the next worker.
    pub fn dispatch(&mut self, stream: TcpStream) {
        let mut stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot hand over a connection: {e}");
                return;
            }
        };
        let n = self.inboxes.len();
        for i in 0..n {
            let k = (self.next + i) % n;
            // A worker is only gone if its thread died; then try the next one.
            match self.inboxes[k].send(stream) {
                Ok(()) => {
                    self.next = (k + 1) % n;
                    return;
                }
                Err(mpsc::error::SendError(s)) => stream = s,
            }
        }
        tracing::error!("no worker thread is running; connection dropped");
    }

    /// Stop taking connections and wait for every worker to drain (each bounded by the
    /// grace period). True when every in-flight request finished in time.
    pub async fn shutdown(self) -> bool {
        drop(self.inboxes);
        let threads = self.threads;
        tokio::task::spawn_blocking(move || {
            // Join every thread, even after one that did not finish in time.
            let mut all_done = true;
            for t in threads {
                all_done &= t.join().unwrap_or(false);
            }
            all_done
        })
        .await
        .unwrap_or(false)
    }
}

/// One worker thread: serve handed-over connections until the inbox closes, then give
/// the open ones the grace period to finish.
fn run(
    slot: usize,
    mut inbox: mpsc::UnboundedReceiver<std::net::TcpStream>,
    state: Arc<AppState>,
    grace: Duration,
    tls: Option<TlsAcceptor>,
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) -> bool {
    upstream::enter_pool_slot(slot);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = ready.send(Err(e));
            return false;
        }
    };
    let _ = ready.send(Ok(()));
    runtime.block_on(async move {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(30));
        let graceful = GracefulShutdown::new();
        while let Some(stream) = inbox.recv().await {
            let stream = match TcpStream::from_std(stream) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("worker {slot}: cannot take over a connection: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            let svc = service_fn(move |req| handler::handle(state.clone(), req));
            let Some(acceptor) = &tls else {
                let conn = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
                continue;
            };
            // HTTPS: the handshake (bounded) on this worker, then the same serving;
            // ALPN's `h2` or the client's preface picks the protocol.
            let accept = acceptor.accept(stream);
            let builder = builder.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let stream = match tokio::time::timeout(tls::HANDSHAKE_TIMEOUT, accept).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!("TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                };
                let conn = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                    .into_owned();
                if let Err(e) = watcher.watch(conn).await {
                    tracing::debug!("connection ended: {e}");
                }
            });
        }
        tokio::select! {
            () = graceful.shutdown() => true,
            () = tokio::time::sleep(grace) => false,
        }
    })
}
