//! The approval rules: when a decided remedy waits for people, when an
//! approval given earlier still holds, and which answers are taken.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::config::ApprovalPolicy;
use crate::error::{Error, Result};
use crate::model::approval::{Approval, ApprovalMode, ApprovalState, Verdict};
use crate::model::remedy::Remedy;
use crate::rules::guardrails::{Gate, WaitReason};

/// What restore does with the guardrails' decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consult {
    /// Go on with the decision as it is (auto mode, or nothing to apply).
    Proceed,
    /// The approval of exactly this remedy: apply it, and settle the approval.
    Approved,
    /// Ask people to approve the remedy (a new request).
    Ask,
    /// The request for this remedy still waits for answers.
    StillWaiting,
}

/// Why an approval (or its request) no longer holds and is settled unapplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// The region reads healthy again.
    Healthy,
    /// Another action on the region since it was asked.
    AnotherAction,
    /// The guardrails now decide otherwise (another remedy, a cooldown, an escalation).
    DecidedOtherwise,
}

impl Stale {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Healthy => "the region reads healthy again",
            Self::AnotherAction => "the region was acted on after it was asked",
            Self::DecidedOtherwise => "the guardrails now decide otherwise",
        }
    }
}

/// Consults the incident's current approval about `decision`. An approval
/// covers the one remedy people were shown, only while nothing else acted on
/// the region: otherwise it is stale, and the decision stands (a remedy
/// then asks anew). A wait for the spread keeps it: that is only a delay.
pub fn consult(
    decision: Gate,
    policy: &ApprovalPolicy,
    current: Option<&Approval>,
    acted_since_asked: bool,
) -> (Consult, Option<Stale>) {
    let open =
        current.filter(|a| matches!(a.state(), ApprovalState::Waiting | ApprovalState::Approved));
    let stale = |why| open.map(|_| why);
    match decision {
        Gate::Act { remedy } if policy.mode == ApprovalMode::Approve => match open {
            Some(_) if acted_since_asked => (Consult::Ask, stale(Stale::AnotherAction)),
            Some(a) if a.remedy != remedy => (Consult::Ask, stale(Stale::DecidedOtherwise)),
            Some(a) if a.state() == ApprovalState::Approved => (Consult::Approved, None),
            Some(_) => (Consult::StillWaiting, None),
            None => (Consult::Ask, None),
        },
        Gate::Wait {
            because: WaitReason::Spread,
            ..
        } => (Consult::Proceed, None),
        Gate::Skip => (Consult::Proceed, stale(Stale::Healthy)),
        _ => (Consult::Proceed, stale(Stale::DecidedOtherwise)),
    }
}

/// What a person's answer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// One more approval, still short of the required number.
    Counted,
    /// The last approval needed: resume the workflow to apply the remedy.
    Approved,
    /// Rejected: close the incident as escalated, with nothing changed.
    Rejected,
    /// Its author approved already and the workflow was not told yet (the
    /// first attempt failed after recording): tell it now.
    Resume,
}

