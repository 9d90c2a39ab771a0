//! The usage ledger: one row per request in `usage.db` beside the config file.
//!
//! - [`record`]: the row ([`UsageRecord`]) and its token conventions;
//! - [`db`]: the file (0600, WAL), the versioned schema, inserts, pruning, seed queries;
//! - [`writer`]: [`Ledger`] and the cheap [`LedgerHandle`] the request path records
//!   through (a bounded channel; a writer thread inserts in batches, off the request
//!   path; rows that cannot be kept are counted, never silently lost);
//! - [`query`]: the grouped sums `llm-gateway usage` prints.
//!
//! docs/usage.md describes the schema for people querying the file with `sqlite3`.

pub mod db;
pub mod query;
pub mod record;
pub mod writer;

use std::io;
use std::path::PathBuf;

pub use record::{UsageRecord, now_ms};
pub use writer::{Clock, Ledger, LedgerHandle, LedgerOptions};

/// Why the ledger could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot create {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot open the usage database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{path} has schema version {found}, newer than this build understands ({}); \
         upgrade llm-gateway",
        db::SCHEMA_VERSION
    )]
    NewerSchema { path: PathBuf, found: i64 },
    #[error("usage database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot start the usage writer thread: {0}")]
    Thread(io::Error),
}
