//! The reconciler's decisions: what to repair in a region, from what it
//! looks like now.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::RegionSettings;
use crate::model::health::Health;
use crate::model::incident::Incident;
use crate::model::phase::Phase;
use crate::model::trigger::AlarmState;
use crate::model::workflow::ExecutionStatus;

/// What the reconciler saw of a region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionView {
    pub region: String,
    /// The state of the region's alarms (the worst one), if any exists.
    pub alarm: Option<AlarmState>,
    pub health: Health,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// What was put right, one line each.
    pub repairs: Vec<String>,
    /// What could not be read or repaired (retried on the next run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What to do with an open incident, from its phase, its age and its
/// execution: the decision, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenRepair {
    /// Someone is working on it.
    Leave,
    /// Its confirmation stopped: claim it and finish it.
    TakeOver,
    /// Confirmed, but no execution was ever started.
    StartWorkflow,
    /// Nothing will close it: escalate with what happened.
    Escalate(String),
}

/// Decides for an open incident. `execution` is `None` when no execution of
/// its name exists.
pub fn open_repair(
    incident: &Incident,
    execution: Option<ExecutionStatus>,
    now: DateTime<Utc>,
    takeover_after: std::time::Duration,
) -> OpenRepair {
    let idle = incident.time_since_update(now) > takeover_after;
    match (incident.phase, execution) {
        (Phase::Confirming, _) if idle => OpenRepair::TakeOver,
        (Phase::Confirming, _) => OpenRepair::Leave,
        (_, Some(status)) if status.is_running() => OpenRepair::Leave,
        (_, Some(status)) => OpenRepair::Escalate(format!(
            "its recovery workflow ended {} without closing it",
            status.as_str()
        )),
        (Phase::Confirmed, None) if idle => OpenRepair::StartWorkflow,
        (Phase::Restoring, None) if idle => OpenRepair::Escalate(
            "it is being restored, but no recovery workflow runs to verify and close it".into(),
        ),
        _ => OpenRepair::Leave,
    }
}

/// Whether a region is down: its own Route 53 reading says so and its alarm
/// (if it has one) does not say OK, or its alarm is in ALARM with no fresh
/// Route 53 observation.
pub fn is_down(alarm: Option<AlarmState>, health: Health) -> bool {
    match (alarm, health) {
        (Some(AlarmState::Ok), _) => false,
        (_, Health::Unhealthy) => true,
        (Some(AlarmState::Alarm), Health::Unknown) => true,
        _ => false,
    }
}

/// What to do with a region that has no open incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdleRepair {
    Leave,
    /// Still down: confirm again exactly as an alarm would.
    Confirm(String),
    /// Escalated and still down: tell a person again.
    Remind,
}

/// A region is down when its own Route 53 reading says so and its alarm (if
/// it has one) does not say OK; an alarm in ALARM with no fresh Route 53
/// observation counts too (the confirmation then escalates as
/// inconclusive). After a closed incident the region is left alone for the
/// takeover time (its alarm catches up), or for the hold after an
/// escalation, during which a person owns it and gets reminders.
pub fn idle_repair(
    alarm: Option<AlarmState>,
    health: Health,
    last_closed: Option<&Incident>,
    now: DateTime<Utc>,
    policy: &crate::config::ReconcilePolicy,
    takeover_after: std::time::Duration,
) -> IdleRepair {
    if !is_down(alarm, health) {
        return IdleRepair::Leave;
    }
    let why = format!(
        "the region is still down (alarm {}, Route 53 {}) and no incident is open",
        alarm.map_or("none", AlarmState::as_str),
        health.as_str()
    );
    let Some(last) = last_closed else {
        return IdleRepair::Confirm(why);
    };
    let since = |at: Option<DateTime<Utc>>| {
        at.map_or(std::time::Duration::MAX, |at| {
            now.signed_duration_since(at).to_std().unwrap_or_default()
        })
    };
    let closed_since = since(last.closed_at);
    // An escalated region is a person's; a dry run's report told them what
    // would be done: both hold the region, the escalation with reminders.
    if matches!(last.phase, Phase::Escalated | Phase::Reported) {
        if closed_since < policy.hold {
            let told = since(last.reminded_at.or(last.closed_at));
            return if last.phase == Phase::Escalated && told >= policy.reminder_every {
                IdleRepair::Remind
            } else {
                IdleRepair::Leave
            };
        }
        return IdleRepair::Confirm(format!(
            "{why}; the hold after its {} incident is over",
            last.phase.as_str()
        ));
    }
    if closed_since < takeover_after {
        return IdleRepair::Leave;
    }
    IdleRepair::Confirm(why)
}

