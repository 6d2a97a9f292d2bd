//! Use case: the level-triggered resync. Alarms are the fast path and can be
//! lost (a retry, a crash, a flap, a stopped workflow); every minute the
//! reconciler reads each region as it is (alarm, Route 53 health, lease,
//! open incident, its execution, undelivered notices) and puts right what
//! the fast path left inconsistent. Every repair is a timeline entry naming
//! what was wrong.
//!
//! Concurrent reconcilers, alarms and workflow steps never both win: every
//! repair is a version-conditional write, and a takeover claims the
//! incident before it samples.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::commit::{commit, deliver, release_dangling};
use crate::app::confirm_outage::{confirm_outage, start_recovery};
use crate::app::context::{Context, read};
use crate::app::escalate_incident::escalate;
use crate::app::ports::{Alarms, Workflow};
use crate::config::RegionSettings;
use crate::error::{Error, Result};
use crate::model::health::Health;
use crate::model::incident::{EntryKind, Incident, Journal, Lane};
use crate::model::metric::{Metric, RepairKind};
use crate::model::phase::Phase;
use crate::model::remedy::Cause;
use crate::model::trigger::{AlarmState, Target, Trigger, TriggerSource};
use crate::rules::repair::{
    IdleRepair, OpenRepair, RegionView, idle_repair, open_repair, worst_alarm,
};

/// The watch under which the reconciler's heartbeat is saved.
pub const HEARTBEAT: &str = "reconciler";

/// The function's answer, also saved as the heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconcileReport {
    pub at: DateTime<Utc>,
    pub reason: String,
    pub repairs: usize,
    pub regions: Vec<RegionView>,
}

