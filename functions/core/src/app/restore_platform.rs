//! Use case: restore the failed region's platform (runbook steps 2 and 3).
//! Looks, decides with the runbook's rules and the guardrails, records the
//! decision before acting, acts, and tells people.

use serde::Serialize;

use crate::app::commit::{Delivered, commit, deliver};
use crate::app::context::{Context, read};
use crate::app::ports::{ActionSlot, Platform};
use crate::error::{Error, Result};
use crate::model::approval::{Approval, ApprovalMode};
use crate::model::diagnosis::Diagnosis;
use crate::model::health::Health;
use crate::model::incident::{Action, Closing, EntryKind, Incident, Journal, Lane, TimelineEntry};
use crate::model::phase::Phase;
use crate::model::remedy::Remedy;
use crate::model::workflow::Timing;
use crate::rules::approval::{Consult, consult};
use crate::rules::guardrails::{Gate, History, gate, spread};
use crate::rules::remedy::choose;

/// Which incident to restore: by id (from the workflow) or by region (a
/// dry-run preview by hand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRequest {
    pub incident_id: Option<String>,
    pub region: Option<String>,
    pub dry_run: bool,
    /// The workflow's waits from its input; they may shorten the
    /// configured ones, never stretch them.
    pub timing: Option<Timing>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreReport {
    pub incident_id: String,
    pub region: String,
    pub phase: Phase,
    pub decision: Gate,
    pub dry_run: bool,
    pub notified: bool,
    #[serde(skip_serializing_if = "crate::app::commit::is_zero")]
    pub undelivered: usize,
    pub diagnosis: Option<String>,
    /// The waits the workflow uses from here on: the input's, validated and
    /// within the configuration.
    pub timing: Timing,
    /// Approve mode: the request the workflow now waits on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<Asked>,
    pub summary: String,
}

