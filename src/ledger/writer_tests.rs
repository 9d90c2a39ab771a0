//! The writer: batching, drops, a locked database, retention with injected time.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::ledger::record::test_row as row;

fn count(path: &Path) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))
        .unwrap()
}

fn wait_until(what: impl Fn() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if what() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn batches_by_size_then_by_time_then_on_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let opts = LedgerOptions {
        batch_rows: 3,
        batch_interval: Duration::from_secs(60),
        ..LedgerOptions::new(90)
    };
    let ledger = Ledger::open_with(&path, opts).unwrap();
    let h = ledger.handle();
    let now = now_ms();
    for i in 0..7 {
        h.record(row(now + i, "k", Some(0.1)));
    }
    // Two full batches go at once; the seventh row waits for its interval.
    assert!(wait_until(|| h.written() == 6));
    thread::sleep(Duration::from_millis(100));
    assert_eq!(h.written(), 6);
    assert!(h.flush_blocking(Duration::from_secs(5)));
    assert_eq!((h.written(), count(&path), h.dropped()), (7, 7, 0));

    // A lone row is written once its interval passes, without a flush.
    let opts = LedgerOptions {
        batch_interval: Duration::from_millis(50),
        ..LedgerOptions::new(90)
    };
    let ledger = Ledger::open_with(&path, opts).unwrap();
    let h = ledger.handle();
    h.record(row(now + 100, "k", None));
    assert!(wait_until(|| h.written() == 1));
    assert_eq!(count(&path), 8);
    let sums = ledger.seed_sums(now, now).unwrap();
    let k = &sums["k"];
    assert!((k.spend_since(0) - 0.7).abs() < 1e-9);
    assert_eq!((k.minute_requests, k.minute_tokens), (8, 8 * 18));
}

#[test]
fn full_queue_counts_drops() {
    let (tx, rx) = mpsc::sync_channel(2);
    let h = LedgerHandle {
        tx,
        shared: Shared::new(90),
    };
    for i in 0..5 {
        h.record(row(i, "k", None));
    }
    assert_eq!(h.dropped(), 3);
    assert_eq!(rx.try_iter().count(), 2);
    drop(rx);
    h.record(row(9, "k", None));
    assert_eq!(h.dropped(), 4);
    assert!(!h.flush_blocking(Duration::from_millis(10)));

    let off = LedgerHandle::disabled();
    off.record(row(1, "k", None));
    assert_eq!((off.dropped(), off.written()), (1, 0));
}

#[test]
fn locked_database_never_blocks_record_and_rows_land_after() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let opts = LedgerOptions {
        batch_interval: Duration::from_millis(10),
        busy_timeout: Duration::from_millis(20),
        ..LedgerOptions::new(90)
    };
    let ledger = Ledger::open_with(&path, opts).unwrap();
    let h = ledger.handle();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let start = Instant::now();
    for i in 0..2_000 {
        h.record(row(now_ms() + i, "k", None));
    }
    let spent = start.elapsed();
    assert!(spent < Duration::from_millis(500), "record took {spent:?}");
    thread::sleep(Duration::from_millis(200));
    assert_eq!(h.written(), 0, "nothing can be written while locked");

    other.execute_batch("COMMIT").unwrap();
    assert!(h.flush_blocking(Duration::from_secs(20)));
    assert_eq!((h.written(), h.dropped(), count(&path)), (2_000, 0, 2_000));
}

#[test]
fn a_batch_past_the_retry_bound_is_counted_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let opts = LedgerOptions {
        busy_timeout: Duration::from_millis(10),
        max_retries: 1,
        ..LedgerOptions::new(90)
    };
    let ledger = Ledger::open_with(&path, opts).unwrap();
    let h = ledger.handle();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    for i in 0..10 {
        h.record(row(i, "k", None));
    }
    assert!(h.flush_blocking(Duration::from_secs(10)));
    assert_eq!((h.written(), h.dropped()), (0, 10));
    other.execute_batch("COMMIT").unwrap();
}

#[test]
fn retention_prunes_at_start_with_injected_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let mut conn = db::open(&path, Duration::from_secs(1)).unwrap();
    // One row a day for days 0..100.
    let rows: Vec<_> = (0..100).map(|d| row(d * DAY_MS, "k", None)).collect();
    db::insert_batch(&mut conn, &rows).unwrap();
    drop(conn);

    let opts = LedgerOptions {
        clock: Arc::new(|| 100 * DAY_MS),
        ..LedgerOptions::new(30)
    };
    let ledger = Ledger::open_with(&path, opts).unwrap();
    assert!(ledger.handle().flush_blocking(Duration::from_secs(5)));
    // Kept: days 70..=99 (cutoff = day 70, exclusive below).
    assert_eq!(count(&path), 30);
    let oldest: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT MIN(at_ms) FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(oldest, 70 * DAY_MS);
}

#[test]
fn dropping_every_handle_writes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let opts = LedgerOptions {
        batch_interval: Duration::from_secs(60),
        ..LedgerOptions::new(90)
    };
    let ledger = Ledger::open_with(&path, opts).unwrap();
    let h = ledger.handle();
    h.record(row(now_ms(), "k", None));
    drop(ledger);
    drop(h);
    assert!(wait_until(|| count(&path) == 1));
}
