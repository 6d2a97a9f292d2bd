#![allow(clippy::unwrap_used)]

use super::*;
use crate::fakes::{
    EVENTS_TIME, FakeAlarms, FakeClock, FakeReadiness, MemoryReports, MemoryStore,
    RecordingMetrics, RecordingNotifier, ScriptedHealth, alarm_trigger, events_settings,
};
use crate::model::diagnosis::ClusterReach;
use crate::model::incident::Incident;
use crate::model::peers::PeerView;
use crate::model::readiness::{
    Access, AccessAnswer, AlarmConfig, ClusterFacts, ContainerImage, HealthCheckConfig, Probe,
    RegionAccess,
};
use crate::model::trigger::AlarmState;

const CONFIRM: &str = "stack-confirm-outage";
const CONFIRM_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:stack-confirm-outage";

struct World {
    settings: Settings,
    health: ScriptedHealth,
    alarms: FakeAlarms,
    readiness: FakeReadiness,
    store: MemoryStore,
    reports: MemoryReports,
    ops: RecordingNotifier,
    clock: FakeClock,
    metrics: RecordingMetrics,
}

fn alarm_arn(name: &str) -> String {
    format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")
}

fn get_deployment() -> Access {
    Access {
        verb: "get".into(),
        group: "apps".into(),
        resource: "deployments".into(),
        subresource: None,
        namespace: Some("vcluster-platform".into()),
        name: Some("loft".into()),
    }
}

/// Both regions ready, one recovery on record for each, the reconciler
/// alive.
async fn ready() -> World {
    let settings = events_settings(&[]);
    let world = World {
        health: ScriptedHealth::default(),
        alarms: FakeAlarms::default(),
        readiness: FakeReadiness::default(),
        store: MemoryStore::default(),
        reports: MemoryReports::default(),
        ops: RecordingNotifier::default(),
        clock: FakeClock::at(EVENTS_TIME),
        metrics: RecordingMetrics::default(),
        settings,
    };
    let now = world.clock.now();
    for region in &world.settings.regions {
        for name in &region.alarm_names {
            world.alarms.configure(AlarmConfig {
                name: name.clone(),
                arn: alarm_arn(name),
                actions_enabled: true,
                alarm_actions: vec![CONFIRM_ARN.into()],
                state: AlarmState::Ok,
            });
            world
                .readiness
                .alarm_sources
                .lock()
                .unwrap()
                .push(alarm_arn(name));
        }
        world.health.configs.lock().unwrap().insert(
            region.health_check_id.clone(),
            HealthCheckConfig {
                id: region.health_check_id.clone(),
                disabled: false,
                inverted: false,
                request_interval: Some(30),
                failure_threshold: Some(3),
            },
        );
        world.readiness.clusters.lock().unwrap().insert(
            region.name.clone(),
            ClusterFacts {
                reach: ClusterReach::Reachable,
                kubernetes_version: Some("1.31".into()),
                replicas: Some((3, 3)),
                images: vec![ContainerImage {
                    container: "manager".into(),
                    image: "ghcr.io/loft-sh/vcluster-platform:4.8.0".into(),
                }],
                peers: Some(vec![PeerView {
                    name: "peer".into(),
                    online: true,
                    last_seen: None,
                    home_derp_region: None,
                }]),
            },
        );
        recovered(&world.store, &region.name, now - chrono::Duration::days(3)).await;
    }
    for function in PROBED {
        let probe = Probe {
            function: function.into(),
            regions: world
                .settings
                .regions
                .iter()
                .map(|r| RegionAccess {
                    region: r.name.clone(),
                    describe_error: None,
                    answers: vec![AccessAnswer {
                        access: get_deployment(),
                        allowed: true,
                        reason: String::new(),
                    }],
                    review_error: None,
                })
                .collect(),
        };
        world
            .readiness
            .probes
            .lock()
            .unwrap()
            .insert(function.into(), probe);
    }
    heartbeat(&world.store, now - chrono::Duration::seconds(40)).await;
    world
}

