//! `llm-gateway prices ...`: show the price table, set and unset config prices.
//!
//! Prices are USD per million tokens. Config entries (`prices:` in the config file)
//! replace the built-in snapshot's entry for the same model; changes go through the
//! config lock like every other CLI change, and a running server picks them up on its
//! next reload.

use serde::Serialize;

use super::args::PricesCommand;
use super::output::Table;
use super::{CliError, CliResult, Ctx, user_error};
use crate::config::PriceOverride;
use crate::prices::{Price, PriceEntry, PriceTable, SnapshotInfo, UNIT, snapshot_info};
use crate::util::{glob_match, is_glob};

#[derive(Serialize)]
struct ListView<'a> {
    unit: &'a str,
    /// The built-in table: LiteLLM's price map as of `date`.
    snapshot: Option<SnapshotInfo>,
    prices: Vec<PriceEntry>,
}

#[derive(Serialize)]
struct ChangeView<'a> {
    model: &'a str,
    /// The price now in the config; `None` after `unset`.
    price: Option<Price>,
    /// The price that applies now, from wherever it comes.
    effective: Option<Price>,
    effective_source: Option<String>,
}

pub fn run(ctx: &Ctx, cmd: PricesCommand) -> CliResult {
    match cmd {
        PricesCommand::List { model } => list(ctx, model.as_deref()),
        PricesCommand::Set {
            model,
            input,
            output,
            cache_read,
            cache_write,
        } => {
            let model = model_name(&model)?;
            for (flag, v) in [
                ("--input", Some(input)),
                ("--output", Some(output)),
                ("--cache-read", cache_read),
                ("--cache-write", cache_write),
            ] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(user_error(format!(
                        "{flag} must be a non-negative number of {UNIT}, not {v}"
                    )));
                }
            }
            let price = PriceOverride {
                input,
                output,
                cache_read,
                cache_write,
            };
            ctx.store.update(|c| {
                c.prices.insert(model.clone(), price);
                Ok::<_, CliError>(())
            })?;
            let p = Price::from_override(&price);
            changed(ctx, &model, Some(p), || {
                format!(
                    "Set the price of {model} in the config: {} in, {} out, {} cache read, \
                     {} cache write ({UNIT}).",
                    num(p.input),
                    num(p.output),
                    num(p.cache_read),
                    num(p.cache_write)
                )
            })
        }
        PricesCommand::Unset { model } => {
            let model = model_name(&model)?;
            ctx.store.update(|c| {
                c.prices.remove(&model).map(|_| ()).ok_or_else(|| {
                    user_error(format!(
                        "no price for {model:?} in the config (`llm-gateway prices list` shows \
                         them); built-in prices cannot be removed, only replaced with `prices set`"
                    ))
                })
            })?;
            changed(ctx, &model, None, || {
                format!("Removed the config price of {model}.")
            })
        }
    }
}

fn model_name(model: &str) -> CliResult<String> {
    let model = model.trim();
    if model.is_empty() {
        return Err(user_error("the model name must not be empty"));
    }
    Ok(model.to_string())
}

fn table(ctx: &Ctx) -> CliResult<PriceTable> {
    let config = ctx.store.load()?;
    Ok(PriceTable::from_config(&config).map_err(anyhow::Error::from)?)
}

/// Report a change, with the price that now applies to the model.
fn changed(
    ctx: &Ctx,
    model: &str,
    price: Option<Price>,
    human: impl FnOnce() -> String,
) -> CliResult {
    let t = table(ctx)?;
    let effective = t.lookup(model);
    let view = ChangeView {
        model,
        price,
        effective: effective.map(|(p, _)| *p),
        effective_source: effective.map(|(_, s)| s.to_string()),
    };
    ctx.out.emit(&view, || {
        let now = match (price, effective) {
            (None, Some((p, s))) => format!(
                "\nNow priced by {s}: {} in, {} out.",
                num(p.input),
                num(p.output)
            ),
            (None, None) => "\nIt has no price now: its usage costs 0, marked unpriced.".into(),
            _ => String::new(),
        };
        format!("{}{now}", human())
    })?;
    Ok(())
}

fn list(ctx: &Ctx, pattern: Option<&str>) -> CliResult {
    let t = table(ctx)?;
    let matches = |m: &str| match pattern {
        None => true,
        Some(p) if is_glob(p) => glob_match(p, m),
        Some(p) => m.contains(p),
    };
    let prices: Vec<PriceEntry> = t
        .entries()
        .into_iter()
        .filter(|e| matches(&e.model))
        .collect();
    let view = ListView {
        unit: UNIT,
        snapshot: snapshot_info(),
        prices,
    };
    ctx.out.emit(&view, || {
        if view.prices.is_empty() {
            return format!(
                "No price matches {:?}. Models without a price cost 0 and are marked \
                 unpriced; set one with `llm-gateway prices set MODEL --input .. --output ..`.",
                pattern.unwrap_or("")
            );
        }
        let mut tbl = Table::new(vec![
            "MODEL",
            "INPUT",
            "OUTPUT",
            "CACHE READ",
            "CACHE WRITE",
            "LONG CONTEXT",
            "SOURCE",
        ]);
        for e in &view.prices {
            let p = &e.price;
            tbl.row(vec![
                e.model.clone(),
                num(p.input),
                num(p.output),
                num(p.cache_read),
                num(p.cache_write),
                p.long_context
                    .map(|lc| {
                        format!(
                            ">{}k: {} / {}",
                            lc.threshold_tokens / 1000,
                            num(lc.input),
                            num(lc.output)
                        )
                    })
                    .unwrap_or_else(|| "-".into()),
                e.source.to_string(),
            ]);
        }
        let built_in = view
            .snapshot
            .map(|s| format!(" Built-in: {} of {}.", s.source_version, s.date))
            .unwrap_or_default();
        format!(
            "{}\nPrices in {UNIT}; a long-context tier (input / output) prices the whole \
             request once its prompt passes the threshold.{built_in}",
            tbl.render()
        )
    })?;
    Ok(())
}

/// A price as printed: shortest exact form (`3`, `0.3`, `0.075`).
fn num(v: f64) -> String {
    format!("{v}")
}
