//! The words of the steps a person takes by hand with `failoverctl`: the
//! timeline entries that name who did what and why, the notice of an
//! incident taken over, and the refusals that say why nothing was changed.

use chrono::{DateTime, Utc};

use crate::model::incident::{Incident, Lane};
use crate::model::notice::Notice;
use crate::model::remedy::Cause;

/// What a person did by hand: `escalated` or `released`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandStep {
    Escalated,
    Released,
}

impl HandStep {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Escalated => "escalated",
            Self::Released => "released",
        }
    }
}

/// `released by <who>: <reason>`: the timeline entry of a step by hand.
pub fn by_hand(step: HandStep, by: &str, reason: &str) -> String {
    format!("{} by {by}: {reason}", step.as_str())
}

/// The entry on a closed incident's timeline when a person releases the
/// lease that still named it.
pub fn dangling_released(lane: Lane, region: &str, by: &str, reason: &str, phase: &str) -> String {
    format!(
        "{}; the {} lease of {region} still named this incident, already {phase}",
        by_hand(HandStep::Released, by, reason),
        lane.as_str()
    )
}

/// The critical notice of an incident a person took over by hand.
pub(crate) fn taken_over(
    incident: &Incident,
    step: HandStep,
    by: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Notice {
    let done = if incident.applied().next().is_some() {
        "a remedy was applied (see the incident's actions)"
    } else {
        "nothing was changed in the region"
    };
    crate::notices::escalation(
        incident,
        Cause::ByOperator,
        &format!("{} incident {} by hand", incident.region, step.as_str()),
        &format!(
            "What happened: {}.\n\nWhat was done so far: {done}. The region's lease is free: the next alarm, or the reconciler, may open a new incident.",
            by_hand(step, by, reason)
        ),
        now,
    )
}

/// Why a closed incident cannot be escalated.
pub fn already_closed(incident: &Incident) -> String {
    let closed = incident
        .closed_at
        .map_or_else(String::new, |at| format!(" since {}", at.to_rfc3339()));
    format!(
        "incident {} is already {}{closed}: only an open incident can be escalated; nothing was changed",
        incident.id,
        incident.phase.as_str()
    )
}

/// The summary of a release that found the lease free.
pub fn nothing_to_release(region: &str, lane: Lane) -> String {
    format!(
        "the {} lease of {region} is free: nothing to release; nothing was changed",
        lane.as_str()
    )
}

/// A name that is not one of `known`, with the ones that are.
pub fn unknown(what: &str, name: &str, known: &[&str]) -> String {
    if known.is_empty() {
        return format!("unknown {what} {name:?}: none is known");
    }
    format!("unknown {what} {name:?}; known: {}", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_names_who_why_and_what_was_left() {
        assert_eq!(
            by_hand(HandStep::Released, "arn:aws:iam::1:user/ana", "db failover"),
            "released by arn:aws:iam::1:user/ana: db failover"
        );
        assert_eq!(
            dangling_released(Lane::Live, "us-east-1", "ana", "stuck", "escalated"),
            "released by ana: stuck; the live lease of us-east-1 still named this incident, already escalated"
        );
        assert_eq!(
            nothing_to_release("eu-west-1", Lane::DryRun),
            "the dry_run lease of eu-west-1 is free: nothing to release; nothing was changed"
        );
        assert_eq!(
            unknown("region", "eu-central-1", &["us-east-1", "eu-west-1"]),
            "unknown region \"eu-central-1\"; known: us-east-1, eu-west-1"
        );
        assert_eq!(
            unknown("incident", "x", &[]),
            "unknown incident \"x\": none is known"
        );
    }
}