async fn heartbeat(store: &MemoryStore, at: DateTime<Utc>) {
    let saved = serde_json::json!({"at": at, "reason": "scheduled", "repairs": 0, "regions": []});
    store
        .save_watch_state(crate::app::reconcile::HEARTBEAT, &saved.to_string())
        .await
        .unwrap();
}

/// A closed incident of `region` that recovered at `at`.
async fn recovered(store: &MemoryStore, region: &str, at: DateTime<Utc>) {
    let mut incident = Incident::detect(region, &alarm_trigger(), false, at, &format!("{at}"));
    incident.phase = Phase::Recovered;
    incident.recovered_at = Some(at);
    incident.closed_at = Some(at);
    store
        .incidents
        .lock()
        .unwrap()
        .insert(incident.id.clone(), incident);
}

impl World {
    fn deps(&self) -> Readiness<'_> {
        Readiness {
            settings: &self.settings,
            confirm_outage: CONFIRM,
            health: &self.health,
            alarms: &self.alarms,
            invoke_policy: &self.readiness,
            probes: &self.readiness,
            clusters: &self.readiness,
            store: &self.store,
            history: &self.store,
            reports: &self.reports,
            ops: &self.ops,
            clock: &self.clock,
            metrics: &self.metrics,
        }
    }

    async fn evaluate(&self) -> Result<Evaluation> {
        handle(&self.deps()).await
    }

    fn subjects(&self) -> Vec<String> {
        self.ops
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.subject.clone())
            .collect()
    }

    fn saved(&self) -> usize {
        self.reports.history.lock().unwrap().len()
    }

    fn finding(&self, answer: &Evaluation, kind: CheckKind) -> Check {
        answer
            .findings
            .iter()
            .find(|c| c.kind == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} finding in {:#?}", answer.findings))
    }
}

#[tokio::test]
async fn a_ready_setup_passes_is_stored_and_told_once() {
    let world = ready().await;
    let first = world.evaluate().await.unwrap();
    assert_eq!(first.status, Status::Pass, "{:#?}", first.findings);
    assert!(first.notified);
    assert_eq!(world.subjects(), ["[INFO] readiness: every check passes"]);
    assert_eq!(world.saved(), 1);

    world.clock.advance(std::time::Duration::from_secs(1800));
    heartbeat(&world.store, world.clock.now()).await;
    let second = world.evaluate().await.unwrap();
    assert!(!second.notified, "the same outcome is not told again");
    assert_eq!(world.subjects().len(), 1);
    assert_eq!(world.saved(), 2, "each report is kept in the history");
}

#[tokio::test]
async fn each_evaluation_reports_the_failing_checks_of_every_kind() {
    let world = ready().await;
    world.health.configs.lock().unwrap().clear();
    world.evaluate().await.unwrap();
    let failing: Vec<(CheckKind, u32)> = world
        .metrics
        .all()
        .into_iter()
        .filter_map(|m| match m {
            Metric::ReadinessChecksFailing { kind, failing } => Some((kind, failing)),
            _ => None,
        })
        .collect();
    assert_eq!(failing.len(), CheckKind::ALL.len());
    for (kind, count) in failing {
        let want = if kind == CheckKind::HealthCheck { 2 } else { 0 };
        assert_eq!(count, want, "{kind}");
    }
}

#[tokio::test]
async fn a_change_is_told_with_its_fix() {
    let world = ready().await;
    world.evaluate().await.unwrap();
    world
        .alarms
        .0
        .lock()
        .unwrap()
        .values_mut()
        .for_each(|a| a.actions_enabled = false);
    let answer = world.evaluate().await.unwrap();
    assert_eq!(answer.status, Status::Fail);
    assert!(answer.notified);
    let check = world.finding(&answer, CheckKind::HealthAlarm);
    assert!(
        check
            .fix
            .unwrap()
            .starts_with("aws cloudwatch enable-alarm-actions")
    );
    let sent = world.ops.sent.lock().unwrap();
    let notice = sent.last().unwrap();
    assert_eq!(
        notice.subject,
        "[CRITICAL] readiness: a recovery would not work unattended"
    );
    assert!(notice.body.contains("Before: pass"), "{}", notice.body);
    assert!(
        notice
            .body
            .contains("fix: aws cloudwatch enable-alarm-actions --alarm-names"),
        "{}",
        notice.body
    );
}

