//! Is the outage real, and should this trigger start anything?

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::health::{Health, HealthReading};
use crate::model::incident::Incident;
use crate::model::phase::Phase;
use crate::model::trigger::AlarmState;
use crate::model::verdict::Verdict;

/// Whether another sample of the failed region is worth taking: only while
/// every sample so far was unhealthy and fewer than `wanted` were taken.
pub fn keep_sampling(target: &[HealthReading], wanted: u32) -> bool {
    target.len() < wanted as usize && target.iter().all(|r| r.health == Health::Unhealthy)
}

/// The confirmation verdict over the failed region's samples and one reading
/// of every other region.
pub fn judge(target: &[HealthReading], others: &[HealthReading]) -> Verdict {
    if target.is_empty() || target.iter().any(|r| r.health == Health::Unknown) {
        return Verdict::Inconclusive;
    }
    if target.iter().any(|r| r.health == Health::Healthy) {
        return Verdict::Transient;
    }
    if others.iter().any(|r| r.health == Health::Healthy) {
        Verdict::Confirmed
    } else {
        Verdict::AllRegionsDown
    }
}

/// What a trigger does, given the region's open incident (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Not an alarm: do nothing at all.
    Ignore,
    /// Open a new incident and confirm.
    Open,
    /// An incident is open and alive: join it.
    Join,
    /// An incident stopped while confirming (its function died): claim it
    /// and finish its confirmation.
    TakeOver,
    /// A retry of the request that opened the incident: finish what its
    /// first attempt left, at once (Lambda retries an async invocation
    /// about a minute later, well inside the takeover time).
    Resume,
}

/// `request` is the invocation's request id (the same on a retry).
pub fn admit(
    state: AlarmState,
    open: Option<&Incident>,
    now: DateTime<Utc>,
    takeover_after: Duration,
    request: &str,
) -> Admission {
    if state != AlarmState::Alarm {
        return Admission::Ignore;
    }
    match open {
        None => Admission::Open,
        Some(incident) if !request.is_empty() && incident.opened_by == request => Admission::Resume,
        Some(incident)
            if incident.phase == Phase::Confirming
                && incident.time_since_update(now) > takeover_after =>
        {
            Admission::TakeOver
        }
        Some(_) => Admission::Join,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trigger::{Target, Trigger, TriggerSource};

    fn reading(region: &str, health: Health) -> HealthReading {
        HealthReading {
            region: region.into(),
            at: "2026-11-22T10:00:00Z".parse().unwrap(),
            health,
            reporting_success: 0,
            fresh: 8,
            stale: 0,
        }
    }

    use Health::{Healthy as H, Unhealthy as U, Unknown as X};

    #[test]
    fn verdicts() {
        let table: &[(&[Health], &[Health], Verdict)] = &[
            (&[U, U, U], &[H], Verdict::Confirmed),
            (&[U, U, U], &[U, H], Verdict::Confirmed),
            (&[U], &[H], Verdict::Confirmed),
            (&[U, H], &[H], Verdict::Transient),
            (&[H], &[H], Verdict::Transient),
            (&[H], &[U], Verdict::Transient),
            (&[U, U, U], &[U], Verdict::AllRegionsDown),
            (&[U, U, U], &[U, X], Verdict::AllRegionsDown),
            (&[U, U, U], &[X], Verdict::AllRegionsDown),
            (&[U, X], &[H], Verdict::Inconclusive),
            (&[], &[H], Verdict::Inconclusive),
        ];
        for (target, others, expected) in table {
            let target: Vec<_> = target.iter().map(|h| reading("us-east-1", *h)).collect();
            let others: Vec<_> = others.iter().map(|h| reading("eu-west-1", *h)).collect();
            assert_eq!(
                judge(&target, &others),
                *expected,
                "target {target:?} others {others:?}"
            );
        }
    }

    #[test]
    fn sampling_stops_at_the_first_sign_of_health_or_at_the_count() {
        let table: &[(&[Health], u32, bool)] = &[
            (&[], 3, true),
            (&[U], 3, true),
            (&[U, U], 3, true),
            (&[U, U, U], 3, false),
            (&[U, H], 3, false),
            (&[X], 3, false),
            (&[U], 1, false),
        ];
        for (taken, wanted, expected) in table {
            let taken: Vec<_> = taken.iter().map(|h| reading("us-east-1", *h)).collect();
            assert_eq!(
                keep_sampling(&taken, *wanted),
                *expected,
                "{taken:?} of {wanted}"
            );
        }
    }

    #[test]
    fn admission() {
        let now: DateTime<Utc> = "2026-11-22T10:10:00Z".parse().unwrap();
        let trigger = Trigger {
            source: TriggerSource::AlarmAction,
            target: Target::Alarm {
                name: "a".into(),
                health_check_id: None,
            },
            state: AlarmState::Alarm,
            reason: String::new(),
            dry_run: false,
        };
        let incident = |phase: Phase, idle_seconds: i64| {
            let mut i = Incident::detect(
                "us-east-1",
                &trigger,
                false,
                now - chrono::Duration::seconds(idle_seconds),
                "first-request",
            );
            i.phase = phase;
            i
        };
        let takeover = Duration::from_secs(120);
        let table = [
            (AlarmState::Ok, None, "r2", Admission::Ignore),
            (AlarmState::InsufficientData, None, "r2", Admission::Ignore),
            (
                AlarmState::Ok,
                Some(incident(Phase::Confirmed, 5)),
                "first-request",
                Admission::Ignore,
            ),
            (AlarmState::Alarm, None, "r2", Admission::Open),
            (
                AlarmState::Alarm,
                Some(incident(Phase::Confirming, 5)),
                "r2",
                Admission::Join,
            ),
            (
                AlarmState::Alarm,
                Some(incident(Phase::Confirming, 121)),
                "r2",
                Admission::TakeOver,
            ),
            (
                AlarmState::Alarm,
                Some(incident(Phase::Confirming, 60)),
                "first-request",
                Admission::Resume,
            ),
            (
                AlarmState::Alarm,
                Some(incident(Phase::Confirmed, 60)),
                "first-request",
                Admission::Resume,
            ),
            (
                AlarmState::Alarm,
                Some(incident(Phase::Confirmed, 9999)),
                "r2",
                Admission::Join,
            ),
            (
                AlarmState::Alarm,
                Some(incident(Phase::Restoring, 9999)),
                "r2",
                Admission::Join,
            ),
            (
                AlarmState::Alarm,
                Some(incident(Phase::Confirming, 5)),
                "",
                Admission::Join,
            ),
        ];
        for (state, open, request, expected) in table {
            assert_eq!(
                admit(state, open.as_ref(), now, takeover, request),
                expected,
                "{state:?} {request} {open:?}"
            );
        }
    }
}
