//! The sums `llm-gateway usage` prints: one pass over the window's rows, grouped by key,
//! model, upstream or UTC day; totals are the sum of the groups.
//!
//! A row is an error when its status is 400 or more or it has an error class. A row is
//! unpriced when it used tokens but has no cost (its model has no price): its cost
//! counts as 0 and the group says so.

use std::collections::{BTreeSet, HashMap};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, params_from_iter};

use super::record::UsageRecord;
use serde::Serialize;

/// What rows are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// The gateway key (by id; labelled with its latest recorded name).
    Key,
    /// The model served (the model asked when none was served).
    Model,
    /// The upstream that answered; `None` for requests refused before one was tried.
    Upstream,
    /// The UTC calendar day, `YYYY-MM-DD`.
    Day,
}

/// Which rows: from `since_ms` on, optionally one key.
#[derive(Clone, Debug)]
pub struct UsageQuery {
    pub since_ms: i64,
    pub by: GroupBy,
    pub key_id: Option<String>,
}

/// Sums over a set of rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sums {
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    /// Priced rows only; see `unpriced_requests`.
    pub cost_usd: f64,
    /// Rows that used tokens of a model without a price (their cost counts as 0).
    pub unpriced_requests: u64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.cache_write_tokens += o.cache_write_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
        self.cost_usd += o.cost_usd;
        self.unpriced_requests += o.unpriced_requests;
    }
}

/// One group's sums.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Group {
    /// The key id, model, upstream id or day; `None` only for "no upstream".
    pub group: Option<String>,
    /// For keys, the name recorded with the key's latest row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_name: Option<String>,
    #[serde(flatten)]
    pub sums: Sums,
}

/// Totals, groups (days in order, others by cost then requests) and unpriced models.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UsageReport {
    pub totals: Sums,
    pub groups: Vec<Group>,
    pub unpriced_models: Vec<String>,
}

const DAY_MS: i64 = 86_400_000;
const TOKENS: &str = "(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens)";

/// Run the query: one pass over the window's rows (the time index), summed here rather
/// than by SQLite's `GROUP BY`, which sorts every row first (2.5 times slower on a
/// million rows: docs/usage.md). The same pass names the models of unpriced rows.
pub fn report(conn: &Connection, q: &UsageQuery) -> rusqlite::Result<UsageReport> {
    let mut reports = reports(conn, q.since_ms, q.key_id.as_deref(), &[q.by])?;
    Ok(reports.pop().unwrap_or_default())
}

/// Several groupings of the same rows in one pass (the dashboard's by key, by model and
/// by upstream) of the rows from `since_ms` on (of one key, if given): each row is read
/// once and added to every grouping.
pub fn reports(
    conn: &Connection,
    since_ms: i64,
    key_id: Option<&str>,
    bys: &[GroupBy],
) -> rusqlite::Result<Vec<UsageReport>> {
    let groups: Vec<&str> = bys
        .iter()
        .map(|by| match by {
            GroupBy::Key => "key_id",
            GroupBy::Model => "COALESCE(model_served, model_asked)",
            GroupBy::Upstream => "upstream_id",
            GroupBy::Day => "at_ms / 86400000",
        })
        .collect();
    let sql = format!(
        "SELECT key_name, at_ms, status >= 400 OR error_class IS NOT NULL,
            input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
            reasoning_tokens, cost_usd,
            CASE WHEN cost_usd IS NULL AND {TOKENS} > 0
                THEN COALESCE(model_served, model_asked) END{}{}
         FROM requests {}",
        if groups.is_empty() { "" } else { ", " },
        groups.join(", "),
        where_clause(key_id)
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(params(since_ms, key_id)))?;
    let mut groupings: Vec<Grouping> = bys.iter().map(|&by| Grouping::new(by)).collect();
    let mut unpriced: BTreeSet<String> = BTreeSet::new();
    while let Some(r) = rows.next()? {
        if let ValueRef::Text(m) = r.get_ref(9)? {
            let m = String::from_utf8_lossy(m);
            if !unpriced.contains(m.as_ref()) {
                unpriced.insert(m.into_owned());
            }
        }
        let row = RowSums::read(r)?;
        let label = r.get_ref(0)?;
        for (j, g) in groupings.iter_mut().enumerate() {
            let i = g.slot(r.get_ref(10 + j)?);
            if let Some(acc) = g.accs.get_mut(i) {
                acc.add(&row, (g.by == GroupBy::Key).then_some(label));
            }
        }
    }
    let unpriced: Vec<String> = unpriced.into_iter().collect();
    Ok(groupings
        .into_iter()
        .map(|g| g.finish(unpriced.clone()))
        .collect())
}

