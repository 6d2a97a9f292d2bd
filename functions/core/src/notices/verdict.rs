//! The words of a confirmation: what confirm-outage tells people about
//! each verdict.

use crate::model::notice::Notice;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::model::health::{Health, HealthReading};
use crate::model::incident::Incident;
use crate::model::notice::Severity;
use crate::model::verdict::Verdict;

/// The notice for an incident that has just received its confirmation verdict.
pub fn verdict_notice(incident: &Incident, settings: &Settings, now: DateTime<Utc>) -> Notice {
    let region = incident.region.as_str();
    let verdict = incident.verdict.unwrap_or(Verdict::Inconclusive);
    let dry = if incident.dry_run { " [DRY RUN]" } else { "" };
    let target: Vec<&HealthReading> = incident
        .readings
        .iter()
        .filter(|r| r.region == region)
        .collect();
    let others: Vec<&HealthReading> = incident
        .readings
        .iter()
        .filter(|r| r.region != region)
        .collect();
    let healthy_others: Vec<&str> = others
        .iter()
        .filter(|r| r.health == Health::Healthy)
        .map(|r| r.region.as_str())
        .collect();
    let policy = &settings.confirmation;
    let platform = &settings.platform;

    let (severity, title, happened, next) = match verdict {
        Verdict::Confirmed => (
            Severity::Critical,
            format!("{region} platform outage confirmed"),
            format!(
                "The Route 53 health check of {region} failed on {} of {} samples taken {} s apart. {} healthy and serving traffic.",
                target.len(),
                policy.samples,
                policy.interval.as_secs(),
                list_or(&healthy_others, "Another region is"),
            ),
            if incident.dry_run {
                format!(
                    "DRY RUN: nothing will be changed. A real run would now restore deployment {} in namespace {} of cluster {} and report each step.",
                    platform.deployment, platform.namespace, cluster(settings, region)
                )
            } else {
                format!(
                    "The orchestrator now restores deployment {} in namespace {} of cluster {} and reports each step. Nothing is needed from you unless an escalation follows.",
                    platform.deployment, platform.namespace, cluster(settings, region)
                )
            },
        ),
        Verdict::Transient => (
            Severity::Info,
            format!("{region} alarm cleared on its own, no action"),
            format!("The alarm fired, but the Route 53 health check of {region} was healthy again while it was being confirmed."),
            "Nothing was changed. If this repeats, look for a flapping endpoint or a tight alarm threshold.".to_owned(),
        ),
        Verdict::AllRegionsDown => (
            Severity::Critical,
            "ESCALATION: all regions unhealthy, no automatic action".to_owned(),
            format!(
                "The health check of {region} failed on every sample and no other region is healthy. A cause shared by all regions is likely (the shared database, the network between regions, or the health checkers themselves)."
            ),
            "Nothing was restarted: restarting every region at once would not help and could make it worse. A person must act now: check the shared database and its connectivity from each cluster (VPC peering, routes, security group port 3306), then follow the regional failover runbook.".to_owned(),
        ),
        Verdict::Inconclusive => (
            Severity::Critical,
            format!("ESCALATION: {region} outage could not be confirmed"),
            format!("Route 53 returned no fresh checker observation for the health check of {region}, so the outage could neither be confirmed nor ruled out."),
            "Nothing was changed. Check the health check in the Route 53 console and the platform in the region by hand (runbook step 1).".to_owned(),
        ),
        Verdict::NotAlarm | Verdict::Duplicate => (
            Severity::Info,
            format!("{region} incident update"),
            "No change.".to_owned(),
            "Nothing to do.".to_owned(),
        ),
    };

    let mut body = String::new();
    let _ = writeln!(body, "{title}{dry}\n");
    let _ = writeln!(body, "What happened: {happened}\n");
    let _ = writeln!(body, "What happens next: {next}\n");
    let _ = writeln!(body, "Health readings:");
    for reading in &incident.readings {
        let _ = writeln!(
            body,
            "  {} {}",
            reading.at.format("%H:%M:%SZ"),
            reading.describe()
        );
    }
    let _ = writeln!(body);
    let _ = writeln!(body, "Incident: {}", incident.id);
    let _ = writeln!(body, "Region: {region}");
    let _ = writeln!(
        body,
        "Trigger: {} {}",
        incident.trigger.alarm_name.as_deref().unwrap_or("manual"),
        incident.trigger.reason
    );
    let _ = writeln!(body, "Verdict: {}", verdict.as_str());
    let _ = writeln!(body, "Detected: {}", incident.detected_at.to_rfc3339());
    if let Some(at) = incident.confirmed_at {
        let _ = writeln!(body, "Confirmed: {}", at.to_rfc3339());
    }

    let title = if incident.dry_run {
        format!("[DRY RUN] {title}")
    } else {
        title
    };
    crate::notices::about(incident, severity, &title, body, now)
}

