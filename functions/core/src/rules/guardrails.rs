//! The guardrails around a remedy: how often the orchestrator may act on a
//! region before a person must.

use crate::config::Guardrails;
use crate::model::remedy::Cause;
use crate::model::remedy::Remedy;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What was already done, from the incident and the region's recent incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub actions_this_incident: u32,
    /// Actions in this region within the guardrail window, this incident's included.
    pub actions_in_window: u32,
    pub last_action_at: Option<DateTime<Utc>>,
    /// The latest action in any other region within the spread.
    pub last_action_elsewhere: Option<DateTime<Utc>>,
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
    if let Some(last) = history.last_action_elsewhere {
        let since = now.signed_duration_since(last).to_std().unwrap_or_default();
        if since < guardrails.spread {
            return Gate::Wait {
                seconds: (guardrails.spread - since).as_secs().max(1),
                because: WaitReason::Spread,
            };
        }
    }
    Gate::Act { remedy: acting }
}