/// One grouping being summed: its groups in order of appearance, found by value.
struct Grouping {
    by: GroupBy,
    accs: Vec<Acc>,
    by_text: HashMap<String, usize>,
    by_int: HashMap<i64, usize>,
    null: Option<usize>,
}

impl Grouping {
    fn new(by: GroupBy) -> Self {
        Grouping {
            by,
            accs: Vec::new(),
            by_text: HashMap::new(),
            by_int: HashMap::new(),
            null: None,
        }
    }

    /// The index of the group of value `v`, made on first sight.
    fn slot(&mut self, v: ValueRef<'_>) -> usize {
        let accs = &mut self.accs;
        match v {
            ValueRef::Null => *self.null.get_or_insert_with(|| push(accs, Key::Null)),
            ValueRef::Integer(n) => *self
                .by_int
                .entry(n)
                .or_insert_with(|| push(accs, Key::Int(n))),
            // No group expression is a real; keep the row all the same.
            ValueRef::Real(f) => *self
                .by_text
                .entry(f.to_string())
                .or_insert_with(|| push(accs, Key::Text(f.to_string()))),
            ValueRef::Text(t) | ValueRef::Blob(t) => {
                let k = String::from_utf8_lossy(t);
                match self.by_text.get(k.as_ref()) {
                    Some(&i) => i,
                    None => {
                        let i = push(accs, Key::Text(k.to_string()));
                        self.by_text.insert(k.into_owned(), i);
                        i
                    }
                }
            }
        }
    }

    fn finish(self, unpriced_models: Vec<String>) -> UsageReport {
        let mut report = UsageReport {
            unpriced_models,
            ..UsageReport::default()
        };
        for acc in self.accs {
            report.totals.add(&acc.sums);
            let group = match acc.key {
                Key::Null => None,
                Key::Int(day) if self.by == GroupBy::Day => Some(day_label(day)),
                Key::Int(n) => Some(n.to_string()),
                Key::Text(t) => Some(t),
            };
            report.groups.push(Group {
                group,
                recorded_name: acc.label,
                sums: acc.sums,
            });
        }
        if self.by == GroupBy::Day {
            report.groups.sort_by(|a, b| a.group.cmp(&b.group));
        } else {
            report.groups.sort_by(|a, b| {
                b.sums
                    .cost_usd
                    .total_cmp(&a.sums.cost_usd)
                    .then(b.sums.requests.cmp(&a.sums.requests))
                    .then(a.group.cmp(&b.group))
            });
        }
        report
    }
}

enum Key {
    Null,
    Int(i64),
    Text(String),
}

/// One group being summed; `label` is the text of the group's latest row (key names).
struct Acc {
    key: Key,
    sums: Sums,
    latest_ms: i64,
    label: Option<String>,
}

fn push(accs: &mut Vec<Acc>, key: Key) -> usize {
    accs.push(Acc {
        key,
        sums: Sums::default(),
        latest_ms: i64::MIN,
        label: None,
    });
    accs.len() - 1
}

/// What a row of the `reports` query adds to its groups, read once.
struct RowSums {
    at_ms: i64,
    error: bool,
    input: u64,
    output: u64,
    read: u64,
    write: u64,
    reasoning: u64,
    cost_usd: Option<f64>,
}

impl RowSums {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let n = |i: usize| -> rusqlite::Result<u64> {
            Ok(u64::try_from(r.get::<_, Option<i64>>(i)?.unwrap_or(0)).unwrap_or(0))
        };
        Ok(RowSums {
            at_ms: r.get(1)?,
            error: n(2)? > 0,
            input: n(3)?,
            output: n(4)?,
            read: n(5)?,
            write: n(6)?,
            reasoning: n(7)?,
            cost_usd: r.get(8)?,
        })
    }
}

impl Acc {
    /// Add a row; `label` (the key name) only for groupings by key.
    fn add(&mut self, row: &RowSums, label: Option<ValueRef<'_>>) {
        let s = &mut self.sums;
        s.requests += 1;
        s.errors += u64::from(row.error);
        s.input_tokens += row.input;
        s.output_tokens += row.output;
        s.cache_read_tokens += row.read;
        s.cache_write_tokens += row.write;
        s.reasoning_tokens += row.reasoning;
        match row.cost_usd {
            Some(c) => s.cost_usd += c,
            None if row.input + row.output + row.read + row.write > 0 => s.unpriced_requests += 1,
            None => {}
        }
        if row.at_ms >= self.latest_ms {
            self.latest_ms = row.at_ms;
            if let Some(ValueRef::Text(t)) = label
                && self.label.as_deref().map(str::as_bytes) != Some(t)
            {
                self.label = Some(String::from_utf8_lossy(t).into_owned());
            }
        }
    }
}

