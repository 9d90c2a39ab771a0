//! The limiter with injected time: checks, settling, seeding, hot reload, threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::config::{Permission, Status};

/// 2026-11-30T12:00:00Z, a Monday.
fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_040_000)
}

fn at(secs: u64) -> SystemTime {
    t0() + Duration::from_secs(secs)
}

fn key(id: &str) -> GatewayKey {
    GatewayKey {
        id: id.into(),
        name: format!("{id}-name"),
        key_sha256: "0".repeat(64),
        prefix: "lgw_x".into(),
        permissions: vec![Permission::Read, Permission::Write],
        status: Status::Enabled,
        created_at: Timestamp(t0()),
        expires_at: None,
        rpm: None,
        tpm: None,
        budget_usd: None,
        budget_period: BudgetPeriod::Month,
        models: Vec::new(),
    }
}

fn none(_: SeedQuery<'_>) -> Seed {
    Seed::default()
}

fn limiter(keys: &[GatewayKey]) -> Limiter {
    Limiter::new(keys, t0(), &mut none)
}

#[test]
fn t0_is_what_the_tests_say() {
    assert_eq!(Timestamp(t0()).to_string(), "2026-11-30T12:00:00Z");
}

#[test]
fn unlimited_and_unknown_keys_pass() {
    let l = limiter(&[key("a")]);
    for i in 0..1000 {
        assert!(l.check("a", "any-model", at(i % 3)).is_ok());
    }
    assert_eq!(l.check("ghost", "m", t0()), Ok(Admit::default()));
    l.settle("ghost", 10, 1.0, t0());
    assert!(l.usage("ghost", t0()).is_none());
    // A key with no rpm, tpm or budget is not counted (no lock on its way).
    l.settle("a", 10, 1.0, at(2));
    let u = l.usage("a", at(2)).unwrap();
    assert_eq!((u.requests_last_minute, u.tokens_last_minute), (0, 0));
}

#[test]
fn rpm_counts_admitted_requests_and_says_when() {
    let l = limiter(&[GatewayKey {
        rpm: Some(3),
        ..key("a")
    }]);
    assert_eq!(
        l.check("a", "m", at(0)).unwrap().remaining_requests,
        Some(2)
    );
    l.check("a", "m", at(10)).unwrap();
    l.check("a", "m", at(20)).unwrap();
    let r = l.check("a", "m", at(30)).unwrap_err();
    assert_eq!(r.retry_after_secs(), Some(31), "{r}");
    assert!(r.to_string().contains("3 requests per minute"), "{r}");
    // Refusals are not counted: the first request still frees the window at 61 s.
    assert!(l.check("a", "m", at(60)).is_err());
    assert!(l.check("a", "m", at(61)).is_ok());
    assert!(l.check("a", "m", at(62)).is_err());
}

#[test]
fn tpm_counts_settled_tokens() {
    let l = limiter(&[GatewayKey {
        tpm: Some(1000),
        ..key("a")
    }]);
    l.check("a", "m", at(0)).unwrap();
    l.settle("a", 600, 0.0, at(1));
    assert_eq!(
        l.check("a", "m", at(2)).unwrap().remaining_tokens,
        Some(400)
    );
    l.settle("a", 600, 0.0, at(5)); // the overshoot of a request in flight
    let r = l.check("a", "m", at(6)).unwrap_err();
    assert!(matches!(r, Refusal::Tpm { used: 1200, .. }), "{r:?}");
    // The first 600 leave at 62 s: 600 < 1000 frees the window.
    assert_eq!(r.retry_after_secs(), Some(56));
    assert!(l.check("a", "m", at(62)).is_ok());
}

