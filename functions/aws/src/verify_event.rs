//! Decodes the event that reaches `verify-recovery`: the incident to verify
//! and, from the workflow, when to give up.

use chrono::{DateTime, Utc};
use failover_core::verify_recovery::VerifyRequest;
use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyEvent {
    incident_id: String,
    #[serde(default)]
    deadline: Option<String>,
}

pub fn decode(event: &Value) -> Result<VerifyRequest> {
    let event = VerifyEvent::deserialize(event).map_err(|e| {
        Error::InvalidEvent(format!(
            "verify event: {e}; expected {{\"incident_id\": \"...\"}} with an optional \"deadline\" (RFC 3339)"
        ))
    })?;
    if event.incident_id.trim().is_empty() {
        return Err(Error::InvalidEvent(
            "verify event: incident_id is empty".into(),
        ));
    }
    let deadline = event
        .deadline
        .map(|d| {
            d.parse::<DateTime<Utc>>().map_err(|e| {
                Error::InvalidEvent(format!(
                    "verify event: deadline {d:?} is not an RFC 3339 time ({e})"
                ))
            })
        })
        .transpose()?;
    Ok(VerifyRequest {
        incident_id: event.incident_id,
        deadline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sample_event_decodes() {
        let path = format!(
            "{}/../../events/verify-recovery.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let request = decode(&event).unwrap();
        assert_eq!(request.incident_id, "us-east-1-20261122-101500-3f9a2c1b");
        assert_eq!(
            request.deadline,
            Some("2026-11-22T10:30:00Z".parse().unwrap())
        );
    }

    #[test]
    fn wrong_events_are_named() {
        for (event, expected) in [
            (json!({}), "missing field `incident_id`"),
            (json!({"incident_id": " "}), "incident_id is empty"),
            (
                json!({"incident_id": "x", "deadline": "soon"}),
                "deadline \"soon\" is not an RFC 3339 time",
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