#[tokio::test]
async fn an_unreadable_dependency_fails_its_checks_and_the_rest_are_made() {
    let world = ready().await;
    *world.health.failing.lock().unwrap() = true;
    world.readiness.clusters.lock().unwrap().remove("eu-west-1");
    world
        .readiness
        .probes
        .lock()
        .unwrap()
        .remove("verify-recovery");
    let answer = world.evaluate().await.unwrap();
    let failing: Vec<(CheckKind, &str)> = answer
        .findings
        .iter()
        .map(|c| (c.kind, c.scope.as_str()))
        .collect();
    assert_eq!(
        failing,
        [
            (CheckKind::HealthCheck, "us-east-1"),
            (CheckKind::HealthCheck, "eu-west-1"),
            (CheckKind::ClusterActive, "eu-west-1"),
            (CheckKind::KubernetesPermissions, "orchestrator"),
        ]
    );
    assert!(answer.checks.len() > answer.findings.len());
}

#[tokio::test]
async fn an_operations_topic_that_refuses_is_told_again_next_time() {
    let world = ready().await;
    *world.ops.failing.lock().unwrap() = true;
    let error = world.evaluate().await.unwrap_err();
    assert_eq!(error.retry_policy(), crate::error::RetryPolicy::Retry);
    assert_eq!(
        world.saved(),
        0,
        "nothing stored: the change is still untold"
    );

    *world.ops.failing.lock().unwrap() = false;
    let answer = world.evaluate().await.unwrap();
    assert!(answer.notified);
    assert_eq!(world.subjects().len(), 1);
    assert_eq!(world.saved(), 1);
}

#[tokio::test]
async fn a_report_store_that_refuses_fails_the_evaluation() {
    let world = ready().await;
    *world.reports.failing.lock().unwrap() = true;
    let error = world.evaluate().await.unwrap_err();
    assert_eq!(error.retry_policy(), crate::error::RetryPolicy::Retry);
    assert!(world.subjects().is_empty());
}

#[tokio::test]
async fn drill_evidence_counts_only_recoveries_within_the_window() {
    let world = ready().await;
    world.store.incidents.lock().unwrap().clear();
    let now = world.clock.now();
    recovered(&world.store, "us-east-1", now - chrono::Duration::days(61)).await;
    recovered(&world.store, "eu-west-1", now - chrono::Duration::days(59)).await;
    let mut escalated = Incident::detect("eu-west-1", &alarm_trigger(), false, now, "later");
    escalated.phase = Phase::Escalated;
    escalated.closed_at = Some(now);
    world
        .store
        .incidents
        .lock()
        .unwrap()
        .insert(escalated.id.clone(), escalated);
    let answer = world.evaluate().await.unwrap();
    let evidence: Vec<(&str, Status)> = answer
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::DrillEvidence)
        .map(|c| (c.scope.as_str(), c.status))
        .collect();
    assert_eq!(
        evidence,
        [("us-east-1", Status::Warn), ("eu-west-1", Status::Pass)]
    );
}

#[tokio::test]
async fn a_stopped_reconciler_fails_its_check() {
    let world = ready().await;
    world.clock.advance(std::time::Duration::from_secs(600));
    let answer = world.evaluate().await.unwrap();
    let check = world.finding(&answer, CheckKind::Reconciler);
    assert_eq!(check.status, Status::Fail);
    assert!(check.detail.contains("more than 5 min"), "{}", check.detail);
}

#[tokio::test]
async fn the_evaluation_changes_nothing_it_reads() {
    let world = ready().await;
    let incidents = world.store.incidents.lock().unwrap().clone();
    let watches = world.store.watches.lock().unwrap().clone();
    world.evaluate().await.unwrap();
    assert_eq!(*world.store.incidents.lock().unwrap(), incidents);
    assert_eq!(*world.store.watches.lock().unwrap(), watches);
    assert!(world.store.leases.lock().unwrap().is_empty());
    assert!(world.store.timeline.lock().unwrap().is_empty());
}
