//! Which remedy could help, and may it be applied now? (runbook step 3)

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::diagnosis::{ClusterReach, Diagnosis};

/// Why a person must act: a restart cannot help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    ClusterNotActive,
    ApiUnreachable,
    DeploymentMissing,
    DeploymentPaused,
    NoReadyNode,
    ImageCannotBePulled,
    ContainerConfigError,
    PodsUnschedulable,
    /// The platform looks healthy yet Route 53 still says it is not.
    PodsHealthyButCheckFailing,
    RestartBudgetSpent,
    /// Verification reached its deadline with the region still not back.
    NotRecoveredInTime,
    /// A step of the recovery workflow failed past its retries.
    WorkflowFailed,
    /// The recovery workflow ended (stopped, timed out, failed outside its
    /// catch) or never ran, and left the incident open.
    WorkflowStopped,
    /// Every region's health check failed at once: the cause is likely shared.
    AllRegionsDown,
    /// Route 53 gave no fresh observation of the region.
    HealthInconclusive,
}

impl Cause {
    /// The runbook step a person takes next.
    pub fn next_step(self) -> &'static str {
        match self {
            Self::ClusterNotActive | Self::ApiUnreachable => {
                "Restore the EKS cluster (or create a replacement), then redeploy the platform with the region's values file (runbook step 3)."
            }
            Self::DeploymentMissing => {
                "Re-apply the region's values file with `vcluster platform start --upgrade` or `helm upgrade loft vcluster-platform --install`, then scale to the wanted replicas (runbook step 3)."
            }
            Self::DeploymentPaused => {
                "The deployment is paused on purpose or by mistake: resume it with `kubectl rollout resume deployment/loft` once it is safe."
            }
            Self::NoReadyNode => {
                "No node is Ready: check `kubectl get nodes` and the node group in the EKS console (runbook step 2, node failures)."
            }
            Self::ImageCannotBePulled => {
                "The platform image cannot be pulled: fix the image reference or registry access in the values file and re-apply it."
            }
            Self::ContainerConfigError => {
                "A container cannot be configured (missing Secret or ConfigMap): restore it, then restart the deployment."
            }
            Self::PodsUnschedulable => {
                "Pods cannot be scheduled: check node capacity, taints and the node group size."
            }
            Self::PodsHealthyButCheckFailing => {
                "Pods are ready, so a restart would not help: check the ALB target group health, the ingress, and VPC peering, routes and the database security group (runbook step 2, ALB and network partition)."
            }
            Self::NotRecoveredInTime => {
                "The region did not recover in time after the remedy: check the rollout (`kubectl rollout status deployment/loft`), the pod logs, and the Route 53 health check (runbook steps 4 and 5)."
            }
            Self::WorkflowFailed => {
                "The recovery workflow stopped on an error its retries did not get past: open its execution (named after the incident) in the Step Functions console, fix what the failed step reports, then continue the runbook by hand."
            }
            Self::WorkflowStopped => {
                "The recovery workflow ended without closing the incident (stopped by a person, timed out, or failed where it could not catch the error): check the region's platform and the execution named after the incident in the Step Functions console, then continue the runbook by hand."
            }
            Self::AllRegionsDown => {
                "Every region failed at once, so the cause is likely shared: check the database, the network between regions, and the Route 53 checkers before restarting anything."
            }
            Self::HealthInconclusive => {
                "Route 53 gave no fresh observation of the region: check the health check in the Route 53 console and the region's endpoint by hand."
            }
            Self::RestartBudgetSpent => {
                "Restarts did not bring the platform back: read the pod logs (`kubectl logs -l app=loft --tail=50`), look for database connectivity or resource exhaustion, and fix the cause."
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "remedy")]
pub enum Remedy {
    /// Scale the deployment to the wanted replicas through the `scale` subresource.
    Scale {
        replicas: u32,
    },
    /// `kubectl rollout restart`: a new `restartedAt` annotation on the pod template.
    RolloutRestart,
    Escalate {
        cause: Cause,
    },
}

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

/// Limits on what the orchestrator may do on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrails {
    pub restarts_per_incident: u32,
    pub restarts_per_window: u32,
    pub window: Duration,
    /// Minimum time between two actions on one region.
    pub cooldown: Duration,
}

/// What was already done, from the incident and the region's recent incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub actions_this_incident: u32,
    /// Actions in this region within the guardrail window, this incident's included.
    pub actions_in_window: u32,
    pub last_action_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Gate {
    /// Apply the remedy.
    Act {
        remedy: Remedy,
    },
    /// Dry run: report the remedy, change nothing.
    Report {
        remedy: Remedy,
    },
    /// Too soon after the last action: try again later.
    Wait {
        seconds: u64,
    },
    /// The latest health reading says the region is healthy: never act.
    Skip,
    Escalate {
        cause: Cause,
    },
}

pub fn gate(
    remedy: Remedy,
    history: &History,
    guardrails: &Guardrails,
    region_healthy: bool,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Gate {
    if region_healthy {
        return Gate::Skip;
    }
    let cooling = history.last_action_at.and_then(|last| {
        let since = now.signed_duration_since(last).to_std().unwrap_or_default();
        (since < guardrails.cooldown).then(|| (guardrails.cooldown - since).as_secs().max(1))
    });
    let acting = match (remedy, cooling) {
        // Right after an action, ready pods with a failing check mean Route 53
        // has not caught up yet (it needs about 30 s), not a network fault.
        (
            Remedy::Escalate {
                cause: Cause::PodsHealthyButCheckFailing,
            },
            Some(seconds),
        ) => return Gate::Wait { seconds },
        (Remedy::Escalate { cause }, _) => return Gate::Escalate { cause },
        (acting, _) => acting,
    };
    if dry_run {
        return Gate::Report { remedy: acting };
    }
    if history.actions_this_incident >= guardrails.restarts_per_incident
        || history.actions_in_window >= guardrails.restarts_per_window
    {
        return Gate::Escalate {
            cause: Cause::RestartBudgetSpent,
        };
    }
    if let Some(last) = history.last_action_at {
        let since = now.signed_duration_since(last).to_std().unwrap_or_default();
        if since < guardrails.cooldown {
            return Gate::Wait {
                seconds: (guardrails.cooldown - since).as_secs().max(1),
            };
        }
    }
    Gate::Act { remedy: acting }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnosis::{DeploymentView, PodView};

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
                Gate::Wait { seconds: 40 },
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
