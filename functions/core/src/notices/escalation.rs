//! The words of an escalation: a region handed to a person, and the reminders
//! while it stays down.

use chrono::{DateTime, Utc};

use crate::model::health::Health;
use crate::model::incident::Incident;
use crate::model::notice::Notice;
use crate::model::remedy::Cause;
use crate::model::trigger::AlarmState;

/// The escalation of a recovery that stopped (on an error, or because its
/// workflow ended without closing the incident), saying `what` happened.
pub(crate) fn stopped(incident: &Incident, cause: Cause, what: &str, now: DateTime<Utc>) -> Notice {
    let done = if incident.applied().next().is_some() {
        "a remedy was applied (see the incident's actions)"
    } else {
        "nothing was changed in the region"
    };
    let headline = match cause {
        Cause::WorkflowStopped => format!("{} recovery stopped without closing", incident.region),
        Cause::NoApproval => format!("{} remedy not approved in time", incident.region),
        _ => format!("{} recovery stopped on an error", incident.region),
    };
    crate::notices::escalation(
        incident,
        cause,
        &headline,
        &format!("{what}\n\nWhat was done so far: {done}."),
        now,
    )
}

/// The reminder that an escalated region is still down `since` minutes after
/// its escalation, with what is seen now; it is not restarted again before
/// `hold` has passed.
pub(crate) fn reminder(
    incident: &Incident,
    since: i64,
    alarm: Option<AlarmState>,
    health: Health,
    hold: std::time::Duration,
    now: DateTime<Utc>,
) -> Notice {
    let cause = incident.escalation.unwrap_or(Cause::WorkflowFailed);
    crate::notices::escalation(
        incident,
        cause,
        &format!(
            "{} is still down, {since} min after its escalation",
            incident.region
        ),
        &format!(
            "What is seen now: alarm {}, Route 53 {}. The orchestrator does not restart an escalated region again until {} min after the escalation.",
            alarm.map_or("none", AlarmState::as_str),
            health.as_str(),
            hold.as_secs() / 60
        ),
        now,
    )
}
