//! Which figures an incident's stored change reports: read from the change
//! itself (the entries written and the state they left), so every step that
//! commits reports the same way and a change that was not stored reports
//! nothing.

use crate::model::incident::{EntryKind, Incident, TimelineEntry};
use crate::model::metric::Metric;
use crate::model::phase::Phase;

/// The figures of one stored change of `incident` (as stored) with `entries`.
pub fn of_change(incident: &Incident, entries: &[TimelineEntry]) -> Vec<Metric> {
    let region = || incident.region.clone();
    let mut figures = Vec::new();
    for entry in entries {
        match entry.kind {
            EntryKind::Verdict => figures.extend(incident.verdict.map(|verdict| Metric::Verdict {
                region: region(),
                verdict,
            })),
            EntryKind::Acted => {
                let applied: Vec<_> = incident.actions.iter().filter(|a| a.applied).collect();
                if let Some(last) = applied.iter().max_by_key(|a| a.at) {
                    figures.push(Metric::ActionApplied {
                        region: region(),
                        remedy: last.remedy,
                    });
                }
                if let (1, Some(acted_at)) = (applied.len(), incident.acted_at) {
                    figures.push(Metric::DetectionToAction {
                        region: region(),
                        seconds: seconds(incident.detected_at, acted_at),
                    });
                }
            }
            _ => {}
        }
    }
    if incident.is_closing() {
        figures.push(Metric::IncidentClosed {
            region: region(),
            outcome: incident.phase,
        });
        if let (Phase::Recovered, Some(recovered_at)) = (incident.phase, incident.recovered_at) {
            figures.push(Metric::TimeToRecover {
                region: region(),
                seconds: seconds(incident.detected_at, recovered_at),
            });
        }
    }
    figures
}

fn seconds(from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> f64 {
    // Milliseconds are exact in an f64 for any span an incident can have.
    #[allow(clippy::cast_precision_loss)]
    let millis = to.signed_duration_since(from).num_milliseconds().max(0) as f64;
    millis / 1000.0
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::model::incident::{Action, Closing, Journal};
    use crate::model::remedy::{Cause, Remedy};
    use crate::model::trigger::{AlarmState, Target, Trigger, TriggerSource};
    use crate::model::verdict::Verdict;

    fn at(seconds: i64) -> DateTime<Utc> {
        "2026-11-22T10:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(seconds)
    }

    fn detected() -> Incident {
        let trigger = Trigger {
            source: TriggerSource::AlarmAction,
            target: Target::Region("us-east-1".into()),
            state: AlarmState::Alarm,
            reason: "alarm".into(),
            dry_run: false,
        };
        Incident::detect("us-east-1", &trigger, false, at(0), "n")
    }

    fn entry(incident: &Incident, kind: EntryKind) -> TimelineEntry {
        Journal::new("n").entry(incident, incident.updated_at, kind, "x")
    }

    fn confirmed() -> Incident {
        let mut incident = detected();
        incident
            .conclude(Verdict::Confirmed, Vec::new(), at(10))
            .unwrap();
        incident
    }

    fn acted(remedies: &[Remedy]) -> Incident {
        let mut incident = confirmed();
        for (i, remedy) in remedies.iter().enumerate() {
            let when = at(20 + i64::try_from(i).unwrap() * 30);
            let mut action = Action::decided(when, *remedy, false);
            action.applied = true;
            incident.actions.push(action);
            incident.restoring(when).unwrap();
        }
        incident
    }

    fn names(figures: &[Metric]) -> Vec<&'static str> {
        figures.iter().map(Metric::name).collect()
    }

    #[test]
    fn each_change_reports_its_figures() {
        let transient = {
            let mut i = detected();
            i.conclude(Verdict::Transient, Vec::new(), at(10)).unwrap();
            i
        };
        let recovered = {
            let mut i = acted(&[Remedy::RolloutRestart]);
            i.close(Closing::Recovered, at(95)).unwrap();
            i
        };
        let escalated = {
            let mut i = acted(&[Remedy::RolloutRestart]);
            i.close(Closing::Escalated(Cause::RestartBudgetSpent), at(200))
                .unwrap();
            i
        };
        let second_action = acted(&[Remedy::Scale { replicas: 3 }, Remedy::RolloutRestart]);
        let table: Vec<(&str, Incident, Vec<EntryKind>, Vec<&str>)> = vec![
            (
                "a confirmed verdict",
                confirmed(),
                vec![EntryKind::HealthSampled, EntryKind::Verdict],
                vec!["Verdicts"],
            ),
            (
                "a transient verdict closes the incident",
                transient,
                vec![EntryKind::Verdict],
                vec!["Verdicts", "IncidentsClosed"],
            ),
            (
                "the first action",
                acted(&[Remedy::RolloutRestart]),
                vec![EntryKind::Acted],
                vec!["ActionsApplied", "DetectionToAction"],
            ),
            (
                "a second action: detection to action was reported with the first",
                second_action,
                vec![EntryKind::Acted],
                vec!["ActionsApplied"],
            ),
            (
                "recovered",
                recovered,
                vec![EntryKind::Verified],
                vec!["IncidentsClosed", "TimeToRecover"],
            ),
            (
                "escalated: no time to recover",
                escalated,
                vec![EntryKind::Escalated],
                vec!["IncidentsClosed"],
            ),
            (
                "a notice delivered",
                confirmed(),
                vec![EntryKind::Notified],
                vec![],
            ),
        ];
        for (case, incident, kinds, expected) in table {
            let entries: Vec<_> = kinds.into_iter().map(|k| entry(&incident, k)).collect();
            assert_eq!(names(&of_change(&incident, &entries)), expected, "{case}");
        }
    }

    #[test]
    fn the_figures_carry_the_region_the_outcome_and_the_durations() {
        let mut incident = acted(&[Remedy::RolloutRestart]);
        let first = of_change(&incident, &[entry(&incident, EntryKind::Acted)]);
        assert_eq!(
            first,
            vec![
                Metric::ActionApplied {
                    region: "us-east-1".into(),
                    remedy: Remedy::RolloutRestart
                },
                Metric::DetectionToAction {
                    region: "us-east-1".into(),
                    seconds: 20.0
                },
            ]
        );
        incident.close(Closing::Recovered, at(95)).unwrap();
        let closed = of_change(&incident, &[entry(&incident, EntryKind::Verified)]);
        assert_eq!(
            closed,
            vec![
                Metric::IncidentClosed {
                    region: "us-east-1".into(),
                    outcome: Phase::Recovered
                },
                Metric::TimeToRecover {
                    region: "us-east-1".into(),
                    seconds: 95.0
                },
            ]
        );
    }

    #[test]
    fn a_change_after_closing_reports_no_second_close() {
        let mut incident = acted(&[Remedy::RolloutRestart]);
        incident.close(Closing::Recovered, at(95)).unwrap();
        // A later write (a notice delivered) moves updated_at past closed_at.
        incident.updated_at = at(96);
        assert!(of_change(&incident, &[entry(&incident, EntryKind::Notified)]).is_empty());
    }

    #[test]
    fn a_remedy_kind_is_its_serde_tag() {
        for remedy in [
            Remedy::Scale { replicas: 2 },
            Remedy::RolloutRestart,
            Remedy::Escalate {
                cause: Cause::RestartBudgetSpent,
            },
        ] {
            let json = serde_json::to_value(remedy).unwrap();
            assert_eq!(json["remedy"], remedy.kind(), "{remedy:?}");
        }
    }
}
