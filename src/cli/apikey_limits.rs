//! A gateway key's limits on the command line: the `apikey add` / `apikey set` flags
//! (`N|none`, dollars, model patterns), how limits print, and the current use a
//! running server reports for each key (through its admin surface, like `status`).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::args::{BudgetPeriodArg, LimitArgs};
use super::status::{AdminClient, Reach};
use super::{CliResult, user_error};
use crate::config::{BudgetPeriod, ConfigStore, GatewayKey};
use crate::limits::{KeyUsage, usd};

/// What `apikey set` does to one setting.
#[derive(Clone, Debug, PartialEq)]
pub enum Change<T> {
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    fn apply(self, slot: &mut Option<T>) {
        match self {
            Change::Keep => {}
            Change::Clear => *slot = None,
            Change::Set(v) => *slot = Some(v),
        }
    }
}

/// Every change `apikey set` was asked for, parsed.
#[derive(Debug)]
pub struct LimitChanges {
    rpm: Change<u64>,
    tpm: Change<u64>,
    budget: Change<f64>,
    period: Option<BudgetPeriod>,
    models: Change<Vec<String>>,
}

impl LimitChanges {
    pub fn parse(
        rpm: Option<String>,
        tpm: Option<String>,
        budget: Option<String>,
        period: Option<BudgetPeriodArg>,
        models: Option<String>,
    ) -> CliResult<Self> {
        let c = LimitChanges {
            rpm: optional(rpm, |s| count("--rpm", s))?,
            tpm: optional(tpm, |s| count("--tpm", s))?,
            budget: optional(budget, dollars)?,
            period: period.map(Into::into),
            models: optional(models, |s| patterns(s.split(',').map(str::to_string)))?,
        };
        let nothing = [&c.rpm, &c.tpm].iter().all(|x| **x == Change::Keep)
            && c.budget == Change::Keep
            && c.period.is_none()
            && c.models == Change::Keep;
        if nothing {
            return Err(user_error(
                "nothing to change: give --rpm, --tpm, --budget, --budget-period or --models",
            ));
        }
        Ok(c)
    }

    pub fn apply(self, k: &mut GatewayKey) {
        self.rpm.apply(&mut k.rpm);
        self.tpm.apply(&mut k.tpm);
        self.budget.apply(&mut k.budget_usd);
        if let Some(p) = self.period {
            k.budget_period = p;
        }
        match self.models {
            Change::Keep => {}
            Change::Clear => k.models.clear(),
            Change::Set(m) => k.models = m,
        }
    }
}

/// `apikey add`'s limit flags onto a new key.
pub fn apply_add(k: &mut GatewayKey, a: LimitArgs) -> CliResult {
    for (flag, v) in [("--rpm", a.rpm), ("--tpm", a.tpm)] {
        if v == Some(0) {
            return Err(user_error(format!("{flag} must be at least 1")));
        }
    }
    k.rpm = a.rpm;
    k.tpm = a.tpm;
    k.budget_usd = a.budget.as_deref().map(dollars).transpose()?;
    k.budget_period = a.budget_period.map(Into::into).unwrap_or_default();
    if !a.models.is_empty() {
        k.models = patterns(a.models)?;
    }
    Ok(())
}

fn optional<T>(v: Option<String>, parse: impl Fn(&str) -> CliResult<T>) -> CliResult<Change<T>> {
    match v.as_deref().map(str::trim) {
        None => Ok(Change::Keep),
        Some(s) if s.eq_ignore_ascii_case("none") => Ok(Change::Clear),
        Some(s) => parse(s).map(Change::Set),
    }
}

fn count(flag: &str, s: &str) -> CliResult<u64> {
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(user_error(format!(
            "{flag} takes a whole number of at least 1, or `none`; got {s:?}"
        ))),
    }
}

fn dollars(s: &str) -> CliResult<f64> {
    let t = s.trim().trim_start_matches('$');
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(user_error(format!(
            "--budget takes a positive amount of US dollars (e.g. 25 or 7.50), or `none`; got {s:?}"
        ))),
    }
}

fn patterns(items: impl IntoIterator<Item = String>) -> CliResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in items {
        let p = p.trim();
        if p.is_empty() {
            return Err(user_error(
                "--models has an empty pattern; give e.g. 'claude-*,gpt-4o'",
            ));
        }
        if !out.iter().any(|x| x == p) {
            out.push(p.to_string());
        }
    }
    Ok(out)
}

/// A key's limits (and current use, when a server reports it) in JSON output.
#[derive(Serialize)]
pub struct LimitsView<'a> {
    rpm: Option<u64>,
    tpm: Option<u64>,
    budget_usd: Option<f64>,
    budget_period: BudgetPeriod,
    models: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<KeyUsage>,
}

impl LimitsView<'_> {
    pub fn usage(&self) -> Option<&KeyUsage> {
        self.usage.as_ref()
    }
}

pub fn view<'a>(k: &'a GatewayKey, usage: Option<KeyUsage>) -> LimitsView<'a> {
    LimitsView {
        rpm: k.rpm,
        tpm: k.tpm,
        budget_usd: k.budget_usd,
        budget_period: k.budget_period,
        models: &k.models,
        usage,
    }
}

