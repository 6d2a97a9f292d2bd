//! The words of a restore: what was decided for a region, and what it means.

use crate::model::diagnosis::Diagnosis;
use crate::model::incident::Incident;
use crate::model::notice::{Notice, Severity};
use crate::model::remedy::Remedy;
use crate::rules::guardrails::{Gate, WaitReason};
use chrono::{DateTime, Utc};

pub(crate) fn describe(decision: Gate) -> String {
    match decision {
        Gate::Act {
            remedy: Remedy::Scale { replicas },
        } => format!("scaled the deployment to {replicas} replicas"),
        Gate::Act {
            remedy: Remedy::RolloutRestart,
        } => "restarted the deployment (rollout restart)".into(),
        Gate::Approve { remedy } => format!(
            "waiting for approval to {}",
            crate::rules::approval::ask_text(remedy)
        ),
        Gate::Report {
            remedy: Remedy::Scale { replicas },
        } => format!("dry run: would scale the deployment to {replicas} replicas"),
        Gate::Report { remedy: _ } => {
            "dry run: would restart the deployment (rollout restart)".into()
        }
        Gate::Wait {
            seconds,
            because: WaitReason::Cooldown,
        } => {
            format!("waiting: the last action was too recent, next decision in {seconds} s")
        }
        Gate::Wait {
            seconds,
            because: WaitReason::Spread,
        } => format!(
            "waiting: another region was acted on moments ago and restarts across regions are spread, next decision in {seconds} s"
        ),
        Gate::Skip => "no action: the region's health check is healthy again".into(),
        Gate::Escalate { cause }
        | Gate::Act {
            remedy: Remedy::Escalate { cause },
        } => format!("escalated ({cause:?}): {}", cause.next_step()),
    }
}

pub(crate) fn decided(
    incident: &Incident,
    decision: Gate,
    diagnosis: &Diagnosis,
    now: DateTime<Utc>,
) -> Notice {
    let region = incident.region.as_str();
    let (severity, title, next) = match decision {
        Gate::Act { remedy } => (
            Severity::Warning,
            match remedy {
                Remedy::Scale { replicas } => format!("{region} platform scaled to {replicas} replicas"),
                _ => format!("{region} platform restarted"),
            },
            "The orchestrator now waits for the rollout and verifies the region's health. Nothing is needed from you unless an escalation follows.".to_owned(),
        ),
        Gate::Report { .. } => (Severity::Info, format!("[DRY RUN] {region} platform restore decided, nothing changed"), "Nothing was changed: dry-run mode.".to_owned()),
        Gate::Escalate { cause } => (
            Severity::Critical,
            format!(
                "{}ESCALATION: {region} platform needs a person",
                if incident.dry_run { "[DRY RUN] " } else { "" }
            ),
            cause.next_step().to_owned(),
        ),
        Gate::Wait { .. } | Gate::Skip | Gate::Approve { .. } => (Severity::Info, format!("{region} platform: no action"), "Nothing to do.".to_owned()),
    };
    let body = format!(
        "{title}\n\nWhat happened: {}.\nWhat the cluster looks like: {}.\n\nWhat happens next: {next}\n\nIncident: {}\nRegion: {region}\nDetected: {}\n",
        describe(decision),
        diagnosis.summary(),
        incident.id,
        incident.detected_at.to_rfc3339()
    );
    crate::notices::about(incident, severity, &title, body, now)
}
