//! The reconciler's decisions: what to repair in a region, from what it
//! looks like now.

use chrono::{DateTime, Utc};
use serde::Serialize;

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
    let down = match (alarm, health) {
        (Some(AlarmState::Ok), _) => false,
        (_, Health::Unhealthy) => true,
        (Some(AlarmState::Alarm), Health::Unknown) => true,
        _ => false,
    };
    if !down {
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
