//! Decodes the events that reach `confirm-outage` into a plain [`Trigger`]:
//! the three shapes AWS delivers CloudWatch alarms in, and a manual event.

use aws_lambda_events::event::cloudwatch_alarms::{
    CloudWatchAlarmData, CloudWatchAlarmStateValue, CloudWatchMetricAlarm,
    CloudWatchMetricAlarmConfiguration,
};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::{CloudWatchAlarmPayload, SnsEvent};
use failover_core::model::incident::REASON_LIMIT;
use failover_core::model::trigger::{AlarmState, Target, Trigger, TriggerSource};
use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

const ALARM_STATE_CHANGE: &str = "CloudWatch Alarm State Change";
const HEALTH_CHECK_DIMENSION: &str = "HealthCheckId";

/// What a person sends from the console or the command line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualEvent {
    region: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

pub fn decode(event: &Value) -> Result<Trigger> {
    let Some(fields) = event.as_object() else {
        return Err(invalid(format!(
            "the event must be a JSON object, got {}",
            kind_of(event)
        )));
    };
    if let Some(detail_type) = fields.get("detail-type") {
        if detail_type.as_str() != Some(ALARM_STATE_CHANGE) {
            return Err(invalid(format!(
                "EventBridge events of detail-type {detail_type} are not handled; expected {ALARM_STATE_CHANGE:?}"
            )));
        }
        let event: EventBridgeEvent<CloudWatchAlarmData<CloudWatchMetricAlarmConfiguration>> =
            parse(event, "EventBridge \"CloudWatch Alarm State Change\" event")?;
        return from_alarm_data(&event.detail, TriggerSource::EventBridge);
    }
    if fields.contains_key("alarmData") {
        let event: CloudWatchMetricAlarm = parse(event, "CloudWatch alarm action event")?;
        return from_alarm_data(&event.alarm_data, TriggerSource::AlarmAction);
    }
    if fields.contains_key("Records") {
        return from_sns(event);
    }
    if fields.contains_key("region") && !fields.contains_key("source") {
        let manual: ManualEvent = parse(event, "manual event")?;
        if manual.region.trim().is_empty() {
            return Err(invalid("manual event: region is empty".into()));
        }
        let length = manual.reason.as_deref().map_or(0, |r| r.chars().count());
        if length > REASON_LIMIT {
            return Err(invalid(format!(
                "manual event: reason is {length} characters, at most {REASON_LIMIT}: put long evidence in a ticket and its link here"
            )));
        }
        return Ok(Trigger {
            source: TriggerSource::Manual,
            target: Target::Region(manual.region),
            state: AlarmState::Alarm,
            reason: manual.reason.unwrap_or_else(|| "manual invocation".into()),
            dry_run: manual.dry_run,
        });
    }
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    Err(invalid(format!(
        "unrecognized event with keys [{}]; expected a CloudWatch alarm action (source aws.cloudwatch with alarmData), \
         an EventBridge \"{ALARM_STATE_CHANGE}\" event, an SNS record carrying an alarm notification, \
         or a manual event {{\"region\": \"us-east-1\", \"reason\": \"...\", \"dry_run\": true}}",
        keys.join(", ")
    )))
}

fn from_alarm_data(
    data: &CloudWatchAlarmData<CloudWatchMetricAlarmConfiguration>,
    source: TriggerSource,
) -> Result<Trigger> {
    if data.alarm_name.trim().is_empty() {
        return Err(invalid("the alarm has no alarmName".into()));
    }
    let Some(state) = &data.state else {
        return Err(invalid(format!("alarm {:?} has no state", data.alarm_name)));
    };
    let health_check_id = data.configuration.metrics.iter().find_map(|m| {
        m.metric_stat
            .metric
            .dimensions
            .get(HEALTH_CHECK_DIMENSION)
            .cloned()
    });
    Ok(Trigger {
        source,
        target: Target::Alarm {
            name: data.alarm_name.clone(),
            health_check_id,
        },
        state: match state.value {
            CloudWatchAlarmStateValue::Alarm => AlarmState::Alarm,
            CloudWatchAlarmStateValue::InsufficientData => AlarmState::InsufficientData,
            _ => AlarmState::Ok,
        },
        reason: state.reason.clone(),
        dry_run: false,
    })
}

