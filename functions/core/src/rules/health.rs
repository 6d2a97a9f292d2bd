//! Route 53's rule for a health check's health, applied to what its
//! checkers report.

use chrono::{DateTime, Utc};

use crate::config::ConfirmationPolicy;
use crate::model::health::{CheckerObservation, Health, HealthReading};

/// Applies Route 53's rule: healthy when more than `healthy_ratio` of the
/// fresh checker observations report success. Stale observations are
/// ignored: a checker that stopped reporting says nothing about now.
pub fn read_health(
    region: &str,
    observations: &[CheckerObservation],
    now: DateTime<Utc>,
    policy: &ConfirmationPolicy,
) -> HealthReading {
    let max_age =
        chrono::Duration::from_std(policy.max_observation_age).unwrap_or(chrono::Duration::MAX);
    let (fresh, stale): (Vec<_>, Vec<_>) = observations
        .iter()
        .partition(|o| now.signed_duration_since(o.checked_at) <= max_age);
    let reporting_success = fresh.iter().filter(|o| o.success).count();
    let health = if fresh.is_empty() {
        Health::Unknown
    } else if reporting_success as f64 > policy.healthy_ratio * fresh.len() as f64 {
        Health::Healthy
    } else {
        Health::Unhealthy
    };
    HealthReading {
        region: region.to_owned(),
        at: now,
        health,
        reporting_success: count(reporting_success),
        fresh: count(fresh.len()),
        stale: count(stale.len()),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy() -> ConfirmationPolicy {
        ConfirmationPolicy {
            samples: 3,
            interval: Duration::from_secs(10),
            healthy_ratio: 0.18,
            max_observation_age: Duration::from_secs(120),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }

    /// `successes` fresh successes, `failures` fresh failures, `stale` stale successes.
    fn observations(successes: usize, failures: usize, stale: usize) -> Vec<CheckerObservation> {
        let fresh_at = now() - chrono::Duration::seconds(5);
        let stale_at = now() - chrono::Duration::seconds(600);
        let mut all = Vec::new();
        all.extend((0..successes).map(|_| {
            CheckerObservation::from_status(
                "us-west-2",
                "Success: HTTP Status Code 200, OK",
                fresh_at,
            )
        }));
        all.extend((0..failures).map(|_| {
            CheckerObservation::from_status("eu-west-1", "Failure: HTTP Status Code 503", fresh_at)
        }));
        all.extend((0..stale).map(|_| {
            CheckerObservation::from_status(
                "sa-east-1",
                "Success: HTTP Status Code 200, OK",
                stale_at,
            )
        }));
        all
    }

    #[test]
    fn route53_rule_more_than_18_percent_success_is_healthy() {
        // (successes, failures, stale) -> health
        let table = [
            ((8, 0, 0), Health::Healthy),
            ((2, 6, 0), Health::Healthy),   // 25 %
            ((1, 4, 0), Health::Healthy),   // 20 %
            ((1, 7, 0), Health::Unhealthy), // 12.5 %
            ((0, 8, 0), Health::Unhealthy),
            ((0, 8, 8), Health::Unhealthy), // stale successes do not count
            ((0, 0, 8), Health::Unknown),   // only stale observations
            ((0, 0, 0), Health::Unknown),
        ];
        for ((s, f, st), expected) in table {
            let reading = read_health("us-east-1", &observations(s, f, st), now(), &policy());
            assert_eq!(
                reading.health, expected,
                "{s} successes, {f} failures, {st} stale"
            );
            assert_eq!(reading.reporting_success, s as u32);
            assert_eq!(reading.fresh, (s + f) as u32);
            assert_eq!(reading.stale, st as u32);
        }
    }

    #[test]
    fn exactly_18_percent_is_not_healthy() {
        let p = ConfirmationPolicy {
            healthy_ratio: 0.25,
            ..policy()
        };
        assert_eq!(
            read_health("r", &observations(1, 3, 0), now(), &p).health,
            Health::Unhealthy
        );
        assert_eq!(
            read_health("r", &observations(2, 3, 0), now(), &p).health,
            Health::Healthy
        );
    }

    #[test]
    fn status_prefix_decides_success() {
        for (status, ok) in [
            ("Success: HTTP Status Code 200", true),
            ("Failure: Connection timed out", false),
            ("", false),
            ("success", false),
        ] {
            assert_eq!(
                CheckerObservation::from_status("x", status, now()).success,
                ok,
                "{status}"
            );
        }
    }
}
