//! Decodes the events that reach `evaluate-readiness`: its schedule, or a
//! person (`{}` or `{"reason": "..."}`). Every evaluation reads everything,
//! whatever woke it; the reason is only logged.

use failover_core::{Error, Result};
use serde_json::Value;

const SCHEDULED: &str = "Scheduled Event";

/// Why this evaluation runs.
pub fn decode(event: &Value) -> Result<String> {
    let Some(fields) = event.as_object() else {
        return Err(Error::InvalidEvent(format!(
            "evaluate-readiness event: expected a JSON object, got {event}"
        )));
    };
    match fields.get("detail-type").and_then(Value::as_str) {
        Some(SCHEDULED) => Ok("schedule".into()),
        Some(other) => Err(Error::InvalidEvent(format!(
            "evaluate-readiness event: detail-type {other:?} is not handled; expected {SCHEDULED:?} or a manual {{\"reason\": \"...\"}}"
        ))),
        None => crate::reconcile_event::manual(event, "evaluate-readiness"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_core::fakes::event_payload as sample;
    use serde_json::json;

    #[test]
    fn sample_events_decode() {
        for (file, reason) in [
            ("evaluate-readiness-scheduled.json", "schedule"),
            (
                "evaluate-readiness-manual.json",
                "manual: before the change window",
            ),
        ] {
            assert_eq!(decode(&sample(file)).unwrap(), reason, "{file}");
        }
    }

    #[test]
    fn a_bad_event_is_named() {
        let long = "x".repeat(failover_core::model::incident::REASON_LIMIT + 1);
        let cases = [
            (json!([]), "expected a JSON object"),
            (json!({"detail-type": "Object Created"}), "is not handled"),
            (json!({"region": "us-east-1"}), "unknown field `region`"),
            (json!({ "reason": long }), "at most 1000"),
        ];
        for (event, want) in cases {
            let error = decode(&event).unwrap_err();
            assert!(error.to_string().contains(want), "{event}: {error}");
        }
    }
}