fn from_sns(event: &Value) -> Result<Trigger> {
    let sns: SnsEvent = parse(event, "SNS event")?;
    let [record] = sns.records.as_slice() else {
        return Err(invalid(format!(
            "an SNS event carries exactly one record, this one has {}",
            sns.records.len()
        )));
    };
    if record.event_source != "aws:sns" {
        return Err(invalid(format!(
            "Records[0].EventSource is {:?}, expected \"aws:sns\"",
            record.event_source
        )));
    }
    let mut message: Value = serde_json::from_str(&record.sns.message).map_err(|e| {
        invalid(format!(
            "the SNS message is not a CloudWatch alarm notification (not JSON: {e})"
        ))
    })?;
    // CloudWatch sends `"AlarmDescription": null` for alarms without one.
    if let Some(description) = message.get_mut("AlarmDescription").filter(|d| d.is_null()) {
        *description = Value::String(String::new());
    }
    let alarm: CloudWatchAlarmPayload = serde_json::from_value(message).map_err(|e| {
        invalid(format!(
            "the SNS message is not a CloudWatch alarm notification: {e}"
        ))
    })?;
    let health_check_id = alarm
        .trigger
        .dimensions
        .iter()
        .find(|d| d.name == HEALTH_CHECK_DIMENSION)
        .map(|d| d.value.clone());
    let state = match alarm.new_state_value.as_str() {
        "ALARM" => AlarmState::Alarm,
        "OK" => AlarmState::Ok,
        "INSUFFICIENT_DATA" => AlarmState::InsufficientData,
        other => {
            return Err(invalid(format!(
                "alarm {:?} has unknown NewStateValue {other:?}",
                alarm.alarm_name
            )));
        }
    };
    Ok(Trigger {
        source: TriggerSource::Sns,
        target: Target::Alarm {
            name: alarm.alarm_name,
            health_check_id,
        },
        state,
        reason: alarm.new_state_reason,
        dry_run: false,
    })
}

fn parse<T: serde::de::DeserializeOwned>(event: &Value, what: &str) -> Result<T> {
    T::deserialize(event).map_err(|e| invalid(format!("{what}: {e}")))
}

fn invalid(message: String) -> Error {
    Error::InvalidEvent(message)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_core::fakes::event_payload as sample;

    const ALARM: &str = "platform-failover-us-east-1-platform-health";
    const CHECK: &str = "6f4c1f5e-2b1d-4c53-9f43-1d2a1b7e0c11";

    #[test]
    fn every_sample_event_decodes() {
        let alarm = || Target::Alarm {
            name: ALARM.into(),
            health_check_id: Some(CHECK.into()),
        };
        let table = [
            (
                "confirm-outage-alarm-action.json",
                TriggerSource::AlarmAction,
                alarm(),
                AlarmState::Alarm,
                false,
            ),
            (
                "confirm-outage-alarm-ok.json",
                TriggerSource::AlarmAction,
                alarm(),
                AlarmState::Ok,
                false,
            ),
            (
                "confirm-outage-eventbridge.json",
                TriggerSource::EventBridge,
                alarm(),
                AlarmState::Alarm,
                false,
            ),
            (
                "confirm-outage-sns.json",
                TriggerSource::Sns,
                alarm(),
                AlarmState::Alarm,
                false,
            ),
            (
                "confirm-outage-manual.json",
                TriggerSource::Manual,
                Target::Region("us-east-1".into()),
                AlarmState::Alarm,
                false,
            ),
            (
                "confirm-outage-manual-dry-run.json",
                TriggerSource::Manual,
                Target::Region("us-east-1".into()),
                AlarmState::Alarm,
                true,
            ),
        ];
        for (file, source, target, state, dry_run) in table {
            let trigger = decode(&sample(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(
                (
                    trigger.source,
                    &trigger.target,
                    trigger.state,
                    trigger.dry_run
                ),
                (source, &target, state, dry_run),
                "{file}"
            );
            assert!(!trigger.reason.is_empty(), "{file}");
        }
    }

    #[test]
    fn an_sns_notification_without_description_still_decodes() {
        let mut event = sample("confirm-outage-sns.json");
        let mut message: Value =
            serde_json::from_str(event["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
        message["AlarmDescription"] = Value::Null;
        event["Records"][0]["Sns"]["Message"] = message.to_string().into();
        assert_eq!(decode(&event).unwrap().alarm_name(), Some(ALARM));
    }

    #[test]
    fn wrong_shapes_are_named() {
        let table = [
            (
                serde_json::json!("text"),
                "must be a JSON object, got a string",
            ),
            (
                serde_json::json!({"source": "aws.ec2"}),
                "unrecognized event with keys [source]",
            ),
            (
                serde_json::json!({"region": ""}),
                "manual event: region is empty",
            ),
            (
                serde_json::json!({"region": "us-east-1", "dry_run": "yes"}),
                "manual event: invalid type: string \"yes\", expected a boolean",
            ),
            (
                serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
                "detail-type \"Scheduled Event\" are not handled",
            ),
            (
                serde_json::json!({"Records": []}),
                "exactly one record, this one has 0",
            ),
            (
                serde_json::json!({"region": "us-east-1", "reason": "x".repeat(210_000)}),
                "reason is 210000 characters, at most 1000",
            ),
        ];
        for (event, expected) in table {
            match decode(&event) {
                Err(Error::InvalidEvent(message)) => {
                    assert!(message.contains(expected), "{event}: {message}")
                }
                other => panic!("{event}: {other:?}"),
            }
        }
    }
}
