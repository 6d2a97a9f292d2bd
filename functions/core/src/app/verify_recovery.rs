//! Use case: one verification poll after a remedy (runbook steps 4 and 5).
//! The workflow calls it until it answers recovered or failed; on recovery
//! it closes the incident with its time to recover and tells people.

use serde::Serialize;

use crate::app::commit::{Delivered, commit, deliver};
use crate::app::context::{Context, read};
use crate::app::ports::{Peers, Platform};
use crate::error::{Error, Result};
use crate::model::diagnosis::{ClusterReach, Diagnosis};
use crate::model::incident::{Closing, EntryKind, Journal};
use crate::model::phase::Phase;
use crate::model::remedy::Cause;
use crate::model::workflow::Timing;
use crate::rules::peers::judge_peers;
use crate::rules::recovery::{Observation, Recovery, Rollout, evaluate, rollout};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRequest {
    pub incident_id: String,
    /// The workflow's waits; they may shorten the configured ones, never
    /// stretch them.
    pub timing: Option<Timing>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub incident_id: String,
    pub region: String,
    pub phase: Phase,
    #[serde(flatten)]
    pub outcome: Recovery,
    /// Seconds from detection, then from confirmation, to recovery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_recover_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_recover_from_confirmation_s: Option<i64>,
    pub notified: bool,
    #[serde(skip_serializing_if = "crate::app::commit::is_zero")]
    pub undelivered: usize,
}

pub async fn verify_recovery(
    deps: &Context<'_>,
    platform: &dyn Platform,
    peers: &dyn Peers,
    request: &VerifyRequest,
    nonce: &str,
) -> Result<VerifyReport> {
    let mut journal = Journal::new(nonce);
    let mut incident = deps.records.store.named(&request.incident_id).await?;
    match incident.phase {
        Phase::Confirmed | Phase::Restoring => {}
        // Asked again after it closed (a retried poll): the same answer, and
        // the recovered notice if the first attempt could not deliver it.
        Phase::Recovered => {
            let delivered = deliver(&deps.records, incident, &mut journal).await;
            return Ok(report(
                &delivered,
                Recovery::Recovered {
                    warnings: Vec::new(),
                },
            ));
        }
        phase => {
            return Err(Error::InvalidEvent(format!(
                "incident {} is {}: there is nothing to verify",
                incident.id,
                phase.as_str()
            )));
        }
    }
    let target = deps.settings.region(&incident.region).ok_or_else(|| {
        Error::InvalidEvent(format!("region {} is not configured", incident.region))
    })?;
    let policy = &deps.settings.verification;
    let wanted = deps.settings.platform.replicas;

    let reading = read(deps, target).await?;
    incident.recovery_health.push(reading.health);
    let mut rollout_state = Rollout::InProgress("the platform could not be read".into());
    let mut regions_not_ready = Vec::new();
    let mut peer_verdicts = Vec::new();
    for region in &deps.settings.regions {
        let diagnosis = platform.diagnose(region).await?;
        if region.name == target.name {
            rollout_state = target_rollout(&diagnosis, wanted);
        }
        if !pods_ready(&diagnosis, wanted) {
            regions_not_ready.push(region.name.clone());
        }
        let verdict = match peers.peers(region).await {
            Ok(list) => judge_peers(Ok(&list)),
            Err(error) => judge_peers(Err(&error.to_string())),
        };
        peer_verdicts.push((region.name.clone(), verdict));
    }
    let seen = Observation {
        rollout: rollout_state,
        health: incident.recovery_health.clone(),
        regions_not_ready,
        peers: peer_verdicts,
    };
    let now = deps.records.clock.now();
    let started = incident
        .acted_at
        .or(incident.confirmed_at)
        .unwrap_or(incident.detected_at);
    let timing = request
        .timing
        .map_or_else(|| Timing::configured(policy), |t| t.within(policy));
    let deadline = started
        + chrono::Duration::from_std(timing.deadline()).unwrap_or(chrono::Duration::minutes(15));
    let outcome = evaluate(
        &seen,
        policy.healthy_readings,
        timing.poll_seconds,
        now,
        deadline,
    );

    let entry = journal.entry(
        &incident,
        now,
        EntryKind::Verified,
        crate::notices::recovery::describe(&outcome, &reading.describe()),
    );
    incident.updated_at = now;
    incident.verified_at = Some(now);
    let notice = match &outcome {
        Recovery::Recovered { warnings } => {
            incident.close(Closing::Recovered, now)?;
            Some(crate::notices::recovery::recovered(
                &incident, warnings, now,
            ))
        }
        Recovery::Failed { reasons } => {
            incident.close(Closing::Escalated(Cause::NotRecoveredInTime), now)?;
            Some(crate::notices::recovery::failed(&incident, reasons, now))
        }
        Recovery::KeepWaiting { .. } | Recovery::RestoreAgain { .. } => None,
    };
    let delivered = commit(&deps.records, incident, vec![entry], notice, &mut journal).await?;
    Ok(report(&delivered, outcome))
}

