//! Decodes the probe events evaluate-readiness sends the functions that
//! reach the clusters: `{"probe": "permissions"}` (what the function may
//! do, asked as itself) and `{"probe": "cluster", "region": "<name>"}`
//! (what verify-recovery sees of a region's cluster).

use failover_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

pub use failover_core::app::probe::ProbeRequest;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "probe", rename_all = "snake_case")]
enum Wire {
    // A struct variant, so that an unknown field is refused here too.
    Permissions {},
    Cluster { region: String },
}

/// `None` for an event that is not a probe (it has no `probe` field): the
/// function's own event, decoded by its own decoder.
pub fn decode(event: &Value) -> Result<Option<ProbeRequest>> {
    if event.get("probe").is_none() {
        return Ok(None);
    }
    let wire = Wire::deserialize(event).map_err(|e| {
        Error::InvalidEvent(format!(
            "probe event: {e}; expected {{\"probe\": \"permissions\"}} or {{\"probe\": \"cluster\", \"region\": \"<region>\"}}"
        ))
    })?;
    Ok(Some(match wire {
        Wire::Permissions {} => ProbeRequest::Permissions,
        Wire::Cluster { region } => ProbeRequest::Cluster { region },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sample_events_decode() {
        use failover_core::fakes::event_payload as sample;
        assert_eq!(
            decode(&sample("probe-permissions.json")).unwrap(),
            Some(ProbeRequest::Permissions)
        );
        assert_eq!(
            decode(&sample("probe-cluster.json")).unwrap(),
            Some(ProbeRequest::Cluster {
                region: "eu-west-1".into()
            })
        );
        assert_eq!(decode(&sample("verify-recovery.json")).unwrap(), None);
    }

    #[test]
    fn probes_decode_and_other_events_pass_through() {
        let cases = [
            (
                json!({"probe": "permissions"}),
                Some(ProbeRequest::Permissions),
            ),
            (
                json!({"probe": "cluster", "region": "eu-west-1"}),
                Some(ProbeRequest::Cluster {
                    region: "eu-west-1".into(),
                }),
            ),
            (json!({"incident_id": "x"}), None),
            (json!({}), None),
        ];
        for (event, want) in cases {
            assert_eq!(decode(&event).unwrap(), want, "{event}");
        }
    }

    #[test]
    fn a_bad_probe_is_named() {
        let cases = [
            (
                json!({"probe": "everything"}),
                "unknown variant `everything`",
            ),
            (json!({"probe": "cluster"}), "missing field `region`"),
            (
                json!({"probe": "permissions", "region": "eu-west-1"}),
                "unknown field `region`",
            ),
            (json!({"probe": 3}), "probe event"),
        ];
        for (event, want) in cases {
            let error = decode(&event).unwrap_err();
            assert!(matches!(error, Error::InvalidEvent(_)), "{event}");
            assert!(error.to_string().contains(want), "{event}: {error}");
        }
    }
}
