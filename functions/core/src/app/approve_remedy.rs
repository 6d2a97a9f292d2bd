//! Use case: a person in the loop. In approve mode restore-platform asks for
//! approval of the remedy it decided (`Gate::Approve`); the workflow then
//! waits with a task token, which [`wait_for_approval`] keeps; people answer
//! with [`answer`] (from `failoverctl` or the approve-remedy function), and
//! the last approval needed, or a rejection, resumes the workflow.
//!
//! Every answer is recorded before the workflow is told, so a failure in
//! between loses nothing: the same person's retry tells it (and the
//! registration of a late token does too).

use serde::Serialize;

use crate::app::commit::{Delivered, commit};
use crate::app::context::Records;
use crate::app::ports::{Callbacks, Outcome, Resumed, TaskTokens};
use crate::error::{Error, Result};
use crate::model::approval::{Answer, Approval, ApprovalState, TaskToken, Verdict, Via};
use crate::model::incident::{Closing, EntryKind, Incident, Journal, REASON_LIMIT};
use crate::model::phase::Phase;
use crate::model::remedy::Cause;
use crate::rules::approval::{Taken, take};

/// The ports an approval step borrows beyond the records.
pub struct Waiting<'a> {
    pub tokens: &'a dyn TaskTokens,
    pub callbacks: &'a dyn Callbacks,
}

/// What an approval step answers (never the task token).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalReport {
    pub incident_id: String,
    pub region: String,
    pub phase: Phase,
    /// `waiting`, `approved`, `rejected` or `settled`.
    pub approval: ApprovalState,
    pub approvals: usize,
    pub required: u8,
    /// Whether the workflow was told the outcome by this step.
    pub resumed: bool,
    pub notified: bool,
    #[serde(skip_serializing_if = "crate::app::commit::is_zero")]
    pub undelivered: usize,
    pub summary: String,
}

fn report(delivered: &Delivered, resumed: bool, summary: String) -> ApprovalReport {
    let incident = &delivered.incident;
    let approval = incident.approval.as_ref();
    ApprovalReport {
        incident_id: incident.id.clone(),
        region: incident.region.clone(),
        phase: incident.phase,
        approval: approval.map_or(ApprovalState::Settled, Approval::state),
        approvals: approval.map_or(0, |a| a.approvals.len()),
        required: approval.map_or(0, |a| a.required),
        resumed,
        notified: delivered.notified(),
        undelivered: delivered.undelivered(),
        summary,
    }
}

fn unchanged(incident: Incident) -> Delivered {
    Delivered { incident, sent: 0 }
}

