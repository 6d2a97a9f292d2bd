//! The health-check alarms' current state (CloudWatch `DescribeAlarms`):
//! what the reconciler compares with the incidents.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::StateValue;
use failover_core::ports::Alarms;
use failover_core::trigger::AlarmState;
use failover_core::{Error, Result};

use crate::sdk_error::classify;

const SERVICE: &str = "CloudWatch";

#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarms {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Alarms for CloudWatchAlarms {
    async fn states(&self, names: &[String]) -> Result<Vec<(String, AlarmState)>> {
        let mut states = Vec::new();
        // DescribeAlarms takes at most 100 names per call.
        for chunk in names.chunks(100) {
            let answer = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify(SERVICE, e))?;
            for alarm in answer.metric_alarms() {
                let (Some(name), Some(value)) = (alarm.alarm_name(), alarm.state_value()) else {
                    continue;
                };
                states.push((name.to_owned(), state(value)?));
            }
        }
        Ok(states)
    }
}

fn state(value: &StateValue) -> Result<AlarmState> {
    match value {
        StateValue::Alarm => Ok(AlarmState::Alarm),
        StateValue::Ok => Ok(AlarmState::Ok),
        StateValue::InsufficientData => Ok(AlarmState::InsufficientData),
        other => Err(Error::rejected(
            SERVICE,
            format!("unknown alarm state {:?}", other.as_str()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alarm_state_maps() {
        for (cloudwatch, ours) in [
            ("ALARM", AlarmState::Alarm),
            ("OK", AlarmState::Ok),
            ("INSUFFICIENT_DATA", AlarmState::InsufficientData),
        ] {
            assert_eq!(state(&StateValue::from(cloudwatch)), Ok(ours));
            assert_eq!(ours.as_str(), cloudwatch);
        }
        assert!(state(&StateValue::from("SNOOZED")).is_err());
    }
}
