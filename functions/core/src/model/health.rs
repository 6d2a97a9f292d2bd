//! Route 53's health rule over checker observations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One Route 53 checker's latest report on a health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerObservation {
    pub checker_region: String,
    pub success: bool,
    pub checked_at: DateTime<Utc>,
}

impl CheckerObservation {
    /// Route 53 status reports start with `Success` or `Failure`.
    pub fn from_status(
        checker_region: impl Into<String>,
        status: &str,
        checked_at: DateTime<Utc>,
    ) -> Self {
        Self {
            checker_region: checker_region.into(),
            success: status.trim_start().starts_with("Success"),
            checked_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    Unhealthy,
    /// No fresh observation: nothing can be concluded.
    Unknown,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Unknown => "unknown",
        }
    }
}

/// What one look at a region's health check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReading {
    pub region: String,
    pub at: DateTime<Utc>,
    pub health: Health,
    /// Fresh observations reporting success.
    pub reporting_success: u32,
    pub fresh: u32,
    pub stale: u32,
}

impl HealthReading {
    pub fn describe(&self) -> String {
        match self.health {
            Health::Unknown => format!(
                "{}: unknown (no fresh checker observation, {} stale)",
                self.region, self.stale
            ),
            health => format!(
                "{}: {} ({} of {} checkers report success)",
                self.region,
                if health == Health::Healthy {
                    "healthy"
                } else {
                    "unhealthy"
                },
                self.reporting_success,
                self.fresh
            ),
        }
    }
}