/// The workflow's approval wait: keeps the execution's task token, so an
/// answer can resume it. An approval complete before the token arrived, or
/// an incident closed meanwhile, resumes it at once.
pub async fn wait_for_approval(
    records: &Records<'_>,
    waiting: &Waiting<'_>,
    incident_id: &str,
    token: &TaskToken,
    nonce: &str,
) -> Result<ApprovalReport> {
    let mut journal = Journal::new(nonce);
    let incident = records.store.named(incident_id).await?;
    if !incident.phase.is_open() {
        let resumed = tell(waiting, token, Outcome::Closed).await?;
        let summary = format!(
            "{} is already {}: the workflow was told",
            incident.id,
            incident.phase.as_str()
        );
        return Ok(report(&unchanged(incident), resumed, summary));
    }
    let Some(approval) = incident.approval.clone() else {
        return Err(Error::InvalidEvent(format!(
            "incident {incident_id} has no request for approval: restore-platform asks for one before the workflow waits"
        )));
    };
    match approval.state() {
        ApprovalState::Waiting => {}
        ApprovalState::Approved => {
            return resume_approved(records, waiting, incident, Some(token), &mut journal).await;
        }
        ApprovalState::Rejected | ApprovalState::Settled => {
            return Err(Error::InvalidEvent(format!(
                "incident {incident_id}: its request for approval is already {}",
                approval.state().as_str()
            )));
        }
    }
    waiting.tokens.keep(incident_id, token).await?;
    if approval.waiting {
        let summary = format!("{incident_id}: still waiting for approval (a retried wait)");
        return Ok(report(&unchanged(incident), false, summary));
    }
    let mut incident = incident;
    let now = records.clock.now();
    if let Some(a) = incident.approval.as_mut() {
        a.waiting = true;
    }
    incident.updated_at = now;
    let entry = journal.entry(
        &incident,
        now,
        EntryKind::Approval,
        format!(
            "the workflow waits for approval until {}",
            approval
                .deadline
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    );
    let delivered = commit(records, incident, vec![entry], None, &mut journal).await?;
    let summary = format!(
        "{incident_id}: waiting for {} approval(s) until {}",
        approval.required,
        approval
            .deadline
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(report(&delivered, false, summary))
}

/// A person's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRequest {
    pub incident_id: String,
    pub verdict: Verdict,
    /// Who answers: the caller's identity (`failoverctl`), or the name the
    /// event gives (the function).
    pub by: String,
    /// Why; required to reject.
    pub comment: String,
    pub via: Via,
}

impl AnswerRequest {
    /// Refuses an answer without a name, a rejection without a reason, or a
    /// comment longer than an incident keeps.
    pub fn new(
        incident_id: &str,
        verdict: Verdict,
        by: &str,
        comment: &str,
        via: Via,
    ) -> Result<Self> {
        let (by, comment) = (by.trim(), comment.trim());
        if by.is_empty() {
            return Err(Error::InvalidEvent(
                "who answers is required (\"by\"): it goes on the incident's timeline".into(),
            ));
        }
        if verdict == Verdict::Reject && comment.is_empty() {
            return Err(Error::InvalidEvent(
                "a rejection needs a reason (--reason \"...\", or \"comment\" in the event): it goes on the timeline and in the escalation".into(),
            ));
        }
        for (what, text) in [("the name", by), ("the comment", comment)] {
            let length = text.chars().count();
            if length > REASON_LIMIT {
                return Err(Error::InvalidEvent(format!(
                    "{what} is {length} characters, at most {REASON_LIMIT}"
                )));
            }
        }
        if incident_id.trim().is_empty() {
            return Err(Error::InvalidEvent("the incident_id is required".into()));
        }
        Ok(Self {
            incident_id: incident_id.trim().to_owned(),
            verdict,
            by: by.to_owned(),
            comment: comment.to_owned(),
            via,
        })
    }
}

/// Takes one person's approval or rejection: recorded on the incident and
/// its timeline, then the workflow is told once the decision is made. A
/// refusal (unknown incident, nothing asked, already decided, the same
/// person twice, too late) changes nothing.
pub async fn answer(
    records: &Records<'_>,
    waiting: &Waiting<'_>,
    request: &AnswerRequest,
    nonce: &str,
) -> Result<ApprovalReport> {
    let mut journal = Journal::new(nonce);
    let mut incident = records.store.named(&request.incident_id).await?;
    let now = records.clock.now();
    let taken = take(
        &incident.id,
        incident.phase.is_open(),
        incident.approval.as_ref(),
        request.verdict,
        &request.by,
        now,
    )?;
    if taken == Taken::Resume {
        return resume_approved(records, waiting, incident, None, &mut journal).await;
    }
    let given = Answer {
        by: request.by.clone(),
        at: now,
        comment: request.comment.clone(),
        via: request.via,
    };
    let Some(mut approval) = incident.approval.clone() else {
        return Err(Error::Internal(format!(
            "incident {} lost its approval",
            incident.id
        )));
    };
    incident.updated_at = now;
    match taken {
        Taken::Counted | Taken::Approved => {
            approval.approvals.push(given.clone());
            let line = crate::notices::approval::approved_entry(&approval, &given);
            let entry = journal.entry(&incident, now, EntryKind::Approval, line);
            let notice = (taken == Taken::Counted)
                .then(|| crate::notices::approval::counted(&incident, &approval, &given, now));
            incident.approval = Some(approval.clone());
            let delivered = commit(records, incident, vec![entry], notice, &mut journal).await?;
            if taken == Taken::Counted {
                let summary = format!(
                    "{}: approved by {} ({} of {}); another person must approve",
                    delivered.incident.id,
                    given.by,
                    approval.approvals.len(),
                    approval.required
                );
                return Ok(report(&delivered, false, summary));
            }
            resume_approved(records, waiting, delivered.incident, None, &mut journal).await
        }
        Taken::Rejected => {
            approval.rejection = Some(given.clone());
            let line = crate::notices::approval::rejected_entry(&approval, &given);
            let entry = journal.entry(&incident, now, EntryKind::Escalated, line);
            incident.close(Closing::Escalated(Cause::ApprovalRejected), now)?;
            let notice = crate::notices::approval::rejected(&incident, &approval, &given, now);
            incident.approval = Some(approval);
            let delivered =
                commit(records, incident, vec![entry], Some(notice), &mut journal).await?;
            // The incident is closed either way: a workflow not told now
            // ends at its approval timeout, on an already closed incident.
            let resumed = match waiting.tokens.token(&delivered.incident.id).await {
                Ok(Some(token)) => tell(waiting, &token, Outcome::Closed)
                    .await
                    .unwrap_or(false),
                _ => false,
            };
            let summary = format!(
                "{} rejected by {} and closed as escalated; nothing was changed{}",
                delivered.incident.id,
                given.by,
                if resumed {
                    ""
                } else {
                    " (the workflow ends at its approval timeout)"
                }
            );
            Ok(report(&delivered, resumed, summary))
        }
        Taken::Resume => Err(Error::Internal("resume handled above".into())),
    }
}

/// Tells the workflow an approval is complete, then records that it was
/// told. Without a token yet, the workflow's wait tells it when it arrives.
async fn resume_approved(
    records: &Records<'_>,
    waiting: &Waiting<'_>,
    incident: Incident,
    token: Option<&TaskToken>,
    journal: &mut Journal,
) -> Result<ApprovalReport> {
    let token = match token {
        Some(token) => Some(token.clone()),
        None => waiting.tokens.token(&incident.id).await?,
    };
    let Some(token) = token else {
        let summary = format!(
            "{}: approved; the workflow resumes as soon as it waits",
            incident.id
        );
        return Ok(report(&unchanged(incident), false, summary));
    };
    let told = tell(waiting, &token, Outcome::Approved).await?;
    let mut incident = incident;
    let now = records.clock.now();
    if let Some(a) = incident.approval.as_mut() {
        a.resumed = true;
    }
    incident.updated_at = now;
    let line = if told {
        "approval complete: the workflow goes on"
    } else {
        "approval complete, but the workflow no longer waits (its execution ended; the reconciler escalates it)"
    };
    let entry = journal.entry(&incident, now, EntryKind::Approval, line);
    let delivered = commit(records, incident, vec![entry], None, journal).await?;
    let summary = format!(
        "{}: approved by {}; {}",
        delivered.incident.id,
        delivered
            .incident
            .approval
            .as_ref()
            .map_or_else(String::new, Approval::approvers),
        if told {
            "the workflow reads the region again and applies the remedy"
        } else {
            "but its workflow no longer waits"
        }
    );
    Ok(report(&delivered, told, summary))
}

/// True if the workflow was waiting and goes on; false if it no longer waits.
async fn tell(waiting: &Waiting<'_>, token: &TaskToken, outcome: Outcome) -> Result<bool> {
    Ok(waiting.callbacks.resume(token, outcome).await? == Resumed::Resumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::app::escalate_incident::{
        APPROVAL_TIMED_OUT, EscalateRequest, Failure, escalate_incident,
    };
    use crate::app::ports::IncidentStore;
    use crate::app::restore_platform::{RestoreReport, RestoreRequest, restore_platform};
    use crate::fakes::{Fakes, RecordingCallbacks, crash_looping_platform, events_settings};
    use crate::model::remedy::Remedy;
    use crate::rules::guardrails::Gate;

    struct World {
        fakes: Fakes,
        callbacks: RecordingCallbacks,
        id: String,
    }

    async fn world(required: &str) -> World {
        let fakes = Fakes::new(events_settings(&[
            ("APPROVAL_MODE", "approve"),
            ("REQUIRED_APPROVALS", required),
        ]));
        fakes.health.set("hc-a", &[false]);
        *fakes.platform.diagnosis.lock().unwrap() = crash_looping_platform();
        let id = fakes.events_incident().await.id;
        World {
            fakes,
            callbacks: RecordingCallbacks::default(),
            id,
        }
    }

    impl World {
        fn waiting(&self) -> Waiting<'_> {
            Waiting {
                tokens: &self.fakes.store,
                callbacks: &self.callbacks,
            }
        }

        async fn restore(&self) -> RestoreReport {
            let request = RestoreRequest {
                incident_id: Some(self.id.clone()),
                region: None,
                dry_run: false,
                timing: None,
            };
            restore_platform(&self.fakes.context(), &self.fakes.platform, &request, "r1")
                .await
                .unwrap()
        }

        async fn wait(&self, token: &str) -> ApprovalReport {
            wait_for_approval(
                &self.fakes.records(),
                &self.waiting(),
                &self.id,
                &TaskToken::new(token),
                "w1",
            )
            .await
            .unwrap()
        }

        async fn answer(
            &self,
            verdict: Verdict,
            by: &str,
            comment: &str,
        ) -> Result<ApprovalReport> {
            let request = AnswerRequest::new(&self.id, verdict, by, comment, Via::Cli)?;
            answer(&self.fakes.records(), &self.waiting(), &request, "a1").await
        }

        fn restarts(&self) -> usize {
            self.fakes.platform.restarted.lock().unwrap().len()
        }

        fn incident(&self) -> Incident {
            self.fakes.store.incidents.lock().unwrap()[&self.id].clone()
        }

        fn told(&self) -> Vec<(String, Outcome)> {
            self.callbacks.told.lock().unwrap().clone()
        }

        fn timeline(&self) -> Vec<String> {
            self.fakes
                .store
                .timeline
                .lock()
                .unwrap()
                .iter()
                .map(|e| e.message.clone())
                .collect()
        }

        /// No notice, timeline entry or stored incident shows a token.
        fn no_token_shown(&self) {
            let notices = format!("{:?}", self.fakes.notifier.sent.lock().unwrap());
            let incident = serde_json::to_string(&self.incident()).unwrap();
            for text in [notices, incident, self.timeline().join("\n")] {
                assert!(!text.contains("tok-"), "a task token shows in {text}");
            }
        }
    }

    const RESTART: Remedy = Remedy::RolloutRestart;

    #[tokio::test]
    async fn a_restart_waits_for_two_distinct_people_then_applies() {
        let w = world("2").await;
        let asked = w.restore().await;
        assert_eq!(asked.decision, Gate::Approve { remedy: RESTART });
        let wait = asked.approval.expect("the workflow's wait");
        assert_eq!((wait.timeout_seconds, wait.required), (1800, 2));
        assert_eq!(w.restarts(), 0, "nothing is changed while waiting");
        let subjects = w.fakes.subjects();
        assert!(
            subjects.last().unwrap().contains("APPROVAL NEEDED"),
            "{subjects:?}"
        );

        // A retried restore asks nothing again.
        let again = w.restore().await;
        assert_eq!(again.decision, Gate::Approve { remedy: RESTART });
        assert_eq!(w.fakes.subjects().len(), subjects.len(), "asked once");

        assert_eq!(w.wait("tok-1").await.approval, ApprovalState::Waiting);
        let first = w
            .answer(Verdict::Approve, "alice", "pods crash-loop")
            .await
            .unwrap();
        assert_eq!((first.approvals, first.resumed), (1, false));
        assert!(w.told().is_empty(), "one approval of two resumes nothing");

        let version = w.incident().version;
        let twice = w.answer(Verdict::Approve, "Alice", "").await.unwrap_err();
        assert!(
            twice.to_string().contains("already answered by alice"),
            "{twice}"
        );
        assert_eq!(w.incident().version, version, "a refusal changes nothing");

        let second = w.answer(Verdict::Approve, "bob", "").await.unwrap();
        assert_eq!(
            (second.approval, second.resumed),
            (ApprovalState::Approved, true)
        );
        assert_eq!(w.told(), [("tok-1".to_owned(), Outcome::Approved)]);

        let applied = w.restore().await;
        assert_eq!(applied.decision, Gate::Act { remedy: RESTART });
        assert_eq!(w.restarts(), 1);
        assert_eq!(
            w.incident().approval.unwrap().state(),
            ApprovalState::Settled
        );
        let timeline = w.timeline().join("\n");
        for line in [
            "waiting for approval to restart the deployment (rollout restart): 2 distinct people must approve",
            "approved by alice (with failoverctl): pods crash-loop (1 of 2)",
            "approved by bob (with failoverctl) (2 of 2)",
            "applying the remedy approved by alice, bob",
        ] {
            assert!(timeline.contains(line), "{line:?} not in\n{timeline}");
        }
        let late = w.answer(Verdict::Approve, "carol", "").await.unwrap_err();
        assert!(late.to_string().contains("already decided"), "{late}");
        w.no_token_shown();
    }

    #[tokio::test]
    async fn a_rejection_escalates_with_its_reason_and_changes_nothing() {
        let w = world("1").await;
        w.restore().await;
        w.wait("tok-1").await;
        let refused = w.answer(Verdict::Reject, "carol", " ").await.unwrap_err();
        assert!(refused.to_string().contains("needs a reason"), "{refused}");
        let rejected = w
            .answer(Verdict::Reject, "carol", "maintenance window")
            .await
            .unwrap();
        assert_eq!((rejected.phase, rejected.resumed), (Phase::Escalated, true));
        let incident = w.incident();
        assert_eq!(incident.escalation, Some(Cause::ApprovalRejected));
        assert_eq!(w.told(), [("tok-1".to_owned(), Outcome::Closed)]);
        assert_eq!(w.restarts(), 0);
        assert!(
            w.timeline()
                .join("\n")
                .contains("rejected by carol (with failoverctl), because: maintenance window")
        );
        assert!(
            w.fakes
                .subjects()
                .last()
                .unwrap()
                .contains("remedy rejected by carol")
        );
        assert_eq!(w.fakes.store.lease("us-east-1"), None, "the region is free");
        w.no_token_shown();
    }

    #[tokio::test]
    async fn an_approved_remedy_is_not_applied_once_the_region_is_healthy() {
        let w = world("1").await;
        w.restore().await;
        w.wait("tok-1").await;
        w.answer(Verdict::Approve, "alice", "").await.unwrap();
        w.fakes.health.set("hc-a", &[true]);
        let skipped = w.restore().await;
        assert_eq!(skipped.decision, Gate::Skip);
        assert_eq!(w.restarts(), 0);
        assert!(
            w.timeline()
                .join("\n")
                .contains("not applying the remedy asked at")
        );
        assert!(
            w.timeline()
                .join("\n")
                .contains("the region reads healthy again")
        );
    }

    #[tokio::test]
    async fn a_timeout_escalates_with_no_approval_within_the_minutes() {
        let w = world("2").await;
        w.restore().await;
        w.wait("tok-1").await;
        w.answer(Verdict::Approve, "alice", "").await.unwrap();
        let request = EscalateRequest {
            incident_id: w.id.clone(),
            failure: Failure {
                error: APPROVAL_TIMED_OUT.into(),
                cause: "States.Timeout".into(),
            },
        };
        let escalated = escalate_incident(&w.fakes.records(), &request, "e1")
            .await
            .unwrap();
        assert_eq!(escalated.phase, Phase::Escalated);
        assert_eq!(w.incident().escalation, Some(Cause::NoApproval));
        assert!(
            escalated.summary.contains("no approval within 30 minutes to restart the deployment (rollout restart) (1 of 2 approvals: alice)"),
            "{}",
            escalated.summary
        );
        let late = w.answer(Verdict::Approve, "bob", "").await.unwrap_err();
        assert!(late.to_string().contains("is closed"), "{late}");
        assert_eq!(w.restarts(), 0);
    }

    #[tokio::test]
    async fn a_lost_callback_is_told_by_the_approver_s_retry_or_the_late_wait() {
        let w = world("1").await;
        w.restore().await;
        w.wait("tok-1").await;
        *w.callbacks.failing.lock().unwrap() = true;
        let failed = w.answer(Verdict::Approve, "alice", "").await.unwrap_err();
        assert_eq!(failed.retry_policy(), crate::error::RetryPolicy::Retry);
        assert_eq!(
            w.incident().approval.unwrap().state(),
            ApprovalState::Approved
        );
        *w.callbacks.failing.lock().unwrap() = false;
        let retried = w.answer(Verdict::Approve, "alice", "").await.unwrap();
        assert!(retried.resumed);
        assert_eq!(w.told(), [("tok-1".to_owned(), Outcome::Approved)]);

        // Approved before the workflow waited: its wait resumes at once.
        let early = world("1").await;
        early.restore().await;
        let approved = early.answer(Verdict::Approve, "alice", "").await.unwrap();
        assert!(!approved.resumed && approved.summary.contains("resumes as soon as it waits"));
        assert!(early.wait("tok-2").await.resumed);
        assert_eq!(early.told(), [("tok-2".to_owned(), Outcome::Approved)]);
    }

    #[tokio::test]
    async fn bad_answers_are_refused_and_change_nothing() {
        let w = world("1").await;
        let before = w.incident();
        let nothing_asked = w.answer(Verdict::Approve, "alice", "").await.unwrap_err();
        assert!(
            nothing_asked
                .to_string()
                .contains("is not waiting for approval"),
            "{nothing_asked}"
        );
        let unknown =
            AnswerRequest::new("nope", Verdict::Approve, "alice", "", Via::Function).unwrap();
        let error = answer(&w.fakes.records(), &w.waiting(), &unknown, "a2")
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("\"nope\" does not exist"),
            "{error}"
        );
        let nameless =
            AnswerRequest::new(&w.id, Verdict::Approve, " ", "", Via::Function).unwrap_err();
        assert!(nameless.to_string().contains("\"by\""), "{nameless}");
        assert_eq!(w.incident(), before);
        assert!(
            w.fakes
                .store
                .get(&w.id)
                .await
                .unwrap()
                .unwrap()
                .approval
                .is_none()
        );
    }
}
