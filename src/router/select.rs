//! In which order to try the candidate upstreams of a request. Pure: the caller
//! passes each candidate's live numbers and a random source.
//!
//! Higher priority always comes first. Within a priority the strategy decides:
//! - `health-first` (default): lowest score, where the score grows with the recent
//!   error ratio, the latency EWMA and the requests in flight, and shrinks with weight;
//! - `round-robin`: rotate through the group;
//! - `weighted`: a random order drawn by weight;
//! - `least-connections`: fewest requests in flight;
//! - `random`: uniformly shuffled.
//!
//! A sticky candidate (the one this conversation used last) goes first in its group.
//!
//! An account whose credentials were refused (`auth_failed`) goes after every other,
//! whatever its priority: it will refuse again until its key or login changes, so it
//! is only worth a try when nothing else serves.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::config::Strategy;

#[derive(Debug, Clone)]
pub struct Candidate {
    /// The caller's index for this candidate.
    pub index: usize,
    pub priority: i32,
    pub weight: u32,
    pub error_ratio: f64,
    pub ewma_ms: Option<f64>,
    pub in_flight: i64,
    pub sticky: bool,
    /// Its credentials were refused (401/403) and have not worked since.
    pub auth_failed: bool,
}

impl Candidate {
    fn score(&self) -> f64 {
        let latency = self.ewma_ms.unwrap_or(200.0) + 50.0;
        let errors = 1.0 + 10.0 * self.error_ratio;
        let load = 1.0 + self.in_flight.max(0) as f64;
        errors * latency * load / f64::from(self.weight.max(1))
    }
}

/// The candidates' indices in the order to try them.
pub fn order(
    mut cands: Vec<Candidate>,
    strategy: Strategy,
    turn: u64,
    rng: &mut impl Rng,
) -> Vec<usize> {
    cands.sort_by_key(|c| (c.auth_failed, std::cmp::Reverse(c.priority)));
    let mut out = Vec::with_capacity(cands.len());
    for group in cands.chunk_by(|a, b| (a.auth_failed, a.priority) == (b.auth_failed, b.priority)) {
        let mut g = group.to_vec();
        match strategy {
            Strategy::HealthFirst => g.sort_by(|a, b| a.score().total_cmp(&b.score())),
            Strategy::RoundRobin => {
                let n = g.len();
                g.rotate_left((turn % n as u64) as usize);
            }
            Strategy::Weighted => g = weighted_order(g, rng),
            Strategy::LeastConnections => {
                g.sort_by_key(|c| (c.in_flight, std::cmp::Reverse(c.weight)))
            }
            Strategy::Random => g.shuffle(rng),
        }
        if let Some(i) = g.iter().position(|c| c.sticky) {
            let c = g.remove(i);
            g.insert(0, c);
        }
        out.extend(g.iter().map(|c| c.index));
    }
    out
}

