//! `llm-gateway usage`: totals and a grouped table from `usage.db`, read directly
//! (read-only, no server needed). Keys and upstreams are shown by their names in the
//! config when they still exist there, else as recorded.

use serde::Serialize;

use super::args::UsageArgs;
use super::output::{Output, Table};
use super::{CliError, CliResult, Ctx, user_error};
use crate::config::Config;
use crate::ledger::query::{self, Group, GroupBy, Sums, UsageQuery, UsageReport, parse_since};
use crate::ledger::{db, now_ms};

/// The `--json` document.
#[derive(Serialize)]
struct UsageJson<'a> {
    /// The database read; `null` when none exists yet.
    database: Option<String>,
    since: String,
    since_ms: i64,
    until_ms: i64,
    by: GroupBy,
    key: Option<&'a str>,
    totals: &'a Sums,
    groups: Vec<GroupJson<'a>>,
    unpriced_models: &'a [String],
}

#[derive(Serialize)]
struct GroupJson<'a> {
    #[serde(flatten)]
    group: &'a Group,
    /// What the table shows: the key's or upstream's name, the model, the day.
    name: String,
    /// Some of its rows used a model without a price (their cost counted as 0).
    unpriced: bool,
}

pub fn run(ctx: &Ctx, args: UsageArgs) -> CliResult {
    let now = now_ms();
    let since_ms = parse_since(&args.since, now).map_err(|e| user_error(format!("--since {e}")))?;
    let path = db::db_path(ctx.store.dir());
    // Names only: a config that does not load must not hide the usage.
    let config = ctx.store.load().ok();
    let conn = db::open_read_only(&path).map_err(|e| CliError::Other(e.into()))?;
    let by = GroupBy::from(args.by);

    let (key_id, report) = match &conn {
        None => (None, UsageReport::default()),
        Some(conn) => {
            let key_id = match &args.key {
                Some(k) => Some(resolve_key(conn, config.as_ref(), k)?),
                None => None,
            };
            let q = UsageQuery {
                since_ms,
                by,
                key_id: key_id.clone(),
            };
            let report = query::report(conn, &q).map_err(|e| CliError::Other(e.into()))?;
            (key_id, report)
        }
    };
    let since = format_ms(since_ms);
    let names: Vec<String> = report
        .groups
        .iter()
        .map(|g| group_name(by, g, config.as_ref()))
        .collect();
    if ctx.out.json {
        let doc = UsageJson {
            database: conn.as_ref().map(|_| path.display().to_string()),
            since,
            since_ms,
            until_ms: now,
            by,
            key: key_id.as_deref(),
            totals: &report.totals,
            groups: report
                .groups
                .iter()
                .zip(names)
                .map(|(group, name)| GroupJson {
                    unpriced: group.sums.unpriced_requests > 0,
                    group,
                    name,
                })
                .collect(),
            unpriced_models: &report.unpriced_models,
        };
        ctx.out.json(&doc)?;
        return Ok(());
    }
    if conn.is_none() {
        ctx.out.line(&format!(
            "No usage recorded yet ({} does not exist; the server writes it).",
            path.display()
        ))?;
        return Ok(());
    }
    ctx.out
        .line(&human(&ctx.out, by, &since, &args, &report, &names))?;
    Ok(())
}

