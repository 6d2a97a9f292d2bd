//! What started an invocation, in plain data, and which region it is about.

use serde::{Deserialize, Serialize};

/// How the event reached the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerSource {
    AlarmAction,
    EventBridge,
    Sns,
    Manual,
    /// The reconciler found the region still unhealthy with nothing open.
    Reconciler,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
}

impl AlarmState {
    /// As CloudWatch spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alarm => "ALARM",
            Self::Ok => "OK",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// What the trigger points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Alarm {
        name: String,
        /// The `HealthCheckId` dimension of the alarm's metric, when it has one.
        health_check_id: Option<String>,
    },
    Region(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub source: TriggerSource,
    pub target: Target,
    pub state: AlarmState,
    pub reason: String,
    pub dry_run: bool,
}

impl Trigger {
    pub fn alarm_name(&self) -> Option<&str> {
        match &self.target {
            Target::Alarm { name, .. } => Some(name),
            Target::Region(_) => None,
        }
    }

    pub fn describe(&self) -> String {
        match (&self.target, self.source) {
            (Target::Alarm { name, .. }, TriggerSource::AlarmAction) => {
                format!("CloudWatch alarm {name} ({:?})", self.state)
            }
            (Target::Alarm { name, .. }, TriggerSource::EventBridge) => {
                format!("CloudWatch alarm {name} via EventBridge ({:?})", self.state)
            }
            (Target::Alarm { name, .. }, _) => {
                format!("CloudWatch alarm {name} via SNS ({:?})", self.state)
            }
            (Target::Region(_), TriggerSource::Reconciler) => {
                format!("the reconciler ({})", self.reason)
            }
            (Target::Region(_), _) => format!("manual invocation: {}", self.reason),
        }
    }
}
