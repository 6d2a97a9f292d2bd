//! The orchestrator's own metrics in CloudWatch Embedded Metric Format: the
//! figures of one invocation are written to standard output as JSON
//! documents (one per set of dimensions) when it ends, and CloudWatch Logs
//! turns them into metrics. No PutMetricData call, so a metric can never
//! slow or fail a step.
//!
//! The documents come from `metrics_cloudwatch_embedded`, a backend of the
//! `metrics` facade: it is maintained, writes to any `io::Write` (standard
//! output here, a buffer in tests), and without its `lambda` feature adds
//! nothing beyond the facade and serde_json.

use std::sync::OnceLock;

use failover_core::Error;
use failover_core::app::ports::Metrics;
use failover_core::model::metric::{Metric, Value};
use metrics::{Label, Unit};
use metrics_cloudwatch_embedded::Collector;

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs this process's collector under `namespace`, once (at cold
/// start); later calls change nothing. Until it is installed, figures are
/// dropped, which is what a program that is not a function wants.
pub fn install(namespace: &str) -> Result<(), Error> {
    if COLLECTOR.get().is_some() {
        return Ok(());
    }
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace.to_owned())
        .init()
        .map_err(|e| Error::Internal(format!("the metrics collector did not start: {e}")))?;
    let _ = COLLECTOR.set(collector);
    Ok(())
}

/// Writes the figures recorded since the last flush to `out`.
pub fn flush_into(out: impl std::io::Write) {
    if let Some(collector) = COLLECTOR.get()
        && let Err(error) = collector.flush(out)
    {
        tracing::warn!(%error, "the metrics of this invocation were not written");
    }
}

/// Writes this invocation's figures to standard output, held locked so no
/// log line lands inside a document.
pub fn flush() {
    flush_into(std::io::stdout().lock());
}

/// The [`Metrics`] port over the installed collector.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmfMetrics;

impl Metrics for EmfMetrics {
    fn record(&self, metric: Metric) {
        let labels: Vec<Label> = metric
            .dimensions()
            .into_iter()
            .map(|(name, value)| Label::new(name, value))
            .collect();
        let name = metric.name();
        // The unit goes with the value's kind; declaring it again is a no-op.
        match metric.value() {
            Value::Count(n) => {
                metrics::describe_counter!(name, Unit::Count, "");
                metrics::counter!(name, labels).increment(n);
            }
            Value::Seconds(seconds) => {
                metrics::describe_histogram!(name, Unit::Seconds, "");
                metrics::histogram!(name, labels).record(seconds);
            }
            Value::Level(level) => {
                metrics::describe_gauge!(name, Unit::Count, "");
                metrics::gauge!(name, labels).set(level);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use failover_core::model::phase::Phase;
    use failover_core::model::remedy::Remedy;
    use serde_json::Value as Json;

    use super::*;

    /// The documents of one flush, by their metric names.
    fn documents(out: &[u8]) -> Vec<Json> {
        std::str::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn find<'a>(documents: &'a [Json], metric: &str) -> &'a Json {
        documents
            .iter()
            .find(|d| d.get(metric).is_some())
            .unwrap_or_else(|| panic!("no {metric} in {documents:#?}"))
    }

    /// The unit a document declares for `metric`.
    fn unit<'a>(document: &'a Json, metric: &str) -> &'a Json {
        let declared = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        &declared.iter().find(|m| m["Name"] == metric).unwrap()["Unit"]
    }

    // One test: the collector is the process's global recorder.
    #[test]
    fn figures_are_written_as_embedded_metric_documents_once() {
        install("PlatformFailover/test").unwrap();
        install("ignored: installed once").unwrap();
        let region = || "us-east-1".to_owned();
        for metric in [
            Metric::IncidentClosed {
                region: region(),
                outcome: Phase::Recovered,
            },
            Metric::TimeToRecover {
                region: region(),
                seconds: 42.5,
            },
            Metric::ActionApplied {
                region: region(),
                remedy: Remedy::RolloutRestart,
            },
            Metric::ActionApplied {
                region: region(),
                remedy: Remedy::RolloutRestart,
            },
            Metric::ReconcilerHeartbeat,
            Metric::HealthAlarmInsufficientData {
                region: region(),
                insufficient: true,
            },
        ] {
            EmfMetrics.record(metric);
        }
        let mut out = Vec::new();
        flush_into(&mut out);
        let docs = documents(&out);

        let closed = find(&docs, "IncidentsClosed");
        assert_eq!(closed["IncidentsClosed"], 1);
        assert_eq!(closed["region"], "us-east-1");
        assert_eq!(closed["outcome"], "recovered");
        let directive = &closed["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "PlatformFailover/test");
        assert_eq!(
            directive["Dimensions"][0],
            serde_json::json!(["region", "outcome"])
        );
        assert_eq!(unit(closed, "IncidentsClosed"), "Count");
        assert!(closed["_aws"]["Timestamp"].as_u64().unwrap() > 0);

        let recovered = find(&docs, "TimeToRecover");
        assert_eq!(recovered["TimeToRecover"], serde_json::json!([42.5]));
        assert_eq!(unit(recovered, "TimeToRecover"), "Seconds");

        let actions = find(&docs, "ActionsApplied");
        assert_eq!(actions["ActionsApplied"], 2, "counted, not repeated");
        assert_eq!(actions["action"], "rollout_restart");

        let heartbeat = find(&docs, "ReconcilerHeartbeat");
        let directive = &heartbeat["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"][0], serde_json::json!([]));
        assert_eq!(
            find(&docs, "HealthAlarmInsufficientData")["HealthAlarmInsufficientData"],
            1.0
        );

        // A flush reports what happened since the last one: counts start again.
        let mut again = Vec::new();
        flush_into(&mut again);
        let docs = documents(&again);
        assert!(
            docs.iter().all(|d| d.get("IncidentsClosed").is_none()),
            "{docs:#?}"
        );
    }
}
