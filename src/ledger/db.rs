//! `usage.db`: opening it (0600, WAL, busy timeout), the versioned schema and its
//! migrations, batch inserts, retention pruning and the start-up seed queries.
//!
//! The schema version is SQLite's `PRAGMA user_version`: version N means the first N
//! entries of [`MIGRATIONS`] have run. Opening read-write runs the missing ones in one
//! immediate transaction; a file from a newer build is refused, never altered.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::LedgerError;
use super::record::UsageRecord;

/// The database's file name, in the config file's directory.
pub const DB_FILE: &str = "usage.db";

/// Schema migrations, oldest first. Append only: a released entry never changes.
pub const MIGRATIONS: &[&str] = &[
    // 1: the requests table and the indexes `usage`, the limits and the dashboard use.
    "CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        key_name TEXT NOT NULL,
        client_format TEXT NOT NULL,
        upstream_id TEXT,
        upstream_format TEXT,
        model_asked TEXT NOT NULL,
        model_served TEXT,
        status INTEGER NOT NULL,
        error_class TEXT,
        latency_ms INTEGER NOT NULL,
        ttfb_ms INTEGER,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL
    );
    CREATE INDEX requests_at ON requests(at_ms);
    CREATE INDEX requests_key_at ON requests(key_id, at_ms);
    CREATE INDEX requests_unpriced_at ON requests(at_ms) WHERE cost_usd IS NULL;",
];

/// The version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Rows deleted per pruning transaction, so the write lock is never held for long.
const PRUNE_CHUNK: usize = 5_000;

/// `usage.db` in `config_dir`.
pub fn db_path(config_dir: &Path) -> PathBuf {
    config_dir.join(DB_FILE)
}

/// Open (creating if needed) for writing: directory 0700, file 0600, WAL, the busy
/// timeout, and migrations run.
pub fn open(path: &Path, busy_timeout: Duration) -> Result<Connection, LedgerError> {
    let create = |source: io::Error| LedgerError::Create {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::config::store::create_private_dir(dir).map_err(create)?;
    }
    create_private_file(path).map_err(create)?;
    let open_err = |source| LedgerError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(busy_timeout).map_err(open_err)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .map_err(open_err)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL")
        .map_err(open_err)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Open an existing database read-only (for `usage`). `None` when there is no file or
/// nothing was ever written to it.
pub fn open_read_only(path: &Path) -> Result<Option<Connection>, LedgerError> {
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LedgerError::Create {
                path: path.to_path_buf(),
                source,
            });
        }
        Ok(_) => {}
    }
    let open_err = |source| LedgerError::Open {
        path: path.to_path_buf(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(open_err)?;
    match user_version(&conn).map_err(open_err)? {
        0 => Ok(None),
        v if v > SCHEMA_VERSION => Err(LedgerError::NewerSchema {
            path: path.to_path_buf(),
            found: v,
        }),
        _ => Ok(Some(conn)),
    }
}

/// The schema version stored in the file.
pub fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(LedgerError::NewerSchema {
            path: path.to_path_buf(),
            found,
        });
    }
    let done = usize::try_from(found).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    tx.commit()?;
    Ok(())
}

/// Insert rows in one transaction: all of them or none.
pub fn insert_batch(conn: &mut Connection, rows: &[UsageRecord]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO requests (at_ms, request_id, key_id, key_name, client_format,
                upstream_id, upstream_format, model_asked, model_served, status, error_class,
                latency_ms, ttfb_ms, input_tokens, output_tokens, cache_read_tokens,
                cache_write_tokens, reasoning_tokens, cost_usd)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19)",
        )?;
        for r in rows {
            stmt.execute(params![
                r.at_ms,
                r.request_id,
                r.key_id,
                r.key_name,
                r.client_format,
                r.upstream_id,
                r.upstream_format,
                r.model_asked,
                r.model_served,
                r.status,
                r.error_class,
                int(r.latency_ms),
                r.ttfb_ms.map(int),
                int(r.input_tokens),
                int(r.output_tokens),
                int(r.cache_read_tokens),
                int(r.cache_write_tokens),
                int(r.reasoning_tokens),
                r.cost_usd.filter(|c| c.is_finite()),
            ])?;
        }
    }
    tx.commit()
}