#[test]
fn budget_stops_at_the_cap_until_the_period_resets() {
    let l = limiter(&[GatewayKey {
        budget_usd: Some(5.0),
        ..key("a")
    }]);
    l.check("a", "m", at(0)).unwrap();
    l.settle("a", 10, 4.0, at(1));
    l.check("a", "m", at(2)).unwrap();
    l.settle("a", 10, 1.5, at(3));
    let r = l.check("a", "m", at(4)).unwrap_err();
    assert_eq!(r.retry_after_secs(), None);
    let msg = r.to_string();
    assert!(
        msg.contains("budget of $5.00 per month ($5.50 spent)"),
        "{msg}"
    );
    assert!(msg.contains("resets 2026-12-01T00:00:00Z"), "{msg}");
    // Twelve hours later it is December: a new period, spend back to 0.
    let dec = at(12 * 3600);
    assert!(l.check("a", "m", dec).is_ok());
    assert_eq!(l.usage("a", dec).unwrap().spent_usd, 0.0);
    // Bad costs are ignored, not added.
    l.settle("a", 0, f64::NAN, dec);
    l.settle("a", 0, -3.0, dec);
    assert_eq!(l.usage("a", dec).unwrap().spent_usd, 0.0);
}

#[test]
fn model_allow_list() {
    let l = limiter(&[GatewayKey {
        models: vec!["claude-*".into(), "gpt-4o".into()],
        rpm: Some(1),
        ..key("a")
    }]);
    let r = l.check("a", "gpt-4o-mini", at(0)).unwrap_err();
    assert!(matches!(r, Refusal::ModelNotAllowed { .. }));
    assert!(r.to_string().contains("allowed: claude-*, gpt-4o"), "{r}");
    // A refused model does not use the rpm.
    assert!(l.check("a", "claude-sonnet-4-5", at(0)).is_ok());
    assert!(matches!(
        l.check("a", "gpt-4o", at(0)),
        Err(Refusal::Rpm { .. })
    ));
}

#[test]
fn seeded_from_the_ledger() {
    let mut asked = Vec::new();
    let mut seed = |q: SeedQuery<'_>| {
        asked.push((
            q.key_id.to_string(),
            Timestamp(q.period_start).to_string(),
            Timestamp(q.minute_start).to_string(),
        ));
        Seed {
            spend_usd: 9.5,
            tokens_last_minute: 900,
            requests_last_minute: 1,
        }
    };
    let keys = [GatewayKey {
        budget_usd: Some(10.0),
        budget_period: BudgetPeriod::Week,
        tpm: Some(1000),
        rpm: Some(2),
        ..key("a")
    }];
    let l = Limiter::new(&keys, t0(), &mut seed);
    assert_eq!(
        asked,
        [(
            "a".to_string(),
            "2026-11-30T00:00:00Z".to_string(),
            "2026-11-30T11:59:00Z".to_string()
        )]
    );
    let a = l.check("a", "m", t0()).unwrap();
    assert_eq!(a.remaining_requests, Some(0));
    assert_eq!(a.remaining_tokens, Some(100));
    l.settle("a", 100, 0.5, at(1));
    assert!(matches!(
        l.check("a", "m", at(2)),
        Err(Refusal::Budget { .. })
    ));
    // The seeded minute leaves like any count.
    let u = l.usage("a", at(61)).unwrap();
    assert_eq!((u.tokens_last_minute, u.requests_last_minute), (100, 0));
    assert_eq!(u.period_resets_at.to_string(), "2026-12-07T00:00:00Z");
}

#[test]
fn hot_reload_keeps_counts_and_applies_new_limits() {
    let old = limiter(&[GatewayKey {
        rpm: Some(10),
        ..key("a")
    }]);
    for _ in 0..5 {
        old.check("a", "m", at(0)).unwrap();
    }
    old.settle("a", 500, 2.0, at(1));
    let mut seeded = Vec::new();
    let mut seed = |q: SeedQuery<'_>| {
        seeded.push(q.key_id.to_string());
        Seed::default()
    };
    let keys = [
        GatewayKey {
            rpm: Some(5),
            tpm: Some(400),
            budget_usd: Some(3.0),
            ..key("a")
        },
        key("b"),
    ];
    let new = old.rebuild(&keys, at(2), &mut seed);
    assert_eq!(seeded, ["b"], "only new keys are seeded");
    // The lowered rpm applies to the five already made; the tpm to the 500 settled.
    let r = new.check("a", "m", at(3)).unwrap_err();
    assert!(matches!(r, Refusal::Tpm { used: 500, .. }), "{r:?}");
    let u = new.usage("a", at(3)).unwrap();
    assert_eq!((u.requests_last_minute, u.spent_usd), (5, 2.0));
    // A request that began before the reload settles into the same counters.
    old.settle("a", 0, 1.0, at(4));
    assert!(matches!(
        new.check("a", "m", at(5)),
        Err(Refusal::Budget { .. })
    ));
    assert_eq!(new.limits("a").unwrap().rpm, Some(5));

    // A removed key is forgotten; re-adding the same id asks the ledger again.
    let gone = new.rebuild(&keys[1..], at(6), &mut none);
    assert!(gone.usage("a", at(6)).is_none());
}

