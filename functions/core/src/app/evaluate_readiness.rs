//! evaluate-readiness: reads every region's detection path, each probed
//! function's own permissions, the standby clusters and the last
//! recoveries; judges them (`rules::readiness`); stores the report; tells
//! the operations topic when the outcome changed. It changes nothing else.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::operate::last_heartbeat;
use crate::app::ports::Clock;
use crate::app::ports::{
    Alarms, HealthChecks, IncidentHistory, IncidentStore, InvokePolicy, Metrics, Notifier, Probes,
    ReadinessReports, StandbyClusters,
};
use crate::config::{RegionSettings, Settings};
use crate::error::Result;
use crate::model::metric::Metric;
use crate::model::phase::Phase;
use crate::model::readiness::{Check, CheckKind, Facts, RegionFacts, Status};
use crate::notices::readiness::{changed, summary};
use crate::rules::readiness::{PROBED, evaluate};

/// What the evaluation borrows: it reads through all of these and writes
/// only its report, its notice and its figures.
pub struct Readiness<'a> {
    pub settings: &'a Settings,
    /// The stack's name of confirm-outage: what each health alarm must invoke.
    pub confirm_outage: &'a str,
    pub health: &'a dyn HealthChecks,
    pub alarms: &'a dyn Alarms,
    pub invoke_policy: &'a dyn InvokePolicy,
    pub probes: &'a dyn Probes,
    pub clusters: &'a dyn StandbyClusters,
    pub store: &'a dyn IncidentStore,
    pub history: &'a dyn IncidentHistory,
    pub reports: &'a dyn ReadinessReports,
    /// The operations topic.
    pub ops: &'a dyn Notifier,
    pub clock: &'a dyn Clock,
    pub metrics: &'a dyn Metrics,
}

/// The function's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub evaluated_at: DateTime<Utc>,
    pub status: Status,
    /// `fail: 2 fail, 1 warn, 31 pass`.
    pub summary: String,
    /// The outcome differs from the last report's, and the operations
    /// topic was told.
    pub notified: bool,
    pub findings: Vec<Check>,
    pub checks: Vec<Check>,
}

pub async fn handle(deps: &Readiness<'_>) -> Result<Evaluation> {
    let facts = gather(deps).await;
    let report = evaluate(&facts, deps.settings, deps.confirm_outage);
    let previous = deps.reports.latest().await?;
    let notified = previous.as_ref().is_none_or(|p| !p.same_outcome(&report));
    if notified {
        // Told before it is stored: a notice SNS refused is told again by
        // the next evaluation, which still finds the old outcome stored.
        deps.ops
            .publish(&changed(previous.as_ref(), &report))
            .await?;
    }
    deps.reports.save(&report).await?;
    for kind in CheckKind::ALL {
        let failing = report
            .checks
            .iter()
            .filter(|c| c.kind == kind && c.status == Status::Fail)
            .count();
        deps.metrics.record(Metric::ReadinessChecksFailing {
            kind,
            failing: u32::try_from(failing).unwrap_or(u32::MAX),
        });
    }
    Ok(Evaluation {
        evaluated_at: report.evaluated_at,
        status: report.status(),
        summary: summary(&report),
        notified,
        findings: report.findings().into_iter().cloned().collect(),
        checks: report.checks,
    })
}

/// Every read the checks need. A read that fails is kept as its error, for
/// the check it belongs to: one unreadable service never hides the rest.
async fn gather(deps: &Readiness<'_>) -> Facts {
    let now = deps.clock.now();
    let names = deps.settings.alarm_names();
    let alarms = deps.alarms.configs(&names).await.map_err(|e| e.to_string());
    let mut regions = Vec::new();
    for region in &deps.settings.regions {
        regions.push(RegionFacts {
            region: region.name.clone(),
            alarms: alarms.clone().map(|found| {
                found
                    .into_iter()
                    .filter(|a| region.alarm_names.contains(&a.name))
                    .collect()
            }),
            health_check: deps
                .health
                .config(&region.health_check_id)
                .await
                .map_err(|e| e.to_string()),
            cluster: deps.clusters.facts(region).await.map_err(|e| e.to_string()),
            last_recovery: last_recovery(deps, region, now)
                .await
                .map_err(|e| e.to_string()),
        });
    }
    let mut probes = Vec::new();
    for function in PROBED {
        probes.push(
            deps.probes
                .probe(function)
                .await
                .map_err(|e| (function.to_owned(), e.to_string())),
        );
    }
    Facts {
        now,
        regions,
        alarm_sources: deps
            .invoke_policy
            .alarm_sources()
            .await
            .map_err(|e| e.to_string()),
        probes,
        reconciler_last_run: last_heartbeat(deps.store)
            .await
            .map(|h| h.map(|h| h.at))
            .map_err(|e| e.to_string()),
    }
}

/// When the region last recovered within the evidence window.
async fn last_recovery(
    deps: &Readiness<'_>,
    region: &RegionSettings,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let window = chrono::Duration::from_std(deps.settings.readiness.drill_evidence_max_age)
        .unwrap_or(chrono::Duration::MAX);
    let since = now.checked_sub_signed(window);
    let mut last = None;
    for id in deps.history.incident_ids(&region.name, since).await? {
        let Some(incident) = deps.store.get(&id).await? else {
            continue;
        };
        if incident.phase == Phase::Recovered {
            last = last.max(incident.recovered_at);
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests;
