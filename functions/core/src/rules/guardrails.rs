//! The guardrails around a remedy: how often the orchestrator may act on a
//! region before a person must.

use crate::config::Guardrails;
use crate::model::remedy::Cause;
use crate::model::remedy::Remedy;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What was already done, from the incident and the region's recent incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub actions_this_incident: u32,
    /// Actions in this region within the guardrail window, this incident's included.
    pub actions_in_window: u32,
    pub last_action_at: Option<DateTime<Utc>>,
}

/// Why a remedy waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The region's own last action is more recent than the cooldown.
    Cooldown,
    /// Another region was acted on more recently than the spread: regions
    /// that fail together are never all restarted at the same moment.
    Spread,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Gate {
    /// Apply the remedy.
    Act {
        remedy: Remedy,
    },
    /// Approve mode: the remedy waits for people before it is applied.
    Approve {
        remedy: Remedy,
    },
    /// Dry run: report the remedy, change nothing.
    Report {
        remedy: Remedy,
    },
    /// Too soon after the last action: try again later.
    Wait {
        seconds: u64,
        because: WaitReason,
    },
    /// The latest health reading says the region is healthy: never act.
    Skip,
    Escalate {
        cause: Cause,
    },
}

pub fn gate(
    remedy: Remedy,
    history: &History,
    guardrails: &Guardrails,
    region_healthy: bool,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Gate {
    if region_healthy {
        return Gate::Skip;
    }
    let cooling = history.last_action_at.and_then(|last| {
        let since = now.signed_duration_since(last).to_std().unwrap_or_default();
        (since < guardrails.cooldown).then(|| (guardrails.cooldown - since).as_secs().max(1))
    });
    let acting = match (remedy, cooling) {
        // Right after an action, ready pods with a failing check mean Route 53
        // has not caught up yet (it needs about 30 s), not a network fault.
        (
            Remedy::Escalate {
                cause: Cause::PodsHealthyButCheckFailing,
            },
            Some(seconds),
        ) => {
            return Gate::Wait {
                seconds,
                because: WaitReason::Cooldown,
            };
        }
        (Remedy::Escalate { cause }, _) => return Gate::Escalate { cause },
        (acting, _) => acting,
    };
    if dry_run {
        return Gate::Report { remedy: acting };
    }
    if history.actions_this_incident >= guardrails.restarts_per_incident
        || history.actions_in_window >= guardrails.restarts_per_window
    {
        return Gate::Escalate {
            cause: Cause::RestartBudgetSpent,
        };
    }
    if let Some(last) = history.last_action_at {
        let since = now.signed_duration_since(last).to_std().unwrap_or_default();
        if since < guardrails.cooldown {
            return Gate::Wait {
                seconds: (guardrails.cooldown - since).as_secs().max(1),
                because: WaitReason::Cooldown,
            };
        }
    }
    Gate::Act { remedy: acting }
}

/// A remedy about to be applied while another region holds the action slot
/// (it was acted on at `held_since`): it waits out the spread, so that
/// regions that fail together are never all restarted at the same moment.
pub fn spread(
    decision: Gate,
    held_since: Option<DateTime<Utc>>,
    spread: Duration,
    now: DateTime<Utc>,
) -> Gate {
    let (Gate::Act { .. }, Some(held_since)) = (decision, held_since) else {
        return decision;
    };
    let since = now
        .signed_duration_since(held_since)
        .to_std()
        .unwrap_or_default();
    if since < spread {
        Gate::Wait {
            seconds: (spread - since).as_secs().max(1),
            because: WaitReason::Spread,
        }
    } else {
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remedy_waits_out_the_spread_after_another_regions_action() {
        let now: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let restart = Gate::Act {
            remedy: Remedy::RolloutRestart,
        };
        let ago = |s: i64| Some(now - chrono::Duration::seconds(s));
        let spread_of = Duration::from_secs(30);
        let cases = [
            ("the slot was free", restart, None, restart),
            (
                "another region acted 10 s ago",
                restart,
                ago(10),
                Gate::Wait {
                    seconds: 20,
                    because: WaitReason::Spread,
                },
            ),
            (
                "less than a second is left",
                restart,
                Some(now - chrono::Duration::milliseconds(29_600)),
                Gate::Wait {
                    seconds: 1,
                    because: WaitReason::Spread,
                },
            ),
            ("the spread has passed", restart, ago(30), restart),
            ("only an action waits", Gate::Skip, ago(1), Gate::Skip),
            (
                "an escalation never waits",
                Gate::Escalate {
                    cause: Cause::RestartBudgetSpent,
                },
                ago(1),
                Gate::Escalate {
                    cause: Cause::RestartBudgetSpent,
                },
            ),
        ];
        for (name, decision, held, want) in cases {
            assert_eq!(spread(decision, held, spread_of, now), want, "{name}");
        }
    }
}
