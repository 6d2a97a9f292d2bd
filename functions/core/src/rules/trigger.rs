//! Which configured region a trigger is about.

use crate::config::{RegionSettings, Settings};
use crate::error::{Error, Result};
use crate::model::trigger::Target;
use crate::model::trigger::Trigger;

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
    use crate::model::trigger::AlarmState;
    use crate::model::trigger::TriggerSource;

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
