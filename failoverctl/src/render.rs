//! What people read: aligned tables for the terminal, and the incident
//! report as Markdown a postmortem can paste. Pure functions of the reports.

use chrono::{DateTime, Utc};
use failover_core::app::operate::{HandReport, IncidentReport, StatusReport};
use failover_core::model::incident::Incident;
use failover_core::model::readiness::{Check, Report};
use failover_core::notices::readiness::summary;
use serde::Serialize;
use serde_json::Value;

/// Columns padded to their widest cell, two spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths.get(i).copied().unwrap_or(0)))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = line(headers.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// An enum's name as its serde form spells it (`alarm_action`).
fn name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let seconds = now.signed_duration_since(at).num_seconds().max(0);
    match seconds {
        0..60 => format!("{seconds}s ago"),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..86_400 => format!("{}h{:02}m ago", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

fn minutes_seconds(seconds: i64) -> String {
    format!("{}m{:02}s", seconds / 60, seconds % 60)
}

/// Every check, the ones that did not pass first, each with its fix.
pub fn readiness(report: &Report) -> String {
    let mut checks: Vec<&Check> = report.checks.iter().collect();
    checks.sort_by_key(|c| std::cmp::Reverse(c.status));
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.status.as_str().to_ascii_uppercase(),
                c.kind.to_string(),
                c.scope.clone(),
                c.detail.clone(),
            ]
        })
        .collect();
    let mut text = format!(
        "readiness {} (evaluated {})\n\n",
        summary(report),
        time(report.evaluated_at)
    );
    text.push_str(&table(&["STATUS", "CHECK", "SCOPE", "DETAIL"], &rows));
    let fixes: Vec<String> = checks
        .iter()
        .filter_map(|c| {
            c.fix
                .as_ref()
                .map(|fix| format!("- {} ({}): {fix}", c.kind, c.scope))
        })
        .collect();
    if !fixes.is_empty() {
        text.push_str("\nfixes:\n");
        text.push_str(&fixes.join("\n"));
        text.push('\n');
    }
    text
}

