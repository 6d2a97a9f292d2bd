//! The incident record, its lifecycle and its append-only timeline.
//!
//! The phase moves only through the transitions below ([`Incident::conclude`],
//! [`Incident::restoring`], [`Incident::close`]); an illegal one is an
//! `Internal` error, never a silent change. Closing stamps `closed_at`, which
//! releases the region's lease in the same write whether or not the last
//! notice was delivered (see `ports::IncidentStore::update`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::approval::Approval;
use crate::model::diagnosis::Diagnosis;
use crate::model::health::HealthReading;
use crate::model::notice::Notice;
use crate::model::phase::Phase;
use crate::model::remedy::{Cause, Remedy};
use crate::model::trigger::{Trigger, TriggerSource};
use crate::model::verdict::Verdict;

/// How an incident ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Verified healthy again.
    Recovered,
    /// Healthy again before confirmation.
    Dismissed,
    /// Dry run: reported, nothing changed.
    Reported,
    /// Handed to a person.
    Escalated(Cause),
}

impl Closing {
    pub fn phase(self) -> Phase {
        match self {
            Self::Recovered => Phase::Recovered,
            Self::Dismissed => Phase::Dismissed,
            Self::Reported => Phase::Reported,
            Self::Escalated(_) => Phase::Escalated,
        }
    }
}

/// Which lease an incident takes: a dry run never holds the region's live
/// lease, so a real alarm during a rehearsal is handled as real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    Live,
    DryRun,
}

