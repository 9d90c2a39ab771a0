//! Unit tests of price lookup and cost arithmetic. Tests that name built-in prices pin
//! long-standing list prices; a snapshot refresh that changes them must update them.

use std::collections::BTreeMap;

use super::*;

fn table() -> PriceTable {
    PriceTable::new(&BTreeMap::new()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn tokens(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Tokens {
    Tokens {
        input,
        output,
        cache_read,
        cache_write,
        reasoning: 0,
    }
}

#[test]
fn anthropic_prices_cache_reads_and_writes_apart() {
    let t = table();
    // claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 cache write per MTok.
    let c = t
        .cost("claude-sonnet-4-5", &tokens(1000, 500, 10_000, 2000))
        .unwrap();
    let want = (1000.0 * 3.0 + 500.0 * 15.0 + 10_000.0 * 0.3 + 2000.0 * 3.75) / 1e6;
    assert!(close(c, want), "{c} != {want}");
    // The same tokens all as plain input cost more: the cache is priced apart.
    let plain = t
        .cost("claude-sonnet-4-5", &tokens(13_000, 500, 0, 0))
        .unwrap();
    assert!(plain > c);
}

#[test]
fn openai_cached_tokens_and_reasoning() {
    let t = table();
    // gpt-4o: $2.50 in, $10 out, $1.25 cached. 3000 prompt tokens of which 1000 cached.
    let mut tk = tokens(2000, 400, 1000, 0);
    tk.reasoning = 300; // part of the 400 output tokens, not priced again
    let c = t.cost("gpt-4o", &tk).unwrap();
    let want = (2000.0 * 2.5 + 400.0 * 10.0 + 1000.0 * 1.25) / 1e6;
    assert!(close(c, want), "{c} != {want}");
    // No cache-write price at OpenAI: a write would be priced as input.
    let (p, src) = t.lookup("gpt-4o").unwrap();
    assert_eq!(src, PriceSource::Builtin);
    assert_eq!(p.cache_write, p.input);
}

#[test]
fn gemini_long_context_tier() {
    let t = table();
    // gemini-2.5-pro: $1.25 / $10 up to 200k prompt tokens, $2.50 / $15 above.
    let p = *t.lookup("gemini-2.5-pro").unwrap().0;
    let lc = p.long_context.unwrap();
    assert_eq!(lc.threshold_tokens, 200_000);
    let at = p.cost(&tokens(200_000, 1000, 0, 0));
    assert!(close(at, (200_000.0 * 1.25 + 1000.0 * 10.0) / 1e6), "{at}");
    // Cache reads count toward the threshold; then every token is at the tier price.
    let above = p.cost(&tokens(150_000, 1000, 50_001, 0));
    let want = (150_000.0 * lc.input + 1000.0 * lc.output + 50_001.0 * lc.cache_read) / 1e6;
    assert!(close(above, want), "{above} != {want}");
    assert!(close(lc.input, 2.5) && close(lc.output, 15.0));
}

#[test]
fn tier_arithmetic_counts_cache_writes_too() {
    let p = Price {
        input: 1.0,
        output: 2.0,
        cache_read: 0.1,
        cache_write: 1.25,
        long_context: Some(LongContext {
            threshold_tokens: 100,
            input: 10.0,
            output: 20.0,
            cache_read: 1.0,
            cache_write: 12.5,
        }),
    };
    assert!(close(
        p.cost(&tokens(50, 10, 25, 25)),
        (50.0 + 20.0 + 2.5 + 31.25) / 1e6
    ));
    let over = p.cost(&tokens(50, 10, 25, 26));
    assert!(close(over, (500.0 + 200.0 + 25.0 + 325.0) / 1e6), "{over}");
    assert_eq!(p.cost(&Tokens::default()), 0.0);
}

#[test]
fn date_suffixes_and_provider_prefixes() {
    let t = table();
    let base = *t.lookup("claude-sonnet-4-5").unwrap().0;
    for name in [
        "claude-sonnet-4-5-20250929",
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-sonnet-4-5-20250929",
    ] {
        assert_eq!(t.lookup(name).map(|(p, _)| *p), Some(base), "{name}");
    }
    let gpt = *t.lookup("gpt-4.1").unwrap().0;
    assert_eq!(
        t.lookup("openai/gpt-4.1-2025-04-14").map(|(p, _)| *p),
        Some(gpt)
    );
    assert!(t.lookup("gemini/gemini-2.5-pro").is_some());
    // A dated name the snapshot prices differently keeps its own price.
    let old = *t.lookup("gpt-4o-2024-05-13").unwrap().0;
    assert_ne!(old, *t.lookup("gpt-4o").unwrap().0);

    assert_eq!(
        strip_date("claude-sonnet-4-5-20250929"),
        "claude-sonnet-4-5"
    );
    assert_eq!(strip_date("gpt-4.1-2025-04-14"), "gpt-4.1");
    assert_eq!(strip_date("gpt-4-0613"), "gpt-4-0613");
    assert_eq!(strip_date("o3-mini"), "o3-mini");
    assert_eq!(strip_date("-20250929"), "-20250929");
}

#[test]
fn unknown_models_have_no_price() {
    let t = table();
    for name in [
        "deepseek-chat",
        "claude-sonnet-4-5x",
        "claude-sonnet",
        "bedrock/claude-sonnet-4-5",
        "CLAUDE-SONNET-4-5",
        "gpt-4o-mini-2099",
        "",
    ] {
        assert_eq!(t.cost(name, &tokens(1, 1, 0, 0)), None, "{name}");
    }
}

#[test]
fn config_overrides_win_and_default_cache_prices() {
    let mut o = BTreeMap::new();
    let over = PriceOverride {
        input: 1.0,
        output: 2.0,
        cache_read: Some(0.5),
        cache_write: None,
    };
    o.insert("claude-sonnet-4-5".to_string(), over);
    o.insert(
        "deepseek-chat".to_string(),
        PriceOverride {
            cache_read: None,
            ..over
        },
    );
    let t = PriceTable::new(&o).unwrap();
    // The override applies to the dated name too, though the snapshot has the base.
    let (p, src) = t.lookup("claude-sonnet-4-5-20250929").unwrap();
    assert_eq!(src, PriceSource::Config);
    assert_eq!((p.input, p.cache_read, p.cache_write), (1.0, 0.5, 1.0));
    assert_eq!(p.long_context, None);
    let c = t.cost("deepseek-chat", &tokens(1_000_000, 0, 1_000_000, 0));
    assert_eq!(c, Some(2.0));

    let entries = t.entries();
    let sonnet: Vec<_> = entries
        .iter()
        .filter(|e| e.model == "claude-sonnet-4-5")
        .collect();
    assert_eq!(sonnet.len(), 1);
    assert_eq!(sonnet[0].source, PriceSource::Config);
    assert!(entries.windows(2).all(|w| w[0].model < w[1].model));
    assert_eq!(entries.len(), table().entries().len() + 1);
}

#[test]
fn source_names_the_snapshot_date() {
    let d = snapshot_date();
    assert_eq!(d.len(), 10);
    assert_eq!(
        PriceSource::Builtin.to_string(),
        format!("built-in (LiteLLM {d})")
    );
    assert_eq!(PriceSource::Config.to_string(), "config");
    let info = snapshot_info().unwrap();
    assert_eq!(info.date, d);
    assert_eq!(info.models, table().entries().len());
    assert!(info.source_version.starts_with("litellm "), "{info:?}");
}
