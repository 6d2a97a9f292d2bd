//! Decodes the events that reach `check-derp-peers`: the EventBridge
//! schedule, or an empty object from a person.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

const SCHEDULED: &str = "Scheduled Event";

/// `true` for a scheduled run (which reports changes), `false` for a manual one.
pub fn decode(event: &Value) -> Result<bool> {
    match event {
        Value::Object(fields) if fields.is_empty() => Ok(false),
        Value::Object(fields) if fields.contains_key("detail-type") => {
            let event: EventBridgeEvent<Value> = EventBridgeEvent::deserialize(event)
                .map_err(|e| Error::InvalidEvent(format!("EventBridge event: {e}")))?;
            if event.detail_type == SCHEDULED {
                Ok(true)
            } else {
                Err(Error::InvalidEvent(format!(
                    "EventBridge events of detail-type {:?} are not handled; expected {SCHEDULED:?}",
                    event.detail_type
                )))
            }
        }
        other => Err(Error::InvalidEvent(format!(
            "check-derp-peers takes an empty object {{}} (a manual check) or the EventBridge \"{SCHEDULED}\", not {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_core::fakes::event_payload as sample;

    #[test]
    fn sample_events_decode() {
        assert!(
            !decode(&sample("check-derp-peers-manual.json")).unwrap(),
            "manual"
        );
        assert!(
            decode(&sample("check-derp-peers-scheduled.json")).unwrap(),
            "scheduled"
        );
    }

    #[test]
    fn other_events_are_named() {
        for (event, expected) in [
            (
                serde_json::json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}}),
                "are not handled",
            ),
            (
                serde_json::json!({"region": "us-east-1"}),
                "takes an empty object",
            ),
            (serde_json::json!([]), "takes an empty object"),
        ] {
            match decode(&event) {
                Err(Error::InvalidEvent(message)) => {
                    assert!(message.contains(expected), "{event}: {message}")
                }
                other => panic!("{event}: {other:?}"),
            }
        }
    }
}
