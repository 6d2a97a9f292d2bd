//! The words of a verification: recovered (and how fast), not yet, or failed.

use crate::model::incident::Incident;
use crate::model::notice::{Notice, Severity};
use crate::model::remedy::Cause;
use crate::rules::recovery::Recovery;
use chrono::{DateTime, Utc};

pub(crate) fn seconds_between(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Option<i64> {
    Some(to?.signed_duration_since(from?).num_seconds())
}

pub(crate) fn describe(outcome: &Recovery, health: &str) -> String {
    match outcome {
        Recovery::Recovered { warnings } if warnings.is_empty() => format!("recovered ({health})"),
        Recovery::Recovered { warnings } => {
            format!("recovered with warnings: {}", warnings.join("; "))
        }
        Recovery::KeepWaiting { pending, .. } => format!("not yet: {}", pending.join("; ")),
        Recovery::RestoreAgain { reasons } => {
            format!(
                "the remedy did not take: {}; deciding again",
                reasons.join("; ")
            )
        }
        Recovery::Failed { reasons } => format!("not recovered: {}", reasons.join("; ")),
    }
}

pub(crate) fn minutes_seconds(total: Option<i64>) -> String {
    total.map_or_else(
        || "unknown".into(),
        |s| format!("{}m{:02}s", s / 60, s % 60),
    )
}

pub(crate) fn recovered(incident: &Incident, warnings: &[String], now: DateTime<Utc>) -> Notice {
    let from_detection = seconds_between(Some(incident.detected_at), Some(now));
    let from_confirmation = seconds_between(incident.confirmed_at, Some(now));
    let actions: Vec<String> = incident
        .actions
        .iter()
        .filter(|a| a.applied)
        .map(|a| format!("{:?} at {}", a.remedy, a.at.to_rfc3339()))
        .collect();
    let title = format!(
        "{} platform recovered in {}",
        incident.region,
        minutes_seconds(from_detection)
    );
    let warning = if warnings.is_empty() {
        String::new()
    } else {
        format!("\nWarnings: {}\n", warnings.join("; "))
    };
    let body = format!(
        "{title}\n\nWhat happened: the rollout completed, the Route 53 health check is healthy again and the platform pods are ready in every region.\n{warning}\nTime to recover: {} from detection, {} from confirmation.\nActions: {}\n\nWhat happens next: nothing; the incident is closed.\n\nIncident: {}\nDetected: {}\n",
        minutes_seconds(from_detection),
        minutes_seconds(from_confirmation),
        if actions.is_empty() {
            "none".to_owned()
        } else {
            actions.join(", ")
        },
        incident.id,
        incident.detected_at.to_rfc3339(),
    );
    let severity = if warnings.is_empty() {
        Severity::Info
    } else {
        Severity::Warning
    };
    crate::notices::about(incident, severity, &title, body, now)
}

pub(crate) fn failed(incident: &Incident, reasons: &[String], now: DateTime<Utc>) -> Notice {
    crate::notices::escalation(
        incident,
        Cause::NotRecoveredInTime,
        &format!("{} platform not recovered in time", incident.region),
        &format!("What is still wrong: {}.", reasons.join("; ")),
        now,
    )
}
