//! The figures the orchestrator reports about itself. Each has a name, a
//! unit and its dimensions; the adapter writes them as CloudWatch metrics,
//! the dashboard and the alarms of `template.yaml` read them by these names.

use crate::model::phase::Phase;
use crate::model::readiness::CheckKind;
use crate::model::remedy::Remedy;
use crate::model::verdict::Verdict;

/// What a reconciler repair put right, as a metric dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairKind {
    ReleasedLease,
    TookOver,
    StartedWorkflow,
    Escalated,
    DeliveredNotices,
    ConfirmedAgain,
    Reminded,
}

impl RepairKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReleasedLease => "released_lease",
            Self::TookOver => "took_over",
            Self::StartedWorkflow => "started_workflow",
            Self::Escalated => "escalated",
            Self::DeliveredNotices => "delivered_notices",
            Self::ConfirmedAgain => "confirmed_again",
            Self::Reminded => "reminded",
        }
    }
}

/// How a figure adds up over a period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// Events: summed.
    Count(u64),
    /// A duration of one incident.
    Seconds(f64),
    /// A level read now (replaces the last one).
    Level(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    IncidentOpened {
        region: String,
    },
    IncidentClosed {
        region: String,
        outcome: Phase,
    },
    /// From detection to verified healthy.
    TimeToRecover {
        region: String,
        seconds: f64,
    },
    /// From detection to the first remedy applied.
    DetectionToAction {
        region: String,
        seconds: f64,
    },
    ActionApplied {
        region: String,
        remedy: Remedy,
    },
    Verdict {
        region: String,
        verdict: Verdict,
    },
    Repair {
        region: String,
        repair: RepairKind,
    },
    /// SNS refused a notice; it stays in the outbox for a later attempt.
    NoticeUndelivered,
    /// One reconciler run that read every region and saved its heartbeat.
    ReconcilerHeartbeat,
    OpenIncidents {
        region: String,
        open: u32,
    },
    /// 1 while the region's health alarm is in INSUFFICIENT_DATA: the
    /// detection path itself is broken.
    HealthAlarmInsufficientData {
        region: String,
        insufficient: bool,
    },
    /// How many checks of a kind failed in the latest readiness evaluation.
    ReadinessChecksFailing {
        kind: CheckKind,
        failing: u32,
    },
}

impl Metric {
    /// Every metric name, as the dashboard and the alarms spell them.
    pub const NAMES: [&'static str; 12] = [
        "IncidentsOpened",
        "IncidentsClosed",
        "TimeToRecover",
        "DetectionToAction",
        "ActionsApplied",
        "Verdicts",
        "ReconcilerRepairs",
        "NoticesUndelivered",
        "ReconcilerHeartbeat",
        "OpenIncidents",
        "HealthAlarmInsufficientData",
        "ReadinessChecksFailing",
    ];

