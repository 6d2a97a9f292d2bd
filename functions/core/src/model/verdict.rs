//! The verdict on an alarm: what the confirmation concluded, or why it did
//! not have to conclude anything.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Unhealthy on every sample while another region is healthy: restore it.
    Confirmed,
    /// Healthy again before confirmation: record, do nothing.
    Transient,
    /// No region is healthy: the cause is likely shared; a person must act.
    AllRegionsDown,
    /// Route 53 gave no fresh observation: nothing can be concluded; a person must look.
    Inconclusive,
    /// An OK or INSUFFICIENT_DATA alarm: never starts a recovery.
    NotAlarm,
    /// An incident for the region is already open: the trigger joins it.
    Duplicate,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Transient => "transient",
            Self::AllRegionsDown => "all_regions_down",
            Self::Inconclusive => "inconclusive",
            Self::NotAlarm => "not_alarm",
            Self::Duplicate => "duplicate",
        }
    }
}
