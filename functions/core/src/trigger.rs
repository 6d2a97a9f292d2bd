//! What started an invocation, in plain data, and which region it is about.

use serde::{Deserialize, Serialize};

use crate::config::{RegionSettings, Settings};
use crate::error::{Error, Result};

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

/// Maps a trigger to the configured region it is about: by alarm name first,
/// then by the alarm's health check. Two regions claiming one alarm is an error.
pub fn resolve<'s>(settings: &'s Settings, trigger: &Trigger) -> Result<&'s RegionSettings> {
    match &trigger.target {
        Target::Region(name) => settings.region(name).ok_or_else(|| {
            Error::InvalidEvent(format!(
                "region {name:?} is not configured (configured: {})",
                settings.region_names().join(", ")
            ))
        }),
        Target::Alarm {
            name,
            health_check_id,
        } => {
            let by_name = settings
                .regions
                .iter()
                .find(|r| r.alarm_names.iter().any(|a| a == name));
            let by_check = health_check_id
                .as_deref()
                .and_then(|id| settings.regions.iter().find(|r| r.health_check_id == id));
            match (by_name, by_check) {
                (Some(a), Some(b)) if a.name != b.name => Err(Error::InvalidEvent(format!(
                    "alarm {name:?} is configured for {} but watches the health check of {}",
                    a.name, b.name
                ))),
                (Some(region), _) | (None, Some(region)) => Ok(region),
                (None, None) => Err(Error::InvalidEvent(format!(
                    "alarm {name:?}{} is not configured for any region (configured alarms: {}; health checks: {})",
                    health_check_id
                        .as_deref()
                        .map(|id| format!(" on health check {id:?}"))
                        .unwrap_or_default(),
                    settings
                        .regions
                        .iter()
                        .flat_map(|r| r.alarm_names.iter().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join(", "),
                    settings
                        .regions
                        .iter()
                        .map(|r| r.health_check_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::sample_settings;

    fn alarm(name: &str, check: Option<&str>) -> Trigger {
        Trigger {
            source: TriggerSource::AlarmAction,
            target: Target::Alarm {
                name: name.into(),
                health_check_id: check.map(Into::into),
            },
            state: AlarmState::Alarm,
            reason: String::new(),
            dry_run: false,
        }
    }

    #[test]
    fn alarms_and_regions_map_to_configured_regions() {
        let settings = sample_settings();
        let table: [(Trigger, Result<&str, &str>); 7] = [
            (alarm("alarm-a", None), Ok("us-east-1")),
            (alarm("alarm-b", Some("hc-b")), Ok("eu-west-1")),
            (alarm("renamed-alarm", Some("hc-a")), Ok("us-east-1")),
            (alarm("alarm-a", Some("not-configured")), Ok("us-east-1")),
            (
                alarm("alarm-a", Some("hc-b")),
                Err("is configured for us-east-1 but watches the health check of eu-west-1"),
            ),
            (
                alarm("other", Some("hc-x")),
                Err("alarm \"other\" on health check \"hc-x\" is not configured for any region"),
            ),
            (
                Trigger {
                    target: Target::Region("ap-south-1".into()),
                    source: TriggerSource::Manual,
                    ..alarm("", None)
                },
                Err("region \"ap-south-1\" is not configured (configured: us-east-1, eu-west-1)"),
            ),
        ];
        for (trigger, expected) in table {
            let got = resolve(&settings, &trigger).map(|r| r.name.as_str());
            match (got, expected) {
                (Ok(region), Ok(want)) => assert_eq!(region, want, "{trigger:?}"),
                (Err(Error::InvalidEvent(message)), Err(want)) => {
                    assert!(message.contains(want), "{message}")
                }
                (got, want) => panic!("{trigger:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