pub async fn restore_platform(
    deps: &Context<'_>,
    platform: &dyn Platform,
    request: &RestoreRequest,
    nonce: &str,
) -> Result<RestoreReport> {
    let mut journal = Journal::new(nonce);
    let mut incident = locate(deps, request).await?;
    let region = deps.settings.region(&incident.region).ok_or_else(|| {
        Error::InvalidEvent(format!(
            "incident {} is for region {}, which is not configured",
            incident.id, incident.region
        ))
    })?;
    let policy = &deps.settings.verification;
    let timing = request
        .timing
        .map_or_else(|| Timing::configured(policy), |t| t.within(policy));
    let dry_run = deps.settings.dry_run || incident.dry_run || request.dry_run;
    // A dry-run request on a live incident is a preview: it must not move the
    // live incident (not even to escalate it), so it writes and sends nothing.
    let preview = request.dry_run && !(deps.settings.dry_run || incident.dry_run);

    // Retried after its action was applied, before any verification: the
    // decision stands (the workflow settles and verifies it); deciding again
    // would restart a rollout still in progress.
    if !preview
        && incident.phase == Phase::Restoring
        && let Some(last) = incident.applied().last().cloned()
        && incident.verified_at.is_none_or(|v| v < last.at)
    {
        let delivered = deliver(&deps.records, incident, &mut journal).await;
        let decision = Gate::Act {
            remedy: last.remedy,
        };
        let mut answer = report(&delivered, decision, timing);
        answer.summary = format!(
            "{} in {}: already applied at {} ({}); the workflow settles and verifies it",
            answer.incident_id,
            answer.region,
            last.at.to_rfc3339(),
            crate::notices::restore::describe(decision)
        );
        return Ok(answer);
    }

    let reading = read(deps, region).await?;
    let now = deps.records.clock.now();
    let mut entries = vec![journal.entry(
        &incident,
        reading.at,
        EntryKind::HealthSampled,
        reading.describe(),
    )];
    // An action recorded but not applied (the function died in between) is
    // applied now with the same stamp (never a second restart), but only
    // while the region still reads unhealthy and the decision is younger
    // than the cooldown; else it is dropped and decided afresh.
    let mut dropped_now = None;
    if let Some(pending) = incident
        .actions
        .iter()
        .rposition(Action::is_pending)
        .filter(|_| !preview)
    {
        let action = incident.actions[pending].clone();
        let age = now
            .signed_duration_since(action.at)
            .to_std()
            .unwrap_or_default();
        let healthy = reading.health == Health::Healthy;
        if !healthy && age <= deps.settings.guardrails.cooldown {
            return apply(
                deps,
                platform,
                incident,
                pending,
                timing,
                entries,
                &mut journal,
            )
            .await;
        }
        incident.actions[pending].dropped = true;
        dropped_now = Some(action.at);
        entries.push(journal.entry(
            &incident,
            now,
            EntryKind::Repaired,
            format!(
                "dropped the unapplied decision of {} ({}): {}",
                action.at.to_rfc3339(),
                crate::notices::restore::describe(Gate::Act {
                    remedy: action.remedy
                }),
                if healthy {
                    "the region reads healthy again"
                } else {
                    "it is older than the cooldown"
                }
            ),
        ));
    }

    let diagnosis = platform.diagnose(region).await?;
    let remedy = choose(&diagnosis, deps.settings.platform.replicas);
    let rails = &deps.settings.guardrails;
    let window_start =
        now - chrono::Duration::from_std(rails.window).unwrap_or(chrono::Duration::hours(1));
    // The region's actions across incidents: the budget and the cooldown are
    // per region, so a new incident right after a restart waits too.
    let region_actions = deps
        .records
        .store
        .actions_since(&region.name, window_start)
        .await?;
    let acted = || incident.actions.iter().filter(|a| a.may_have_acted());
    // The store lists the action dropped just now only once it is written.
    let unwritten = dropped_now.filter(|at| *at >= window_start);
    let history = History {
        actions_this_incident: count(acted()),
        actions_in_window: count(region_actions.iter().chain(unwritten.iter())),
        last_action_at: region_actions
            .iter()
            .copied()
            .chain(acted().map(|a| a.at))
            .max(),
    };
    let decision = gate(
        remedy,
        &history,
        rails,
        reading.health == Health::Healthy,
        dry_run,
        now,
    );
    if preview {
        return Ok(RestoreReport {
            incident_id: incident.id.clone(),
            region: incident.region.clone(),
            phase: incident.phase,
            decision,
            dry_run: true,
            notified: false,
            undelivered: incident.outbox.len(),
            diagnosis: Some(diagnosis.summary()),
            timing,
            approval: None,
            summary: format!(
                "{} in {}: preview, nothing recorded: {}",
                incident.id,
                incident.region,
                crate::notices::restore::describe(decision)
            ),
        });
    }

    // Approve mode: a remedy waits for people; an approval holds only for
    // the remedy they were shown, while nothing else acted on the region.
    let acted_since_asked = incident.approval.as_ref().is_some_and(|a| {
        region_actions
            .iter()
            .copied()
            .chain(acted().map(|x| x.at))
            .any(|at| at > a.asked_at)
    });
    let (consulted, stale) = consult(
        decision,
        &deps.settings.approval,
        incident.approval.as_ref(),
        acted_since_asked,
    );
    if let (Some(why), Some(approval)) = (stale, incident.approval.as_mut()) {
        approval.settled = true;
        let line = crate::notices::approval::stale_entry(approval, why);
        entries.push(journal.entry(&incident, now, EntryKind::Approval, line));
    }
    let approval_timeout = timing.approval_timeout(deps.settings.approval.timeout);
    let decision = match (consulted, decision) {
        (Consult::Ask | Consult::StillWaiting, Gate::Act { remedy }) => Gate::Approve { remedy },
        _ => decision,
    };

    // Only a remedy about to be applied takes the slot (never a preview):
    // whoever gets it acts, the other regions wait out the spread.
    let decision = match decision {
        Gate::Act { .. } if !rails.spread.is_zero() => {
            let held = match deps
                .records
                .store
                .claim_action_slot(&region.name, now, rails.spread)
                .await?
            {
                ActionSlot::Claimed => None,
                ActionSlot::Held { at, .. } => Some(at),
            };
            spread(decision, held, rails.spread, now)
        }
        _ => decision,
    };

    if consulted == Consult::StillWaiting
        && let Some(approval) = incident.approval.clone()
    {
        // A retried step: the request stands and nothing is written again.
        let delivered = deliver(&deps.records, incident, &mut journal).await;
        let mut answer = report(&delivered, decision, timing);
        answer.approval = Some(Asked::of(&approval, now));
        return Ok(answer);
    }
    entries.push(journal.entry(&incident, now, EntryKind::Diagnosed, diagnosis.summary()));
    let mut decided = crate::notices::restore::describe(decision);
    if matches!(decision, Gate::Report { .. })
        && deps.settings.approval.mode == ApprovalMode::Approve
    {
        decided = format!(
            "{decided}; {}",
            crate::notices::approval::would_ask(
                deps.settings.approval.required,
                approval_timeout.as_secs() / 60
            )
        );
    }
    entries.push(journal.entry(&incident, now, EntryKind::Decided, decided));
    incident.diagnosis = Some(diagnosis.clone());
    incident.updated_at = now;
    let notice = match decision {
        Gate::Act { remedy } => {
            if consulted == Consult::Approved
                && let Some(approval) = incident.approval.as_mut()
            {
                approval.settled = true;
                let line = format!("applying the remedy approved by {}", approval.approvers());
                entries.push(journal.entry(&incident, now, EntryKind::Approval, line));
            }
            incident.actions.push(Action::decided(now, remedy, false));
            // Recorded before it is applied: a crash in between leaves it
            // for the next invocation, never a second decision.
            let stored = deps.records.store.update(&incident, &entries).await?;
            let index = stored.actions.len() - 1;
            return apply(
                deps,
                platform,
                stored,
                index,
                timing,
                Vec::new(),
                &mut journal,
            )
            .await;
        }
        Gate::Report { remedy } => {
            incident.actions.push(Action::decided(now, remedy, true));
            // Nothing more will happen: close it so the region's lease is free.
            incident.close(Closing::Reported, now)?;
            Some(crate::notices::restore::decided(
                &incident, decision, &diagnosis, now,
            ))
        }
        Gate::Escalate { cause } => {
            incident.close(Closing::Escalated(cause), now)?;
            Some(crate::notices::restore::decided(
                &incident, decision, &diagnosis, now,
            ))
        }
        Gate::Approve { remedy } => {
            let approval = Approval::asked(
                remedy,
                deps.settings.approval.required,
                now,
                approval_timeout,
            );
            entries.push(journal.entry(
                &incident,
                now,
                EntryKind::Approval,
                crate::notices::approval::asked_entry(&approval),
            ));
            let notice = crate::notices::approval::asked(&incident, &approval, &diagnosis, now);
            incident.approval = Some(approval);
            Some(notice)
        }
        Gate::Wait { .. } | Gate::Skip => None,
    };
    let delivered = commit(&deps.records, incident, entries, notice, &mut journal).await?;
    let mut answer = report(&delivered, decision, timing);
    if let (Gate::Approve { .. }, Some(approval)) = (decision, &delivered.incident.approval) {
        answer.approval = Some(Asked::of(approval, now));
    }
    Ok(answer)
}