fn list_or(regions: &[&str], fallback: &str) -> String {
    match regions {
        [] => fallback.to_owned(),
        [one] => format!("{one} is"),
        many => format!("{} are", many.join(", ")),
    }
}

fn cluster<'s>(settings: &'s Settings, region: &str) -> &'s str {
    settings
        .region(region)
        .map(|r| r.cluster.as_str())
        .unwrap_or("(unknown cluster)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::sample_settings;
    use crate::model::notice::SUBJECT_LIMIT;
    use crate::model::trigger::{AlarmState, Target, Trigger, TriggerSource};

    fn concluded(verdict: Verdict, dry_run: bool) -> Incident {
        let now: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let trigger = Trigger {
            source: TriggerSource::AlarmAction,
            target: Target::Alarm {
                name: "alarm-a".into(),
                health_check_id: None,
            },
            state: AlarmState::Alarm,
            reason: "Threshold Crossed".into(),
            dry_run,
        };
        let mut incident = Incident::detect("us-east-1", &trigger, dry_run, now, "abcdef12");
        let reading = |region: &str, health| HealthReading {
            region: region.into(),
            at: now,
            health,
            reporting_success: 0,
            fresh: 8,
            stale: 0,
        };
        let others = if verdict == Verdict::AllRegionsDown {
            Health::Unhealthy
        } else {
            Health::Healthy
        };
        incident
            .conclude(
                verdict,
                vec![
                    reading("us-east-1", Health::Unhealthy),
                    reading("eu-west-1", others),
                ],
                now,
            )
            .unwrap();
        incident
    }

    #[test]
    fn each_verdict_reads_well_on_a_phone() {
        let settings = sample_settings();
        let table = [
            (
                Verdict::Confirmed,
                false,
                Severity::Critical,
                "[CRITICAL] us-east-1 platform outage confirmed",
                "now restores deployment loft",
            ),
            (
                Verdict::Confirmed,
                true,
                Severity::Critical,
                "[CRITICAL] [DRY RUN] us-east-1 platform outage confirmed",
                "DRY RUN: nothing will be changed",
            ),
            (
                Verdict::Transient,
                false,
                Severity::Info,
                "[INFO] us-east-1 alarm cleared on its own, no action",
                "Nothing was changed",
            ),
            (
                Verdict::AllRegionsDown,
                false,
                Severity::Critical,
                "[CRITICAL] ESCALATION: all regions unhealthy, no automatic action",
                "A person must act now",
            ),
            (
                Verdict::Inconclusive,
                false,
                Severity::Critical,
                "[CRITICAL] ESCALATION: us-east-1 outage could not be confirmed",
                "no fresh checker observation",
            ),
        ];
        for (verdict, dry_run, severity, subject, phrase) in table {
            let incident = concluded(verdict, dry_run);
            let notice = verdict_notice(&incident, &settings, incident.updated_at);
            assert_eq!(notice.severity, severity);
            assert_eq!(notice.subject, subject);
            assert!(notice.subject.len() <= SUBJECT_LIMIT);
            assert!(notice.body.contains(phrase), "{verdict:?}: {}", notice.body);
            assert!(notice.body.contains(&incident.id));
            assert_eq!(
                notice.attributes(),
                [
                    ("notice_id", notice.id.as_str()),
                    ("region", "us-east-1"),
                    ("phase", incident.phase.as_str()),
                    ("severity", severity.as_str()),
                    ("incident_id", incident.id.as_str())
                ]
            );
        }
    }
}
