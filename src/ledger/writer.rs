//! Writing the ledger off the request path.
//!
//! [`LedgerHandle::record`] hands a row to a bounded channel with `try_send`: it never
//! waits and never fails the request. A writer on its own OS thread (SQLite calls
//! block) collects rows and inserts them in one transaction every 250 ms or 500 rows.
//! A locked or failing database only delays the writer: it retries the batch with
//! backoff while the channel buffers; past the bound the batch's rows are counted as
//! dropped. A full channel counts the row as dropped too. Drops show in
//! [`LedgerHandle::dropped`] (for `status`) and in a warning at most every 10 s.
//! The same thread prunes rows older than the retention at start and every hour.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::LedgerError;
use super::db::{self, KeySums};
use super::record::{UsageRecord, now_ms};

/// The time the writer prunes against, unix milliseconds (injectable for tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

const DAY_MS: i64 = 86_400_000;
const WARN_EVERY_MS: i64 = 10_000;

/// How the ledger batches, retries and prunes. [`LedgerOptions::new`] has the defaults.
#[derive(Clone)]
pub struct LedgerOptions {
    pub retention_days: u32,
    /// Rows the channel holds while the writer is busy; more are dropped (counted).
    pub capacity: usize,
    /// A batch is written when it has this many rows...
    pub batch_rows: usize,
    /// ...or when its first row has waited this long.
    pub batch_interval: Duration,
    pub prune_interval: Duration,
    /// How long one SQLite call waits for a lock before failing (then retried).
    pub busy_timeout: Duration,
    /// Retries of a failed batch (backoff 50 ms doubling to 5 s) before it is dropped.
    pub max_retries: u32,
    pub clock: Clock,
}

impl LedgerOptions {
    pub fn new(retention_days: u32) -> Self {
        LedgerOptions {
            retention_days,
            capacity: 8_192,
            batch_rows: 500,
            batch_interval: Duration::from_millis(250),
            prune_interval: Duration::from_secs(3_600),
            busy_timeout: Duration::from_millis(250),
            max_retries: 8,
            clock: Arc::new(now_ms),
        }
    }
}

enum Msg {
    Record(Box<UsageRecord>),
    Flush(mpsc::Sender<()>),
}

/// Counters shared by the handles and the writer.
struct Shared {
    dropped: AtomicU64,
    written: AtomicU64,
    retention_days: AtomicU32,
    last_warn_ms: AtomicI64,
}

impl Shared {
    fn new(retention_days: u32) -> Arc<Self> {
        Arc::new(Shared {
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            retention_days: AtomicU32::new(retention_days),
            last_warn_ms: AtomicI64::new(i64::MIN),
        })
    }

    /// Count rows as dropped and say so, at most once per [`WARN_EVERY_MS`].
    fn count_dropped(&self, rows: u64, reason: &str) {
        let total = self.dropped.fetch_add(rows, Ordering::Relaxed) + rows;
        let now = now_ms();
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY_MS
            && self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(dropped_total = total, reason, "usage ledger: rows dropped");
        }
    }
}

/// The open ledger: the handle to record through, and the start-up seed queries.
pub struct Ledger {
    handle: LedgerHandle,
    path: PathBuf,
    reader: Connection,
}

impl Ledger {
    /// Open (create, migrate) `usage.db` in `config_dir` and start its writer thread.
    pub fn open(config_dir: &Path, retention_days: u32) -> Result<Ledger, LedgerError> {
        Self::open_with(&db::db_path(config_dir), LedgerOptions::new(retention_days))
    }

    /// [`Ledger::open`] with an explicit file and options.
    pub fn open_with(path: &Path, opts: LedgerOptions) -> Result<Ledger, LedgerError> {
        let conn = db::open(path, opts.busy_timeout)?;
        let reader = db::open(path, Duration::from_secs(5))?;
        let (tx, rx) = mpsc::sync_channel(opts.capacity.max(1));
        let shared = Shared::new(opts.retention_days);
        let writer = Writer {
            conn,
            rx,
            shared: shared.clone(),
            opts,
        };
        thread::Builder::new()
            .name("lgw-ledger".into())
            .spawn(move || writer.run())
            .map_err(LedgerError::Thread)?;
        Ok(Ledger {
            handle: LedgerHandle { tx, shared },
            path: path.to_path_buf(),
            reader,
        })
    }

    /// A handle to record through (cheap to clone, `Send + Sync`).
    pub fn handle(&self) -> LedgerHandle {
        self.handle.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The server's read connection (WAL: it never blocks the writer). Blocking: for
    /// seeding and the admin API off the request path.
    pub fn reader(&self) -> &Connection {
        &self.reader
    }

    /// Every key's spend by UTC day since `since_ms`, and its requests and tokens since
    /// `minute_ms`. Blocking: for seeding the limits at start and on reload, never on
    /// the request path.
    pub fn seed_sums(
        &self,
        since_ms: i64,
        minute_ms: i64,
    ) -> Result<HashMap<String, KeySums>, LedgerError> {
        Ok(db::seed_sums(&self.reader, since_ms, minute_ms)?)
    }
}

/// Where the request path records rows. Cloning shares the channel and the counters.
#[derive(Clone)]
pub struct LedgerHandle {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
}

impl LedgerHandle {
    /// A handle with no database behind it: every row is counted as dropped.
    pub fn disabled() -> LedgerHandle {
        let (tx, _) = mpsc::sync_channel(1);
        LedgerHandle {
            tx,
            shared: Shared::new(0),
        }
    }