fn where_clause(key_id: Option<&str>) -> &'static str {
    match key_id {
        Some(_) => "WHERE at_ms >= ?1 AND key_id = ?2",
        None => "WHERE at_ms >= ?1",
    }
}

fn params(since_ms: i64, key_id: Option<&str>) -> Vec<rusqlite::types::Value> {
    let mut p = vec![rusqlite::types::Value::Integer(since_ms)];
    if let Some(k) = key_id {
        p.push(rusqlite::types::Value::Text(k.to_string()));
    }
    p
}

/// The latest `limit` rows, newest first (the dashboard's list; the ledger holds no
/// bodies).
pub fn recent(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<UsageRecord>> {
    let mut stmt = conn.prepare(
        "SELECT at_ms, request_id, key_id, key_name, client_format, upstream_id,
            upstream_format, model_asked, model_served, status, error_class, latency_ms,
            ttfb_ms, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
            reasoning_tokens, cost_usd
         FROM requests ORDER BY at_ms DESC, id DESC LIMIT ?1",
    )?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok(UsageRecord {
            at_ms: r.get(0)?,
            request_id: r.get(1)?,
            key_id: r.get(2)?,
            key_name: r.get(3)?,
            client_format: r.get(4)?,
            upstream_id: r.get(5)?,
            upstream_format: r.get(6)?,
            model_asked: r.get(7)?,
            model_served: r.get(8)?,
            status: u16::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
            error_class: r.get(10)?,
            latency_ms: n(r.get(11)?),
            ttfb_ms: r.get::<_, Option<i64>>(12)?.map(n),
            input_tokens: n(r.get(13)?),
            output_tokens: n(r.get(14)?),
            cache_read_tokens: n(r.get(15)?),
            cache_write_tokens: n(r.get(16)?),
            reasoning_tokens: n(r.get(17)?),
            cost_usd: r.get(18)?,
        })
    })?;
    rows.collect()
}

/// Requests, errors and tokens (cache included) per minute since `since_ms`, oldest
/// first; minutes without requests are left out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Minute {
    pub minute_ms: i64,
    pub requests: u64,
    pub errors: u64,
    pub tokens: u64,
}

pub fn per_minute(conn: &Connection, since_ms: i64) -> rusqlite::Result<Vec<Minute>> {
    let sql = format!(
        "SELECT at_ms / 60000 * 60000, COUNT(*),
            SUM(status >= 400 OR error_class IS NOT NULL), SUM({TOKENS})
         FROM requests WHERE at_ms >= ?1 GROUP BY 1 ORDER BY 1"
    );
    let mut stmt = conn.prepare(&sql)?;
    let n = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
    let rows = stmt.query_map([since_ms], |r| {
        Ok(Minute {
            minute_ms: r.get(0)?,
            requests: n(r.get(1)?),
            errors: n(r.get(2)?),
            tokens: n(r.get(3)?),
        })
    })?;
    rows.collect()
}

/// The key id recorded for `id_or_name` (an id wins over a name), newest first.
pub fn find_key(conn: &Connection, id_or_name: &str) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare(
        "SELECT key_id FROM requests WHERE key_id = ?1
         UNION ALL SELECT * FROM
            (SELECT key_id FROM requests WHERE key_name = ?1 ORDER BY at_ms DESC LIMIT 1)
         LIMIT 1",
    )?;
    let mut rows = stmt.query([id_or_name])?;
    rows.next()?.map(|r| r.get(0)).transpose()
}

/// `--since` (and the admin API's `since`): a duration back from `now_ms` (`24h`, `7d`),
/// a UTC date (`2026-01-31`), an RFC 3339 time, or `all`. Returns unix milliseconds; the
/// error names the text and what was expected (the caller says which parameter).
pub fn parse_since(text: &str, now_ms: i64) -> Result<i64, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("all") {
        return Ok(0);
    }
    if let Ok(d) = humantime::parse_duration(t) {
        let back = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        return Ok(now_ms.saturating_sub(back).max(0));
    }
    let is_date = t.len() == 10 && t.as_bytes().get(4) == Some(&b'-');
    let stamp = if is_date {
        humantime::parse_rfc3339(&format!("{t}T00:00:00Z"))
    } else {
        humantime::parse_rfc3339_weak(t)
    };
    match stamp {
        Ok(at) => Ok(at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)),
        Err(_) => Err(format!(
            "{t:?}: expected a duration (24h, 7d, 30d), a date (2026-01-31), \
             a time (2026-01-31T12:00:00Z) or `all`"
        )),
    }
}