impl Lane {
    pub fn of(dry_run: bool) -> Self {
        if dry_run { Self::DryRun } else { Self::Live }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::DryRun => "dry_run",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRecord {
    pub source: TriggerSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_name: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub region: String,
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub dry_run: bool,
    pub trigger: TriggerRecord,
    /// The request (Lambda request id) that opened it: a retry of that
    /// request carries the same id and finishes what its first attempt left.
    #[serde(default)]
    pub opened_by: String,
    #[serde(default)]
    pub readings: Vec<HealthReading>,
    pub detected_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The latest diagnosis of the region's platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Diagnosis>,
    /// Every remedy decided for this incident, applied or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Approve mode: the latest request for approval of a remedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_at: Option<DateTime<Utc>>,
    /// The last verification poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
    /// The last reminder that the escalated region is still down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<DateTime<Utc>>,
    /// The failed region's health at each verification poll, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_health: Vec<crate::model::health::Health>,
    /// Why a person must act, once escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Cause>,
    /// Notices written with the transitions that caused them and removed once
    /// published (oldest first): a crash or an SNS outage never loses one,
    /// and never holds the incident back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<Notice>,
    /// Bumped by every write; writes are conditional on the version read.
    pub version: u64,
}

impl Incident {
    /// A new incident in phase `confirming`. `nonce` makes the id unique
    /// (the Lambda request id: a retried invocation reuses it).
    pub fn detect(
        region: &str,
        trigger: &Trigger,
        dry_run: bool,
        now: DateTime<Utc>,
        nonce: &str,
    ) -> Self {
        Self {
            id: incident_id(region, now, nonce),
            region: region.to_owned(),
            phase: Phase::Confirming,
            verdict: None,
            dry_run,
            trigger: TriggerRecord {
                source: trigger.source,
                alarm_name: trigger.alarm_name().map(str::to_owned),
                reason: bounded(&trigger.reason, REASON_LIMIT),
            },
            opened_by: nonce.to_owned(),
            readings: Vec::new(),
            detected_at: now,
            confirmed_at: None,
            closed_at: None,
            updated_at: now,
            diagnosis: None,
            actions: Vec::new(),
            approval: None,
            acted_at: None,
            recovered_at: None,
            verified_at: None,
            reminded_at: None,
            recovery_health: Vec::new(),
            escalation: None,
            outbox: Vec::new(),
            version: 0,
        }
    }

    pub fn lane(&self) -> Lane {
        Lane::of(self.dry_run)
    }

    /// Records the verdict of the confirmation and moves to the phase it
    /// implies: `confirming` to `confirmed`, or closed.
    pub fn conclude(
        &mut self,
        verdict: Verdict,
        readings: Vec<HealthReading>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.expect(&[Phase::Confirming], "conclude its confirmation")?;
        self.verdict = Some(verdict);
        self.readings = readings;
        self.updated_at = now;
        match verdict {
            Verdict::Confirmed => {
                self.confirmed_at = Some(now);
                self.phase = Phase::Confirmed;
                Ok(())
            }
            Verdict::Transient => self.close(Closing::Dismissed, now),
            Verdict::AllRegionsDown => self.close(Closing::Escalated(Cause::AllRegionsDown), now),
            Verdict::Inconclusive => self.close(Closing::Escalated(Cause::HealthInconclusive), now),
            Verdict::NotAlarm | Verdict::Duplicate => Err(Error::Internal(format!(
                "incident {}: {} is not a confirmation verdict",
                self.id,
                verdict.as_str()
            ))),
        }
    }

    /// A remedy was applied: `confirmed` or `restoring` to `restoring`.
    pub fn restoring(&mut self, now: DateTime<Utc>) -> Result<()> {
        self.expect(&[Phase::Confirmed, Phase::Restoring], "apply a remedy")?;
        self.phase = Phase::Restoring;
        self.acted_at.get_or_insert(now);
        self.updated_at = now;
        Ok(())
    }

    /// Ends an open incident. The store releases the region's lease in the
    /// same write.
    pub fn close(&mut self, closing: Closing, now: DateTime<Utc>) -> Result<()> {
        self.expect(
            &[Phase::Confirming, Phase::Confirmed, Phase::Restoring],
            "close",
        )?;
        self.phase = closing.phase();
        self.closed_at = Some(now);
        self.updated_at = now;
        // A decision recorded but never recorded as applied may have been
        // applied by an invocation that died in between: once closed, no
        // restore will apply or drop it, so it is dropped now and counts
        // against the region's budget and cooldown.
        for action in &mut self.actions {
            if action.is_pending() {
                action.dropped = true;
            }
        }
        match closing {
            Closing::Recovered => self.recovered_at = Some(now),
            Closing::Escalated(cause) => self.escalation = Some(cause),
            Closing::Dismissed | Closing::Reported => {}
        }
        Ok(())
    }

    /// Whether this state is the write that closes the incident (a later
    /// change of a closed incident, a delivery or a reminder, stamps a later
    /// `updated_at`): that write releases the region's lease, and only it,
    /// so a change of an old incident never touches a newer one's lease.
    pub fn is_closing(&self) -> bool {
        !self.phase.is_open() && self.closed_at == Some(self.updated_at)
    }

    fn expect(&self, phases: &[Phase], what: &str) -> Result<()> {
        if phases.contains(&self.phase) {
            return Ok(());
        }
        Err(Error::Internal(format!(
            "incident {} is {}: it cannot {what}",
            self.id,
            self.phase.as_str()
        )))
    }

    /// Applied actions, oldest first.
    pub fn applied(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.applied)
    }

    pub fn time_since_update(&self, now: DateTime<Utc>) -> std::time::Duration {
        now.signed_duration_since(self.updated_at)
            .to_std()
            .unwrap_or_default()
    }
}

/// The most of a trigger's reason an incident keeps (it is repeated in
/// the timeline and the notices, which have size limits of their own).
pub const REASON_LIMIT: usize = 1000;

/// `text` cut to at most `most` characters, marked with `…` where cut.
pub fn bounded(text: &str, most: usize) -> String {
    match text.char_indices().nth(most) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A remedy decided for an incident. It is recorded before it is applied, so
/// a function that dies in between leaves it for the next invocation to
/// apply with the same `stamp` (which changes nothing the second time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub at: DateTime<Utc>,
    pub remedy: Remedy,
    /// The rollout-restart stamp (`kubectl.kubernetes.io/restartedAt`).
    pub stamp: String,
    pub applied: bool,
    /// Decided in dry-run mode: reported, never applied.
    pub dry_run: bool,
    /// Recorded but never applied, and dropped because the region read
    /// healthy again or the decision grew older than the cooldown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dropped: bool,
}

impl Action {
    /// A remedy decided at `at`, to be recorded before it is applied. Its
    /// stamp is that time to the millisecond, so two decisions never share
    /// one; a dry run's is reported, never applied, and has none.
    pub fn decided(at: DateTime<Utc>, remedy: Remedy, dry_run: bool) -> Self {
        Self {
            at,
            remedy,
            stamp: if dry_run {
                String::new()
            } else {
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            },
            applied: false,
            dry_run,
            dropped: false,
        }
    }