/// Draw without replacement, each pick proportional to weight.
fn weighted_order(mut g: Vec<Candidate>, rng: &mut impl Rng) -> Vec<Candidate> {
    let mut out = Vec::with_capacity(g.len());
    while !g.is_empty() {
        let total: u64 = g.iter().map(|c| u64::from(c.weight.max(1))).sum();
        let mut pick = rng.random_range(0..total);
        let mut chosen = 0;
        for (i, c) in g.iter().enumerate() {
            let w = u64::from(c.weight.max(1));
            if pick < w {
                chosen = i;
                break;
            }
            pick -= w;
        }
        out.push(g.remove(chosen));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn c(index: usize, priority: i32, weight: u32, err: f64, ms: f64, inflight: i64) -> Candidate {
        Candidate {
            index,
            priority,
            weight,
            error_ratio: err,
            ewma_ms: Some(ms),
            in_flight: inflight,
            sticky: false,
            auth_failed: false,
        }
    }

    #[test]
    fn refused_credentials_go_last_whatever_the_priority() {
        let mut bad = c(0, 9, 1, 0.0, 1.0, 0);
        bad.auth_failed = true;
        bad.sticky = true;
        let cands = vec![bad, c(1, 0, 1, 0.9, 900.0, 5), c(2, 3, 1, 0.0, 10.0, 0)];
        for strategy in [
            Strategy::HealthFirst,
            Strategy::RoundRobin,
            Strategy::Weighted,
            Strategy::LeastConnections,
            Strategy::Random,
        ] {
            let o = order(cands.clone(), strategy, 1, &mut rng());
            assert_eq!(o, [2, 1, 0], "{strategy:?}");
        }
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn priority_first_then_health() {
        let cands = vec![
            c(0, 0, 1, 0.0, 10.0, 0),
            c(1, 5, 1, 0.5, 900.0, 3),
            c(2, 0, 1, 0.4, 10.0, 0),
        ];
        assert_eq!(
            order(cands, Strategy::HealthFirst, 0, &mut rng()),
            vec![1, 0, 2]
        );
    }

    #[test]
    fn health_first_prefers_fast_idle_and_weighty() {
        let cands = vec![c(0, 0, 1, 0.0, 800.0, 0), c(1, 0, 1, 0.0, 100.0, 0)];
        assert_eq!(
            order(cands, Strategy::HealthFirst, 0, &mut rng()),
            vec![1, 0]
        );
        let cands = vec![c(0, 0, 1, 0.0, 100.0, 4), c(1, 0, 1, 0.0, 100.0, 0)];
        assert_eq!(
            order(cands, Strategy::HealthFirst, 0, &mut rng()),
            vec![1, 0]
        );
        let cands = vec![c(0, 0, 1, 0.0, 100.0, 0), c(1, 0, 5, 0.0, 100.0, 0)];
        assert_eq!(
            order(cands, Strategy::HealthFirst, 0, &mut rng()),
            vec![1, 0]
        );
    }

    #[test]
    fn round_robin_rotates() {
        let mk = || {
            vec![
                c(0, 0, 1, 0.0, 1.0, 0),
                c(1, 0, 1, 0.0, 1.0, 0),
                c(2, 0, 1, 0.0, 1.0, 0),
            ]
        };
        let firsts: Vec<usize> = (0..6)
            .map(|t| order(mk(), Strategy::RoundRobin, t, &mut rng())[0])
            .collect();
        assert_eq!(firsts, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn weighted_follows_weights() {
        let mut r = rng();
        let mut first = [0u32; 2];
        for _ in 0..2000 {
            let cands = vec![c(0, 0, 1, 0.0, 1.0, 0), c(1, 0, 3, 0.0, 1.0, 0)];
            first[order(cands, Strategy::Weighted, 0, &mut r)[0]] += 1;
        }
        let share = f64::from(first[1]) / 2000.0;
        assert!((0.70..0.80).contains(&share), "{share}");
    }

    #[test]
    fn least_connections_and_random() {
        let cands = vec![c(0, 0, 1, 0.0, 1.0, 3), c(1, 0, 1, 0.0, 1.0, 1)];
        assert_eq!(
            order(cands, Strategy::LeastConnections, 0, &mut rng()),
            vec![1, 0]
        );
        let cands: Vec<_> = (0..5).map(|i| c(i, 0, 1, 0.0, 1.0, 0)).collect();
        let mut o = order(cands, Strategy::Random, 0, &mut rng());
        o.sort();
        assert_eq!(o, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn sticky_goes_first_in_its_group() {
        let mut cands = vec![
            c(0, 0, 1, 0.0, 10.0, 0),
            c(1, 0, 1, 0.0, 500.0, 0),
            c(2, 9, 1, 0.0, 10.0, 0),
        ];
        cands[1].sticky = true;
        assert_eq!(
            order(cands, Strategy::HealthFirst, 0, &mut rng()),
            vec![2, 1, 0]
        );
    }
}