/// One cell for `apikey list`: `rpm 3/60, tpm 100000, $2.50/$10.00 per month, claude-*`.
pub fn summary(k: &GatewayKey, u: Option<&KeyUsage>) -> String {
    let mut parts = Vec::new();
    let per_minute = |name: &str, limit: u64, used: Option<u64>| match used {
        Some(n) => format!("{name} {n}/{limit}"),
        None => format!("{name} {limit}"),
    };
    if let Some(r) = k.rpm {
        parts.push(per_minute("rpm", r, u.map(|u| u.requests_last_minute)));
    }
    if let Some(t) = k.tpm {
        parts.push(per_minute("tpm", t, u.map(|u| u.tokens_last_minute)));
    }
    if let Some(b) = k.budget_usd {
        let spent = u
            .map(|u| format!("{}/", usd(u.spent_usd)))
            .unwrap_or_default();
        parts.push(format!("{spent}{} per {}", usd(b), k.budget_period));
    }
    if !k.models.is_empty() {
        parts.push(format!("models {}", k.models.join(",")));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Lines for `apikey show`.
pub fn detail(k: &GatewayKey, u: Option<&KeyUsage>) -> String {
    let minute = |limit: Option<u64>, used: Option<u64>, what: &str| match (limit, used) {
        (None, _) => "unlimited".to_string(),
        (Some(l), None) => format!("{l} {what} per minute"),
        (Some(l), Some(n)) => format!("{l} {what} per minute ({n} in the last minute)"),
    };
    let budget = match (k.budget_usd, u) {
        (None, _) => "none".to_string(),
        (Some(b), None) => format!("{} per {} (UTC)", usd(b), k.budget_period),
        (Some(b), Some(u)) => format!(
            "{} per {} ({} spent; resets {})",
            usd(b),
            k.budget_period,
            usd(u.spent_usd),
            u.period_resets_at
        ),
    };
    let models = if k.models.is_empty() {
        "all".to_string()
    } else {
        k.models.join(", ")
    };
    let mut out = format!(
        "rpm:         {}\ntpm:         {}\nbudget:      {budget}\nmodels:      {models}",
        minute(k.rpm, u.map(|u| u.requests_last_minute), "requests"),
        minute(k.tpm, u.map(|u| u.tokens_last_minute), "tokens"),
    );
    if u.is_none() && k.has_limits() {
        out.push_str("\n             (current use shows while the server runs)");
    }
    out
}

/// Current use per key id from the running server; empty when none runs (or it is
/// a server that does not report use yet).
pub fn server_usage(store: &ConfigStore) -> HashMap<String, KeyUsage> {
    let Reach::Running(client) = AdminClient::discover(store) else {
        return HashMap::new();
    };
    match client.get("/admin/status") {
        Ok(v) => usage_from_status(&v),
        Err(e) => {
            eprintln!("note: current use is not shown: the server did not answer ({e:#})");
            HashMap::new()
        }
    }
}

/// `keys[].usage` of an `/admin/status` document.
fn usage_from_status(v: &Value) -> HashMap<String, KeyUsage> {
    v["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| {
            let id = k["id"].as_str()?;
            let u = serde_json::from_value(k.get("usage")?.clone()).ok()?;
            Some((id.to_string(), u))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_parse_none_numbers_and_refuse_junk() {
        let c = LimitChanges::parse(
            Some("none".into()),
            Some("5000".into()),
            Some("$7.5".into()),
            Some(BudgetPeriodArg::Day),
            Some("claude-*, gpt-4o,claude-*".into()),
        )
        .unwrap();
        assert_eq!(c.rpm, Change::Clear);
        assert_eq!(c.tpm, Change::Set(5000));
        assert_eq!(c.budget, Change::Set(7.5));
        assert_eq!(
            c.models,
            Change::Set(vec!["claude-*".into(), "gpt-4o".into()])
        );
        for (rpm, budget) in [
            ("0", "1"),
            ("-1", "1"),
            ("x", "1"),
            ("1", "0"),
            ("1", "nan"),
        ] {
            let r = LimitChanges::parse(Some(rpm.into()), None, Some(budget.into()), None, None);
            assert!(r.is_err(), "{rpm} {budget}");
        }
        assert!(LimitChanges::parse(None, None, None, None, None).is_err());
        assert!(LimitChanges::parse(None, None, None, None, Some("a,,b".into())).is_err());
    }

    #[test]
    fn usage_is_read_from_status() {
        let v = serde_json::json!({"keys": [
            {"id": "key_a", "usage": {"requests_last_minute": 3, "tokens_last_minute": 10,
              "spent_usd": 1.5, "budget_period": "week",
              "period_resets_at": "2026-12-07T00:00:00Z"}},
            {"id": "key_b"}
        ]});
        let m = usage_from_status(&v);
        assert_eq!(m.len(), 1);
        assert_eq!(m["key_a"].budget_period, BudgetPeriod::Week);
        assert!(usage_from_status(&serde_json::json!({})).is_empty());
    }
}
