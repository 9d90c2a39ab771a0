//! Budget periods as calendar periods in UTC: a day, an ISO week (Monday to Monday),
//! a month. Pure arithmetic on seconds since the Unix epoch (the proleptic Gregorian
//! calendar of RFC 3339; leap seconds do not exist there, so every day has 86 400 s).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::BudgetPeriod;
use crate::util::Timestamp;

const DAY: i64 = 86_400;

/// The period containing an instant: `[start, end)` in seconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeriodBounds {
    pub start: i64,
    pub end: i64,
}

impl PeriodBounds {
    /// The period of kind `period` that contains `secs`.
    pub fn containing(period: BudgetPeriod, secs: i64) -> Self {
        let day = secs.div_euclid(DAY);
        let (start_day, end_day) = match period {
            BudgetPeriod::Day => (day, day + 1),
            BudgetPeriod::Week => {
                // 1970-01-01 was a Thursday: Monday = 0 gives Thursday = 3.
                let monday = day - (day + 3).rem_euclid(7);
                (monday, monday + 7)
            }
            BudgetPeriod::Month => {
                let (y, m, _) = civil_from_days(day);
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                (days_from_civil(y, m, 1), days_from_civil(ny, nm, 1))
            }
        };
        PeriodBounds {
            start: start_day * DAY,
            end: end_day * DAY,
        }
    }

    pub fn contains(&self, secs: i64) -> bool {
        self.start <= secs && secs < self.end
    }

    /// When the period starts, as a time.
    pub fn start_time(&self) -> SystemTime {
        to_time(self.start)
    }

    /// When the next period starts: the moment the budget resets.
    pub fn resets_at(&self) -> Timestamp {
        Timestamp(to_time(self.end))
    }
}

/// The earliest start any budget period containing `t` has: its month's or its ISO
/// week's (a week can start in the month before).
pub fn earliest_period_start(t: SystemTime) -> SystemTime {
    let secs = unix_secs(t);
    let week = PeriodBounds::containing(BudgetPeriod::Week, secs);
    let month = PeriodBounds::containing(BudgetPeriod::Month, secs);
    to_time(week.start.min(month.start))
}

/// Seconds since the epoch of a time (times before it count as the epoch).
pub fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Milliseconds since the epoch of a time (times before it count as the epoch).
pub fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn to_time(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month 1–12, day 1–31) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        unix_secs(humantime::parse_rfc3339(s).unwrap())
    }

    fn bounds(p: BudgetPeriod, s: &str) -> (String, String) {
        let b = PeriodBounds::containing(p, at(s));
        (
            Timestamp(b.start_time()).to_string(),
            b.resets_at().to_string(),
        )
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for day in (-800_000..800_000).step_by(7) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn month_end_and_year_end() {
        use BudgetPeriod::Month;
        let jan = pair("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
        assert_eq!(bounds(Month, "2026-01-31T23:59:59Z"), jan);
        assert_eq!(bounds(Month, "2026-01-01T00:00:00Z"), jan);
        assert_eq!(
            bounds(Month, "2026-02-01T00:00:00Z"),
            pair("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
        );
        assert_eq!(
            bounds(Month, "2026-12-31T23:59:59Z"),
            pair("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
        );
        assert_eq!(
            bounds(Month, "2026-04-30T12:00:00Z"),
            pair("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")
        );
    }

    #[test]
    fn leap_years() {
        use BudgetPeriod::{Day, Month};
        let feb28 = pair("2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z");
        assert_eq!(bounds(Month, "2028-02-29T23:59:59Z"), feb28);
        assert_eq!(
            bounds(Day, "2028-02-29T08:00:00Z"),
            pair("2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z")
        );
        assert_eq!(
            bounds(Day, "2027-02-28T08:00:00Z"),
            pair("2027-02-28T00:00:00Z", "2027-03-01T00:00:00Z")
        );
        // 2100 is not a leap year, 2000 was.
        assert_eq!(
            bounds(Day, "2100-02-28T08:00:00Z").1,
            "2100-03-01T00:00:00Z"
        );
        assert_eq!(
            bounds(Day, "2000-02-28T08:00:00Z").1,
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn iso_weeks_start_monday() {
        use BudgetPeriod::Week;
        // 2026-11-30 is a Monday.
        let week = pair("2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z");
        assert_eq!(bounds(Week, "2026-11-30T00:00:00Z"), week);
        assert_eq!(bounds(Week, "2026-12-03T15:00:00Z"), week);
        assert_eq!(bounds(Week, "2026-12-06T23:59:59Z"), week, "Sunday");
        assert_eq!(
            bounds(Week, "2026-11-29T23:59:59Z"),
            pair("2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z")
        );
        // Across a year end: 2026-12-31 is a Thursday.
        assert_eq!(
            bounds(Week, "2027-01-01T00:00:00Z"),
            pair("2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z")
        );
        // The epoch was a Thursday; its week began on Monday 1969-12-29 (clamped).
        assert_eq!(PeriodBounds::containing(Week, 0).start, -3 * DAY);
    }

    #[test]
    fn earliest_start_covers_every_period() {
        let t = |s: &str| to_time(at(s));
        // Thursday 2026-12-10: the month started first.
        assert_eq!(
            earliest_period_start(t("2026-12-10T10:00:00Z")),
            t("2026-12-01T00:00:00Z")
        );
        // Wednesday 2026-12-02: its week started on Monday 2026-11-30.
        assert_eq!(
            earliest_period_start(t("2026-12-02T10:00:00Z")),
            t("2026-11-30T00:00:00Z")
        );
        // Thursday 2026-10-01: its week started on Monday 2026-09-28.
        assert_eq!(
            earliest_period_start(t("2026-10-01T10:00:00Z")),
            t("2026-09-28T00:00:00Z")
        );
    }

    #[test]
    fn days_are_utc() {
        use BudgetPeriod::Day;
        // 23:30 on the 10th in New York (UTC-5) is 04:30Z on the 11th: the UTC day counts.
        let secs = at("2026-03-11T04:30:00Z");
        let b = PeriodBounds::containing(Day, secs);
        assert_eq!(b.resets_at().to_string(), "2026-03-12T00:00:00Z");
        assert!(b.contains(secs) && !b.contains(b.end) && b.contains(b.start));
    }
}
