//! Use case: the recovery workflow's catch-all. Whatever step failed past
//! its retries, the incident is closed as escalated, the failure is recorded
//! and people are told; nothing is left half open.

use serde::{Deserialize, Serialize};

use crate::app::commit::{Delivered, commit, deliver};
use crate::app::context::Records;
use crate::error::Result;
use crate::model::incident::{Closing, EntryKind, Incident, Journal, bounded};
use crate::model::phase::Phase;
use crate::model::remedy::Cause;

/// The error the workflow's `ApprovalTimedOut` state hands over when its
/// approval wait reached the timeout.
pub const APPROVAL_TIMED_OUT: &str = "ApprovalTimedOut";

/// What Step Functions' `Catch` hands over: the error name and its cause.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Failure {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl Failure {
    /// `Error: message`, with a Lambda error's JSON cause reduced to its
    /// message and the whole kept short enough for a phone.
    pub fn describe(&self) -> String {
        #[derive(Deserialize)]
        struct LambdaError {
            #[serde(rename = "errorMessage")]
            message: String,
        }
        let cause = serde_json::from_str::<LambdaError>(&self.cause)
            .map(|e| e.message)
            .unwrap_or_else(|_| self.cause.clone());
        let text = if cause.trim().is_empty() {
            self.error.clone()
        } else {
            format!("{}: {}", self.error, cause.trim())
        };
        bounded(&text, 600)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalateRequest {
    pub incident_id: String,
    pub failure: Failure,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalateReport {
    pub incident_id: String,
    pub region: String,
    pub phase: Phase,
    pub notified: bool,
    #[serde(skip_serializing_if = "crate::app::commit::is_zero")]
    pub undelivered: usize,
    pub summary: String,
}

pub async fn escalate_incident(
    records: &Records<'_>,
    request: &EscalateRequest,
    nonce: &str,
) -> Result<EscalateReport> {
    let mut journal = Journal::new(nonce);
    let incident = records.store.named(&request.incident_id).await?;
    let reason = request.failure.describe();
    if !incident.phase.is_open() {
        // Closed by the step that failed after its write (or by a retry of
        // this one): the record stands; what it still owes is delivered.
        let delivered = deliver(records, incident, &mut journal).await;
        let incident = &delivered.incident;
        return Ok(EscalateReport {
            incident_id: incident.id.clone(),
            region: incident.region.clone(),
            phase: incident.phase,
            notified: delivered.notified(),
            undelivered: delivered.undelivered(),
            summary: format!(
                "{} is already {}; the workflow's failure ({reason}) changes nothing",
                incident.id,
                incident.phase.as_str()
            ),
        });
    }
    // The workflow's approval wait timed out: nobody approved in time.
    let waited = incident
        .approval
        .as_ref()
        .filter(|_| request.failure.error == APPROVAL_TIMED_OUT);
    let (cause, why) = match waited {
        Some(approval) => (
            Cause::NoApproval,
            crate::notices::approval::timed_out(approval),
        ),
        None => (
            Cause::WorkflowFailed,
            format!("the recovery workflow stopped: {reason}"),
        ),
    };
    let delivered = escalate(
        records,
        incident,
        cause,
        &why,
        &format!("What happened: {why}"),
        &mut journal,
    )
    .await?;
    let stored = &delivered.incident;
    Ok(EscalateReport {
        incident_id: stored.id.clone(),
        region: stored.region.clone(),
        phase: stored.phase,
        notified: delivered.notified(),
        undelivered: delivered.undelivered(),
        summary: format!("{} escalated: {why}", stored.id),
    })
}

/// Closes an open incident as escalated for `cause`, with `entry` on its
/// timeline and a critical notice saying `what` happened, what was done so
/// far and what to do. The lease is released in the same write.
pub(crate) async fn escalate(
    records: &Records<'_>,
    mut incident: Incident,
    cause: Cause,
    entry: &str,
    what: &str,
    journal: &mut Journal,
) -> Result<Delivered> {
    let now = records.clock.now();
    incident.close(Closing::Escalated(cause), now)?;
    let notice = crate::notices::escalation::stopped(&incident, cause, what, now);
    let entry = journal.entry(&incident, now, EntryKind::Escalated, entry);
    commit(records, incident, vec![entry], Some(notice), journal).await
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::app::ports::{Clock, IncidentStore};
    use crate::config::tests::sample_settings;
    use crate::error::Error;
    use crate::fakes::{
        FakeClock, MemoryStore, RecordingMetrics, RecordingNotifier, ScriptedHealth,
        confirmed_incident,
    };

    fn failure(error: &str, cause: &str) -> Failure {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    #[test]
    fn a_failure_reads_as_one_line() {
        for (given, expected) in [
            (
                failure(
                    "UpstreamUnavailable",
                    r#"{"errorType":"UpstreamUnavailable","errorMessage":"EKS DescribeCluster: timed out"}"#,
                ),
                "UpstreamUnavailable: EKS DescribeCluster: timed out",
            ),
            (
                failure("States.Timeout", "Task timed out after 90 seconds"),
                "States.Timeout: Task timed out after 90 seconds",
            ),
            (failure("UnexpectedAnswer", ""), "UnexpectedAnswer"),
        ] {
            assert_eq!(given.describe(), expected);
        }
        let long = failure("X", &"y".repeat(2000)).describe();
        assert_eq!(long.chars().count(), 601);
    }

    struct World {
        settings: crate::config::Settings,
        store: MemoryStore,
        health: ScriptedHealth,
        notifier: RecordingNotifier,
        metrics: RecordingMetrics,
        clock: FakeClock,
    }

    impl World {
        fn new() -> Self {
            Self {
                settings: sample_settings(),
                store: MemoryStore::default(),
                health: ScriptedHealth::default(),
                notifier: RecordingNotifier::default(),
                metrics: RecordingMetrics::default(),
                clock: FakeClock::at("2026-11-22T10:00:00Z"),
            }
        }

        async fn escalate(&self, request: &EscalateRequest, nonce: &str) -> Result<EscalateReport> {
            let deps = crate::fakes::context(
                &self.settings,
                &self.health,
                &self.store,
                &self.notifier,
                &self.clock,
                &self.metrics,
            );
            escalate_incident(&deps.records, request, nonce).await
        }
    }

    #[tokio::test]
    async fn sns_down_still_closes_the_incident_and_frees_the_region() {
        let world = World::new();
        let now = world.clock.now();
        let incident = confirmed_incident(&world.store, now, now).await;
        *world.notifier.failing.lock().unwrap() = true;
        let request = EscalateRequest {
            incident_id: incident.id.clone(),
            failure: failure("UpstreamUnavailable", "SNS is unavailable"),
        };
        let report = world.escalate(&request, "e1").await.unwrap();
        assert_eq!(report.phase, Phase::Escalated);
        assert!(!report.notified);
        assert_eq!(report.undelivered, 1);
        assert!(world.store.lease("us-east-1").is_none());

        *world.notifier.failing.lock().unwrap() = false;
        let retry = world.escalate(&request, "e2").await.unwrap();
        assert!(
            retry.notified,
            "the retry delivers what the first attempt could not"
        );
        assert_eq!(world.notifier.sent.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_open_incident_is_escalated_once_and_people_are_told() {
        let world = World::new();
        let (store, notifier) = (&world.store, &world.notifier);
        let now = world.clock.now();
        let incident = confirmed_incident(store, now, now).await;
        let request = EscalateRequest {
            incident_id: incident.id.clone(),
            failure: failure("States.Timeout", "Task timed out"),
        };
        let report = world.escalate(&request, "e1").await.unwrap();
        assert_eq!(report.phase, Phase::Escalated);
        assert!(report.notified);
        let stored = store.get(&incident.id).await.unwrap().unwrap();
        assert_eq!(stored.escalation, Some(Cause::WorkflowFailed));
        assert!(stored.closed_at.is_some());
        assert!(
            store.lease("us-east-1").is_none(),
            "the region's lease is released"
        );
        let sent = notifier.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].body.contains("States.Timeout: Task timed out"));
        assert!(sent[0].body.contains("nothing was changed in the region"));

        let again = world.escalate(&request, "e2").await.unwrap();
        assert_eq!(again.phase, Phase::Escalated);
        assert!(!again.notified);
        assert_eq!(notifier.sent.lock().unwrap().len(), 1, "said once");
        assert!(store.kinds().iter().filter(|k| *k == "Escalated").count() == 1);
    }

    #[tokio::test]
    async fn an_unknown_incident_is_named() {
        let request = EscalateRequest {
            incident_id: "nope".into(),
            failure: failure("X", ""),
        };
        let error = World::new().escalate(&request, "e1").await.unwrap_err();
        assert!(
            matches!(&error, Error::InvalidEvent(m) if m.contains("\"nope\"")),
            "{error}"
        );
    }
}
