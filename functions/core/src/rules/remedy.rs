//! Which remedy could help, and may it be applied now? (runbook step 3)

use crate::model::diagnosis::{ClusterReach, Diagnosis};
use crate::model::remedy::{Cause, Remedy};

/// The runbook, as a decision over what was seen.
pub fn choose(diagnosis: &Diagnosis, wanted_replicas: u32) -> Remedy {
    let escalate = |cause| Remedy::Escalate { cause };
    match &diagnosis.cluster {
        ClusterReach::NotActive(_) => return escalate(Cause::ClusterNotActive),
        ClusterReach::Unreachable(_) => return escalate(Cause::ApiUnreachable),
        ClusterReach::Reachable => {}
    }
    let Some(deployment) = &diagnosis.deployment else {
        return escalate(Cause::DeploymentMissing);
    };
    if deployment.paused {
        return escalate(Cause::DeploymentPaused);
    }
    if diagnosis.nodes_ready == 0 {
        return escalate(Cause::NoReadyNode);
    }
    if diagnosis.pods.iter().any(|p| p.cannot_pull_image()) {
        return escalate(Cause::ImageCannotBePulled);
    }
    if diagnosis.pods.iter().any(|p| p.config_error()) {
        return escalate(Cause::ContainerConfigError);
    }
    if deployment.replicas < wanted_replicas {
        return Remedy::Scale {
            replicas: wanted_replicas,
        };
    }
    if diagnosis.pods.iter().any(|p| p.unschedulable) {
        return escalate(Cause::PodsUnschedulable);
    }
    let all_ready = !diagnosis.pods.is_empty()
        && diagnosis.pods.iter().all(|p| p.ready)
        && deployment.ready >= wanted_replicas;
    if all_ready && !deployment.progress_deadline_exceeded {
        return escalate(Cause::PodsHealthyButCheckFailing);
    }
    Remedy::RolloutRestart
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Guardrails;
    use crate::model::diagnosis::{DeploymentView, PodView};
    use crate::rules::guardrails::{Gate, History, WaitReason, gate};
    use chrono::{DateTime, Utc};
    use std::time::Duration;

    fn pod(ready: bool, waiting: Option<&str>, unschedulable: bool) -> PodView {
        PodView {
            name: "loft-abc".into(),
            phase: if ready { "Running" } else { "Pending" }.into(),
            ready,
            waiting_reason: waiting.map(Into::into),
            restarts: if waiting == Some("CrashLoopBackOff") {
                7
            } else {
                0
            },
            unschedulable,
        }
    }

    fn healthy() -> Diagnosis {
        Diagnosis {
            cluster: ClusterReach::Reachable,
            deployment: Some(DeploymentView {
                replicas: 3,
                ready: 3,
                available: 3,
                updated: 3,
                generation: 4,
                observed_generation: 4,
                paused: false,
                progress_deadline_exceeded: false,
            }),
            pods: vec![pod(true, None, false); 3],
            nodes_ready: 3,
            nodes_not_ready: 0,
            ingress_load_balancers: Some(vec!["k8s-lb.us-east-1.elb.amazonaws.com".into()]),
        }
    }

    fn with(change: impl FnOnce(&mut Diagnosis)) -> Diagnosis {
        let mut d = healthy();
        change(&mut d);
        d
    }

    fn deployment(d: &mut Diagnosis) -> &mut DeploymentView {
        d.deployment.as_mut().unwrap()
    }

    #[test]
    fn the_runbook_as_a_table() {
        use Cause::*;
        let escalate = |cause| Remedy::Escalate { cause };
        let table: Vec<(&str, Diagnosis, Remedy)> = vec![
            (
                "scaled to zero",
                with(|d| {
                    deployment(d).replicas = 0;
                    deployment(d).ready = 0;
                    d.pods.clear();
                }),
                Remedy::Scale { replicas: 3 },
            ),
            (
                "scaled below wanted",
                with(|d| {
                    deployment(d).replicas = 1;
                    d.pods.truncate(1);
                }),
                Remedy::Scale { replicas: 3 },
            ),
            (
                "crash looping",
                with(|d| {
                    deployment(d).ready = 0;
                    d.pods = vec![pod(false, Some("CrashLoopBackOff"), false); 3];
                }),
                Remedy::RolloutRestart,
            ),
            (
                "not ready",
                with(|d| {
                    deployment(d).ready = 1;
                    d.pods[0].ready = false;
                }),
                Remedy::RolloutRestart,
            ),
            (
                "rollout stuck",
                with(|d| deployment(d).progress_deadline_exceeded = true),
                Remedy::RolloutRestart,
            ),
            (
                "no pods but replicas wanted",
                with(|d| d.pods.clear()),
                Remedy::RolloutRestart,
            ),
            (
                "cluster not active",
                with(|d| d.cluster = ClusterReach::NotActive("FAILED".into())),
                escalate(ClusterNotActive),
            ),
            (
                "api unreachable",
                with(|d| d.cluster = ClusterReach::Unreachable("timeout".into())),
                escalate(ApiUnreachable),
            ),
            (
                "deployment missing",
                with(|d| d.deployment = None),
                escalate(DeploymentMissing),
            ),
            (
                "paused",
                with(|d| {
                    deployment(d).paused = true;
                    deployment(d).replicas = 0;
                }),
                escalate(DeploymentPaused),
            ),
            (
                "no ready node",
                with(|d| {
                    d.nodes_ready = 0;
                    d.nodes_not_ready = 3;
                }),
                escalate(NoReadyNode),
            ),
            (
                "image pull",
                with(|d| d.pods[1] = pod(false, Some("ImagePullBackOff"), false)),
                escalate(ImageCannotBePulled),
            ),
            (
                "err image pull",
                with(|d| d.pods[0] = pod(false, Some("ErrImagePull"), false)),
                escalate(ImageCannotBePulled),
            ),
            (
                "config error",
                with(|d| d.pods[0] = pod(false, Some("CreateContainerConfigError"), false)),
                escalate(ContainerConfigError),
            ),
            (
                "unschedulable",
                with(|d| d.pods[2] = pod(false, None, true)),
                escalate(PodsUnschedulable),
            ),
            (
                "healthy pods, failing check",
                healthy(),
                escalate(PodsHealthyButCheckFailing),
            ),
        ];
        for (name, diagnosis, expected) in table {
            assert_eq!(
                choose(&diagnosis, 3),
                expected,
                "{name}: {}",
                diagnosis.summary()
            );
        }
    }

    #[test]
    fn guardrails() {
        let now: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        let rails = Guardrails {
            restarts_per_incident: 2,
            restarts_per_window: 3,
            window: Duration::from_secs(3600),
            cooldown: Duration::from_secs(60),
            spread: Duration::from_secs(30),
        };
        let restart = Remedy::RolloutRestart;

        let minutes_ago = |m: i64| Some(now - chrono::Duration::minutes(m));
        let history = |this: u32, window: u32, last: Option<DateTime<Utc>>| History {
            actions_this_incident: this,
            actions_in_window: window,
            last_action_at: last,
        };
        let table = [
            (
                "first restart",
                restart,
                history(0, 0, None),
                false,
                false,
                Gate::Act { remedy: restart },
            ),
            (
                "second restart after cooldown",
                restart,
                history(1, 1, minutes_ago(5)),
                false,
                false,
                Gate::Act { remedy: restart },
            ),
            (
                "third restart: budget spent",
                restart,
                history(2, 2, minutes_ago(5)),
                false,
                false,
                Gate::Escalate {
                    cause: Cause::RestartBudgetSpent,
                },
            ),
            (
                "region budget spent",
                restart,
                history(0, 3, minutes_ago(30)),
                false,
                false,
                Gate::Escalate {
                    cause: Cause::RestartBudgetSpent,
                },
            ),
            (
                "cooldown",
                restart,
                history(1, 1, Some(now - chrono::Duration::seconds(20))),
                false,
                false,
                Gate::Wait {
                    seconds: 40,
                    because: WaitReason::Cooldown,
                },
            ),
            (
                "dry run reports",
                restart,
                history(5, 5, None),
                false,
                true,
                Gate::Report { remedy: restart },
            ),
            (
                "healthy region: never act",
                restart,
                history(0, 0, None),
                true,
                false,
                Gate::Skip,
            ),
            (
                "healthy region, even to escalate",
                Remedy::Escalate {
                    cause: Cause::DeploymentMissing,
                },
                history(0, 0, None),
                true,
                false,
                Gate::Skip,
            ),
            (
                "escalation passes through",
                Remedy::Escalate {
                    cause: Cause::NoReadyNode,
                },
                history(0, 0, None),
                false,
                false,
                Gate::Escalate {
                    cause: Cause::NoReadyNode,
                },
            ),
            (
                "scale counts like a restart",
                Remedy::Scale { replicas: 3 },
                history(2, 2, None),
                false,
                false,
                Gate::Escalate {
                    cause: Cause::RestartBudgetSpent,
                },
            ),
        ];
        for (name, remedy, history, healthy, dry_run, expected) in table {
            assert_eq!(
                gate(remedy, &history, &rails, healthy, dry_run, now),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn every_cause_names_a_next_step() {
        use Cause::*;
        for cause in [
            ClusterNotActive,
            ApiUnreachable,
            DeploymentMissing,
            DeploymentPaused,
            NoReadyNode,
            ImageCannotBePulled,
            ContainerConfigError,
            PodsUnschedulable,
            PodsHealthyButCheckFailing,
            RestartBudgetSpent,
            NotRecoveredInTime,
            WorkflowFailed,
        ] {
            assert!(cause.next_step().len() > 40, "{cause:?}");
        }
        assert!(DeploymentMissing.next_step().contains("helm upgrade"));
        assert!(PodsHealthyButCheckFailing.next_step().contains("ALB"));
    }

    #[test]
    fn diagnosis_summary_reads_well() {
        let d = with(|d| {
            deployment(d).ready = 0;
            d.pods = vec![pod(false, Some("CrashLoopBackOff"), false)];
        });
        assert_eq!(
            d.summary(),
            "cluster reachable; deployment 0/3 ready, 3 updated, 3 available; 1 pods: loft-abc CrashLoopBackOff (7 restarts); nodes 3 ready, 0 not ready; ingress on k8s-lb.us-east-1.elb.amazonaws.com"
        );
    }
}