/// Reconciles every configured region. A region that cannot be read is
/// reported and the others are still reconciled; the run then fails with
/// that error so it shows in the function's errors (and is retried).
pub async fn reconcile(
    deps: &Context<'_>,
    workflow: &dyn Workflow,
    alarms: &dyn Alarms,
    reason: &str,
    request: &str,
) -> Result<ReconcileReport> {
    let names = deps.settings.alarm_names();
    let states = alarms.states(&names).await;
    let mut regions = Vec::new();
    let mut first_error = None;
    for region in &deps.settings.regions {
        let alarm = match &states {
            Ok(states) => worst_alarm(region, states),
            Err(_) => None,
        };
        let mut view = RegionView {
            region: region.name.clone(),
            alarm,
            health: Health::Unknown,
            incident_id: None,
            phase: None,
            repairs: Vec::new(),
            error: None,
        };
        let nonce = format!("{request}-{}", region.name);
        if let Err(error) = one_region(deps, workflow, region, &mut view, &nonce).await {
            view.error = Some(error.to_string());
            first_error.get_or_insert(error);
        }
        regions.push(view);
    }
    if let Err(error) = &states {
        first_error.get_or_insert(error.clone());
    }
    let report = ReconcileReport {
        at: deps.records.clock.now(),
        reason: reason.to_owned(),
        repairs: regions.iter().map(|r| r.repairs.len()).sum(),
        regions,
    };
    let heartbeat =
        serde_json::to_string(&report).map_err(|e| Error::Internal(format!("heartbeat: {e}")))?;
    deps.records
        .store
        .save_watch_state(HEARTBEAT, &heartbeat)
        .await?;
    report_levels(deps, &report);
    match first_error {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// One repair: a line of the report and a count by kind.
fn repaired(view: &mut RegionView, deps: &Context<'_>, repair: RepairKind, line: String) {
    deps.records.metrics.record(Metric::Repair {
        region: view.region.clone(),
        repair,
    });
    view.repairs.push(line);
}

/// The levels the dashboard and the alarms read every run: the heartbeat,
/// and per region its open incidents and whether its health alarm has data.
fn report_levels(deps: &Context<'_>, report: &ReconcileReport) {
    let metrics = deps.records.metrics;
    for view in &report.regions {
        metrics.record(Metric::OpenIncidents {
            region: view.region.clone(),
            open: u32::from(view.phase.is_some_and(Phase::is_open)),
        });
        metrics.record(Metric::HealthAlarmInsufficientData {
            region: view.region.clone(),
            insufficient: view.alarm == Some(AlarmState::InsufficientData),
        });
    }
    metrics.record(Metric::ReconcilerHeartbeat);
}

async fn one_region(
    deps: &Context<'_>,
    workflow: &dyn Workflow,
    region: &RegionSettings,
    view: &mut RegionView,
    nonce: &str,
) -> Result<()> {
    // Its own entries get ids apart from those of the confirmations it
    // runs with `nonce` (which a retry of this run reuses to resume them).
    let mut journal = Journal::new(&format!("{nonce}-r"));
    let now = deps.records.clock.now();
    let takeover = deps.settings.takeover_after;
    for lane in [Lane::Live, Lane::DryRun] {
        if release_dangling(&deps.records, &region.name, lane, &mut journal).await? {
            repaired(
                view,
                deps,
                RepairKind::ReleasedLease,
                format!(
                    "released the {} lease, which named a closed or expired incident",
                    lane.as_str()
                ),
            );
        }
        if let Some(open) = deps.records.store.leaseholder(&region.name, lane).await? {
            if lane == Lane::of(deps.settings.dry_run) {
                view.incident_id = Some(open.id.clone());
                view.phase = Some(open.phase);
            }
            let execution = workflow.status(&open.id).await?;
            match open_repair(&open, execution, now, takeover) {
                OpenRepair::Leave => {}
                OpenRepair::TakeOver => {
                    let trigger = resync(region, "its confirmation stopped", open.dry_run);
                    let report = confirm_outage(deps, workflow, &trigger, nonce).await?;
                    if view.incident_id.as_deref() == Some(open.id.as_str()) {
                        view.phase = report.phase;
                    }
                    repaired(
                        view,
                        deps,
                        RepairKind::TookOver,
                        format!(
                            "took over the confirmation of {}: {}",
                            open.id,
                            report.verdict.as_str()
                        ),
                    );
                }
                OpenRepair::StartWorkflow => {
                    let entry = journal.entry(
                        &open,
                        now,
                        EntryKind::Repaired,
                        "reconciler: confirmed, but its recovery workflow was never started; starting it",
                    );
                    deps.records.store.append(&entry).await?;
                    let arn = start_recovery(deps, workflow, &open, &mut journal).await?;
                    repaired(
                        view,
                        deps,
                        RepairKind::StartedWorkflow,
                        format!("started the recovery workflow of {}: {arn}", open.id),
                    );
                }
                OpenRepair::Escalate(why) => {
                    match escalate(
                        &deps.records,
                        open.clone(),
                        Cause::WorkflowStopped,
                        &format!("reconciler: {why}"),
                        &format!("What happened: {why}."),
                        &mut journal,
                    )
                    .await
                    {
                        Ok(_) => {
                            if view.incident_id.as_deref() == Some(open.id.as_str()) {
                                view.phase = Some(Phase::Escalated);
                            }
                            repaired(
                                view,
                                deps,
                                RepairKind::Escalated,
                                format!("escalated {}: {why}", open.id),
                            );
                        }
                        // Closed by its workflow in the meantime.
                        Err(Error::Conflict(_)) => {}
                        Err(other) => return Err(other),
                    }
                }
            }
        }
    }

    let mut refused = None;
    for stale in deps.records.store.undelivered(&region.name).await? {
        let waiting = stale.outbox.first().map(|n| n.created_at);
        if waiting
            .is_some_and(|at| now.signed_duration_since(at).to_std().unwrap_or_default() < takeover)
        {
            // Fresh: the step that wrote it is still delivering.
            continue;
        }
        let (id, left) = (stale.id.clone(), stale.outbox.len());
        let delivered = deliver(&deps.records, stale, &mut journal).await;
        if delivered.sent == 0 {
            // Still refused: the run fails (once the rest is done), so an SNS
            // outage shows in the function's errors, not as a repair a minute.
            refused = Some(Error::unavailable(
                "SNS",
                format!("{left} notice(s) of {id} are still undelivered"),
            ));
            continue;
        }
        let entry = journal.entry(
            &delivered.incident,
            deps.records.clock.now(),
            EntryKind::Repaired,
            format!(
                "reconciler: delivered {} of {left} notice(s) SNS had not taken",
                delivered.sent
            ),
        );
        deps.records.store.append(&entry).await?;
        repaired(
            view,
            deps,
            RepairKind::DeliveredNotices,
            format!("delivered {} of {left} notice(s) of {id}", delivered.sent),
        );
    }

    view.health = read(deps, region).await?.health;
    // A resync confirms as an alarm would: in the dry-run lane when the
    // deployment is a dry run, so that lane's incidents hold it back.
    let lane = Lane::of(deps.settings.dry_run);
    if deps
        .records
        .store
        .leaseholder(&region.name, lane)
        .await?
        .is_some()
    {
        return refused.map_or(Ok(()), Err);
    }
    let last = deps.records.store.last_closed(&region.name, lane).await?;
    match idle_repair(
        view.alarm,
        view.health,
        last.as_ref(),
        now,
        &deps.settings.reconcile,
        takeover,
    ) {
        IdleRepair::Leave => {}
        IdleRepair::Confirm(why) => {
            let trigger = resync(region, &why, false);
            let report = confirm_outage(deps, workflow, &trigger, nonce).await?;
            view.incident_id = report.incident_id.clone();
            view.phase = report.phase;
            repaired(
                view,
                deps,
                RepairKind::ConfirmedAgain,
                format!("confirmed again ({why}): {}", report.summary),
            );
        }
        IdleRepair::Remind => {
            if let Some(escalated) = last {
                let id = escalated.id.clone();
                remind(deps, escalated, view, &mut journal).await?;
                repaired(
                    view,
                    deps,
                    RepairKind::Reminded,
                    format!("reminded people that {id} is still down"),
                );
            }
        }
    }
    refused.map_or(Ok(()), Err)
}

/// The trigger of a resync: it reads like an alarm of the region.
fn resync(region: &RegionSettings, why: &str, dry_run: bool) -> Trigger {
    Trigger {
        source: TriggerSource::Reconciler,
        target: Target::Region(region.name.clone()),
        state: AlarmState::Alarm,
        reason: why.to_owned(),
        dry_run,
    }
}

async fn remind(
    deps: &Context<'_>,
    mut incident: Incident,
    view: &RegionView,
    journal: &mut Journal,
) -> Result<()> {
    let now = deps.records.clock.now();
    incident.reminded_at = Some(now);
    incident.updated_at = now;
    let since = incident
        .closed_at
        .map(|at| now.signed_duration_since(at).num_minutes())
        .unwrap_or_default();
    let notice = crate::notices::escalation::reminder(
        &incident,
        since,
        view.alarm,
        view.health,
        deps.settings.reconcile.hold,
        now,
    );
    let entry = journal.entry(
        &incident,
        now,
        EntryKind::Reminded,
        format!("reconciler: still down {since} min after the escalation; reminded"),
    );
    commit(&deps.records, incident, vec![entry], Some(notice), journal).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    use crate::model::phase::Phase;
    use crate::model::workflow::ExecutionStatus;

    use crate::app::ports::{Clock, IncidentStore};
    use crate::config::Settings;
    use crate::config::tests::sample_vars;
    use crate::fakes::{
        FakeAlarms, FakeClock, MemoryStore, RecordingMetrics, RecordingNotifier, RecordingWorkflow,
        ScriptedHealth, confirmed_incident,
    };

    struct World {
        settings: Settings,
        health: ScriptedHealth,
        store: MemoryStore,
        notifier: RecordingNotifier,
        metrics: RecordingMetrics,
        clock: FakeClock,
        workflow: RecordingWorkflow,
        alarms: FakeAlarms,
    }

    impl World {
        /// `east` scripts us-east-1's check; eu-west-1 stays healthy.
        fn new(east: &[bool]) -> Self {
            Self {
                settings: Settings::from_vars(sample_vars()).unwrap(),
                health: ScriptedHealth::default()
                    .script("hc-a", east)
                    .script("hc-b", &[true]),
                store: MemoryStore::default(),
                notifier: RecordingNotifier::default(),
                metrics: RecordingMetrics::default(),
                clock: FakeClock::at("2026-11-22T10:00:00Z"),
                workflow: RecordingWorkflow::default(),
                alarms: FakeAlarms::default(),
            }
        }

        fn deps(&self) -> Context<'_> {
            crate::fakes::context(
                &self.settings,
                &self.health,
                &self.store,
                &self.notifier,
                &self.clock,
                &self.metrics,
            )
        }

        async fn run(&self, request: &str) -> ReconcileReport {
            *self.health.now.lock().unwrap() = Some(self.clock.now());
            reconcile(&self.deps(), &self.workflow, &self.alarms, "test", request)
                .await
                .unwrap()
        }

        fn east(report: &ReconcileReport) -> &RegionView {
            &report.regions[0]
        }

        fn subjects(&self) -> Vec<String> {
            let sent = self.notifier.sent.lock().unwrap();
            sent.iter().map(|n| n.subject.clone()).collect()
        }
    }

    #[tokio::test]
    async fn an_incident_whose_workflow_was_stopped_is_escalated_and_the_region_freed() {
        let world = World::new(&[false]);
        let now = world.clock.now();
        let mut incident = confirmed_incident(&world.store, now, now).await;
        incident.restoring(now).unwrap();
        let incident = world.store.update(&incident, &[]).await.unwrap();
        world.workflow.end(&incident.id, ExecutionStatus::Aborted);
        world.alarms.set("alarm-a", AlarmState::Alarm);
        world.clock.advance(Duration::from_secs(5));

        let report = world.run("rec1").await;
        let east = World::east(&report);
        assert_eq!(east.repairs.len(), 1, "{east:?}");
        assert!(east.repairs[0].contains("ended ABORTED"), "{east:?}");
        let stored = world.store.get(&incident.id).await.unwrap().unwrap();
        assert_eq!(stored.phase, Phase::Escalated);
        assert_eq!(stored.escalation, Some(Cause::WorkflowStopped));
        assert!(stored.outbox.is_empty(), "the notice was delivered");
        assert_eq!(world.store.lease("us-east-1"), None);
        assert!(
            world.subjects()[0].contains("ESCALATION"),
            "{:?}",
            world.subjects()
        );
        assert!(world.store.kinds().contains(&"Escalated".to_owned()));
        let region = || "us-east-1".to_owned();
        let recorded = world.metrics.all();
        for expected in [
            Metric::Repair {
                region: region(),
                repair: RepairKind::Escalated,
            },
            Metric::IncidentClosed {
                region: region(),
                outcome: Phase::Escalated,
            },
            Metric::OpenIncidents {
                region: region(),
                open: 0,
            },
            Metric::HealthAlarmInsufficientData {
                region: region(),
                insufficient: false,
            },
            Metric::ReconcilerHeartbeat,
        ] {
            assert!(recorded.contains(&expected), "{expected:?} in {recorded:?}");
        }

        // The region is still down, but a person owns it now: no new incident.
        world.clock.advance(Duration::from_secs(300));
        let again = world.run("rec2").await;
        assert!(World::east(&again).repairs.is_empty(), "{again:?}");
        assert_eq!(world.store.incidents.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_confirmed_incident_whose_start_was_lost_gets_its_workflow_once() {
        let world = World::new(&[false]);
        let now = world.clock.now();
        let incident = confirmed_incident(&world.store, now, now).await;
        world.clock.advance(Duration::from_secs(60));
        assert!(
            World::east(&world.run("early").await).repairs.is_empty(),
            "too soon"
        );

        world.clock.advance(Duration::from_secs(90));
        let report = world.run("late").await;
        assert!(World::east(&report).repairs[0].contains("started the recovery workflow"));
        let started = world.workflow.started.lock().unwrap().clone();
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].incident_id, incident.id);
        assert!(world.store.kinds().contains(&"Repaired".to_owned()));

        world.clock.advance(Duration::from_secs(60));
        assert!(
            World::east(&world.run("later").await).repairs.is_empty(),
            "it runs now"
        );
        assert_eq!(world.workflow.started.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_region_dismissed_by_a_flap_and_still_down_is_confirmed_again() {
        // One healthy sample dismissed the outage; the alarm stays in ALARM.
        let world = World::new(&[false, true, false]);
        let alarm = crate::fakes::alarm_trigger();
        let deps = world.deps();
        *world.health.now.lock().unwrap() = Some(world.clock.now());
        let first = confirm_outage(&deps, &world.workflow, &alarm, "alarm1")
            .await
            .unwrap();
        assert_eq!(first.verdict.as_str(), "transient");
        world.alarms.set("alarm-a", AlarmState::Alarm);

        world.clock.advance(Duration::from_secs(60));
        assert!(
            World::east(&world.run("rec1").await).repairs.is_empty(),
            "its alarm may catch up"
        );
        world.clock.advance(Duration::from_secs(120));
        let report = world.run("rec2").await;
        let east = World::east(&report);
        assert!(east.repairs[0].starts_with("confirmed again"), "{east:?}");
        assert_eq!(east.phase, Some(Phase::Confirmed));
        assert_eq!(world.workflow.started.lock().unwrap().len(), 1);
        let opened = world
            .store
            .leaseholder("us-east-1", Lane::Live)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(opened.trigger.source, TriggerSource::Reconciler);
    }

    #[tokio::test]
    async fn a_stale_confirmation_is_taken_over_and_finished() {
        let world = World::new(&[false]);
        let abandoned = Incident::detect(
            "us-east-1",
            &crate::fakes::alarm_trigger(),
            false,
            world.clock.now(),
            "dead0001",
        );
        let first = Journal::new("dead0001").entry(
            &abandoned,
            abandoned.detected_at,
            EntryKind::Detected,
            "detected",
        );
        world.store.open(&abandoned, &first).await.unwrap();
        world.clock.advance(Duration::from_secs(200));
        let report = world.run("rec1").await;
        assert!(
            World::east(&report).repairs[0].contains("took over"),
            "{report:?}"
        );
        let stored = world.store.get(&abandoned.id).await.unwrap().unwrap();
        assert_eq!(stored.phase, Phase::Confirmed);
        assert_eq!(world.workflow.started.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn notices_sns_did_not_take_are_delivered_and_the_heartbeat_saved() {
        let world = World::new(&[true]);
        *world.notifier.failing.lock().unwrap() = true;
        let deps = world.deps();
        *world.health.now.lock().unwrap() = Some(world.clock.now());
        confirm_outage(&deps, &world.workflow, &crate::fakes::alarm_trigger(), "a1")
            .await
            .unwrap();
        *world.notifier.failing.lock().unwrap() = false;
        world.clock.advance(Duration::from_secs(180));
        let report = world.run("rec1").await;
        assert_eq!(report.repairs, 1, "{report:?}");
        assert_eq!(world.subjects().len(), 1);
        assert!(world.store.only_incident().outbox.is_empty());
        let heartbeat = world.store.watch_state(HEARTBEAT).await.unwrap().unwrap();
        let saved: serde_json::Value = serde_json::from_str(&heartbeat).unwrap();
        assert_eq!(saved["repairs"], 1);
        assert_eq!(saved["regions"][0]["region"], "us-east-1");
        let repairs: Vec<Metric> = world
            .metrics
            .all()
            .into_iter()
            .filter(|m| matches!(m, Metric::Repair { .. }))
            .collect();
        assert_eq!(
            repairs,
            [Metric::Repair {
                region: "us-east-1".into(),
                repair: RepairKind::DeliveredNotices
            }]
        );
    }

    #[tokio::test]
    async fn each_run_reports_its_heartbeat_and_each_region_s_levels() {
        let world = World::new(&[true]);
        world.alarms.set("alarm-a", AlarmState::InsufficientData);
        world.alarms.set("alarm-b", AlarmState::Ok);
        world.run("rec1").await;
        let levels: Vec<Metric> = world.metrics.all();
        assert_eq!(
            levels,
            [
                Metric::OpenIncidents {
                    region: "us-east-1".into(),
                    open: 0
                },
                Metric::HealthAlarmInsufficientData {
                    region: "us-east-1".into(),
                    insufficient: true
                },
                Metric::OpenIncidents {
                    region: "eu-west-1".into(),
                    open: 0
                },
                Metric::HealthAlarmInsufficientData {
                    region: "eu-west-1".into(),
                    insufficient: false
                },
                Metric::ReconcilerHeartbeat,
            ]
        );
    }

    #[tokio::test]
    async fn a_dry_run_deployment_is_held_back_by_its_own_closed_incident() {
        let mut world = World::new(&[false]);
        world.settings =
            Settings::from_vars([sample_vars(), vec![("DRY_RUN", "true".to_owned())]].concat())
                .unwrap();
        world.alarms.set("alarm-a", AlarmState::Alarm);
        let now = world.clock.now();
        let mut rehearsal = Incident::detect(
            "us-east-1",
            &crate::fakes::alarm_trigger(),
            true,
            now,
            "dry1",
        );
        let first = Journal::new("dry1").entry(&rehearsal, now, EntryKind::Detected, "detected");
        world.store.open(&rehearsal, &first).await.unwrap();
        rehearsal
            .conclude(crate::model::verdict::Verdict::Confirmed, Vec::new(), now)
            .unwrap();
        rehearsal
            .close(crate::model::incident::Closing::Reported, now)
            .unwrap();
        world.store.update(&rehearsal, &[]).await.unwrap();

        world.clock.advance(Duration::from_secs(10));
        let report = world.run("rec1").await;
        assert!(
            World::east(&report).repairs.is_empty(),
            "just reported: {report:?}"
        );
        assert_eq!(world.store.incidents.lock().unwrap().len(), 1);

        world.clock.advance(Duration::from_secs(150));
        let held = world.run("rec2").await;
        assert!(
            World::east(&held).repairs.is_empty(),
            "reported: held, no reminder: {held:?}"
        );
        assert!(world.notifier.sent.lock().unwrap().is_empty());

        world.clock.advance(Duration::from_secs(3600));
        let later = world.run("rec3").await;
        assert!(
            World::east(&later)
                .repairs
                .first()
                .is_some_and(|r| r.starts_with("confirmed again")),
            "{later:?}"
        );
        let reopened = world
            .store
            .leaseholder("us-east-1", Lane::DryRun)
            .await
            .unwrap();
        assert!(
            reopened.is_some_and(|i| i.dry_run),
            "a dry run again, never live"
        );
        assert_eq!(world.store.lease("us-east-1"), None);
        let again = world.run("rec4").await;
        assert!(
            World::east(&again).repairs.is_empty(),
            "open: nothing to repair: {again:?}"
        );
    }

    #[tokio::test]
    async fn while_sns_still_refuses_the_run_fails_and_writes_no_repair() {
        let world = World::new(&[true]);
        *world.notifier.failing.lock().unwrap() = true;
        let deps = world.deps();
        *world.health.now.lock().unwrap() = Some(world.clock.now());
        confirm_outage(&deps, &world.workflow, &crate::fakes::alarm_trigger(), "a1")
            .await
            .unwrap();
        let entries = world.store.kinds().len();
        world.clock.advance(Duration::from_secs(180));
        *world.health.now.lock().unwrap() = Some(world.clock.now());
        let error = reconcile(
            &world.deps(),
            &world.workflow,
            &world.alarms,
            "test",
            "rec1",
        )
        .await
        .unwrap_err();
        assert!(error.to_string().contains("still undelivered"), "{error}");
        assert_eq!(error.retry_policy(), crate::error::RetryPolicy::Retry);
        assert_eq!(
            world.store.kinds().len(),
            entries,
            "no timeline entry a minute"
        );
        let heartbeat = world.store.watch_state(HEARTBEAT).await.unwrap().unwrap();
        assert!(heartbeat.contains("still undelivered"), "{heartbeat}");
    }

    #[tokio::test]
    async fn an_escalated_region_that_stays_down_is_reminded_not_restarted() {
        let world = World::new(&[false]);
        world.alarms.set("alarm-a", AlarmState::Alarm);
        let now = world.clock.now();
        let mut incident = confirmed_incident(&world.store, now, now).await;
        incident
            .close(
                crate::model::incident::Closing::Escalated(Cause::RestartBudgetSpent),
                now,
            )
            .unwrap();
        world.store.update(&incident, &[]).await.unwrap();

        let mut reminders = 0;
        for minute in 1..=59 {
            world.clock.advance(Duration::from_secs(60));
            let report = world.run(&format!("rec{minute}")).await;
            reminders += World::east(&report)
                .repairs
                .iter()
                .filter(|r| r.starts_with("reminded"))
                .count();
        }
        assert_eq!(
            reminders, 1,
            "one reminder in the hour's hold (every 30 min)"
        );
        assert_eq!(
            world.store.incidents.lock().unwrap().len(),
            1,
            "no new incident"
        );
        assert!(
            world.subjects().iter().all(|s| s.contains("still down")),
            "{:?}",
            world.subjects()
        );
        world.clock.advance(Duration::from_secs(120));
        let after = world.run("after-hold").await;
        assert!(
            World::east(&after).repairs[0].starts_with("confirmed again"),
            "{after:?}"
        );
    }
}