fn target_rollout(diagnosis: &Diagnosis, wanted: u32) -> Rollout {
    match (&diagnosis.cluster, &diagnosis.deployment) {
        (ClusterReach::Reachable, Some(deployment)) => rollout(deployment, wanted),
        (ClusterReach::Reachable, None) => Rollout::Failed("the deployment is missing".into()),
        (ClusterReach::NotActive(status), _) => {
            Rollout::InProgress(format!("the cluster is {status}"))
        }
        (ClusterReach::Unreachable(why), _) => {
            Rollout::InProgress(format!("the cluster is unreachable: {why}"))
        }
    }
}

fn pods_ready(diagnosis: &Diagnosis, wanted: u32) -> bool {
    let ready = diagnosis.pods.iter().filter(|p| p.ready).count();
    diagnosis.cluster == ClusterReach::Reachable && ready >= wanted as usize
}

fn report(delivered: &Delivered, outcome: Recovery) -> VerifyReport {
    let incident = &delivered.incident;
    VerifyReport {
        incident_id: incident.id.clone(),
        region: incident.region.clone(),
        phase: incident.phase,
        outcome,
        time_to_recover_s: crate::notices::recovery::seconds_between(
            Some(incident.detected_at),
            incident.recovered_at,
        ),
        time_to_recover_from_confirmation_s: crate::notices::recovery::seconds_between(
            incident.confirmed_at,
            incident.recovered_at,
        ),
        notified: delivered.notified(),
        undelivered: delivered.undelivered(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    use crate::app::ports::{Clock, IncidentStore};
    use crate::config::Settings;
    use crate::config::tests::sample_vars;
    use crate::fakes::{
        FakeClock, FakePlatform, MemoryStore, RecordingMetrics, RecordingNotifier, ScriptedHealth,
        confirmed_incident,
    };
    use crate::model::diagnosis::{DeploymentView, PodView};
    use crate::model::notice::Severity;
    use crate::model::peers::PeerView;

    fn recovered_cluster() -> Diagnosis {
        Diagnosis {
            cluster: ClusterReach::Reachable,
            deployment: Some(DeploymentView {
                replicas: 3,
                ready: 3,
                available: 3,
                updated: 3,
                generation: 3,
                observed_generation: 3,
                paused: false,
                progress_deadline_exceeded: false,
            }),
            pods: vec![
                PodView {
                    name: "loft-1".into(),
                    phase: "Running".into(),
                    ready: true,
                    waiting_reason: None,
                    restarts: 0,
                    unschedulable: false
                };
                3
            ],
            nodes_ready: 3,
            nodes_not_ready: 0,
            ingress_load_balancers: Some(vec!["lb".into()]),
        }
    }

    struct World {
        settings: Settings,
        health: ScriptedHealth,
        store: MemoryStore,
        notifier: RecordingNotifier,
        metrics: RecordingMetrics,
        clock: FakeClock,
        platform: FakePlatform,
        id: String,
        timing: std::sync::Mutex<Option<Timing>>,
    }

    /// An incident restored (acted on) at 10:00; `health` scripts us-east-1's check per poll.
    async fn world(health: &[bool]) -> World {
        let clock = FakeClock::at("2026-11-22T10:00:00Z");
        let store = MemoryStore::default();
        let now = clock.now();
        let mut incident = confirmed_incident(
            &store,
            now - chrono::Duration::minutes(2),
            now - chrono::Duration::minutes(1),
        )
        .await;
        incident.phase = Phase::Restoring;
        incident.acted_at = Some(now);
        let incident = store.update(&incident, &[]).await.unwrap();
        World {
            settings: Settings::from_vars(sample_vars()).unwrap(),
            health: ScriptedHealth::default()
                .script("hc-a", health)
                .script("hc-b", &[true]),
            store,
            notifier: RecordingNotifier::default(),
            metrics: RecordingMetrics::default(),
            clock,
            platform: FakePlatform::seeing(recovered_cluster()),
            id: incident.id,
            timing: std::sync::Mutex::new(None),
        }
    }

    impl World {
        /// One poll, 15 s after the previous one.
        async fn poll(&self) -> Result<VerifyReport> {
            self.clock.advance(Duration::from_secs(15));
            *self.health.now.lock().unwrap() = Some(self.clock.now());
            let timing = *self.timing.lock().unwrap();
            let deps = crate::fakes::context(
                &self.settings,
                &self.health,
                &self.store,
                &self.notifier,
                &self.clock,
                &self.metrics,
            );
            verify_recovery(
                &deps,
                &self.platform,
                &self.platform,
                &VerifyRequest {
                    incident_id: self.id.clone(),
                    timing,
                },
                "v",
            )
            .await
        }

        async fn polls_until_done(&self, most: usize) -> (usize, VerifyReport) {
            for n in 1..=most {
                let report = self.poll().await.unwrap();
                if !matches!(report.outcome, Recovery::KeepWaiting { .. }) {
                    return (n, report);
                }
            }
            panic!("not done after {most} polls");
        }
    }

    #[tokio::test]
    async fn recovered_after_three_healthy_readings_in_a_row_with_its_time_to_recover() {
        let world = world(&[true]).await;
        let (polls, report) = world.polls_until_done(10).await;
        assert_eq!(polls, 3);
        assert_eq!(report.outcome, Recovery::Recovered { warnings: vec![] });
        assert_eq!(report.phase, Phase::Recovered);
        // Detected at 09:58, confirmed at 09:59, recovered at 10:00:45.
        assert_eq!(
            (
                report.time_to_recover_s,
                report.time_to_recover_from_confirmation_s
            ),
            (Some(165), Some(105))
        );
        let sent = world.notifier.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].subject,
            "[INFO] us-east-1 platform recovered in 2m45s"
        );
        assert!(
            sent[0]
                .body
                .contains("2m45s from detection, 1m45s from confirmation"),
            "{}",
            sent[0].body
        );
        assert_eq!(
            world.store.lease("us-east-1"),
            None,
            "the region's lease is released"
        );

        let again = world.poll().await.unwrap();
        assert_eq!(
            again.phase,
            Phase::Recovered,
            "a retried poll gets the same answer"
        );
        assert_eq!(
            world.notifier.sent.lock().unwrap().len(),
            1,
            "and sends nothing new"
        );
    }

    #[tokio::test]
    async fn a_retry_after_the_recovered_write_delivers_the_notice_it_lost() {
        let world = world(&[true]).await;
        *world.notifier.failing.lock().unwrap() = true;
        let (_, report) = world.polls_until_done(10).await;
        assert_eq!(report.phase, Phase::Recovered);
        assert!(!report.notified);
        assert_eq!(report.undelivered, 1);
        assert_eq!(
            world.store.lease("us-east-1"),
            None,
            "closed: released even though the notice is not out"
        );

        *world.notifier.failing.lock().unwrap() = false;
        let retry = world.poll().await.unwrap();
        assert_eq!(retry.phase, Phase::Recovered);
        assert!(retry.notified, "{retry:?}");
        assert_eq!(retry.undelivered, 0);
        let sent = world.notifier.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].subject.contains("recovered"), "{}", sent[0].subject);
    }

    #[tokio::test]
    async fn a_flapping_check_does_not_close_the_incident() {
        let world = world(&[true, true, false, true, true, true]).await;
        let (polls, report) = world.polls_until_done(10).await;
        assert_eq!(polls, 6);
        assert_eq!(report.phase, Phase::Recovered);
    }

    #[tokio::test]
    async fn not_recovered_by_the_deadline_escalates() {
        let world = world(&[false]).await;
        let (polls, report) = world.polls_until_done(100).await;
        assert_eq!(polls, 60, "15 minutes of 15 s polls");
        assert!(
            matches!(&report.outcome, Recovery::Failed { reasons } if reasons[0].contains("health check")),
            "{report:?}"
        );
        assert_eq!(report.phase, Phase::Escalated);
        let sent = world.notifier.sent.lock().unwrap().clone();
        assert_eq!(sent[0].severity, Severity::Critical);
        assert!(
            sent[0].body.contains("kubectl rollout status"),
            "{}",
            sent[0].body
        );
    }

    #[tokio::test]
    async fn the_workflow_input_shortens_the_deadline_but_never_stretches_it() {
        for (deadline_seconds, polls_to_escalation) in [(60, 4), (86_400, 60)] {
            let world = world(&[false]).await;
            *world.timing.lock().unwrap() = Some(Timing {
                settle_seconds: 0,
                poll_seconds: 15,
                deadline_seconds,
                approval_seconds: None,
            });
            let (polls, report) = world.polls_until_done(100).await;
            assert_eq!(polls, polls_to_escalation, "deadline {deadline_seconds} s");
            assert_eq!(report.phase, Phase::Escalated);
        }
    }

    #[tokio::test]
    async fn a_failed_rollout_hands_back_to_restore_before_the_deadline() {
        let world = world(&[false]).await;
        let mut crashing = recovered_cluster();
        if let Some(deployment) = crashing.deployment.as_mut() {
            deployment.progress_deadline_exceeded = true;
        }
        *world.platform.diagnosis.lock().unwrap() = crashing;
        let report = world.poll().await.unwrap();
        assert!(
            matches!(&report.outcome, Recovery::RestoreAgain { reasons } if reasons[0].contains("ProgressDeadlineExceeded")),
            "{report:?}"
        );
        assert_eq!(report.phase, Phase::Restoring, "still open");
        assert!(world.notifier.sent.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_offline_derp_peer_becomes_a_warning_at_the_deadline() {
        let world = world(&[true]).await;
        *world.platform.peers.lock().unwrap() = vec![PeerView {
            name: "eu-west-1-peer".into(),
            online: false,
            last_seen: None,
            home_derp_region: None,
        }];
        let (polls, report) = world.polls_until_done(100).await;
        assert_eq!(polls, 60, "it waits for the peer until the deadline");
        assert!(
            matches!(&report.outcome, Recovery::Recovered { warnings } if warnings[0].contains("eu-west-1-peer")),
            "{report:?}"
        );
        assert_eq!(
            world.notifier.sent.lock().unwrap()[0].severity,
            Severity::Warning
        );
    }

    #[tokio::test]
    async fn only_an_incident_being_restored_is_verified() {
        let world = world(&[true]).await;
        let request = VerifyRequest {
            incident_id: "nope".into(),
            timing: None,
        };
        let deps = crate::fakes::context(
            &world.settings,
            &world.health,
            &world.store,
            &world.notifier,
            &world.clock,
            &world.metrics,
        );
        let error = verify_recovery(&deps, &world.platform, &world.platform, &request, "v")
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidEvent(m) if m.contains("\"nope\" does not exist")),
            "{error}"
        );
    }
}