#[test]
fn a_key_that_gets_its_first_limit_is_seeded_with_what_it_already_used() {
    let old = limiter(&[key("a")]);
    // Unlimited: nothing is counted in memory (the ledger has it).
    old.check("a", "m", at(0)).unwrap();
    old.settle("a", 100, 4.0, at(1));
    let mut seeded = Vec::new();
    let mut seed = |q: SeedQuery<'_>| {
        seeded.push(q.key_id.to_string());
        Seed {
            spend_usd: 4.0,
            tokens_last_minute: 100,
            requests_last_minute: 1,
        }
    };
    let budgeted = [GatewayKey {
        budget_usd: Some(5.0),
        ..key("a")
    }];
    let new = old.rebuild(&budgeted, at(2), &mut seed);
    assert_eq!(seeded, ["a"]);
    let u = new.usage("a", at(2)).unwrap();
    assert_eq!((u.spent_usd, u.requests_last_minute), (4.0, 1));
    new.settle("a", 10, 1.5, at(3));
    assert!(matches!(
        new.check("a", "m", at(4)),
        Err(Refusal::Budget { .. })
    ));
    // From then on it counts in memory: the next reload keeps its counters.
    let again = new.rebuild(&budgeted, at(5), &mut |_: SeedQuery<'_>| -> Seed {
        panic!("a counting key is not seeded again")
    });
    assert_eq!(again.usage("a", at(5)).unwrap().spent_usd, 5.5);
}

#[test]
fn hot_reload_of_the_period_reseeds_the_spend() {
    let old = limiter(&[GatewayKey {
        budget_usd: Some(10.0),
        ..key("a")
    }]);
    old.check("a", "m", at(0)).unwrap();
    old.settle("a", 100, 8.0, at(0));
    let mut seed = |q: SeedQuery<'_>| {
        assert_eq!(
            Timestamp(q.period_start).to_string(),
            "2026-11-30T00:00:00Z"
        );
        Seed {
            spend_usd: 1.25,
            tokens_last_minute: 99_999,
            requests_last_minute: 99_999,
        }
    };
    let keys = [GatewayKey {
        budget_usd: Some(10.0),
        budget_period: BudgetPeriod::Day,
        ..key("a")
    }];
    let new = old.rebuild(&keys, at(1), &mut seed);
    let u = new.usage("a", at(1)).unwrap();
    assert_eq!(u.spent_usd, 1.25, "spend since the new period's start");
    assert_eq!(u.tokens_last_minute, 100, "windows are kept, not reseeded");
    assert_eq!(u.period_resets_at.to_string(), "2026-12-01T00:00:00Z");
}

#[test]
fn many_threads_never_admit_more_than_rpm() {
    const RPM: u64 = 250;
    let l = limiter(&[GatewayKey {
        rpm: Some(RPM),
        ..key("a")
    }]);
    let admitted = AtomicU64::new(0);
    let refused = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (l, admitted, refused) = (&l, &admitted, &refused);
            s.spawn(move || {
                for i in 0..200u64 {
                    // All within one minute, time moving a little per thread.
                    let now = at(0) + Duration::from_millis(t * 7 + i * 50);
                    match l.check("a", "m", now) {
                        Ok(_) => admitted.fetch_add(1, Ordering::Relaxed),
                        Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
    });
    assert_eq!(admitted.load(Ordering::Relaxed), RPM);
    assert_eq!(refused.load(Ordering::Relaxed), 8 * 200 - RPM);
}

#[test]
fn usd_formatting() {
    assert_eq!(usd(5.0), "$5.00");
    assert_eq!(usd(0.004), "$0.0040");
    assert_eq!(usd(0.0), "$0.00");
}