/// What the workflow's approval wait needs: how long it may wait at most
/// (`TimeoutSecondsPath`), for how many people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Asked {
    pub timeout_seconds: u64,
    pub required: u8,
    pub deadline: chrono::DateTime<chrono::Utc>,
}

impl Asked {
    fn of(approval: &Approval, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            timeout_seconds: approval.seconds_left(now),
            required: approval.required,
            deadline: approval.deadline,
        }
    }
}

async fn locate(deps: &Context<'_>, request: &RestoreRequest) -> Result<Incident> {
    let incident = match (&request.incident_id, &request.region) {
        (Some(id), _) => deps.records.store.named(id).await?,
        (None, Some(region)) => {
            if deps.settings.region(region).is_none() {
                return Err(Error::InvalidEvent(format!(
                    "region {region:?} is not configured (configured: {})",
                    deps.settings.region_names().join(", ")
                )));
            }
            if !request.dry_run {
                // Acting outside the workflow would leave nothing to verify
                // and close the incident.
                return Err(Error::InvalidEvent(format!(
                    "a live restore by region is refused: the recovery workflow of the open incident restores, verifies and closes it. \
                     Preview the decision with {{\"region\": \"{region}\", \"dry_run\": true}}; a missing workflow is started by reconcile"
                )));
            }
            let live = deps.records.store.leaseholder(region, Lane::Live).await?;
            let found = match live {
                Some(incident) => Some(incident),
                None => deps.records.store.leaseholder(region, Lane::DryRun).await?,
            };
            found.ok_or_else(|| {
                Error::InvalidEvent(format!(
                    "no open incident in {region}: confirm the outage first (confirm-outage)"
                ))
            })?
        }
        (None, None) => {
            return Err(Error::InvalidEvent(
                "the event names neither an incident_id nor a region".into(),
            ));
        }
    };
    if let Some(region) = &request.region
        && region != &incident.region
    {
        return Err(Error::InvalidEvent(format!(
            "incident {} is for {}, not {region}: never act on another region",
            incident.id, incident.region
        )));
    }
    match incident.phase {
        Phase::Confirmed | Phase::Restoring => Ok(incident),
        phase => Err(Error::InvalidEvent(format!(
            "incident {} is {}: there is nothing to restore",
            incident.id,
            phase.as_str()
        ))),
    }
}

/// Applies a recorded action, then marks it applied with its notice
/// (`entries` are stored with that write).
async fn apply(
    deps: &Context<'_>,
    platform: &dyn Platform,
    mut incident: Incident,
    index: usize,
    timing: Timing,
    mut entries: Vec<TimelineEntry>,
    journal: &mut Journal,
) -> Result<RestoreReport> {
    let region = deps.settings.region(&incident.region).ok_or_else(|| {
        Error::InvalidEvent(format!("region {} is not configured", incident.region))
    })?;
    let action = incident.actions.get(index).cloned().ok_or_else(|| {
        Error::Internal(format!("incident {} has no action {index}", incident.id))
    })?;
    match action.remedy {
        Remedy::Scale { replicas } => platform.scale(region, replicas).await?,
        Remedy::RolloutRestart => platform.restart(region, &action.stamp).await?,
        Remedy::Escalate { .. } => {
            return Err(Error::Internal(format!(
                "incident {} recorded an escalation as an action",
                incident.id
            )));
        }
    }
    let now = deps.records.clock.now();
    incident.actions[index].applied = true;
    incident.restoring(now)?;
    let decision = Gate::Act {
        remedy: action.remedy,
    };
    let diagnosis = incident
        .diagnosis
        .clone()
        .unwrap_or_else(|| Diagnosis::unreached(crate::model::diagnosis::ClusterReach::Reachable));
    let notice = crate::notices::restore::decided(&incident, decision, &diagnosis, now);
    entries.push(journal.entry(
        &incident,
        now,
        EntryKind::Acted,
        crate::notices::restore::describe(decision),
    ));
    let delivered = commit(&deps.records, incident, entries, Some(notice), journal).await?;
    Ok(report(&delivered, decision, timing))
}