/// Delete rows older than `cutoff_ms`, a chunk per transaction. Returns how many.
pub fn prune(conn: &Connection, cutoff_ms: i64) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare(
        "DELETE FROM requests WHERE id IN
            (SELECT id FROM requests WHERE at_ms < ?1 ORDER BY at_ms LIMIT ?2)",
    )?;
    let mut total = 0;
    loop {
        let n = stmt.execute(params![cutoff_ms, PRUNE_CHUNK as i64])?;
        total += n;
        if n < PRUNE_CHUNK {
            return Ok(total);
        }
    }
}

/// USD spent by a key since `since_ms` (unpriced rows count 0).
pub fn spend_since(conn: &Connection, key_id: &str, since_ms: i64) -> rusqlite::Result<f64> {
    conn.query_row(
        "SELECT TOTAL(cost_usd) FROM requests WHERE key_id = ?1 AND at_ms >= ?2",
        params![key_id, since_ms],
        |r| r.get(0),
    )
}

/// What a key used since `since_ms`: requests that were let through (refusals by a
/// limit not counted, as `rpm` counts admitted requests), and tokens (input + output +
/// cache read + cache write).
pub fn use_since(conn: &Connection, key_id: &str, since_ms: i64) -> rusqlite::Result<(u64, u64)> {
    let (requests, tokens): (i64, i64) = conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE error_class IS NULL OR error_class NOT LIKE 'refused%'),
                COALESCE(SUM(input_tokens + output_tokens + cache_read_tokens
                    + cache_write_tokens), 0)
         FROM requests WHERE key_id = ?1 AND at_ms >= ?2",
        params![key_id, since_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((
        u64::try_from(requests).unwrap_or(0),
        u64::try_from(tokens).unwrap_or(0),
    ))
}

/// SQLite integers are signed; token counts beyond i64 saturate.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Create the file 0600 if missing, and make an existing one 0600.
fn create_private_file(path: &Path) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let file = opts.open(path)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    opts.open(path)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ledger::record::test_row as row;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn migrates_empty_then_reopens_existing() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(&dir.path().join("cfg"));
        let mut conn = open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        insert_batch(&mut conn, &[row(1, "k", Some(0.5)), row(2, "k", None)]).unwrap();
        drop(conn);

        // An existing, current database: nothing re-run, rows kept.
        let conn = open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(count(&conn), 2);
        let idx: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(idx, 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(dir.path());
        let conn = open(&path, Duration::from_secs(1)).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(conn);
        let err = open(&path, Duration::from_secs(1)).unwrap_err();
        assert!(
            matches!(err, LedgerError::NewerSchema { found: 99, .. }),
            "{err}"
        );
        assert!(open_read_only(&path).is_err());
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 99);
    }

    #[test]
    fn read_only_missing_or_empty_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(dir.path());
        assert!(open_read_only(&path).unwrap().is_none());
        fs::write(&path, b"").unwrap();
        assert!(open_read_only(&path).unwrap().is_none());
        let mut conn = open(&path, Duration::from_secs(1)).unwrap();
        insert_batch(&mut conn, &[row(5, "k", None)]).unwrap();
        let ro = open_read_only(&path).unwrap().unwrap();
        assert_eq!(count(&ro), 1);
        assert!(ro.execute("DELETE FROM requests", []).is_err());
    }

    #[test]
    fn prune_and_seed_queries() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&db_path(dir.path()), Duration::from_secs(1)).unwrap();
        let rows: Vec<_> = (0..12_000)
            .map(|i| row(i, if i % 2 == 0 { "a" } else { "b" }, Some(0.25)))
            .collect();
        insert_batch(&mut conn, &rows).unwrap();
        assert_eq!(spend_since(&conn, "a", 11_000).unwrap(), 125.0);
        assert_eq!(use_since(&conn, "b", 11_990).unwrap(), (5, 5 * 18));
        assert_eq!(use_since(&conn, "zzz", 0).unwrap(), (0, 0));
        let refused = UsageRecord {
            error_class: Some("refused_rpm".into()),
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            ..row(11_999, "b", None)
        };
        let failed = UsageRecord {
            error_class: Some("upstream_5xx".into()),
            ..row(11_999, "b", None)
        };
        insert_batch(&mut conn, &[refused, failed]).unwrap();
        assert_eq!(use_since(&conn, "b", 11_990).unwrap(), (6, 6 * 18));
        assert_eq!(prune(&conn, 11_000).unwrap(), 11_000);
        assert_eq!(count(&conn), 1_002);
        assert_eq!(prune(&conn, 11_000).unwrap(), 0);
    }
}
