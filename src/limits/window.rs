//! A sliding one-minute window of counts in one-second buckets, for `rpm` and `tpm`.
//!
//! **Why a bucketed sliding window and not a token bucket.** A token bucket of
//! capacity N refilled at N per minute lets a client spend N at once and N more over
//! the following minute: up to 2N in one rolling minute, which is not what "60 requests
//! per minute" means to the person who set it. A log of every request is exact but
//! costs memory per request. Sixty-one one-second buckets (the current second and the
//! 60 before it) cost a fixed 61 counters per limit, give `retry-after` in the whole
//! seconds the header carries, and keep a hard guarantee: **no 60-second span ever
//! holds more than N admitted requests** (or more than the limit of settled tokens
//! plus what was in flight, see [`super`]). The price is that a count leaves the
//! window 60–61 s after it was made, never earlier: the window errs on the strict side
//! by at most one second.
//!
//! Time is injected as milliseconds since the Unix epoch; a clock that steps back is
//! treated as standing still (counts go to the newest bucket) so nothing is lost.

/// Buckets: the current second plus the 60 before it.
const SLOTS: usize = 61;

/// Counts over the last minute, in one-second buckets.
#[derive(Clone, Debug)]
pub struct SlidingWindow {
    counts: [u64; SLOTS],
    /// The second (since the epoch) of the newest bucket.
    head: u64,
    /// Sum of `counts`: everything still in the window.
    total: u64,
}

impl Default for SlidingWindow {
    fn default() -> Self {
        SlidingWindow {
            counts: [0; SLOTS],
            head: 0,
            total: 0,
        }
    }
}

impl SlidingWindow {
    /// Move the window to `now_ms`, dropping buckets that fell out of it.
    fn advance(&mut self, now_ms: u64) {
        let sec = now_ms / 1000;
        if sec <= self.head {
            return;
        }
        let steps = (sec - self.head).min(SLOTS as u64);
        for i in 1..=steps {
            let slot = ((self.head + i) % SLOTS as u64) as usize;
            self.total = self.total.saturating_sub(self.counts[slot]);
            self.counts[slot] = 0;
        }
        self.head = sec;
    }

    /// What the last minute holds at `now_ms`.
    pub fn used(&mut self, now_ms: u64) -> u64 {
        self.advance(now_ms);
        self.total
    }

    /// Count `n` at `now_ms`.
    pub fn add(&mut self, now_ms: u64, n: u64) {
        self.advance(now_ms);
        let slot = (self.head % SLOTS as u64) as usize;
        self.counts[slot] = self.counts[slot].saturating_add(n);
        self.total = self.total.saturating_add(n);
    }

    /// Whole seconds (at least 1) from `now_ms` until the window holds at most
    /// `max_total`; 0 when it already does.
    pub fn retry_after(&mut self, now_ms: u64, max_total: u64) -> u64 {
        self.advance(now_ms);
        if self.total <= max_total {
            return 0;
        }
        let mut left = self.total;
        // Oldest bucket first: the one for second `head - 60` leaves at `head + 1`.
        for age in (0..SLOTS as u64).rev() {
            let Some(sec) = self.head.checked_sub(age) else {
                continue;
            };
            left = left.saturating_sub(self.counts[(sec % SLOTS as u64) as usize]);
            if left <= max_total {
                let free_at_ms = (sec + SLOTS as u64) * 1000;
                return free_at_ms.saturating_sub(now_ms).div_ceil(1000).max(1);
            }
        }
        // Unreachable while `total` is the sum of the buckets; wait the whole window.
        SLOTS as u64
    }

    /// Start from `n` counted at `now_ms` (seeding at start from the ledger).
    pub fn seeded(now_ms: u64, n: u64) -> Self {
        let mut w = SlidingWindow::default();
        if n > 0 {
            w.add(now_ms, n);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_790_000_000_000; // some time in 2026, in ms

    #[test]
    fn counts_leave_after_sixty_to_sixty_one_seconds() {
        let mut w = SlidingWindow::default();
        w.add(T0 + 500, 3);
        assert_eq!(w.used(T0 + 500), 3);
        assert_eq!(w.used(T0 + 60_999), 3);
        // Second T0/1000 + 61 is the first one whose window no longer holds it.
        assert_eq!(w.used(T0 + 61_000), 0);
    }

    #[test]
    fn retry_after_is_when_enough_leaves() {
        let mut w = SlidingWindow::default();
        w.add(T0, 1); // leaves at T0 + 61 s
        w.add(T0 + 10_000, 1); // leaves at T0 + 71 s
        w.add(T0 + 20_000, 1); // leaves at T0 + 81 s
        // Limit 3 (room for one more: at most 2 may remain).
        assert_eq!(w.retry_after(T0 + 30_000, 2), 31);
        assert_eq!(w.retry_after(T0 + 30_400, 2), 31, "rounds up");
        // Needing two to leave waits for the second one.
        assert_eq!(w.retry_after(T0 + 30_000, 1), 41);
        assert_eq!(w.retry_after(T0 + 30_000, 3), 0);
        assert_eq!(w.retry_after(T0 + 60_999, 2), 1, "never 0 while over");
    }

    #[test]
    fn long_idle_clears_everything() {
        let mut w = SlidingWindow::default();
        for s in 0..60 {
            w.add(T0 + s * 1000, 2);
        }
        assert_eq!(w.used(T0 + 59_000), 120);
        assert_eq!(w.used(T0 + 90_000), 2 * 30, "seconds 30..=59 remain");
        assert_eq!(w.used(T0 + 3_600_000), 0);
        w.add(T0 + 3_600_000, 5);
        assert_eq!(w.used(T0 + 3_600_000), 5);
    }

    #[test]
    fn clock_stepping_back_loses_nothing() {
        let mut w = SlidingWindow::default();
        w.add(T0 + 5_000, 1);
        w.add(T0, 1); // earlier than the head: counted in the newest bucket
        assert_eq!(w.used(T0 + 5_000), 2);
        assert_eq!(w.used(T0 + 66_000), 0);
    }

    #[test]
    fn no_sixty_second_span_exceeds_the_limit() {
        // Admit greedily against limit 10 with arrivals every 250 ms for 5 minutes,
        // then check every 60 s span of the admitted times.
        let limit = 10;
        let mut w = SlidingWindow::default();
        let mut admitted = Vec::new();
        let mut t = T0 + 123;
        while t < T0 + 300_000 {
            if w.used(t) < limit {
                w.add(t, 1);
                admitted.push(t);
            }
            t += 250;
        }
        for (i, &start) in admitted.iter().enumerate() {
            let n = admitted[i..]
                .iter()
                .take_while(|&&x| x < start + 60_000)
                .count();
            assert!(n as u64 <= limit, "{n} in the 60 s from {start}");
        }
        assert!(admitted.len() >= 40, "still admits about limit per minute");
    }

    #[test]
    fn seeded_window_expires_like_a_count() {
        let mut w = SlidingWindow::seeded(T0, 700);
        assert_eq!(w.used(T0), 700);
        assert_eq!(w.used(T0 + 61_000), 0);
        assert_eq!(SlidingWindow::seeded(T0, 0).used(T0), 0);
    }
}
