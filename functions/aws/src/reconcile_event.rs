//! Decodes the events that reach `reconcile` into the reason it runs: its
//! schedule, a recovery workflow execution that ended, or a person.

use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

const SCHEDULED: &str = "Scheduled Event";
const EXECUTION_ENDED: &str = "Step Functions Execution Status Change";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manual {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExecutionDetail {
    name: String,
    status: String,
}

/// Why this run happens, for its report and heartbeat. Every run
/// reconciles every region, whatever woke it.
pub fn decode(event: &Value) -> Result<String> {
    let Some(fields) = event.as_object() else {
        return Err(Error::InvalidEvent(format!(
            "reconcile event: expected a JSON object, got {event}"
        )));
    };
    match fields.get("detail-type").and_then(Value::as_str) {
        Some(SCHEDULED) => Ok("schedule".into()),
        Some(EXECUTION_ENDED) => {
            let detail = ExecutionDetail::deserialize(&event["detail"]).map_err(|e| {
                Error::InvalidEvent(format!("{EXECUTION_ENDED} event: detail: {e}"))
            })?;
            Ok(format!("execution {} ended {}", detail.name, detail.status))
        }
        Some(other) => Err(Error::InvalidEvent(format!(
            "reconcile event: detail-type {other:?} is not handled; expected {SCHEDULED:?}, {EXECUTION_ENDED:?} or a manual {{\"reason\": \"...\"}}"
        ))),
        None => manual(event, "reconcile"),
    }
}

/// A run by hand, `{}` or `{"reason": "..."}`, of a function that reads
/// everything whatever woke it (`reconcile`, `evaluate-readiness`): its
/// reason, `manual` or `manual: <reason>`.
pub(crate) fn manual(event: &Value, function: &str) -> Result<String> {
    let manual = Manual::deserialize(event).map_err(|e| {
        Error::InvalidEvent(format!(
            "{function} event: {e}; expected {{}} or {{\"reason\": \"...\"}} by hand"
        ))
    })?;
    let reason = manual.reason.unwrap_or_default();
    let limit = failover_core::model::incident::REASON_LIMIT;
    if reason.chars().count() > limit {
        return Err(Error::InvalidEvent(format!(
            "{function} event: reason is {} characters, at most {limit}",
            reason.chars().count()
        )));
    }
    Ok(if reason.trim().is_empty() {
        "manual".into()
    } else {
        format!("manual: {reason}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_core::fakes::event_payload as sample;
    use serde_json::json;

    #[test]
    fn sample_events_decode() {
        for (file, reason) in [
            ("reconcile-scheduled.json", "schedule"),
            (
                "reconcile-execution-ended.json",
                "execution us-east-1-20261122-101500-3f9a2c1b ended ABORTED",
            ),
            (
                "reconcile-manual.json",
                "manual: after a break-glass release",
            ),
        ] {
            assert_eq!(decode(&sample(file)).unwrap(), reason, "{file}");
        }
        assert_eq!(decode(&json!({})).unwrap(), "manual");
    }

    #[test]
    fn wrong_shapes_are_named() {
        for (event, expected) in [
            (json!([]), "expected a JSON object"),
            (
                json!({"detail-type": "EC2 Instance State-change Notification"}),
                "is not handled",
            ),
            (
                json!({"detail-type": EXECUTION_ENDED, "detail": {}}),
                "missing field `name`",
            ),
            (json!({"region": "us-east-1"}), "unknown field `region`"),
            (
                json!({"reason": "x".repeat(1001)}),
                "reason is 1001 characters, at most 1000",
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
