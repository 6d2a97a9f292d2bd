//! Decodes the events that reach `restore-platform`: from the workflow (an
//! incident id) or by hand (a region), with an optional dry run.

use failover_core::app::restore_platform::RestoreRequest;
use failover_core::model::workflow::Timing;
use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreEvent {
    #[serde(default)]
    incident_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    dry_run: bool,
    /// The workflow passes its input's waits; `null` means none.
    #[serde(default)]
    timing: Option<Timing>,
}

pub fn decode(event: &Value) -> Result<RestoreRequest> {
    let event = RestoreEvent::deserialize(event).map_err(|e| {
        Error::InvalidEvent(format!(
            "restore event: {e}; expected {{\"incident_id\": \"...\"}} or {{\"region\": \"us-east-1\"}}, with an optional \"dry_run\": true and the workflow's \"timing\": {{\"settle_seconds\": N, \"poll_seconds\": N, \"deadline_seconds\": N}}"
        ))
    })?;
    let blank = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
    if blank(&event.incident_id) || blank(&event.region) {
        return Err(Error::InvalidEvent(
            "restore event: incident_id and region must not be empty".into(),
        ));
    }
    Ok(RestoreRequest {
        incident_id: event.incident_id,
        region: event.region,
        dry_run: event.dry_run,
        timing: event.timing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_core::fakes::event_payload as sample;
    use serde_json::json;

    #[test]
    fn sample_events_decode() {
        let table = [
            (
                "restore-platform-dry-run.json",
                None,
                Some("us-east-1"),
                true,
            ),
            (
                "restore-platform-incident.json",
                Some("us-east-1-20261122-101500-3f9a2c1b"),
                None,
                false,
            ),
        ];
        for (file, incident, region, dry_run) in table {
            let request = decode(&sample(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(
                request,
                RestoreRequest {
                    incident_id: incident.map(Into::into),
                    region: region.map(Into::into),
                    dry_run,
                    timing: None,
                },
                "{file}"
            );
        }
    }

    #[test]
    fn wrong_events_are_named() {
        for (event, expected) in [
            (
                json!({"region": "us-east-1", "dryrun": true}),
                "unknown field `dryrun`",
            ),
            (json!({"incident_id": ""}), "must not be empty"),
            (
                json!({"incident_id": "x", "timing": {}}),
                "missing field `settle_seconds`",
            ),
            (
                json!({"incident_id": "x", "timing": {"settle_seconds": "30", "poll_seconds": 1, "deadline_seconds": 1}}),
                "invalid type: string \"30\"",
            ),
            (json!([1]), "expected {\"incident_id\""),
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