    /// Recorded for real but neither applied nor dropped yet.
    pub fn is_pending(&self) -> bool {
        !self.applied && !self.dry_run && !self.dropped
    }

    /// Applied, or dropped: a dropped decision may have been applied by an
    /// invocation that died before recording it, so the guardrails count it.
    pub fn may_have_acted(&self) -> bool {
        self.applied || self.dropped
    }
}

/// `us-east-1-20261122-101500-1a2b3c4d`: readable on a phone, sortable, and a
/// valid Step Functions execution name.
pub fn incident_id(region: &str, now: DateTime<Utc>, nonce: &str) -> String {
    let suffix: String = nonce
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("{region}-{}-{suffix}", now.format("%Y%m%d-%H%M%S"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Detected,
    HealthSampled,
    Verdict,
    TriggerJoined,
    TakenOver,
    Notified,
    Diagnosed,
    Decided,
    Acted,
    Verified,
    WorkflowStarted,
    Escalated,
    /// Something a crash, a retry or an outage left inconsistent was put right.
    Repaired,
    /// A reminder that an escalated region is still down.
    Reminded,
    /// Approve mode: approval asked, answered, or found stale.
    Approval,
}

/// One line of an incident's append-only timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub incident_id: String,
    /// Unique within the incident; with `at` it orders and keys the entry.
    pub id: String,
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    pub message: String,
}

/// Hands out timeline entries with ids unique to one invocation.
#[derive(Debug)]
pub struct Journal {
    nonce: String,
    next: u32,
}

impl Journal {
    pub fn new(nonce: &str) -> Self {
        Self {
            nonce: nonce.to_owned(),
            next: 0,
        }
    }

    pub fn entry(
        &mut self,
        incident: &Incident,
        at: DateTime<Utc>,
        kind: EntryKind,
        message: impl Into<String>,
    ) -> TimelineEntry {
        self.next += 1;
        TimelineEntry {
            incident_id: incident.id.clone(),
            id: format!("{}-{:03}", self.nonce, self.next),
            at,
            kind,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_ids_are_valid_execution_names() {
        let now: DateTime<Utc> = "2026-11-22T10:15:00Z".parse().unwrap();
        let id = incident_id("us-east-1", now, "3F9A2C1B-77aa-4d0e-9c1a-000000000000");
        assert_eq!(id, "us-east-1-20261122-101500-3f9a2c1b");
        assert!(id.len() <= 80 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn only_legal_transitions_change_the_phase() {
        let now: DateTime<Utc> = "2026-11-22T10:15:00Z".parse().unwrap();
        let trigger = crate::fakes::alarm_trigger();
        let at = |phase| {
            let mut incident = Incident::detect("us-east-1", &trigger, false, now, "n");
            incident.phase = phase;
            incident
        };
        type Step = fn(&mut Incident, DateTime<Utc>) -> Result<()>;
        let conclude: Step = |i, now| i.conclude(Verdict::Confirmed, Vec::new(), now);
        let restoring: Step = |i, now| i.restoring(now);
        let recover: Step = |i, now| i.close(Closing::Recovered, now);
        let table: &[(&str, Step, Phase, Option<Phase>)] = &[
            (
                "conclude",
                conclude,
                Phase::Confirming,
                Some(Phase::Confirmed),
            ),
            ("conclude", conclude, Phase::Confirmed, None),
            ("conclude", conclude, Phase::Escalated, None),
            (
                "restoring",
                restoring,
                Phase::Confirmed,
                Some(Phase::Restoring),
            ),
            (
                "restoring",
                restoring,
                Phase::Restoring,
                Some(Phase::Restoring),
            ),
            ("restoring", restoring, Phase::Confirming, None),
            ("restoring", restoring, Phase::Recovered, None),
            ("close", recover, Phase::Confirming, Some(Phase::Recovered)),
            ("close", recover, Phase::Restoring, Some(Phase::Recovered)),
            ("close", recover, Phase::Recovered, None),
            ("close", recover, Phase::Escalated, None),
        ];
        for (name, step, from, to) in table {
            let mut incident = at(*from);
            let result = step(&mut incident, now);
            match to {
                Some(to) => {
                    assert!(result.is_ok(), "{name} from {from:?}: {result:?}");
                    assert_eq!(incident.phase, *to, "{name} from {from:?}");
                    assert_eq!(incident.closed_at.is_some(), !to.is_open(), "{name}");
                }
                None => {
                    let error = result.unwrap_err();
                    assert_eq!(error.kind(), "InternalError", "{name} from {from:?}");
                    assert_eq!(error.retry_policy(), crate::error::RetryPolicy::Fail);
                    assert_eq!(
                        incident.phase, *from,
                        "{name}: an illegal step changes nothing"
                    );
                }
            }
        }
    }

    #[test]
    fn every_verdict_closes_or_confirms() {
        let now: DateTime<Utc> = "2026-11-22T10:15:00Z".parse().unwrap();
        let trigger = crate::fakes::alarm_trigger();
        for (verdict, phase, cause) in [
            (Verdict::Confirmed, Phase::Confirmed, None),
            (Verdict::Transient, Phase::Dismissed, None),
            (
                Verdict::AllRegionsDown,
                Phase::Escalated,
                Some(Cause::AllRegionsDown),
            ),
            (
                Verdict::Inconclusive,
                Phase::Escalated,
                Some(Cause::HealthInconclusive),
            ),
        ] {
            let mut incident = Incident::detect("us-east-1", &trigger, false, now, "n");
            incident.conclude(verdict, Vec::new(), now).unwrap();
            assert_eq!(incident.phase, phase, "{verdict:?}");
            assert_eq!(incident.escalation, cause, "{verdict:?}");
        }
        let mut incident = Incident::detect("us-east-1", &trigger, false, now, "n");
        assert!(
            incident
                .conclude(Verdict::Duplicate, Vec::new(), now)
                .is_err()
        );
    }

    #[test]
    fn closing_counts_a_decision_never_recorded_as_applied() {
        let now: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let trigger = crate::fakes::alarm_trigger();
        let mut incident = Incident::detect("us-east-1", &trigger, false, now, "n");
        incident
            .conclude(Verdict::Confirmed, Vec::new(), now)
            .unwrap();
        let mut applied = Action::decided(now, Remedy::RolloutRestart, false);
        applied.applied = true;
        incident.actions = vec![
            applied,
            Action::decided(now, Remedy::RolloutRestart, true),
            Action::decided(now, Remedy::Scale { replicas: 3 }, false),
        ];
        incident
            .close(Closing::Escalated(Cause::WorkflowStopped), now)
            .unwrap();
        let counted: Vec<(bool, bool)> = incident
            .actions
            .iter()
            .map(|a| (a.is_pending(), a.may_have_acted()))
            .collect();
        assert_eq!(
            counted,
            [(false, true), (false, false), (false, true)],
            "applied: counted; a dry run: never; the pending one: dropped and counted"
        );
    }

    #[test]
    fn open_phases_hold_the_lease() {
        for (phase, open) in [
            (Phase::Confirming, true),
            (Phase::Confirmed, true),
            (Phase::Dismissed, false),
            (Phase::Escalated, false),
        ] {
            assert_eq!(phase.is_open(), open, "{phase:?}");
        }
    }
}
