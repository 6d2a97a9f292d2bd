//! The recovery workflow's contract: what `confirm-outage` starts it with,
//! and the waits every step agrees on.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::MAX_POLLS;
use crate::config::VerificationPolicy;

/// The workflow's waits, in seconds. The execution input carries them so a
/// drill can shorten them; the functions never wait longer than their own
/// configuration says (see [`Timing::within`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// After a remedy, before the first verification poll.
    pub settle_seconds: u64,
    /// Between two verification polls.
    pub poll_seconds: u64,
    /// From the remedy until verification gives up and escalates.
    pub deadline_seconds: u64,
    /// Approve mode: how long a remedy waits for approval; never longer
    /// than `APPROVAL_TIMEOUT_MINUTES` (see [`Timing::approval_timeout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_seconds: Option<u64>,
}

impl Timing {
    pub fn configured(policy: &VerificationPolicy) -> Self {
        Self {
            settle_seconds: policy.settle.as_secs(),
            poll_seconds: policy.poll_seconds,
            deadline_seconds: policy.deadline.as_secs(),
            approval_seconds: None,
        }
    }

    /// Each wait no longer than configured: an execution input may shorten
    /// the waits, never stretch the deadline a person relies on.
    /// Polls stay few enough for one execution's history.
    pub fn within(self, policy: &VerificationPolicy) -> Self {
        let configured = Self::configured(policy);
        let deadline_seconds = self.deadline_seconds.min(configured.deadline_seconds);
        Self {
            settle_seconds: self.settle_seconds.min(configured.settle_seconds),
            poll_seconds: self
                .poll_seconds
                .min(configured.poll_seconds)
                .max(deadline_seconds.div_ceil(MAX_POLLS))
                .max(1),
            deadline_seconds,
            approval_seconds: self.approval_seconds,
        }
    }

    /// The approval timeout: the configured one, or the input's if shorter
    /// (at least one second).
    pub fn approval_timeout(&self, configured: Duration) -> Duration {
        self.approval_seconds.map_or(configured, |s| {
            Duration::from_secs(s.max(1)).min(configured)
        })
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_secs(self.deadline_seconds)
    }
}

/// The execution input. The execution is named after the incident, so a
/// second start of the same incident is refused by Step Functions itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowInput {
    pub incident_id: String,
    pub region: String,
    pub timing: Timing,
}

/// Where an incident's execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    /// Failed, and waiting for a person to redrive it.
    PendingRedrive,
}

impl ExecutionStatus {
    pub fn is_running(self) -> bool {
        self == Self::Running
    }

    /// As Step Functions spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Aborted => "ABORTED",
            Self::PendingRedrive => "PENDING_REDRIVE",
        }
    }
}

/// A started (or already running) execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub execution_arn: String,
    /// False when an execution of that name existed already.
    pub new: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> VerificationPolicy {
        VerificationPolicy {
            healthy_readings: 3,
            poll_seconds: 15,
            deadline: Duration::from_secs(900),
            settle: Duration::from_secs(30),
        }
    }

    #[test]
    fn the_input_shortens_waits_but_never_stretches_them() {
        let t = |settle, poll, deadline| Timing {
            settle_seconds: settle,
            poll_seconds: poll,
            deadline_seconds: deadline,
            approval_seconds: None,
        };
        for (asked, allowed) in [
            (t(2, 1, 60), t(2, 1, 60)),
            (t(300, 60, 86_400), t(30, 15, 900)),
            (t(0, 0, 0), t(0, 1, 0)),
            (t(30, 15, 900), t(30, 15, 900)),
        ] {
            assert_eq!(asked.within(&policy()), allowed, "{asked:?}");
        }
        let long = VerificationPolicy {
            poll_seconds: 600,
            deadline: Duration::from_secs(14_400),
            ..policy()
        };
        for (asked, allowed) in [
            (t(30, 1, 14_400), t(30, 8, 14_400)),
            (t(30, 1, 2000), t(30, 1, 2000)),
        ] {
            assert!(allowed.deadline_seconds / allowed.poll_seconds <= MAX_POLLS);
            assert_eq!(asked.within(&long), allowed, "{asked:?}");
        }
    }

    #[test]
    fn the_input_may_shorten_the_approval_timeout_only() {
        let configured = Duration::from_secs(1800);
        for (asked, allowed) in [
            (None, 1800),
            (Some(5), 5),
            (Some(0), 1),
            (Some(86_400), 1800),
        ] {
            let timing = Timing {
                approval_seconds: asked,
                ..Timing::configured(&policy())
            };
            assert_eq!(
                timing.within(&policy()).approval_timeout(configured),
                Duration::from_secs(allowed),
                "{asked:?}"
            );
        }
    }

    #[test]
    fn the_sample_execution_input_reads() {
        let path = format!(
            "{}/../../events/recovery-workflow-input.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let input: WorkflowInput =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(input.incident_id, "us-east-1-20261122-101500-3f9a2c1b");
        assert_eq!(input.timing, Timing::configured(&policy()));
    }
}