fn report(delivered: &Delivered, decision: Gate, timing: Timing) -> RestoreReport {
    let stored = &delivered.incident;
    RestoreReport {
        incident_id: stored.id.clone(),
        region: stored.region.clone(),
        phase: stored.phase,
        decision,
        dry_run: stored.dry_run || stored.actions.last().is_some_and(|a| a.dry_run),
        notified: delivered.notified(),
        undelivered: delivered.undelivered(),
        diagnosis: stored.diagnosis.as_ref().map(Diagnosis::summary),
        timing,
        approval: None,
        summary: format!(
            "{} in {}: {}",
            stored.id,
            stored.region,
            crate::notices::restore::describe(decision)
        ),
    }
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use crate::rules::guardrails::WaitReason;
    use std::time::Duration;

    use super::*;

    use crate::app::ports::{Clock, IncidentStore};
    use crate::config::Settings;
    use crate::config::tests::sample_vars;
    use crate::fakes::{
        FakeClock, FakePlatform, MemoryStore, RecordingMetrics, RecordingNotifier, ScriptedHealth,
        confirmed_incident,
    };
    use crate::model::diagnosis::{ClusterReach, DeploymentView, PodView};
    use crate::model::incident::TimelineEntry;
    use crate::model::notice::Severity;
    use crate::model::remedy::Cause;

    fn pod(ready: bool, waiting: Option<&str>) -> PodView {
        PodView {
            name: "loft-1".into(),
            phase: "Running".into(),
            ready,
            waiting_reason: waiting.map(Into::into),
            restarts: 6,
            unschedulable: false,
        }
    }

    fn cluster(replicas: u32, pods: Vec<PodView>) -> Diagnosis {
        Diagnosis {
            cluster: ClusterReach::Reachable,
            deployment: Some(DeploymentView {
                replicas,
                ready: count(pods.iter().filter(|p| p.ready)),
                available: 0,
                updated: replicas,
                generation: 2,
                observed_generation: 2,
                paused: false,
                progress_deadline_exceeded: false,
            }),
            pods,
            nodes_ready: 3,
            nodes_not_ready: 0,
            ingress_load_balancers: Some(vec!["lb".into()]),
        }
    }

    fn crashloop() -> Diagnosis {
        cluster(3, vec![pod(false, Some("CrashLoopBackOff")); 3])
    }

    struct World {
        settings: Settings,
        health: ScriptedHealth,
        store: MemoryStore,
        notifier: RecordingNotifier,
        metrics: RecordingMetrics,
        clock: FakeClock,
        platform: FakePlatform,
        incident: Incident,
    }

    impl World {
        /// An open, confirmed incident in us-east-1; `healthy` scripts us-east-1's check.
        async fn new(diagnosis: Diagnosis, healthy: bool, extra: &[(&'static str, &str)]) -> Self {
            let mut vars = sample_vars();
            vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
            let clock = FakeClock::at("2026-11-22T10:00:00Z");
            let store = MemoryStore::default();
            let incident = confirmed_incident(&store, clock.now(), clock.now()).await;
            let health = ScriptedHealth::default()
                .script("hc-a", &[healthy])
                .script("hc-b", &[true]);
            Self {
                settings: Settings::from_vars(vars).unwrap(),
                health,
                store,
                notifier: RecordingNotifier::default(),
                metrics: RecordingMetrics::default(),
                clock,
                platform: FakePlatform::seeing(diagnosis),
                incident,
            }
        }

        async fn restore(&self, request: &RestoreRequest, nonce: &str) -> Result<RestoreReport> {
            *self.health.now.lock().unwrap() = Some(self.clock.now());
            let deps = crate::fakes::context(
                &self.settings,
                &self.health,
                &self.store,
                &self.notifier,
                &self.clock,
                &self.metrics,
            );
            restore_platform(&deps, &self.platform, request, nonce).await
        }

        fn by_id(&self) -> RestoreRequest {
            RestoreRequest {
                incident_id: Some(self.incident.id.clone()),
                region: None,
                dry_run: false,
                timing: None,
            }
        }

        fn stored(&self) -> Incident {
            self.store.only_incident()
        }

        /// A verification poll happened now (it answered restore_again).
        async fn verified(&self) {
            let mut incident = self.store.get(&self.incident.id).await.unwrap().unwrap();
            incident.verified_at = Some(self.clock.now());
            self.store.update(&incident, &[]).await.unwrap();
        }
    }

    #[tokio::test]
    async fn each_runbook_row_end_to_end_over_the_ports() {
        let escalate = |cause| Gate::Escalate { cause };
        type Row = (
            &'static str,
            Diagnosis,
            bool,
            Gate,
            Phase,
            (Vec<u32>, usize),
            Severity,
        );
        let table: Vec<Row> = vec![
            (
                "crash looping: restart",
                crashloop(),
                false,
                Gate::Act {
                    remedy: Remedy::RolloutRestart,
                },
                Phase::Restoring,
                (vec![], 1),
                Severity::Warning,
            ),
            (
                "scaled to zero: scale",
                cluster(0, vec![]),
                false,
                Gate::Act {
                    remedy: Remedy::Scale { replicas: 3 },
                },
                Phase::Restoring,
                (vec![3], 0),
                Severity::Warning,
            ),
            (
                "deployment missing",
                Diagnosis {
                    deployment: None,
                    ..crashloop()
                },
                false,
                escalate(Cause::DeploymentMissing),
                Phase::Escalated,
                (vec![], 0),
                Severity::Critical,
            ),
            (
                "cluster down",
                Diagnosis::unreached(ClusterReach::NotActive("FAILED".into())),
                false,
                escalate(Cause::ClusterNotActive),
                Phase::Escalated,
                (vec![], 0),
                Severity::Critical,
            ),
            (
                "image pull",
                cluster(3, vec![pod(false, Some("ImagePullBackOff"))]),
                false,
                escalate(Cause::ImageCannotBePulled),
                Phase::Escalated,
                (vec![], 0),
                Severity::Critical,
            ),
            (
                "healthy pods, failing check",
                cluster(3, vec![pod(true, None); 3]),
                false,
                escalate(Cause::PodsHealthyButCheckFailing),
                Phase::Escalated,
                (vec![], 0),
                Severity::Critical,
            ),
        ];
        for (name, diagnosis, healthy, decision, phase, (scaled, restarts), severity) in table {
            let world = World::new(diagnosis, healthy, &[]).await;
            let report = world.restore(&world.by_id(), "r1").await.unwrap();
            assert_eq!(report.decision, decision, "{name}");
            assert_eq!(report.phase, phase, "{name}");
            let (did_scale, did_restart) = world.platform.changes();
            assert_eq!(did_scale, scaled, "{name}");
            assert_eq!(did_restart.len(), restarts, "{name}");
            let stored = world.stored();
            assert_eq!(stored.phase, phase, "{name}");
            assert!(
                stored.diagnosis.is_some(),
                "{name}: the diagnosis is recorded"
            );
            assert_eq!(stored.outbox, Vec::new(), "{name}");
            let sent = world.notifier.sent.lock().unwrap().clone();
            assert_eq!(sent.len(), 1, "{name}");
            assert_eq!(sent[0].severity, severity, "{name}");
            if let Gate::Escalate { cause } = decision {
                assert!(
                    sent[0].body.contains(cause.next_step()),
                    "{name}: the notice says what a person must do"
                );
                assert_eq!(
                    world.store.lease("us-east-1"),
                    None,
                    "{name}: escalation releases the lease"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_healthy_region_is_never_touched() {
        let world = World::new(crashloop(), true, &[]).await;
        let report = world.restore(&world.by_id(), "r1").await.unwrap();
        assert_eq!(report.decision, Gate::Skip);
        assert_eq!(world.platform.changes(), (vec![], vec![]));
        assert_eq!(world.stored().phase, Phase::Confirmed);
    }

    #[tokio::test]
    async fn dry_run_reports_and_changes_nothing() {
        // Config-level dry run: the whole flow is a drill; it records and reports.
        let world = World::new(crashloop(), false, &[("DRY_RUN", "true")]).await;
        let report = world.restore(&world.by_id(), "r1").await.unwrap();
        assert_eq!(
            report.decision,
            Gate::Report {
                remedy: Remedy::RolloutRestart
            }
        );
        assert!(report.dry_run);
        assert_eq!(
            world.platform.changes(),
            (vec![], vec![]),
            "nothing changed"
        );
        assert_eq!(
            report.phase,
            Phase::Reported,
            "a reported dry run is closed"
        );
        assert!(
            world.store.leases.lock().unwrap().is_empty(),
            "and frees the region's lease"
        );
        let sent = world.notifier.sent.lock().unwrap().clone();
        assert!(sent[0].subject.contains("[DRY RUN]"), "{}", sent[0].subject);
    }

    #[tokio::test]
    async fn a_dry_run_request_on_a_live_incident_previews_and_records_nothing() {
        for diagnosis in [
            crashloop(),
            Diagnosis {
                deployment: None,
                ..crashloop()
            },
        ] {
            let world = World::new(diagnosis, false, &[]).await;
            let before = world.stored();
            let request = RestoreRequest {
                dry_run: true,
                ..world.by_id()
            };
            let report = world.restore(&request, "r1").await.unwrap();
            assert!(
                matches!(report.decision, Gate::Report { .. } | Gate::Escalate { .. }),
                "{report:?}"
            );
            assert!(report.dry_run && !report.notified);
            assert_eq!(world.stored(), before, "the live incident is untouched");
            assert!(world.notifier.sent.lock().unwrap().is_empty());
            assert_eq!(world.platform.changes(), (vec![], vec![]));
        }

        // Not even a recorded, unapplied decision is applied by a preview.
        let world = World::new(crashloop(), false, &[]).await;
        let mut incident = world.stored();
        incident.actions.push(Action::decided(
            world.clock.now(),
            Remedy::RolloutRestart,
            false,
        ));
        world
            .store
            .update(&incident, &[] as &[TimelineEntry])
            .await
            .unwrap();
        let request = RestoreRequest {
            dry_run: true,
            ..world.by_id()
        };
        world.restore(&request, "preview").await.unwrap();
        assert_eq!(
            world.platform.changes(),
            (vec![], vec![]),
            "a preview restarted the platform"
        );
    }

    #[tokio::test]
    async fn the_budget_stops_a_third_restart() {
        let world = World::new(crashloop(), false, &[("ACTION_COOLDOWN_SECONDS", "60")]).await;
        for round in 0..2 {
            let report = world
                .restore(&world.by_id(), &format!("r{round}"))
                .await
                .unwrap();
            assert_eq!(
                report.decision,
                Gate::Act {
                    remedy: Remedy::RolloutRestart
                },
                "restart {round}"
            );
            world.clock.advance(Duration::from_secs(300));
            world.verified().await;
        }
        let third = world.restore(&world.by_id(), "r3").await.unwrap();
        assert_eq!(
            third.decision,
            Gate::Escalate {
                cause: Cause::RestartBudgetSpent
            }
        );
        assert_eq!(world.platform.changes().1.len(), 2, "no third restart");
        assert_eq!(world.stored().phase, Phase::Escalated);
    }

    #[tokio::test]
    async fn cooldown_waits_between_actions() {
        let world = World::new(crashloop(), false, &[("ACTION_COOLDOWN_SECONDS", "120")]).await;
        world.restore(&world.by_id(), "r1").await.unwrap();
        world.clock.advance(Duration::from_secs(30));
        world.verified().await;
        let report = world.restore(&world.by_id(), "r2").await.unwrap();
        assert_eq!(
            report.decision,
            Gate::Wait {
                seconds: 90,
                because: WaitReason::Cooldown
            }
        );
        assert_eq!(world.platform.changes().1.len(), 1);
    }

    /// A confirmed incident of `region`, open beside the world's own.
    async fn confirmed_in(world: &World, region: &str) -> Incident {
        let mut incident = Incident::detect(
            region,
            &crate::fakes::alarm_trigger(),
            false,
            world.clock.now(),
            "other1",
        );
        incident.id = format!("{region}-other");
        let entry = Journal::new("other1").entry(
            &incident,
            world.clock.now(),
            EntryKind::Detected,
            "detected",
        );
        world.store.open(&incident, &entry).await.unwrap();
        incident
            .conclude(
                crate::model::verdict::Verdict::Confirmed,
                Vec::new(),
                world.clock.now(),
            )
            .unwrap();
        world.store.update(&incident, &[]).await.unwrap()
    }

    #[tokio::test]
    async fn restarts_across_regions_are_spread() {
        let world = World::new(crashloop(), false, &[("RESTART_SPREAD_SECONDS", "30")]).await;
        world.restore(&world.by_id(), "r1").await.unwrap();
        world.health.set("hc-b", &[false]);
        world.clock.advance(Duration::from_secs(10));
        let west = confirmed_in(&world, "eu-west-1").await;
        let request = RestoreRequest {
            incident_id: Some(west.id.clone()),
            region: None,
            dry_run: false,
            timing: None,
        };

        let waiting = world.restore(&request, "w1").await.unwrap();
        assert_eq!(
            waiting.decision,
            Gate::Wait {
                seconds: 20,
                because: WaitReason::Spread
            }
        );
        assert!(
            waiting
                .summary
                .contains("restarts across regions are spread"),
            "{}",
            waiting.summary
        );
        assert_eq!(world.platform.changes().1.len(), 1, "only us-east-1 so far");

        world.clock.advance(Duration::from_secs(20));
        let acting = world.restore(&request, "w2").await.unwrap();
        assert!(matches!(acting.decision, Gate::Act { .. }), "{acting:?}");
        let regions: Vec<String> = world
            .platform
            .restarted
            .lock()
            .unwrap()
            .iter()
            .map(|(region, _)| region.clone())
            .collect();
        assert_eq!(regions, ["us-east-1", "eu-west-1"]);
    }

    #[tokio::test]
    async fn no_spread_means_regions_are_acted_on_at_once() {
        let world = World::new(crashloop(), false, &[("RESTART_SPREAD_SECONDS", "0")]).await;
        world.restore(&world.by_id(), "r1").await.unwrap();
        world.health.set("hc-b", &[false]);
        let west = confirmed_in(&world, "eu-west-1").await;
        let request = RestoreRequest {
            incident_id: Some(west.id.clone()),
            region: None,
            dry_run: false,
            timing: None,
        };
        let acting = world.restore(&request, "w1").await.unwrap();
        assert!(matches!(acting.decision, Gate::Act { .. }), "{acting:?}");
    }

    #[tokio::test]
    async fn the_cooldown_is_per_region_across_incidents() {
        let world = World::new(crashloop(), false, &[("ACTION_COOLDOWN_SECONDS", "120")]).await;
        world.restore(&world.by_id(), "r1").await.unwrap();
        // Verified recovered and closed; the crash loop comes back at once.
        let mut first = world.stored();
        first.close(Closing::Recovered, world.clock.now()).unwrap();
        world.store.update(&first, &[]).await.unwrap();
        world.clock.advance(Duration::from_secs(40));
        let second = confirmed_in(&world, "us-east-1").await;

        let request = RestoreRequest {
            incident_id: Some(second.id.clone()),
            ..world.by_id()
        };
        let report = world.restore(&request, "r2").await.unwrap();
        assert_eq!(
            report.decision,
            Gate::Wait {
                seconds: 80,
                because: WaitReason::Cooldown
            }
        );
        assert_eq!(
            world.platform.changes().1.len(),
            1,
            "no restart inside the cooldown"
        );
    }

    #[tokio::test]
    async fn a_retry_after_the_action_was_applied_does_not_decide_again() {
        // Applied and recorded; then the step failed (its answer was lost) and
        // Step Functions retries it, even after the cooldown.
        let world = World::new(crashloop(), false, &[("ACTION_COOLDOWN_SECONDS", "60")]).await;
        let first = world.restore(&world.by_id(), "r1").await.unwrap();
        for (after, nonce) in [(2, "retry1"), (300, "retry2")] {
            world.clock.advance(Duration::from_secs(after));
            let retry = world.restore(&world.by_id(), nonce).await.unwrap();
            assert_eq!(retry.decision, first.decision, "after {after} s");
            assert!(
                retry.summary.contains("already applied"),
                "{}",
                retry.summary
            );
        }
        assert_eq!(world.platform.changes().1.len(), 1, "one restart");
        assert_eq!(world.stored().actions.len(), 1, "one decision");
        assert_eq!(
            world.notifier.sent.lock().unwrap().len(),
            1,
            "one restart notice"
        );
    }

    #[tokio::test]
    async fn an_unapplied_decision_is_applied_only_while_it_still_holds() {
        type Case = (&'static str, bool, u64, bool);
        let cases: &[Case] = &[
            ("unhealthy, young", false, 30, true),
            ("healthy again", true, 30, false),
            ("older than the cooldown", false, 200, false),
        ];
        for (name, healthy, age, applied) in cases {
            let world =
                World::new(crashloop(), *healthy, &[("ACTION_COOLDOWN_SECONDS", "120")]).await;
            let mut incident = world.stored();
            incident.actions.push(Action::decided(
                world.clock.now(),
                Remedy::RolloutRestart,
                false,
            ));
            world.store.update(&incident, &[]).await.unwrap();
            world.clock.advance(Duration::from_secs(*age));
            let report = world.restore(&world.by_id(), "late").await.unwrap();
            let stored = world.stored();
            let restarts = world.platform.changes().1;
            if *applied {
                assert_eq!(restarts, ["2026-11-22T10:00:00.000Z"], "{name}");
                assert!(stored.actions[0].applied, "{name}");
            } else {
                assert!(stored.actions[0].dropped, "{name}");
                assert!(
                    world.store.kinds().contains(&"Repaired".to_owned()),
                    "{name}: the drop is on the timeline"
                );
                if *healthy {
                    assert_eq!(report.decision, Gate::Skip, "{name}");
                    assert!(restarts.is_empty(), "{name}: never act on a healthy region");
                } else {
                    assert_eq!(restarts.len(), 1, "{name}: decided afresh");
                    assert_ne!(restarts[0], "2026-11-22T10:00:00.000Z", "{name}");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_dropped_decision_counts_against_the_budget_and_the_cooldown() {
        // The function that recorded it may have restarted the platform and
        // died before recording that it did.
        let unapplied = |world: &World| {
            let mut incident = world.stored();
            incident.actions.push(Action::decided(
                world.clock.now(),
                Remedy::RolloutRestart,
                false,
            ));
            incident
        };

        let world = World::new(
            crashloop(),
            false,
            &[
                ("RESTARTS_PER_INCIDENT", "1"),
                ("ACTION_COOLDOWN_SECONDS", "60"),
            ],
        )
        .await;
        world.store.update(&unapplied(&world), &[]).await.unwrap();
        world.clock.advance(Duration::from_secs(200));
        let report = world.restore(&world.by_id(), "late").await.unwrap();
        assert!(world.stored().actions[0].dropped, "older than the cooldown");
        assert_eq!(
            report.decision,
            Gate::Escalate {
                cause: Cause::RestartBudgetSpent
            }
        );

        let world = World::new(crashloop(), false, &[("ACTION_COOLDOWN_SECONDS", "120")]).await;
        world.store.update(&unapplied(&world), &[]).await.unwrap();
        world.health.set("hc-a", &[true]);
        world.clock.advance(Duration::from_secs(10));
        let healthy = world.restore(&world.by_id(), "retry").await.unwrap();
        assert_eq!(healthy.decision, Gate::Skip);
        assert!(world.stored().actions[0].dropped, "healthy again");
        world.health.set("hc-a", &[false]);
        world.clock.advance(Duration::from_secs(30));
        let again = world.restore(&world.by_id(), "again").await.unwrap();
        assert_eq!(
            again.decision,
            Gate::Wait {
                seconds: 80,
                because: WaitReason::Cooldown
            }
        );
        assert_eq!(world.platform.changes(), (vec![], vec![]));
    }

    #[tokio::test]
    async fn a_retried_invocation_issues_no_second_restart() {
        let world = World::new(crashloop(), false, &[]).await;
        // The function recorded its decision, then died before applying it.
        let mut incident = world.stored();
        incident.actions.push(Action::decided(
            world.clock.now(),
            Remedy::RolloutRestart,
            false,
        ));
        world
            .store
            .update(&incident, &[] as &[TimelineEntry])
            .await
            .unwrap();

        let report = world.restore(&world.by_id(), "retry").await.unwrap();
        assert_eq!(
            report.decision,
            Gate::Act {
                remedy: Remedy::RolloutRestart
            }
        );
        assert_eq!(
            world.platform.changes().1,
            ["2026-11-22T10:00:00.000Z"],
            "the recorded stamp, once"
        );
        let stored = world.stored();
        assert_eq!(stored.actions.len(), 1, "no new decision");
        assert!(stored.actions[0].applied);

        // Once applied and verified, a further call decides afresh (here: cooldown).
        world.verified().await;
        let again = world.restore(&world.by_id(), "retry2").await.unwrap();
        assert!(matches!(again.decision, Gate::Wait { .. }), "{again:?}");
        assert_eq!(world.platform.changes().1.len(), 1);
    }

    #[tokio::test]
    async fn requests_that_name_the_wrong_thing_are_refused() {
        let world = World::new(crashloop(), false, &[]).await;
        let cases = [
            (
                RestoreRequest {
                    incident_id: None,
                    region: None,
                    dry_run: false,
                    timing: None,
                },
                "neither an incident_id nor a region",
            ),
            (
                RestoreRequest {
                    incident_id: Some("nope".into()),
                    region: None,
                    dry_run: false,
                    timing: None,
                },
                "incident \"nope\" does not exist",
            ),
            (
                RestoreRequest {
                    incident_id: None,
                    region: Some("eu-west-1".into()),
                    dry_run: true,
                    timing: None,
                },
                "no open incident in eu-west-1",
            ),
            (
                RestoreRequest {
                    incident_id: None,
                    region: Some("us-east-1".into()),
                    dry_run: false,
                    timing: None,
                },
                "a live restore by region is refused",
            ),
            (
                RestoreRequest {
                    region: Some("eu-west-1".into()),
                    ..world.by_id()
                },
                "never act on another region",
            ),
            (
                RestoreRequest {
                    incident_id: None,
                    region: Some("ap-south-1".into()),
                    dry_run: false,
                    timing: None,
                },
                "region \"ap-south-1\" is not configured",
            ),
        ];
        for (request, expected) in cases {
            match world.restore(&request, "r").await {
                Err(Error::InvalidEvent(message)) => {
                    assert!(message.contains(expected), "{request:?}: {message}")
                }
                other => panic!("{request:?}: {other:?}"),
            }
        }
        assert_eq!(world.platform.changes(), (vec![], vec![]));

        let by_region = RestoreRequest {
            incident_id: None,
            region: Some("us-east-1".into()),
            dry_run: true,
            timing: None,
        };
        assert_eq!(
            world.restore(&by_region, "r").await.unwrap().incident_id,
            world.incident.id,
            "a region finds its open incident"
        );
        assert_eq!(world.platform.changes(), (vec![], vec![]), "a preview");
    }

    #[tokio::test]
    async fn an_escalated_incident_is_not_restored() {
        let world = World::new(
            Diagnosis {
                deployment: None,
                ..crashloop()
            },
            false,
            &[],
        )
        .await;
        world.restore(&world.by_id(), "r1").await.unwrap();
        let again = world.restore(&world.by_id(), "r2").await.unwrap_err();
        assert!(
            matches!(&again, Error::InvalidEvent(m) if m.contains("is escalated")),
            "{again}"
        );
    }
}
