//! The incident record and its append-only timeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::diagnosis::Diagnosis;
use crate::health::HealthReading;
use crate::notice::Notice;
use crate::remedy::{Cause, Remedy};
use crate::trigger::{Trigger, TriggerSource};
use crate::verdict::Verdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Detected; the outage is being confirmed.
    Confirming,
    /// The outage is real; restoring may start.
    Confirmed,
    /// A remedy was applied; the rollout and the region's health are being verified.
    Restoring,
    /// Verified healthy again: closed with its time to recover.
    Recovered,
    /// The region was healthy again: nothing to do.
    Dismissed,
    /// Dry run: the remedy was reported, nothing was changed.
    Reported,
    /// A person must act; the orchestrator does nothing more.
    Escalated,
}

impl Phase {
    /// An open incident holds its region's lease.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Confirming | Self::Confirmed | Self::Restoring)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirming => "confirming",
            Self::Confirmed => "confirmed",
            Self::Restoring => "restoring",
            Self::Recovered => "recovered",
            Self::Dismissed => "dismissed",
            Self::Reported => "reported",
            Self::Escalated => "escalated",
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_at: Option<DateTime<Utc>>,
    /// The failed region's health at each verification poll, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_health: Vec<crate::health::Health>,
    /// Why a person must act, once escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Cause>,
    /// A notice written with the transition that caused it and cleared once
    /// published, so a crash between the two never loses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_notice: Option<Notice>,
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
                reason: trigger.reason.clone(),
            },
            readings: Vec::new(),
            detected_at: now,
            confirmed_at: None,
            closed_at: None,
            updated_at: now,
            diagnosis: None,
            actions: Vec::new(),
            acted_at: None,
            recovered_at: None,
            recovery_health: Vec::new(),
            escalation: None,
            pending_notice: None,
            version: 0,
        }
    }

    /// Records the verdict of the confirmation and moves to the phase it implies.
    pub fn conclude(&mut self, verdict: Verdict, readings: Vec<HealthReading>, now: DateTime<Utc>) {
        self.verdict = Some(verdict);
        self.readings = readings;
        self.updated_at = now;
        self.phase = match verdict {
            Verdict::Confirmed => {
                self.confirmed_at = Some(now);
                Phase::Confirmed
            }
            Verdict::Transient => Phase::Dismissed,
            _ => Phase::Escalated,
        };
        if !self.phase.is_open() {
            self.closed_at = Some(now);
        }
    }

    pub fn time_since_update(&self, now: DateTime<Utc>) -> std::time::Duration {
        now.signed_duration_since(self.updated_at)
            .to_std()
            .unwrap_or_default()
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
