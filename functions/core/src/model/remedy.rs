//! What can be wrong with a region's platform, and what can be done about it.

use serde::{Deserialize, Serialize};

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
    /// A person took the incident over by hand (`failoverctl escalate` or
    /// `failoverctl release`), with the reason on its timeline.
    ByOperator,
    /// A person rejected the remedy awaiting approval (the reason is on the timeline).
    ApprovalRejected,
    /// No approval of the remedy within the approval timeout.
    NoApproval,
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
            Self::ByOperator => {
                "A person took this incident over by hand with failoverctl (the reason is on its timeline): the orchestrator does nothing more for it; continue the runbook by hand from what its timeline shows, and run `failoverctl reconcile` once the region is back."
            }
            Self::ApprovalRejected => {
                "The remedy was rejected (the reason is on the incident's timeline): nothing was changed in the region; continue the runbook by hand, and run `failoverctl reconcile` once the region is back."
            }
            Self::NoApproval => {
                "Nobody approved the remedy in time, so nothing was changed: decide by hand from the incident's diagnosis (`failoverctl show ID`), and check that approval notices reach the people who approve."
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

impl Remedy {
    /// Its name, as its serde tag spells it.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Scale { .. } => "scale",
            Self::RolloutRestart => "rollout_restart",
            Self::Escalate { .. } => "escalate",
        }
    }
}