    pub fn name(&self) -> &'static str {
        let index = match self {
            Self::IncidentOpened { .. } => 0,
            Self::IncidentClosed { .. } => 1,
            Self::TimeToRecover { .. } => 2,
            Self::DetectionToAction { .. } => 3,
            Self::ActionApplied { .. } => 4,
            Self::Verdict { .. } => 5,
            Self::Repair { .. } => 6,
            Self::NoticeUndelivered => 7,
            Self::ReconcilerHeartbeat => 8,
            Self::OpenIncidents { .. } => 9,
            Self::HealthAlarmInsufficientData { .. } => 10,
            Self::ReadinessChecksFailing { .. } => 11,
        };
        Self::NAMES[index]
    }

    pub fn value(&self) -> Value {
        match self {
            Self::TimeToRecover { seconds, .. } | Self::DetectionToAction { seconds, .. } => {
                Value::Seconds(*seconds)
            }
            Self::OpenIncidents { open, .. } => Value::Level(f64::from(*open)),
            Self::ReadinessChecksFailing { failing, .. } => Value::Level(f64::from(*failing)),
            Self::HealthAlarmInsufficientData { insufficient, .. } => {
                Value::Level(if *insufficient { 1.0 } else { 0.0 })
            }
            _ => Value::Count(1),
        }
    }

    /// Its dimensions, in a fixed order.
    pub fn dimensions(&self) -> Vec<(&'static str, String)> {
        let region = |r: &String| ("region", r.clone());
        match self {
            Self::IncidentOpened { region: r }
            | Self::TimeToRecover { region: r, .. }
            | Self::DetectionToAction { region: r, .. }
            | Self::OpenIncidents { region: r, .. }
            | Self::HealthAlarmInsufficientData { region: r, .. } => vec![region(r)],
            Self::IncidentClosed { region: r, outcome } => {
                vec![region(r), ("outcome", outcome.as_str().to_owned())]
            }
            Self::ActionApplied { region: r, remedy } => {
                vec![region(r), ("action", remedy.kind().to_owned())]
            }
            Self::Verdict { region: r, verdict } => {
                vec![region(r), ("verdict", verdict.as_str().to_owned())]
            }
            Self::Repair { region: r, repair } => {
                vec![region(r), ("repair", repair.as_str().to_owned())]
            }
            Self::ReadinessChecksFailing { kind, .. } => vec![("check", kind.as_str().to_owned())],
            Self::NoticeUndelivered | Self::ReconcilerHeartbeat => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> String {
        "us-east-1".into()
    }

    #[test]
    fn each_metric_has_its_name_value_and_dimensions() {
        type Row = (
            Metric,
            &'static str,
            Value,
            Vec<(&'static str, &'static str)>,
        );
        let table: Vec<Row> = vec![
            (
                Metric::IncidentOpened { region: r() },
                "IncidentsOpened",
                Value::Count(1),
                vec![("region", "us-east-1")],
            ),
            (
                Metric::IncidentClosed {
                    region: r(),
                    outcome: Phase::Escalated,
                },
                "IncidentsClosed",
                Value::Count(1),
                vec![("region", "us-east-1"), ("outcome", "escalated")],
            ),
            (
                Metric::TimeToRecover {
                    region: r(),
                    seconds: 42.5,
                },
                "TimeToRecover",
                Value::Seconds(42.5),
                vec![("region", "us-east-1")],
            ),
            (
                Metric::DetectionToAction {
                    region: r(),
                    seconds: 3.0,
                },
                "DetectionToAction",
                Value::Seconds(3.0),
                vec![("region", "us-east-1")],
            ),
            (
                Metric::ActionApplied {
                    region: r(),
                    remedy: Remedy::Scale { replicas: 3 },
                },
                "ActionsApplied",
                Value::Count(1),
                vec![("region", "us-east-1"), ("action", "scale")],
            ),
            (
                Metric::Verdict {
                    region: r(),
                    verdict: Verdict::AllRegionsDown,
                },
                "Verdicts",
                Value::Count(1),
                vec![("region", "us-east-1"), ("verdict", "all_regions_down")],
            ),
            (
                Metric::Repair {
                    region: r(),
                    repair: RepairKind::StartedWorkflow,
                },
                "ReconcilerRepairs",
                Value::Count(1),
                vec![("region", "us-east-1"), ("repair", "started_workflow")],
            ),
            (
                Metric::ReadinessChecksFailing {
                    kind: CheckKind::ImageDrift,
                    failing: 2,
                },
                "ReadinessChecksFailing",
                Value::Level(2.0),
                vec![("check", "image_drift")],
            ),
            (
                Metric::NoticeUndelivered,
                "NoticesUndelivered",
                Value::Count(1),
                vec![],
            ),
            (
                Metric::ReconcilerHeartbeat,
                "ReconcilerHeartbeat",
                Value::Count(1),
                vec![],
            ),
            (
                Metric::OpenIncidents {
                    region: r(),
                    open: 1,
                },
                "OpenIncidents",
                Value::Level(1.0),
                vec![("region", "us-east-1")],
            ),
            (
                Metric::HealthAlarmInsufficientData {
                    region: r(),
                    insufficient: false,
                },
                "HealthAlarmInsufficientData",
                Value::Level(0.0),
                vec![("region", "us-east-1")],
            ),
        ];
        assert_eq!(table.len(), Metric::NAMES.len(), "a metric is untested");
        for (metric, name, value, dimensions) in table {
            assert_eq!(metric.name(), name, "{metric:?}");
            assert_eq!(metric.value(), value, "{metric:?}");
            let got: Vec<(&str, String)> = metric.dimensions();
            let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(got, dimensions, "{metric:?}");
        }
    }
}