fn human(
    out: &Output,
    by: GroupBy,
    since: &str,
    args: &UsageArgs,
    r: &UsageReport,
    names: &[String],
) -> String {
    let t = &r.totals;
    let key = args
        .key
        .as_deref()
        .map(|k| format!(", key {k}"))
        .unwrap_or_default();
    let mut text = format!(
        "Usage since {since} ({}{key})\n{} requests ({} errors) · input {} · output {} · \
         cache read {} · cache write {} · reasoning {} · cost {}\n\n",
        args.since,
        t.requests,
        t.errors,
        t.input_tokens,
        t.output_tokens,
        t.cache_read_tokens,
        t.cache_write_tokens,
        t.reasoning_tokens,
        cost_cell(t),
    );
    let first = match by {
        GroupBy::Key => "KEY",
        GroupBy::Model => "MODEL",
        GroupBy::Upstream => "UPSTREAM",
        GroupBy::Day => "DAY",
    };
    let mut table = Table::new(vec![
        first,
        "REQUESTS",
        "ERRORS",
        "INPUT",
        "OUTPUT",
        "CACHE READ",
        "CACHE WRITE",
        "REASONING",
        "COST",
    ]);
    for (g, name) in r.groups.iter().zip(names) {
        let s = &g.sums;
        table.row(vec![
            name.clone(),
            s.requests.to_string(),
            s.errors.to_string(),
            s.input_tokens.to_string(),
            s.output_tokens.to_string(),
            s.cache_read_tokens.to_string(),
            s.cache_write_tokens.to_string(),
            s.reasoning_tokens.to_string(),
            cost_cell(s),
        ]);
    }
    if r.groups.is_empty() {
        text.push_str("No requests in this window.\n");
    } else {
        text.push_str(&table.render());
    }
    if !r.unpriced_models.is_empty() {
        text.push_str(&format!(
            "\n{}: no price for {}; their cost counts as $0 (set one with \
             `llm-gateway prices set`).\n",
            out.bold("unpriced"),
            r.unpriced_models.join(", ")
        ));
    }
    text
}

/// `$1.2345`, `unpriced` when every row with tokens had no price, or `$1.2345 + unpriced`.
fn cost_cell(s: &Sums) -> String {
    match (s.unpriced_requests, s.cost_usd) {
        (0, c) => format!("${c:.4}"),
        (_, 0.0) => "unpriced".into(),
        (_, c) => format!("${c:.4} + unpriced"),
    }
}

fn group_name(by: GroupBy, g: &Group, config: Option<&Config>) -> String {
    let Some(id) = g.group.as_deref() else {
        return "(none)".into();
    };
    let configured = config.and_then(|c| match by {
        GroupBy::Key => c.gateway_keys.iter().find(|k| k.id == id).map(|k| &k.name),
        GroupBy::Upstream => c.upstreams.iter().find(|u| u.id == id).map(|u| &u.name),
        GroupBy::Model | GroupBy::Day => None,
    });
    configured
        .or(g.recorded_name.as_ref())
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

/// `--key` as an id: the config's key by id or name, else as recorded in the ledger.
fn resolve_key(conn: &rusqlite::Connection, config: Option<&Config>, k: &str) -> CliResult<String> {
    if let Some(c) = config
        && let Some(i) = c.key_index(k)
    {
        return Ok(c.gateway_keys[i].id.clone());
    }
    match query::find_key(conn, k).map_err(|e| CliError::Other(e.into()))? {
        Some(id) => Ok(id),
        None => Err(user_error(format!(
            "no gateway key {k:?} in the config or the usage database"
        ))),
    }
}

fn format_ms(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn since_durations_dates_and_times() {
        assert_eq!(parse_since("24h", NOW).unwrap(), NOW - 86_400_000);
        assert_eq!(parse_since("7d", NOW).unwrap(), NOW - 7 * 86_400_000);
        assert_eq!(parse_since("30d", NOW).unwrap(), NOW - 30 * 86_400_000);
        assert_eq!(parse_since("90m", NOW).unwrap(), NOW - 90 * 60_000);
        assert_eq!(parse_since("2025-12-31", NOW).unwrap(), NOW - 86_400_000);
        assert_eq!(
            parse_since("2025-12-31T12:00:00Z", NOW).unwrap(),
            NOW - 43_200_000
        );
        assert_eq!(parse_since("all", NOW).unwrap(), 0);
        for bad in ["", "yesterday", "2025-13-01", "7 parsecs", "-1d"] {
            let e = parse_since(bad, NOW).unwrap_err();
            assert!(e.contains("expected a duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn cost_cells_mark_unpriced() {
        let mut s = Sums {
            cost_usd: 1.5,
            ..Sums::default()
        };
        assert_eq!(cost_cell(&s), "$1.5000");
        s.unpriced_requests = 2;
        assert_eq!(cost_cell(&s), "$1.5000 + unpriced");
        s.cost_usd = 0.0;
        assert_eq!(cost_cell(&s), "unpriced");
    }
}
