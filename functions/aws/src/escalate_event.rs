//! Decodes the event that reaches `escalate-incident`: the incident and the
//! failure the workflow caught.

use failover_core::app::escalate_incident::{EscalateRequest, Failure};
use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalateEvent {
    incident_id: String,
    failure: Failure,
}

pub fn decode(event: &Value) -> Result<EscalateRequest> {
    let event = EscalateEvent::deserialize(event).map_err(|e| {
        Error::InvalidEvent(format!(
            "escalate event: {e}; expected {{\"incident_id\": \"...\", \"failure\": {{\"Error\": \"...\", \"Cause\": \"...\"}}}}"
        ))
    })?;
    if event.incident_id.trim().is_empty() {
        return Err(Error::InvalidEvent(
            "escalate event: incident_id is empty".into(),
        ));
    }
    if event.failure.error.trim().is_empty() {
        return Err(Error::InvalidEvent(
            "escalate event: failure.Error is empty".into(),
        ));
    }
    Ok(EscalateRequest {
        incident_id: event.incident_id,
        failure: event.failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sample_event_decodes() {
        let request = decode(&failover_core::fakes::event_payload(
            "escalate-incident.json",
        ))
        .unwrap();
        assert_eq!(request.incident_id, "us-east-1-20261122-101500-3f9a2c1b");
        assert_eq!(request.failure.error, "UpstreamUnavailable");
    }

    #[test]
    fn wrong_events_are_named() {
        for (event, expected) in [
            (json!({"incident_id": "x"}), "missing field `failure`"),
            (
                json!({"incident_id": " ", "failure": {"Error": "X"}}),
                "incident_id is empty",
            ),
            (
                json!({"incident_id": "x", "failure": {"Error": ""}}),
                "failure.Error is empty",
            ),
            (
                json!({"incident_id": "x", "failure": {"Error": "X"}, "why": 1}),
                "unknown field `why`",
            ),
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
