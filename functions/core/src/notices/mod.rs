//! Every word the orchestrator tells people, one module per step.

pub mod approval;
pub mod escalation;
pub mod operator;
pub mod peers;
pub mod readiness;
pub mod recovery;
pub mod restore;
pub mod verdict;

use chrono::{DateTime, Utc};

use crate::model::incident::Incident;
use crate::model::notice::{Notice, Severity};
use crate::model::remedy::Cause;

/// The notice of an incident's next transition; `title` becomes the
/// subject behind the severity.
pub(crate) fn about(
    incident: &Incident,
    severity: Severity,
    title: &str,
    body: String,
    now: DateTime<Utc>,
) -> Notice {
    Notice {
        incident_id: Some(incident.id.clone()),
        phase: Some(incident.phase),
        ..Notice::standalone(
            format!("{}/v{}", incident.id, incident.version + 1),
            &incident.region,
            severity,
            title,
            body,
            now,
        )
    }
}

/// The critical notice that hands an incident to a person: `ESCALATION:
/// <headline>`, what is wrong, and the runbook step the cause calls for.
pub(crate) fn escalation(
    incident: &Incident,
    cause: Cause,
    headline: &str,
    what: &str,
    now: DateTime<Utc>,
) -> Notice {
    let title = format!("ESCALATION: {headline}");
    let body = format!(
        "{title}\n\n{what}\n\nWhat to do: {}\n\nIncident: {}\nDetected: {}\n",
        cause.next_step(),
        incident.id,
        incident.detected_at.to_rfc3339()
    );
    about(incident, Severity::Critical, &title, body, now)
}
