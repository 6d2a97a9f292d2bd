//! What was seen in a region's cluster, as plain data (runbook step 2).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum ClusterReach {
    /// EKS says ACTIVE and its Kubernetes API answered.
    Reachable,
    /// EKS reports another status (CREATING, DELETING, FAILED, UPDATING, ...).
    NotActive(String),
    /// The Kubernetes API did not answer or refused us.
    Unreachable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentView {
    pub replicas: u32,
    pub ready: u32,
    pub available: u32,
    pub updated: u32,
    pub generation: i64,
    pub observed_generation: i64,
    pub paused: bool,
    /// The `Progressing` condition says `ProgressDeadlineExceeded`.
    pub progress_deadline_exceeded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodView {
    pub name: String,
    pub phase: String,
    pub ready: bool,
    /// The first waiting reason of its containers (CrashLoopBackOff, ImagePullBackOff, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<String>,
    pub restarts: u32,
    /// The scheduler could not place it.
    pub unschedulable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub cluster: ClusterReach,
    /// `None` when the deployment does not exist (or the cluster could not be read).
    pub deployment: Option<DeploymentView>,
    pub pods: Vec<PodView>,
    pub nodes_ready: u32,
    pub nodes_not_ready: u32,
    /// Load-balancer hostnames of the platform ingress; `None` when the ingress is missing.
    pub ingress_load_balancers: Option<Vec<String>>,
}

const IMAGE_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
];

const CONFIG_REASONS: &[&str] = &["CreateContainerConfigError", "CreateContainerError"];

impl PodView {
    pub fn cannot_pull_image(&self) -> bool {
        self.waiting_reason
            .as_deref()
            .is_some_and(|r| IMAGE_REASONS.contains(&r))
    }

    pub fn config_error(&self) -> bool {
        self.waiting_reason
            .as_deref()
            .is_some_and(|r| CONFIG_REASONS.contains(&r))
    }

    pub fn crash_looping(&self) -> bool {
        self.waiting_reason.as_deref() == Some("CrashLoopBackOff")
    }
}

impl Diagnosis {
    /// A cluster that could not be looked into.
    pub fn unreached(cluster: ClusterReach) -> Self {
        Self {
            cluster,
            deployment: None,
            pods: Vec::new(),
            nodes_ready: 0,
            nodes_not_ready: 0,
            ingress_load_balancers: None,
        }
    }

    /// One line for a notice or a timeline entry.
    pub fn summary(&self) -> String {
        let cluster = match &self.cluster {
            ClusterReach::Reachable => "cluster reachable".to_owned(),
            ClusterReach::NotActive(status) => format!("cluster status {status}"),
            ClusterReach::Unreachable(why) => format!("Kubernetes API unreachable ({why})"),
        };
        let deployment = match &self.deployment {
            None => "deployment missing".to_owned(),
            Some(d) => format!(
                "deployment {}/{} ready, {} updated, {} available{}",
                d.ready,
                d.replicas,
                d.updated,
                d.available,
                if d.paused { ", paused" } else { "" }
            ),
        };
        let waiting: Vec<String> = self
            .pods
            .iter()
            .filter_map(|p| {
                p.waiting_reason
                    .as_ref()
                    .map(|r| format!("{} {r} ({} restarts)", p.name, p.restarts))
            })
            .collect();
        let pods = if waiting.is_empty() {
            format!(
                "{} pods, {} ready",
                self.pods.len(),
                self.pods.iter().filter(|p| p.ready).count()
            )
        } else {
            format!("{} pods: {}", self.pods.len(), waiting.join(", "))
        };
        let ingress = match &self.ingress_load_balancers {
            None => "ingress missing".to_owned(),
            Some(lbs) if lbs.is_empty() => "ingress has no load balancer".to_owned(),
            Some(lbs) => format!("ingress on {}", lbs.join(", ")),
        };
        format!(
            "{cluster}; {deployment}; {pods}; nodes {} ready, {} not ready; {ingress}",
            self.nodes_ready, self.nodes_not_ready
        )
    }
}