pub fn status(report: &StatusReport) -> String {
    let rows: Vec<Vec<String>> = report
        .regions
        .iter()
        .map(|r| {
            let lease = if r.leases.is_empty() {
                "free".to_owned()
            } else {
                r.leases
                    .iter()
                    .map(|l| {
                        let state = if l.held { "held" } else { "dangling" };
                        format!("{} {state} by {}", l.lane.as_str(), l.incident_id)
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let incident = if r.open.is_empty() {
                "-".to_owned()
            } else {
                r.open
                    .iter()
                    .map(|i| {
                        let dry = if i.dry_run { " (dry run)" } else { "" };
                        format!("{} {}{dry}", i.id, i.phase.as_str())
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            vec![
                r.region.clone(),
                format!(
                    "{} ({}/{})",
                    r.health.health.as_str(),
                    r.health.reporting_success,
                    r.health.fresh
                ),
                r.alarm.map_or("none", |a| a.as_str()).to_owned(),
                lease,
                incident,
            ]
        })
        .collect();
    let mut text = table(
        &["REGION", "HEALTH", "ALARM", "LEASE", "OPEN INCIDENT"],
        &rows,
    );
    if report.dry_run {
        text.push_str("deployment: dry run (decides and reports, changes nothing)\n");
    }
    match &report.reconciler {
        None => text.push_str("reconciler: never ran (no heartbeat)\n"),
        Some(beat) => {
            text.push_str(&format!(
                "reconciler: last run {} ({}), {}, {} repair(s)\n",
                ago(report.at, beat.at),
                time(beat.at),
                beat.reason,
                beat.repairs
            ));
            for error in &beat.errors {
                text.push_str(&format!("  error: {error}\n"));
            }
        }
    }
    text
}

pub fn incidents(incidents: &[Incident]) -> String {
    if incidents.is_empty() {
        return "no incident\n".into();
    }
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.region.clone(),
                i.phase.as_str().to_owned(),
                time(i.detected_at),
                name(&i.trigger.source),
                i.escalation.map_or_else(|| "-".into(), |c| name(&c)),
            ]
        })
        .collect();
    table(
        &[
            "INCIDENT",
            "REGION",
            "PHASE",
            "DETECTED",
            "TRIGGER",
            "ESCALATION",
        ],
        &rows,
    )
}

/// The report for the terminal: the facts, then the timeline.
pub fn report(report: &IncidentReport) -> String {
    let i = &report.incident;
    let mut text = String::new();
    for (label, value) in facts(report) {
        text.push_str(&format!("{label:<16}{value}\n"));
    }
    text.push('\n');
    let rows: Vec<Vec<String>> = report
        .timeline
        .iter()
        .map(|e| {
            vec![
                format!(
                    "+{}",
                    minutes_seconds(e.at.signed_duration_since(i.detected_at).num_seconds())
                ),
                name(&e.kind),
                e.message.clone(),
            ]
        })
        .collect();
    text.push_str(&table(&["SINCE", "KIND", "WHAT"], &rows));
    text
}

/// The label/value facts of an incident, shared by both renderings.
fn facts(report: &IncidentReport) -> Vec<(&'static str, String)> {
    let i = &report.incident;
    let mut facts = vec![
        ("Incident", i.id.clone()),
        ("Region", i.region.clone()),
        ("Phase", i.phase.as_str().to_owned()),
        (
            "Verdict",
            i.verdict
                .map_or_else(|| "-".into(), |v| v.as_str().to_owned()),
        ),
        ("Dry run", if i.dry_run { "yes" } else { "no" }.to_owned()),
        ("Trigger", trigger(i)),
        ("Detected", time(i.detected_at)),
    ];
    for (label, at) in [
        ("Confirmed", i.confirmed_at),
        ("Acted", i.acted_at),
        ("Recovered", i.recovered_at),
        ("Closed", i.closed_at),
    ] {
        if let Some(at) = at {
            facts.push((label, time(at)));
        }
    }
    if let Some(ttr) = report.time_to_recover {
        let mut value = format!(
            "{} from detection",
            minutes_seconds(ttr.from_detection_seconds)
        );
        if let Some(confirmed) = ttr.from_confirmation_seconds {
            value.push_str(&format!(
                ", {} from confirmation",
                minutes_seconds(confirmed)
            ));
        }
        facts.push(("Time to recover", value));
    }
    if let Some(cause) = i.escalation {
        facts.push((
            "Escalation",
            format!("{}: {}", name(&cause), cause.next_step()),
        ));
    }
    facts
}

fn trigger(i: &Incident) -> String {
    let mut text = name(&i.trigger.source);
    if let Some(alarm) = &i.trigger.alarm_name {
        text.push_str(&format!(" (alarm {alarm})"));
    }
    if !i.trigger.reason.is_empty() {
        text.push_str(&format!(": {}", i.trigger.reason));
    }
    text
}

/// Text safe in a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// The incident report as Markdown, for a postmortem.
pub fn markdown(report: &IncidentReport) -> String {
    let i = &report.incident;
    let mut md = format!("# Incident {}\n\n| | |\n|---|---|\n", i.id);
    for (label, value) in facts(report).into_iter().skip(1) {
        md.push_str(&format!("| {label} | {} |\n", cell(&value)));
    }

    md.push_str("\n## Timeline\n\n| time | since detection | kind | what |\n|---|---|---|---|\n");
    for e in &report.timeline {
        md.push_str(&format!(
            "| {} | +{} | {} | {} |\n",
            time(e.at),
            minutes_seconds(e.at.signed_duration_since(i.detected_at).num_seconds()),
            name(&e.kind),
            cell(&e.message)
        ));
    }

    md.push_str("\n## Health readings\n\n");
    if i.readings.is_empty() {
        md.push_str("None recorded.\n");
    } else {
        md.push_str("| time | region | health | checkers reporting success | stale |\n|---|---|---|---|---|\n");
        for r in &i.readings {
            md.push_str(&format!(
                "| {} | {} | {} | {} of {} | {} |\n",
                time(r.at),
                r.region,
                r.health.as_str(),
                r.reporting_success,
                r.fresh,
                r.stale
            ));
        }
    }

    md.push_str("\n## Diagnosis\n\n");
    match &i.diagnosis {
        Some(diagnosis) => md.push_str(&format!("{}\n", diagnosis.summary())),
        None => md.push_str("None: the cluster was not diagnosed.\n"),
    }

    md.push_str("\n## Decisions and actions\n\n");
    if i.actions.is_empty() {
        md.push_str("None.\n");
    } else {
        md.push_str("| decided | remedy | outcome |\n|---|---|---|\n");
        for a in &i.actions {
            let outcome = if a.dry_run {
                "dry run: reported, not applied"
            } else if a.applied {
                "applied"
            } else if a.dropped {
                "dropped unapplied"
            } else {
                "pending"
            };
            md.push_str(&format!(
                "| {} | {} | {outcome} |\n",
                time(a.at),
                cell(&remedy(&a.remedy))
            ));
        }
    }

    md.push_str("\n## Notices\n\n");
    let sent: Vec<_> = report
        .timeline
        .iter()
        .filter(|e| e.kind == failover_core::model::incident::EntryKind::Notified)
        .collect();
    if sent.is_empty() && i.outbox.is_empty() {
        md.push_str("None.\n");
    }
    for e in sent {
        md.push_str(&format!("- {}: {}\n", time(e.at), cell(&e.message)));
    }
    for n in &i.outbox {
        md.push_str(&format!(
            "- not yet delivered (since {}): {}\n",
            time(n.created_at),
            cell(&n.subject)
        ));
    }

    md.push_str("\n## Escalation\n\n");
    match i.escalation {
        Some(cause) => md.push_str(&format!(
            "Cause: `{}`. Next step: {}\n",
            name(&cause),
            cause.next_step()
        )),
        None => md.push_str("Not escalated.\n"),
    }
    md
}

fn remedy(remedy: &failover_core::model::remedy::Remedy) -> String {
    use failover_core::model::remedy::Remedy;
    match remedy {
        Remedy::Scale { replicas } => format!("scale to {replicas} replicas"),
        Remedy::RolloutRestart => "rollout restart".into(),
        Remedy::Escalate { cause } => format!("escalate ({})", name(cause)),
    }
}

pub fn hand(report: &HandReport) -> String {
    let mut text = format!("{}\n", report.summary);
    if report.undelivered > 0 {
        text.push_str(&format!(
            "{} notice(s) SNS did not take wait in the incident's outbox; the reconciler delivers them\n",
            report.undelivered
        ));
    }
    text
}

/// confirm-outage's answer, as a line or two.
pub fn recovered(answer: &Value) -> String {
    let mut text = format!(
        "{}\n",
        answer["summary"]
            .as_str()
            .unwrap_or("confirm-outage answered no summary")
    );
    if let Some(arn) = answer["execution_arn"].as_str() {
        text.push_str(&format!("recovery workflow: {arn}\n"));
    }
    text
}

/// The reconciler's answer: one row per region.
pub fn reconciled(answer: &Value) -> String {
    let rows: Vec<Vec<String>> = answer["regions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let repairs: Vec<&str> = r["repairs"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            vec![
                r["region"].as_str().unwrap_or("?").to_owned(),
                r["health"].as_str().unwrap_or("?").to_owned(),
                r["alarm"].as_str().unwrap_or("none").to_owned(),
                if repairs.is_empty() {
                    "-".into()
                } else {
                    repairs.join("; ")
                },
            ]
        })
        .collect();
    let mut text = table(&["REGION", "HEALTH", "ALARM", "REPAIRS"], &rows);
    text.push_str(&format!(
        "{} repair(s); reason: {}\n",
        answer["repairs"].as_u64().unwrap_or(0),
        answer["reason"].as_str().unwrap_or("?")
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    use failover_core::app::operate::{
        Heartbeat, IncidentReport, LeaseView, OpenIncident, RegionStatus, StatusReport,
    };
    use failover_core::app::ports::{Clock, IncidentStore};
    use failover_core::fakes::{Fakes, crash_looping_platform, events_settings};
    use failover_core::model::health::{Health, HealthReading};
    use failover_core::model::incident::{Action, Closing, EntryKind, Journal, Lane};
    use failover_core::model::phase::Phase;
    use failover_core::model::remedy::{Cause, Remedy};
    use failover_core::model::trigger::AlarmState;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A recovered incident as the functions leave it, with its timeline.
    async fn recovered_report() -> IncidentReport {
        let fakes = Fakes::new(events_settings(&[]));
        let mut incident = fakes.events_incident().await;
        let detected = fakes.clock.now();
        incident.readings = vec![HealthReading {
            region: "us-east-1".into(),
            at: detected,
            health: Health::Unhealthy,
            reporting_success: 0,
            fresh: 8,
            stale: 0,
        }];
        incident.diagnosis = Some(crash_looping_platform());
        let acted = detected + chrono::Duration::seconds(2);
        let mut action = Action::decided(acted, Remedy::RolloutRestart, false);
        action.applied = true;
        incident.actions.push(action);
        incident.restoring(acted).unwrap();
        let recovered = detected + chrono::Duration::seconds(252);
        incident.close(Closing::Recovered, recovered).unwrap();
        let mut journal = Journal::new("r1");
        let entries = vec![
            journal.entry(
                &incident,
                acted,
                EntryKind::Acted,
                "restarted the deployment (rollout restart)",
            ),
            journal.entry(
                &incident,
                recovered,
                EntryKind::Verified,
                "recovered | us-east-1 healthy",
            ),
            journal.entry(
                &incident,
                recovered,
                EntryKind::Notified,
                "notified: [INFO] us-east-1 platform recovered in 4m12s",
            ),
        ];
        let stored = fakes.store.update(&incident, &entries).await.unwrap();
        let timeline = fakes.store.timeline.lock().unwrap().clone();
        IncidentReport::new(stored, timeline)
    }

    #[tokio::test]
    async fn the_markdown_report_is_what_a_postmortem_pastes() {
        let report = recovered_report().await;
        let md = markdown(&report);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[..14],
            [
                "# Incident us-east-1-20261122-101500-3f9a2c1b",
                "",
                "| | |",
                "|---|---|",
                "| Region | us-east-1 |",
                "| Phase | recovered |",
                "| Verdict | confirmed |",
                "| Dry run | no |",
                "| Trigger | alarm_action (alarm alarm-a) |",
                "| Detected | 2026-11-22T10:15:00Z |",
                "| Confirmed | 2026-11-22T10:15:00Z |",
                "| Acted | 2026-11-22T10:15:02Z |",
                "| Recovered | 2026-11-22T10:19:12Z |",
                "| Closed | 2026-11-22T10:19:12Z |",
            ]
        );
        for expected in [
            "| Time to recover | 4m12s from detection, 4m12s from confirmation |",
            "## Timeline",
            "| 2026-11-22T10:15:00Z | +0m00s | detected | detected |",
            "| 2026-11-22T10:15:02Z | +0m02s | acted | restarted the deployment (rollout restart) |",
            "| 2026-11-22T10:19:12Z | +4m12s | verified | recovered \\| us-east-1 healthy |",
            "| 2026-11-22T10:15:00Z | us-east-1 | unhealthy | 0 of 8 | 0 |",
            "## Diagnosis",
            "CrashLoopBackOff",
            "| 2026-11-22T10:15:02Z | rollout restart | applied |",
            "- 2026-11-22T10:19:12Z: notified: [INFO] us-east-1 platform recovered in 4m12s",
            "Not escalated.",
        ] {
            assert!(md.contains(expected), "{expected}\n---\n{md}");
        }
    }

    #[tokio::test]
    async fn an_escalated_report_names_its_cause_and_next_step_and_what_waits() {
        let fakes = Fakes::new(events_settings(&[]));
        let mut incident = fakes.events_incident().await;
        incident
            .close(Closing::Escalated(Cause::ByOperator), fakes.clock.now())
            .unwrap();
        let stored = fakes.store.update(&incident, &[]).await.unwrap();
        let mut report = IncidentReport::new(stored, Vec::new());
        report
            .incident
            .outbox
            .push(failover_core::model::notice::Notice {
                id: "n1".into(),
                created_at: at("2026-11-22T10:16:00Z"),
                incident_id: None,
                region: "us-east-1".into(),
                phase: None,
                severity: failover_core::model::notice::Severity::Critical,
                subject: "[CRITICAL] ESCALATION: us-east-1 incident released by hand".into(),
                body: String::new(),
            });
        let md = markdown(&report);
        for expected in [
            "| Phase | escalated |",
            "| Escalation | by_operator: A person took this incident over by hand",
            "None recorded.",
            "None: the cluster was not diagnosed.",
            "- not yet delivered (since 2026-11-22T10:16:00Z): [CRITICAL] ESCALATION",
            "Cause: `by_operator`.",
        ] {
            assert!(md.contains(expected), "{expected}\n---\n{md}");
        }
        assert!(!md.contains("Time to recover"), "{md}");
        let text = super::report(&report);
        assert!(
            text.starts_with("Incident        us-east-1-20261122-101500-3f9a2c1b\n"),
            "{text}"
        );
    }

    fn region(name: &str, health: Health, alarm: Option<AlarmState>) -> RegionStatus {
        RegionStatus {
            region: name.into(),
            health: HealthReading {
                region: name.into(),
                at: at("2026-11-22T10:15:00Z"),
                health,
                reporting_success: if health == Health::Healthy { 8 } else { 0 },
                fresh: 8,
                stale: 0,
            },
            alarm,
            leases: Vec::new(),
            open: Vec::new(),
        }
    }

    #[test]
    fn a_readiness_report_lists_what_did_not_pass_first_with_each_fix() {
        use failover_core::model::readiness::{CheckKind, ORCHESTRATOR};
        let report = Report {
            evaluated_at: at("2026-12-02T06:30:00Z"),
            checks: vec![
                Check::pass(
                    CheckKind::HealthCheck,
                    "us-east-1",
                    "health check hc-a is enabled",
                ),
                Check::warn(
                    CheckKind::DrillEvidence,
                    "eu-west-1",
                    "no successful recovery or drill in the last 60 days",
                    "exercise the recovery of eu-west-1",
                ),
                Check::fail(
                    CheckKind::ImageDrift,
                    ORCHESTRATOR,
                    "the platform images differ",
                    "in eu-west-1: kubectl set image",
                ),
            ],
        };
        let text = readiness(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "readiness fail: 1 fail, 1 warn, 1 pass (evaluated 2026-12-02T06:30:00Z)"
        );
        assert!(lines[2].starts_with("STATUS  CHECK"), "{text}");
        assert!(lines[3].starts_with("FAIL    image_drift"), "{text}");
        assert!(lines[4].starts_with("WARN    drill_evidence"), "{text}");
        assert!(lines[5].starts_with("PASS    health_check"), "{text}");
        assert!(
            text.ends_with(
                "fixes:\n- image_drift (orchestrator): in eu-west-1: kubectl set image\n- drill_evidence (eu-west-1): exercise the recovery of eu-west-1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_status_table_lines_up_each_region() {
        let mut east = region("us-east-1", Health::Unhealthy, Some(AlarmState::Alarm));
        east.leases.push(LeaseView {
            lane: Lane::Live,
            incident_id: "us-east-1-x".into(),
            held: true,
        });
        east.open.push(OpenIncident {
            id: "us-east-1-x".into(),
            phase: Phase::Restoring,
            dry_run: false,
            detected_at: at("2026-11-22T10:00:00Z"),
            updated_at: at("2026-11-22T10:10:00Z"),
        });
        let mut west = region("eu-west-1", Health::Healthy, None);
        west.leases.push(LeaseView {
            lane: Lane::DryRun,
            incident_id: "eu-west-1-y".into(),
            held: false,
        });
        let report = StatusReport {
            at: at("2026-11-22T10:15:00Z"),
            dry_run: false,
            regions: vec![east, west],
            reconciler: Some(Heartbeat {
                at: at("2026-11-22T10:14:30Z"),
                reason: "schedule".into(),
                repairs: 0,
                errors: vec!["eu-west-1: throttled".into()],
            }),
        };
        assert_eq!(
            status(&report),
            "\
REGION     HEALTH           ALARM  LEASE                            OPEN INCIDENT
us-east-1  unhealthy (0/8)  ALARM  live held by us-east-1-x         us-east-1-x restoring
eu-west-1  healthy (8/8)    none   dry_run dangling by eu-west-1-y  -
reconciler: last run 30s ago (2026-11-22T10:14:30Z), schedule, 0 repair(s)
  error: eu-west-1: throttled
"
        );
        let never = StatusReport {
            reconciler: None,
            dry_run: true,
            ..report
        };
        let text = status(&never);
        assert!(text.ends_with("deployment: dry run (decides and reports, changes nothing)\nreconciler: never ran (no heartbeat)\n"), "{text}");
    }

    #[tokio::test]
    async fn the_incident_list_is_one_row_each() {
        let report = recovered_report().await;
        assert_eq!(
            incidents(std::slice::from_ref(&report.incident)),
            "\
INCIDENT                            REGION     PHASE      DETECTED              TRIGGER       ESCALATION
us-east-1-20261122-101500-3f9a2c1b  us-east-1  recovered  2026-11-22T10:15:00Z  alarm_action  -
"
        );
        assert_eq!(incidents(&[]), "no incident\n");
    }

    #[test]
    fn function_answers_read_as_lines() {
        let confirmed = serde_json::json!({
            "verdict": "confirmed",
            "summary": "confirmed in us-east-1: incident x is confirmed",
            "execution_arn": "arn:aws:states:us-east-1:1:execution:r:x"
        });
        assert_eq!(
            recovered(&confirmed),
            "confirmed in us-east-1: incident x is confirmed\nrecovery workflow: arn:aws:states:us-east-1:1:execution:r:x\n"
        );
        let reconciled_answer = serde_json::json!({
            "reason": "manual: by ana", "repairs": 1,
            "regions": [
                {"region": "us-east-1", "health": "unhealthy", "alarm": "ALARM", "repairs": ["escalated x"]},
                {"region": "eu-west-1", "health": "healthy", "alarm": null, "repairs": []}
            ]
        });
        assert_eq!(
            reconciled(&reconciled_answer),
            "\
REGION     HEALTH     ALARM  REPAIRS
us-east-1  unhealthy  ALARM  escalated x
eu-west-1  healthy    none   -
1 repair(s); reason: manual: by ana
"
        );
    }

    #[test]
    fn ages_read_in_the_largest_unit() {
        let now = at("2026-11-22T10:15:00Z");
        for (then, expected) in [
            ("2026-11-22T10:14:58Z", "2s ago"),
            ("2026-11-22T10:10:00Z", "5m ago"),
            ("2026-11-22T08:00:00Z", "2h15m ago"),
            ("2026-11-19T10:15:00Z", "3d ago"),
        ] {
            assert_eq!(ago(now, at(then)), expected);
        }
    }
}
