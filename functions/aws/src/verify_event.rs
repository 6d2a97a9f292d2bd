//! Decodes the event that reaches `verify-recovery`: the incident to verify
//! and, from the workflow, its waits.

use failover_core::app::verify_recovery::VerifyRequest;
use failover_core::model::workflow::Timing;
use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyEvent {
    incident_id: String,
    #[serde(default)]
    timing: Option<Timing>,
}

pub fn decode(event: &Value) -> Result<VerifyRequest> {
    let event = VerifyEvent::deserialize(event).map_err(|e| {
        Error::InvalidEvent(format!(
            "verify event: {e}; expected {{\"incident_id\": \"...\"}} with an optional \"timing\": {{\"settle_seconds\": N, \"poll_seconds\": N, \"deadline_seconds\": N}}"
        ))
    })?;
    if event.incident_id.trim().is_empty() {
        return Err(Error::InvalidEvent(
            "verify event: incident_id is empty".into(),
        ));
    }
    Ok(VerifyRequest {
        incident_id: event.incident_id,
        timing: event.timing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sample_event_decodes() {
        let request = decode(&failover_core::fakes::event_payload("verify-recovery.json")).unwrap();
        assert_eq!(request.incident_id, "us-east-1-20261122-101500-3f9a2c1b");
        assert_eq!(
            request.timing,
            Some(Timing {
                settle_seconds: 30,
                poll_seconds: 15,
                deadline_seconds: 900,
                approval_seconds: None,
            })
        );
    }

    #[test]
    fn wrong_events_are_named() {
        for (event, expected) in [
            (json!({}), "missing field `incident_id`"),
            (json!({"incident_id": " "}), "incident_id is empty"),
            (
                json!({"incident_id": "x", "timing": {"poll_seconds": 1}}),
                "missing field `settle_seconds`",
            ),
            (
                json!({"incident_id": "x", "timing": {"settle_seconds": 1, "poll_seconds": -1, "deadline_seconds": 1}}),
                "invalid value: integer `-1`",
            ),
            (
                json!({"incident_id": "x", "deadline": "2026-11-22T10:30:00Z"}),
                "unknown field `deadline`",
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
