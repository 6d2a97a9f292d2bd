//! A person in the loop: the approval a remedy waits for in `approve` mode,
//! who answered it, and the workflow's task token it resumes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::remedy::Remedy;

pub use crate::config::ApprovalMode;

/// Yes or no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
}

/// How the answer reached the orchestrator, which says how far its `by` is
/// to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// `failoverctl`: `by` is the caller's identity as STS answered it.
    Cli,
    /// The approve-remedy function: `by` is the name its event gave (Lambda
    /// does not tell a function who invoked it; CloudTrail does).
    Function,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "failoverctl",
            Self::Function => "the approve-remedy function",
        }
    }
}

/// One person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    pub via: Via,
}

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Fewer than the required approvals, no rejection.
    Waiting,
    /// Enough distinct people approved.
    Approved,
    Rejected,
    /// Applied, or found stale by the restore that read it.
    Settled,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Settled => "settled",
        }
    }
}

/// The request for approval of one remedy, kept on the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub remedy: Remedy,
    pub asked_at: DateTime<Utc>,
    /// After it, no answer is taken and the workflow escalates.
    pub deadline: DateTime<Utc>,
    pub required: u8,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Answer>,
    /// The workflow waits on it: its task token is stored and people were told.
    #[serde(default)]
    pub waiting: bool,
    /// The workflow was told the outcome (or its execution had ended).
    #[serde(default)]
    pub resumed: bool,
    /// Applied, or found stale by the restore that read it.
    #[serde(default)]
    pub settled: bool,
}

impl Approval {
    pub fn asked(
        remedy: Remedy,
        required: u8,
        now: DateTime<Utc>,
        timeout: std::time::Duration,
    ) -> Self {
        let timeout = chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::minutes(30));
        Self {
            remedy,
            asked_at: now,
            deadline: now + timeout,
            required: required.max(1),
            approvals: Vec::new(),
            rejection: None,
            waiting: false,
            resumed: false,
            settled: false,
        }
    }

    pub fn state(&self) -> ApprovalState {
        if self.settled {
            ApprovalState::Settled
        } else if self.rejection.is_some() {
            ApprovalState::Rejected
        } else if self.approvals.len() >= usize::from(self.required) {
            ApprovalState::Approved
        } else {
            ApprovalState::Waiting
        }
    }

    /// Whether `by` answered already (people are told apart ignoring case).
    pub fn answered_by(&self, by: &str) -> Option<&Answer> {
        self.approvals
            .iter()
            .chain(self.rejection.iter())
            .find(|a| a.by.eq_ignore_ascii_case(by.trim()))
    }

    /// The timeout as asked, in whole minutes (at least 1).
    pub fn minutes(&self) -> i64 {
        (self.deadline - self.asked_at).num_minutes().max(1)
    }

    /// Seconds left until the deadline, at least 1 (Step Functions refuses 0).
    pub fn seconds_left(&self, now: DateTime<Utc>) -> u64 {
        u64::try_from((self.deadline - now).num_seconds())
            .unwrap_or(0)
            .max(1)
    }

    /// `alice, bob`: who approved so far.
    pub fn approvers(&self) -> String {
        if self.approvals.is_empty() {
            return "nobody".into();
        }
        self.approvals
            .iter()
            .map(|a| a.by.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The Step Functions task token of an execution waiting for approval. A
/// bearer secret: whoever holds it can resume the workflow, so its `Debug`
/// never shows it and nothing serializes it (it is stored apart from the
/// incident, which notices, logs and `failoverctl show` print).
#[derive(Clone, PartialEq, Eq)]
pub struct TaskToken(String);

impl TaskToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The secret, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskToken(<{} characters, redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn answer(by: &str) -> Answer {
        Answer {
            by: by.into(),
            at: at("2026-11-22T10:05:00Z"),
            comment: String::new(),
            via: Via::Cli,
        }
    }

    #[test]
    fn the_state_follows_the_answers() {
        let asked = Approval::asked(
            Remedy::RolloutRestart,
            2,
            at("2026-11-22T10:00:00Z"),
            std::time::Duration::from_secs(1800),
        );
        let with = |approvals: &[&str], rejected: Option<&str>, settled: bool| Approval {
            approvals: approvals.iter().map(|b| answer(b)).collect(),
            rejection: rejected.map(answer),
            settled,
            ..asked.clone()
        };
        for (approval, state) in [
            (with(&[], None, false), ApprovalState::Waiting),
            (with(&["alice"], None, false), ApprovalState::Waiting),
            (
                with(&["alice", "bob"], None, false),
                ApprovalState::Approved,
            ),
            (
                with(&["alice"], Some("bob"), false),
                ApprovalState::Rejected,
            ),
            (with(&["alice", "bob"], None, true), ApprovalState::Settled),
        ] {
            assert_eq!(approval.state(), state, "{approval:?}");
        }
        assert_eq!(asked.deadline, at("2026-11-22T10:30:00Z"));
        assert_eq!(asked.minutes(), 30);
        assert_eq!(asked.seconds_left(at("2026-11-22T10:29:00Z")), 60);
        assert_eq!(asked.seconds_left(at("2026-11-22T11:00:00Z")), 1);
        let alice = with(&["Alice"], None, false);
        assert!(alice.answered_by(" alice ").is_some());
        assert!(alice.answered_by("bob").is_none());
    }

    #[test]
    fn a_task_token_never_shows_in_debug() {
        let token = TaskToken::new("AAAAKgAAAAIAAAAAAAAAAsecret");
        let shown = format!("{token:?} {:?}", Some(token.clone()));
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(token.expose(), "AAAAKgAAAAIAAAAAAAAAAsecret");
    }
}