    /// Queue a row. Never blocks: a full queue counts the row as dropped.
    pub fn record(&self, record: UsageRecord) {
        match self.tx.try_send(Msg::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.shared.count_dropped(1, "queue full"),
            Err(TrySendError::Disconnected(_)) => {
                self.shared.count_dropped(1, "writer not running")
            }
        }
    }

    /// Rows that could not be kept since start (queue full or database failing).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Rows committed to the database since start.
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Change the retention (hot reload); applied at the next hourly prune.
    pub fn set_retention_days(&self, days: u32) {
        self.shared.retention_days.store(days, Ordering::Relaxed);
    }

    /// Write everything queued so far; for shutdown. Blocks up to `timeout`; true when
    /// the writer got through the queue in time.
    pub fn flush_blocking(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (ack, done) = mpsc::channel();
        let mut msg = Msg::Flush(ack);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    msg = back;
                    thread::sleep(Duration::from_millis(5));
                }
            }
        }
        done.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

/// The writer thread's state.
struct Writer {
    conn: Connection,
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    opts: LedgerOptions,
}

/// How often a gathering writer looks at the queue.
const GATHER_TICK: Duration = Duration::from_millis(20);

impl Writer {
    fn run(mut self) {
        let mut batch: Vec<UsageRecord> = Vec::with_capacity(self.opts.batch_rows);
        let mut due: Option<Instant> = None;
        let mut next_prune = Instant::now();
        loop {
            if Instant::now() >= next_prune {
                self.prune();
                next_prune = Instant::now() + self.opts.prune_interval;
            }
            let wake = due.map_or(next_prune, |d| d.min(next_prune));
            match self
                .rx
                .recv_timeout(wake.saturating_duration_since(Instant::now()))
            {
                Ok(Msg::Record(r)) => {
                    batch.push(*r);
                    let first =
                        *due.get_or_insert_with(|| Instant::now() + self.opts.batch_interval);
                    // Gather the rest of the batch without being woken per row: a
                    // blocked receiver would cost the request path a wake-up (and on
                    // a small machine a context switch) for every request.
                    if !self.gather(&mut batch, first) {
                        self.write(&mut batch);
                        return;
                    }
                    self.write(&mut batch);
                    due = None;
                }
                Ok(Msg::Flush(ack)) => {
                    self.write(&mut batch);
                    due = None;
                    let _ = ack.send(());
                }
                Err(RecvTimeoutError::Timeout) => {
                    if due.is_some_and(|d| Instant::now() >= d) {
                        self.write(&mut batch);
                        due = None;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.write(&mut batch);
                    return;
                }
            }
        }
    }

    /// Take what arrives until `until` (or a full batch), looking every few
    /// milliseconds instead of sleeping on the channel. `false`: every handle is gone.
    fn gather(&mut self, batch: &mut Vec<UsageRecord>, until: Instant) -> bool {
        loop {
            while batch.len() < self.opts.batch_rows {
                match self.rx.try_recv() {
                    Ok(Msg::Record(r)) => batch.push(*r),
                    Ok(Msg::Flush(ack)) => {
                        self.write(batch);
                        let _ = ack.send(());
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return false,
                }
            }
            let now = Instant::now();
            if batch.len() >= self.opts.batch_rows || now >= until {
                return true;
            }
            thread::sleep(GATHER_TICK.min(until - now));
        }
    }

    /// Insert the batch, retrying with backoff; past the bound its rows are dropped.
    fn write(&mut self, batch: &mut Vec<UsageRecord>) {
        if batch.is_empty() {
            return;
        }
        let mut delay = Duration::from_millis(50);
        let mut attempt = 0;
        loop {
            match db::insert_batch(&mut self.conn, batch) {
                Ok(()) => {
                    self.shared
                        .written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    break;
                }
                Err(e) if attempt >= self.opts.max_retries => {
                    tracing::warn!(rows = batch.len(), error = %e, "usage ledger: giving up on a batch");
                    self.shared
                        .count_dropped(batch.len() as u64, "database unavailable");
                    break;
                }
                Err(e) => {
                    tracing::debug!(attempt, error = %e, "usage ledger: batch failed; retrying");
                    thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(5));
                    attempt += 1;
                }
            }
        }
        batch.clear();
    }

    fn prune(&self) {
        let days = i64::from(self.shared.retention_days.load(Ordering::Relaxed));
        if days == 0 {
            return;
        }
        let cutoff = (self.opts.clock)().saturating_sub(days.saturating_mul(DAY_MS));
        match db::prune(&self.conn, cutoff) {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, days, "usage ledger: pruned rows past retention"),
            Err(e) => {
                tracing::warn!(error = %e, "usage ledger: pruning failed; retried in an hour")
            }
        }
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
