//! The platform deployment in one region's cluster: read it (runbook step 2)
//! and scale or restart it (step 3), through the Kubernetes API.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use failover_core::config::{PlatformSettings, RegionSettings};
use failover_core::diagnosis::{ClusterReach, DeploymentView, Diagnosis, PodView};
use failover_core::ports::{Peers, Platform};
use failover_core::recovery::PeerView;
use failover_core::{Error, Result, error::RetryPolicy};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::cluster::{Described, EksClusters};
use crate::kube_error::classify;

const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

pub struct KubePlatform {
    clusters: EksClusters,
    platform: PlatformSettings,
}

impl KubePlatform {
    pub fn new(clusters: EksClusters, platform: PlatformSettings) -> Self {
        Self { clusters, platform }
    }

    async fn deployments(&self, region: &RegionSettings) -> Result<Api<Deployment>> {
        match self.clusters.connect(region).await? {
            Described::Active(client) => Ok(Api::namespaced(client, &self.platform.namespace)),
            Described::NotActive(status) => Err(Error::rejected(
                "EKS",
                format!("cluster {} is {status}, not ACTIVE", region.cluster),
            )),
        }
    }
}

/// Retries what may pass (5xx, throttling, timeouts) with a doubling backoff.
async fn retrying<T, F, Fut>(cluster: &str, what: &str, call: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                let error = classify(cluster, what, error);
                if error.retry_policy() == RetryPolicy::Fail || attempt >= ATTEMPTS {
                    return Err(error);
                }
                tracing::warn!(cluster, what, attempt, "{error}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
        }
    }
}

#[async_trait]
impl Platform for KubePlatform {
    async fn diagnose(&self, region: &RegionSettings) -> Result<Diagnosis> {
        let client = match self.clusters.connect(region).await? {
            Described::Active(client) => client,
            Described::NotActive(status) => {
                return Ok(Diagnosis::unreached(ClusterReach::NotActive(status)));
            }
        };
        let cluster = region.cluster.as_str();
        let platform = &self.platform;
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &platform.namespace);
        let deployment = match retrying(cluster, "read the deployment", || {
            deployments.get_opt(&platform.deployment)
        })
        .await
        {
            Ok(deployment) => deployment,
            // The API stayed unavailable after the retries: that is what the region looks like.
            Err(error @ Error::Unavailable { .. }) => {
                return Ok(Diagnosis::unreached(ClusterReach::Unreachable(
                    error.to_string(),
                )));
            }
            Err(error) => return Err(error),
        };
        let pods: Api<Pod> = Api::namespaced(client.clone(), &platform.namespace);
        let selector = ListParams::default().labels(&platform.selector);
        let pods = retrying(cluster, "list the pods", || pods.list(&selector)).await?;
        let nodes: Api<Node> = Api::all(client.clone());
        let all = ListParams::default();
        let nodes = retrying(cluster, "list the nodes", || nodes.list(&all)).await?;
        let ingresses: Api<Ingress> = Api::namespaced(client, &platform.namespace);
        let ingress = retrying(cluster, "read the ingress", || {
            ingresses.get_opt(&platform.deployment)
        })
        .await?;

        let nodes_ready = nodes.items.iter().filter(|n| node_ready(n)).count();
        Ok(Diagnosis {
            cluster: ClusterReach::Reachable,
            deployment: deployment.as_ref().map(deployment_view),
            pods: pods.items.iter().map(pod_view).collect(),
            nodes_ready: count(nodes_ready),
            nodes_not_ready: count(nodes.items.len() - nodes_ready),
            ingress_load_balancers: ingress.map(|i| {
                i.status
                    .and_then(|s| s.load_balancer)
                    .and_then(|lb| lb.ingress)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|e| e.hostname.or(e.ip))
                    .collect()
            }),
        })
    }

    async fn scale(&self, region: &RegionSettings, replicas: u32) -> Result<()> {
        let deployments = self.deployments(region).await?;
        let patch = Patch::Merge(json!({ "spec": { "replicas": replicas } }));
        let params = PatchParams::default();
        retrying(&region.cluster, "scale the deployment", || {
            deployments.patch_scale(&self.platform.deployment, &params, &patch)
        })
        .await?;
        Ok(())
    }

    async fn restart(&self, region: &RegionSettings, restarted_at: &str) -> Result<()> {
        let deployments = self.deployments(region).await?;
        let patch = Patch::Merge(
            json!({ "spec": { "template": { "metadata": { "annotations": { RESTARTED_AT: restarted_at } } } } }),
        );
        let params = PatchParams::default();
        retrying(&region.cluster, "restart the deployment", || {
            deployments.patch(&self.platform.deployment, &params, &patch)
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Peers for KubePlatform {
    async fn peers(&self, region: &RegionSettings) -> Result<Vec<PeerView>> {
        let client = match self.clusters.connect(region).await? {
            Described::Active(client) => client,
            Described::NotActive(status) => {
                return Err(Error::rejected(
                    "EKS",
                    format!("cluster {} is {status}, not ACTIVE", region.cluster),
                ));
            }
        };
        let resource = ApiResource {
            group: "storage.loft.sh".into(),
            version: "v1".into(),
            api_version: "storage.loft.sh/v1".into(),
            kind: "NetworkPeer".into(),
            plural: "networkpeers".into(),
        };
        let peers: Api<DynamicObject> = Api::all_with(client, &resource);
        let all = ListParams::default();
        let list = retrying(&region.cluster, "list the DERP peers", || peers.list(&all)).await?;
        Ok(list.items.iter().map(peer_view).collect())
    }
}

/// `status.online` is omitted when false.
fn peer_view(peer: &DynamicObject) -> PeerView {
    let status = peer.data.get("status");
    let field = |name: &str| status.and_then(|s| s.get(name));
    PeerView {
        name: peer.metadata.name.clone().unwrap_or_default(),
        online: field("online")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        last_seen: field("lastSeen")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| t.parse().ok()),
        home_derp_region: field("homeDerpRegion").and_then(serde_json::Value::as_i64),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn non_negative(n: Option<i32>) -> u32 {
    u32::try_from(n.unwrap_or(0)).unwrap_or(0)
}

fn deployment_view(deployment: &Deployment) -> DeploymentView {
    let spec = deployment.spec.clone().unwrap_or_default();
    let status = deployment.status.clone().unwrap_or_default();
    DeploymentView {
        replicas: non_negative(spec.replicas.or(Some(1))),
        ready: non_negative(status.ready_replicas),
        available: non_negative(status.available_replicas),
        updated: non_negative(status.updated_replicas),
        generation: deployment.metadata.generation.unwrap_or(0),
        observed_generation: status.observed_generation.unwrap_or(0),
        paused: spec.paused.unwrap_or(false),
        progress_deadline_exceeded: status.conditions.unwrap_or_default().iter().any(|c| {
            c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        }),
    }
}

fn pod_view(pod: &Pod) -> PodView {
    let status = pod.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let containers = status.container_statuses.unwrap_or_default();
    PodView {
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase: status.phase.unwrap_or_else(|| "Unknown".into()),
        ready: conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
        waiting_reason: containers.iter().find_map(|c| {
            c.state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
        }),
        restarts: containers
            .iter()
            .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
            .sum(),
        unschedulable: conditions.iter().any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        }),
    }
}

fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}
