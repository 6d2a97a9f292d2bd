//! Decodes the events that reach `confirm-outage` into a plain [`Trigger`]:
//! the three shapes AWS delivers CloudWatch alarms in, and a manual event.

use aws_lambda_events::event::cloudwatch_alarms::{
    CloudWatchAlarmData, CloudWatchAlarmStateValue, CloudWatchMetricAlarm,
    CloudWatchMetricAlarmConfiguration,
};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::{CloudWatchAlarmPayload, SnsEvent};
use failover_core::trigger::{AlarmState, Target, Trigger, TriggerSource};
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
