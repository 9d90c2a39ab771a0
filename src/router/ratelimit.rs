//! How long a rate-limited upstream should rest. A 429 is not a health failure: the
//! upstream "cools down" until the time its headers name, bounded, with a little
//! jitter so that several gateways do not return at the same instant.
//!
//! Read, in order: `retry-after` (seconds or an HTTP date), the latest of
//! `anthropic-ratelimit-*-reset` (RFC 3339) and `anthropic-ratelimit-unified-*-reset`
//! (Unix seconds), and `x-ratelimit-reset-*` (OpenAI durations like `6m0s`, `20ms`).
//! A bare 429 rests for [`BARE_429`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use rand::Rng;

/// Rest after a 429 that names no time.
pub const BARE_429: Duration = Duration::from_secs(5);
/// Never rest longer than this on one 429.
pub const MAX_REST: Duration = Duration::from_secs(3600);

/// How long to rest after a 429 with these headers (jitter included).
pub fn cooldown(headers: &HeaderMap, now: SystemTime) -> Duration {
    let named = retry_after(headers, now)
        .or_else(|| latest_reset(headers, now))
        .unwrap_or(BARE_429)
        .min(MAX_REST);
    let jitter_ms = rand::rng().random_range(0..=named.as_millis().min(10_000) as u64 / 10);
    named + Duration::from_millis(jitter_ms)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn retry_after(h: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = header(h, "retry-after")?;
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e6)));
    }
    let at = httpdate(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The latest reset time among the rate-limit headers that say one.
fn latest_reset(h: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let mut best: Option<Duration> = None;
    for (name, value) in h {
        let name = name.as_str();
        let Ok(v) = value.to_str() else { continue };
        let v = v.trim();
        let d = if name.starts_with("anthropic-ratelimit-unified-") && name.ends_with("-reset")
            || name == "anthropic-ratelimit-unified-reset"
        {
            v.parse::<u64>()
                .ok()
                .map(|s| UNIX_EPOCH + Duration::from_secs(s))
                .or_else(|| humantime::parse_rfc3339_weak(v).ok())
                .map(|t| t.duration_since(now).unwrap_or(Duration::ZERO))
        } else if name.starts_with("anthropic-ratelimit-") && name.ends_with("-reset") {
            humantime::parse_rfc3339_weak(v)
                .ok()
                .map(|t| t.duration_since(now).unwrap_or(Duration::ZERO))
        } else if name.starts_with("x-ratelimit-reset") {
            go_duration(v)
        } else {
            None
        };
        if let Some(d) = d {
            best = Some(best.map_or(d, |b| b.max(d)));
        }
    }
    best
}

/// OpenAI's reset format: Go durations such as `1s`, `6m0s`, `1h2m3.5s`, `20ms`.
fn go_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => return None,
        };
        total += num.parse::<f64>().ok()? * unit;
        num.clear();
        any = true;
    }
    if !num.is_empty() {
        total += num.parse::<f64>().ok()?;
        any = true;
    }
    (any && total.is_finite()).then(|| Duration::from_secs_f64(total.min(1e6)))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == parts[2])? + 1;
    let text = format!("{}-{:02}-{:0>2}T{}Z", parts[3], month, parts[1], parts[4]);
    humantime::parse_rfc3339(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }

    fn within(d: Duration, base: u64) -> bool {
        d >= Duration::from_secs(base)
            && d <= Duration::from_secs(base)
                + Duration::from_secs(base) / 10
                + Duration::from_millis(1)
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert!(within(cooldown(&h(&[("retry-after", "30")]), now), 30));
        let d = cooldown(&h(&[("retry-after", "Sun, 06 Nov 1994 08:50:37 GMT")]), now);
        assert!(within(d, 60), "{d:?}");
    }

    #[test]
    fn anthropic_and_openai_resets() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = humantime::format_rfc3339_seconds(now + Duration::from_secs(120)).to_string();
        let d = cooldown(
            &h(&[
                ("anthropic-ratelimit-tokens-reset", &at),
                (
                    "anthropic-ratelimit-requests-reset",
                    &humantime::format_rfc3339_seconds(now + Duration::from_secs(20)).to_string(),
                ),
            ]),
            now,
        );
        assert!(within(d, 120), "{d:?}");
        let unified = (1_800_000_000u64 + 300).to_string();
        assert!(within(
            cooldown(
                &h(&[("anthropic-ratelimit-unified-5h-reset", &unified)]),
                now
            ),
            300
        ));
        assert!(within(
            cooldown(
                &h(&[
                    ("x-ratelimit-reset-requests", "6m0s"),
                    ("x-ratelimit-reset-tokens", "20ms")
                ]),
                now
            ),
            360
        ));
    }

    #[test]
    fn bare_and_bounded() {
        let now = SystemTime::now();
        assert!(within(cooldown(&HeaderMap::new(), now), 5));
        let d = cooldown(&h(&[("retry-after", "999999")]), now);
        assert!(d <= MAX_REST + Duration::from_secs(10));
        assert!(within(cooldown(&h(&[("retry-after", "nonsense")]), now), 5));
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(go_duration("x"), None);
    }
}
