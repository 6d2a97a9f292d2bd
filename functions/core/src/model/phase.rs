//! Where an incident is in its life, from detection to closing.

use serde::{Deserialize, Serialize};

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