/// Takes or refuses `by`'s `verdict` on the incident's approval. A refusal
/// names what was wrong and changes nothing.
pub fn take(
    incident_id: &str,
    open: bool,
    current: Option<&Approval>,
    verdict: Verdict,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Taken> {
    let refuse = |why: String| Err(Error::InvalidEvent(format!("incident {incident_id} {why}")));
    let Some(approval) = current.filter(|_| open) else {
        return refuse(if open {
            "is not waiting for approval: nothing was asked".into()
        } else {
            "is closed: there is nothing to approve or reject".into()
        });
    };
    let earlier = approval.answered_by(by);
    match approval.state() {
        ApprovalState::Settled => {
            return refuse(
                "is not waiting for approval: its last request was already decided and settled"
                    .into(),
            );
        }
        ApprovalState::Rejected => {
            return refuse(format!(
                "was already rejected by {}",
                approval
                    .rejection
                    .as_ref()
                    .map_or("someone", |r| r.by.as_str())
            ));
        }
        ApprovalState::Approved => {
            return match (earlier, verdict) {
                (Some(_), Verdict::Approve) if !approval.resumed => Ok(Taken::Resume),
                _ => refuse(format!("was already approved by {}", approval.approvers())),
            };
        }
        ApprovalState::Waiting => {}
    }
    if now > approval.deadline {
        return refuse(format!(
            "is no longer waiting: its approval window closed at {} (the workflow escalates it)",
            approval.deadline.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    if let Some(answer) = earlier {
        return refuse(format!(
            "was already answered by {} at {}: approvals must come from {} distinct people",
            answer.by,
            answer.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            approval.required
        ));
    }
    Ok(match verdict {
        Verdict::Reject => Taken::Rejected,
        Verdict::Approve if approval.approvals.len() + 1 >= usize::from(approval.required) => {
            Taken::Approved
        }
        Verdict::Approve => Taken::Counted,
    })
}

/// The remedy described for a person who decides on it.
pub fn ask_text(remedy: Remedy) -> String {
    match remedy {
        Remedy::Scale { replicas } => format!("scale the deployment to {replicas} replicas"),
        Remedy::RolloutRestart => "restart the deployment (rollout restart)".into(),
        Remedy::Escalate { cause } => format!("escalate ({cause:?})"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::approval::{Answer, Via};
    use crate::model::remedy::Cause;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn policy(mode: ApprovalMode) -> ApprovalPolicy {
        ApprovalPolicy {
            mode,
            required: 2,
            timeout: Duration::from_secs(1800),
        }
    }

    fn asked(remedy: Remedy, approvals: &[&str]) -> Approval {
        let mut approval = Approval::asked(
            remedy,
            2,
            at("2026-11-22T10:00:00Z"),
            Duration::from_secs(1800),
        );
        approval.approvals = approvals
            .iter()
            .map(|by| Answer {
                by: (*by).into(),
                at: at("2026-11-22T10:01:00Z"),
                comment: String::new(),
                via: Via::Cli,
            })
            .collect();
        approval
    }

    /// name, decision, mode, current approval, acted since asked, expected.
    type ConsultCase<'a> = (
        &'a str,
        Gate,
        ApprovalMode,
        Option<&'a Approval>,
        bool,
        (Consult, Option<Stale>),
    );

    /// name, open, current approval, verdict, by, when, expected.
    type TakeCase<'a> = (
        &'a str,
        bool,
        Option<&'a Approval>,
        Verdict,
        &'a str,
        DateTime<Utc>,
        std::result::Result<Taken, &'a str>,
    );

    const RESTART: Gate = Gate::Act {
        remedy: Remedy::RolloutRestart,
    };

    #[test]
    fn a_remedy_applies_only_with_the_approval_of_exactly_it() {
        use ApprovalMode::{Approve, Auto};
        let approved = asked(Remedy::RolloutRestart, &["alice", "bob"]);
        let half = asked(Remedy::RolloutRestart, &["alice"]);
        let scale = asked(Remedy::Scale { replicas: 3 }, &["alice", "bob"]);
        let mut settled = approved.clone();
        settled.settled = true;
        let spread = Gate::Wait {
            seconds: 20,
            because: WaitReason::Spread,
        };
        let cooldown = Gate::Wait {
            seconds: 20,
            because: WaitReason::Cooldown,
        };
        let escalate = Gate::Escalate {
            cause: Cause::RestartBudgetSpent,
        };
        let table: &[ConsultCase] = &[
            (
                "auto acts",
                RESTART,
                Auto,
                None,
                false,
                (Consult::Proceed, None),
            ),
            (
                "approve asks",
                RESTART,
                Approve,
                None,
                false,
                (Consult::Ask, None),
            ),
            (
                "asks again after a settled one",
                RESTART,
                Approve,
                Some(&settled),
                false,
                (Consult::Ask, None),
            ),
            (
                "still waiting",
                RESTART,
                Approve,
                Some(&half),
                false,
                (Consult::StillWaiting, None),
            ),
            (
                "approved",
                RESTART,
                Approve,
                Some(&approved),
                false,
                (Consult::Approved, None),
            ),
            (
                "another remedy",
                RESTART,
                Approve,
                Some(&scale),
                false,
                (Consult::Ask, Some(Stale::DecidedOtherwise)),
            ),
            (
                "another action",
                RESTART,
                Approve,
                Some(&approved),
                true,
                (Consult::Ask, Some(Stale::AnotherAction)),
            ),
            (
                "healthy",
                Gate::Skip,
                Approve,
                Some(&approved),
                false,
                (Consult::Proceed, Some(Stale::Healthy)),
            ),
            (
                "cooldown",
                cooldown,
                Approve,
                Some(&approved),
                false,
                (Consult::Proceed, Some(Stale::DecidedOtherwise)),
            ),
            (
                "escalated",
                escalate,
                Approve,
                Some(&half),
                false,
                (Consult::Proceed, Some(Stale::DecidedOtherwise)),
            ),
            (
                "the spread is a delay",
                spread,
                Approve,
                Some(&approved),
                false,
                (Consult::Proceed, None),
            ),
            (
                "nothing to settle",
                Gate::Skip,
                Approve,
                Some(&settled),
                false,
                (Consult::Proceed, None),
            ),
            (
                "dry run reports",
                Gate::Report {
                    remedy: Remedy::RolloutRestart,
                },
                Approve,
                None,
                false,
                (Consult::Proceed, None),
            ),
        ];
        for (name, decision, mode, current, acted, expected) in table {
            assert_eq!(
                consult(*decision, &policy(*mode), *current, *acted),
                *expected,
                "{name}"
            );
        }
    }

    #[test]
    fn answers_are_taken_once_per_person_while_the_window_is_open() {
        use Verdict::{Approve, Reject};
        let now = at("2026-11-22T10:10:00Z");
        let late = at("2026-11-22T10:31:00Z");
        let none = asked(Remedy::RolloutRestart, &[]);
        let one = asked(Remedy::RolloutRestart, &["alice"]);
        let two = asked(Remedy::RolloutRestart, &["alice", "bob"]);
        let mut resumed = two.clone();
        resumed.resumed = true;
        let mut rejected = one.clone();
        rejected.rejection = one.approvals.first().cloned();
        let mut settled = two.clone();
        settled.settled = true;
        let table: &[TakeCase] = &[
            (
                "first of two",
                true,
                Some(&none),
                Approve,
                "alice",
                now,
                Ok(Taken::Counted),
            ),
            (
                "second of two",
                true,
                Some(&one),
                Approve,
                "bob",
                now,
                Ok(Taken::Approved),
            ),
            (
                "a rejection",
                true,
                Some(&one),
                Reject,
                "bob",
                now,
                Ok(Taken::Rejected),
            ),
            (
                "the same person twice",
                true,
                Some(&one),
                Approve,
                "ALICE",
                now,
                Err("already answered by alice"),
            ),
            (
                "nor reject after approving",
                true,
                Some(&one),
                Reject,
                "alice",
                now,
                Err("already answered by alice"),
            ),
            (
                "after the window",
                true,
                Some(&one),
                Approve,
                "bob",
                late,
                Err("approval window closed"),
            ),
            (
                "nothing asked",
                true,
                None,
                Approve,
                "bob",
                now,
                Err("is not waiting for approval"),
            ),
            (
                "closed",
                false,
                Some(&one),
                Approve,
                "bob",
                now,
                Err("is closed"),
            ),
            (
                "already approved",
                true,
                Some(&resumed),
                Approve,
                "carol",
                now,
                Err("already approved by alice, bob"),
            ),
            (
                "its approver again, the workflow told",
                true,
                Some(&resumed),
                Approve,
                "bob",
                now,
                Err("already approved"),
            ),
            (
                "its approver again, the workflow not told",
                true,
                Some(&two),
                Approve,
                "bob",
                now,
                Ok(Taken::Resume),
            ),
            (
                "rejected",
                true,
                Some(&rejected),
                Approve,
                "bob",
                now,
                Err("already rejected by alice"),
            ),
            (
                "settled",
                true,
                Some(&settled),
                Approve,
                "carol",
                now,
                Err("already decided"),
            ),
        ];
        for (name, open, current, verdict, by, when, expected) in table {
            let taken = take("i-1", *open, *current, *verdict, by, *when);
            match (taken, expected) {
                (Ok(taken), Ok(expected)) => assert_eq!(taken, *expected, "{name}"),
                (Err(error), Err(part)) => {
                    assert_eq!(error.kind(), "InvalidEvent", "{name}");
                    assert!(error.to_string().contains(part), "{name}: {error}");
                }
                (taken, expected) => panic!("{name}: {taken:?}, expected {expected:?}"),
            }
        }
    }
}