/// The worst state of the region's alarms (ALARM, then INSUFFICIENT_DATA,
/// then OK), if any of them exists.
pub fn worst_alarm(region: &RegionSettings, states: &[(String, AlarmState)]) -> Option<AlarmState> {
    let mine: Vec<AlarmState> = states
        .iter()
        .filter(|(name, _)| region.alarm_names.contains(name))
        .map(|(_, state)| *state)
        .collect();
    [
        AlarmState::Alarm,
        AlarmState::InsufficientData,
        AlarmState::Ok,
    ]
    .into_iter()
    .find(|state| mine.contains(state))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_region_is_down_by_its_own_reading_unless_its_alarm_says_ok() {
        use AlarmState::{Alarm, InsufficientData, Ok};
        let table = [
            (None, Health::Unhealthy, true),
            (Some(Alarm), Health::Unhealthy, true),
            (Some(InsufficientData), Health::Unhealthy, true),
            (Some(Ok), Health::Unhealthy, false),
            (Some(Alarm), Health::Unknown, true),
            (Some(InsufficientData), Health::Unknown, false),
            (None, Health::Unknown, false),
            // Healthy by Route 53: an alarm still in ALARM is catching up.
            (Some(Alarm), Health::Healthy, false),
            (None, Health::Healthy, false),
        ];
        for (alarm, health, down) in table {
            assert_eq!(is_down(alarm, health), down, "{alarm:?} {health:?}");
        }
    }
    use crate::config::ReconcilePolicy;
    use crate::fakes::alarm_trigger;
    use crate::model::phase::Phase;
    use crate::model::workflow::ExecutionStatus;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn incident(phase: Phase, updated: &str) -> Incident {
        let mut i = Incident::detect("us-east-1", &alarm_trigger(), false, at(updated), "n");
        i.phase = phase;
        if !phase.is_open() {
            i.closed_at = Some(at(updated));
        }
        i
    }

    #[test]
    fn open_incidents() {
        use ExecutionStatus::*;
        let now = at("2026-11-22T10:10:00Z");
        let takeover = Duration::from_secs(120);
        let table: &[(Phase, &str, Option<ExecutionStatus>, OpenRepair)] = &[
            (
                Phase::Confirming,
                "2026-11-22T10:09:00Z",
                None,
                OpenRepair::Leave,
            ),
            (
                Phase::Confirming,
                "2026-11-22T10:00:00Z",
                None,
                OpenRepair::TakeOver,
            ),
            (
                Phase::Confirmed,
                "2026-11-22T10:09:00Z",
                None,
                OpenRepair::Leave,
            ),
            (
                Phase::Confirmed,
                "2026-11-22T10:00:00Z",
                None,
                OpenRepair::StartWorkflow,
            ),
            (
                Phase::Confirmed,
                "2026-11-22T10:00:00Z",
                Some(Running),
                OpenRepair::Leave,
            ),
            (
                Phase::Restoring,
                "2026-11-22T10:00:00Z",
                Some(Running),
                OpenRepair::Leave,
            ),
            (
                Phase::Restoring,
                "2026-11-22T10:09:59Z",
                Some(Aborted),
                OpenRepair::Escalate(
                    "its recovery workflow ended ABORTED without closing it".into(),
                ),
            ),
            (
                Phase::Confirmed,
                "2026-11-22T10:00:00Z",
                Some(Failed),
                OpenRepair::Escalate(
                    "its recovery workflow ended FAILED without closing it".into(),
                ),
            ),
            (
                Phase::Restoring,
                "2026-11-22T10:00:00Z",
                Some(TimedOut),
                OpenRepair::Escalate(
                    "its recovery workflow ended TIMED_OUT without closing it".into(),
                ),
            ),
            (
                Phase::Restoring,
                "2026-11-22T10:09:00Z",
                None,
                OpenRepair::Leave,
            ),
            (
                Phase::Restoring,
                "2026-11-22T10:00:00Z",
                None,
                OpenRepair::Escalate(
                    "it is being restored, but no recovery workflow runs to verify and close it"
                        .into(),
                ),
            ),
        ];
        for (phase, updated, execution, expected) in table {
            assert_eq!(
                open_repair(&incident(*phase, updated), *execution, now, takeover),
                *expected,
                "{phase:?} updated {updated} execution {execution:?}"
            );
        }
    }

    #[test]
    fn a_long_approval_wait_is_left_while_its_execution_waits_and_escalated_once_it_ended() {
        use crate::model::approval::Approval;
        use crate::model::remedy::Remedy;
        let now = at("2026-11-22T13:00:00Z");
        let takeover = Duration::from_secs(120);
        // Asked three hours ago, nothing written since: people take their time.
        let mut waiting = incident(Phase::Confirmed, "2026-11-22T10:00:00Z");
        waiting.approval = Some(Approval::asked(
            Remedy::RolloutRestart,
            2,
            at("2026-11-22T10:00:00Z"),
            Duration::from_secs(24 * 3600),
        ));
        let table: &[(Option<ExecutionStatus>, OpenRepair)] = &[
            (Some(ExecutionStatus::Running), OpenRepair::Leave),
            (
                Some(ExecutionStatus::Aborted),
                OpenRepair::Escalate(
                    "its recovery workflow ended ABORTED without closing it".into(),
                ),
            ),
            (
                Some(ExecutionStatus::TimedOut),
                OpenRepair::Escalate(
                    "its recovery workflow ended TIMED_OUT without closing it".into(),
                ),
            ),
        ];
        for (execution, expected) in table {
            assert_eq!(
                open_repair(&waiting, *execution, now, takeover),
                *expected,
                "{execution:?}"
            );
        }
    }

    #[test]
    fn regions_without_an_open_incident() {
        use AlarmState::{Alarm, Ok as Fine};
        use Health::{Healthy as H, Unhealthy as U, Unknown as X};
        let now = at("2026-11-22T12:00:00Z");
        let policy = ReconcilePolicy {
            hold: Duration::from_secs(3600),
            reminder_every: Duration::from_secs(1800),
        };
        let takeover = Duration::from_secs(120);
        let escalated = |closed: &str, reminded: Option<&str>| {
            let mut i = incident(Phase::Escalated, closed);
            i.reminded_at = reminded.map(at);
            i
        };
        let confirm = |s: &str| IdleRepair::Confirm(s.to_owned());
        type Row = (
            &'static str,
            Option<AlarmState>,
            Health,
            Option<Incident>,
            IdleRepair,
        );
        let table: Vec<Row> = vec![
            ("healthy", Some(Fine), H, None, IdleRepair::Leave),
            (
                "alarm lags a recovery",
                Some(Alarm),
                H,
                None,
                IdleRepair::Leave,
            ),
            (
                "a blip the alarm has not seen",
                Some(Fine),
                U,
                None,
                IdleRepair::Leave,
            ),
            (
                "a lost trigger",
                Some(Alarm),
                U,
                None,
                confirm(
                    "the region is still down (alarm ALARM, Route 53 unhealthy) and no incident is open",
                ),
            ),
            (
                "no alarm: the reading decides",
                None,
                U,
                None,
                confirm(
                    "the region is still down (alarm none, Route 53 unhealthy) and no incident is open",
                ),
            ),
            (
                "alarm, nothing fresh from Route 53",
                Some(Alarm),
                X,
                None,
                confirm(
                    "the region is still down (alarm ALARM, Route 53 unknown) and no incident is open",
                ),
            ),
            (
                "dismissed a minute ago",
                Some(Alarm),
                U,
                Some(incident(Phase::Dismissed, "2026-11-22T11:59:00Z")),
                IdleRepair::Leave,
            ),
            (
                "dismissed by a flap, still down",
                Some(Alarm),
                U,
                Some(incident(Phase::Dismissed, "2026-11-22T11:55:00Z")),
                confirm(
                    "the region is still down (alarm ALARM, Route 53 unhealthy) and no incident is open",
                ),
            ),
            (
                "escalated, just told",
                Some(Alarm),
                U,
                Some(escalated("2026-11-22T11:50:00Z", None)),
                IdleRepair::Leave,
            ),
            (
                "escalated, reminder due",
                Some(Alarm),
                U,
                Some(escalated("2026-11-22T11:20:00Z", None)),
                IdleRepair::Remind,
            ),
            (
                "escalated, reminded lately",
                Some(Alarm),
                U,
                Some(escalated(
                    "2026-11-22T11:20:00Z",
                    Some("2026-11-22T11:50:00Z"),
                )),
                IdleRepair::Leave,
            ),
            (
                "escalated, hold over",
                Some(Alarm),
                U,
                Some(escalated(
                    "2026-11-22T10:30:00Z",
                    Some("2026-11-22T11:50:00Z"),
                )),
                confirm(
                    "the region is still down (alarm ALARM, Route 53 unhealthy) and no incident is open; the hold after its escalated incident is over",
                ),
            ),
            (
                "a dry run reported a while ago",
                Some(Alarm),
                U,
                Some(incident(Phase::Reported, "2026-11-22T11:20:00Z")),
                IdleRepair::Leave,
            ),
            (
                "escalated, healthy again",
                Some(Fine),
                H,
                Some(escalated("2026-11-22T11:20:00Z", None)),
                IdleRepair::Leave,
            ),
        ];
        for (name, alarm, health, last, expected) in table {
            assert_eq!(
                idle_repair(alarm, health, last.as_ref(), now, &policy, takeover),
                expected,
                "{name}"
            );
        }
    }
}