/// `YYYY-MM-DD` of a day number since the epoch (UTC).
pub fn day_label(day: i64) -> String {
    let secs = u64::try_from(day.saturating_mul(DAY_MS / 1000)).unwrap_or(0);
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ledger::db;
    use crate::ledger::record::{UsageRecord, test_row};

    fn fixture() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(
            &dir.path().join("usage.db"),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        let mut rows = vec![
            test_row(DAY_MS, "k1", Some(1.0)),
            test_row(DAY_MS + 5, "k1", Some(0.5)),
            test_row(2 * DAY_MS, "k2", Some(0.25)),
        ];
        rows[1].key_name = "renamed".into();
        rows.push(UsageRecord {
            model_served: None,
            model_asked: "mystery".into(),
            upstream_id: Some("up_1".into()),
            reasoning_tokens: 3,
            ..test_row(2 * DAY_MS + 1, "k2", None)
        });
        // A refusal: no tokens, no cost, not "unpriced".
        rows.push(UsageRecord {
            status: 429,
            error_class: Some("refused_budget".into()),
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            ..test_row(3 * DAY_MS, "k1", None)
        });
        db::insert_batch(&mut conn, &rows).unwrap();
        (dir, conn)
    }

    fn run(conn: &Connection, by: GroupBy, since_ms: i64, key: Option<&str>) -> UsageReport {
        let q = UsageQuery {
            since_ms,
            by,
            key_id: key.map(String::from),
        };
        report(conn, &q).unwrap()
    }

    #[test]
    fn groups_sum_to_totals() {
        let (_d, conn) = fixture();
        let by_key = run(&conn, GroupBy::Key, 0, None);
        let t = &by_key.totals;
        assert_eq!((t.requests, t.errors, t.unpriced_requests), (5, 1, 1));
        assert_eq!((t.input_tokens, t.output_tokens), (40, 20));
        assert_eq!((t.cache_read_tokens, t.cache_write_tokens), (8, 4));
        assert_eq!(t.reasoning_tokens, 3);
        assert!((t.cost_usd - 1.75).abs() < 1e-9);
        assert_eq!(by_key.unpriced_models, vec!["mystery".to_string()]);
        let k1 = &by_key.groups[0];
        assert_eq!(k1.group.as_deref(), Some("k1"));
        assert_eq!(
            k1.recorded_name.as_deref(),
            Some("k1-name"),
            "latest row's name"
        );
        assert_eq!((k1.sums.requests, k1.sums.errors), (3, 1));

        for by in [GroupBy::Model, GroupBy::Upstream, GroupBy::Day] {
            assert_eq!(&run(&conn, by, 0, None).totals, t, "{by:?}");
        }
        let days = run(&conn, GroupBy::Day, 0, None);
        let labels: Vec<_> = days.groups.iter().filter_map(|g| g.group.clone()).collect();
        assert_eq!(labels, ["1970-01-02", "1970-01-03", "1970-01-04"]);
        let ups = run(&conn, GroupBy::Upstream, 0, None);
        assert!(
            ups.groups
                .iter()
                .any(|g| g.group.is_none() && g.sums.requests == 4)
        );
        let models = run(&conn, GroupBy::Model, 0, None);
        let mystery = models
            .groups
            .iter()
            .find(|g| g.group.as_deref() == Some("mystery"));
        assert_eq!(mystery.unwrap().sums.unpriced_requests, 1);
    }

    #[test]
    fn since_and_key_filter() {
        let (_d, conn) = fixture();
        let r = run(&conn, GroupBy::Model, 2 * DAY_MS, None);
        assert_eq!(r.totals.requests, 3);
        let r = run(&conn, GroupBy::Model, 0, Some("k2"));
        assert_eq!(r.totals.requests, 2);
        assert!((r.totals.cost_usd - 0.25).abs() < 1e-9);
        let r = run(&conn, GroupBy::Model, 0, Some("k1"));
        assert!(r.unpriced_models.is_empty());
        assert_eq!(find_key(&conn, "renamed").unwrap().as_deref(), Some("k1"));
        assert_eq!(find_key(&conn, "k2").unwrap().as_deref(), Some("k2"));
        assert_eq!(find_key(&conn, "nobody").unwrap(), None);
    }

    #[test]
    fn one_pass_gives_each_grouping_as_its_own_query_does() {
        let (_d, conn) = fixture();
        let all = [
            GroupBy::Key,
            GroupBy::Model,
            GroupBy::Upstream,
            GroupBy::Day,
        ];
        for (since, key) in [(0, None), (2 * DAY_MS, None), (0, Some("k1"))] {
            let together = reports(&conn, since, key, &all).unwrap();
            assert_eq!(together.len(), all.len());
            for (by, r) in all.iter().zip(&together) {
                assert_eq!(
                    r,
                    &run(&conn, *by, since, key),
                    "{by:?} since {since} {key:?}"
                );
            }
        }
        assert!(reports(&conn, 0, None, &[]).unwrap().is_empty());
    }
}
