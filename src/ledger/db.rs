//! `usage.db`: opening it (0600, WAL, busy timeout), the versioned schema and its
//! migrations, batch inserts, retention pruning and the start-up seed queries.
//!
//! The schema version is SQLite's `PRAGMA user_version`: version N means the first N
//! entries of [`MIGRATIONS`] have run. Opening read-write runs the missing ones in one
//! immediate transaction; a file from a newer build is refused, never altered.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
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
    // 2: only the time index. Each index is paid on every insert, on the writer's CPU
    // that the request path shares: `(key_id, at_ms)` cost 27 % of an insert and the
    // partial index 9 % (instruction counts, docs/usage.md). Seeding the limits is one
    // pass over the time index ([`seed_sums`]); `usage` finds unpriced models in its
    // main pass.
    "DROP INDEX IF EXISTS requests_key_at;
    DROP INDEX IF EXISTS requests_unpriced_at;",
];

/// The version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const DAY_MS: i64 = 86_400_000;

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

/// What one key's recent rows add up to: what seeding its limits needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeySums {
    /// USD per UTC day (day start in unix ms, ascending); unpriced rows count 0.
    pub spend_by_day: Vec<(i64, f64)>,
    /// Requests let through since the minute's start (refusals by a limit are not
    /// counted: `rpm` counts admitted requests).
    pub minute_requests: u64,
    /// Tokens (input + output + cache read + cache write) since the minute's start.
    pub minute_tokens: u64,
}

impl KeySums {
    /// USD spent from `since_ms` on, for a `since_ms` at a UTC midnight (every budget
    /// period starts at one).
    pub fn spend_since(&self, since_ms: i64) -> f64 {
        self.spend_by_day
            .iter()
            .filter(|(day, _)| *day >= since_ms)
            .map(|(_, usd)| usd)
            .sum()
    }
}

/// Every key's sums over the rows from `since_ms` on (spend by day) and from
/// `minute_ms` on (requests and tokens), in one pass over the time index.
pub fn seed_sums(
    conn: &Connection,
    since_ms: i64,
    minute_ms: i64,
) -> rusqlite::Result<HashMap<String, KeySums>> {
    let mut stmt = conn.prepare(
        "SELECT key_id, at_ms, cost_usd,
            error_class IS NULL OR error_class NOT LIKE 'refused%',
            input_tokens + output_tokens + cache_read_tokens + cache_write_tokens
         FROM requests WHERE at_ms >= ?1 ORDER BY at_ms",
    )?;
    let mut rows = stmt.query(params![since_ms.min(minute_ms)])?;
    let mut sums: HashMap<String, KeySums> = HashMap::new();
    while let Some(r) = rows.next()? {
        let key = match r.get_ref(0)? {
            ValueRef::Text(t) => String::from_utf8_lossy(t),
            _ => continue,
        };
        let s = match sums.get_mut(key.as_ref()) {
            Some(s) => s,
            None => sums.entry(key.into_owned()).or_default(),
        };
        let at: i64 = r.get(1)?;
        if at >= since_ms {
            let cost = r
                .get::<_, Option<f64>>(2)?
                .filter(|c| c.is_finite())
                .unwrap_or(0.0);
            let day = at.div_euclid(DAY_MS) * DAY_MS;
            match s.spend_by_day.last_mut() {
                Some((d, usd)) if *d == day => *usd += cost,
                _ => s.spend_by_day.push((day, cost)),
            }
        }
        if at >= minute_ms {
            s.minute_requests += u64::from(r.get::<_, bool>(3)?);
            s.minute_tokens = s
                .minute_tokens
                .saturating_add(u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0));
        }
    }
    Ok(sums)
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
        assert_eq!(idx, 1, "only requests_at");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_version_1_file_keeps_its_rows_and_loses_two_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(dir.path());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
        conn.execute(
            "INSERT INTO requests (at_ms, request_id, key_id, key_name, client_format,
                model_asked, status, latency_ms) VALUES (7, 'r', 'k', 'n', 'chat', 'm', 200, 1)",
            [],
        )
        .unwrap();
        drop(conn);
        let conn = open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(count(&conn), 1);
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["requests_at"]);
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
        let sums = seed_sums(&conn, 11_000, 11_990).unwrap();
        assert_eq!(sums["a"].spend_since(0), 125.0);
        assert_eq!(
            (sums["b"].minute_requests, sums["b"].minute_tokens),
            (5, 5 * 18)
        );
        assert!(!sums.contains_key("zzz"));
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
        let b = &seed_sums(&conn, 11_000, 11_990).unwrap()["b"];
        assert_eq!((b.minute_requests, b.minute_tokens), (6, 6 * 18));
        assert_eq!(prune(&conn, 11_000).unwrap(), 11_000);
        assert_eq!(count(&conn), 1_002);
        assert_eq!(prune(&conn, 11_000).unwrap(), 0);
    }
}
