//! The platform deployment in one region's cluster: read it (runbook step 2)
//! and scale or restart it (step 3), through the Kubernetes API.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use failover_core::app::ports::{Peers, Platform};
use failover_core::config::{PlatformSettings, RegionSettings};
use failover_core::model::diagnosis::{ClusterReach, DeploymentView, Diagnosis, PodView};
use failover_core::model::peers::PeerView;
use failover_core::{Error, Result, error::RetryPolicy};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::networking::v1::Ingress;
use kube::Api;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::access::{Request, network_peers};
use crate::cluster::{Connect, Described, EksClusters};
use crate::connections::{Connections, REUSE_FOR};
use crate::kube_error::classify;

const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
pub(crate) const ATTEMPTS: u32 = 3;
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(500);

pub struct KubePlatform {
    pub(crate) connections: Connections,
    pub(crate) platform: PlatformSettings,
}

/// The first step of every look at a region's cluster (a diagnosis, the
/// readiness facts): a fresh connection, then the deployment.
pub(crate) enum Look {
    Reached {
        client: kube::Client,
        kept: Option<u64>,
        /// Boxed: a deployment is kilobytes, an unreached look a few words.
        deployment: Option<Box<Deployment>>,
    },
    /// What the region looks like: nothing more can be read.
    Unreached(ClusterReach),
}

impl KubePlatform {
    pub fn new(clusters: EksClusters, platform: PlatformSettings) -> Self {
        Self::connecting_with(Box::new(clusters), platform)
    }

    pub(crate) fn connecting_with(connector: Box<dyn Connect>, platform: PlatformSettings) -> Self {
        Self {
            connections: Connections::new(connector, REUSE_FOR),
            platform,
        }
    }

    /// The client of the diagnosis just made, or a new one.
    async fn client(&self, region: &RegionSettings) -> Result<(kube::Client, Option<u64>)> {
        let connection = self.connections.reuse(region).await?;
        match connection.described {
            Described::Active(client) => Ok((client, connection.kept)),
            Described::NotActive(status) => Err(Error::rejected(
                "EKS",
                format!("cluster {} is {status}, not ACTIVE", region.cluster),
            )),
        }
    }

    /// Asks EKS afresh, then reads the deployment. An API that stays
    /// unavailable after the retries is an unreachable cluster, not an error.
    pub(crate) async fn look(&self, region: &RegionSettings) -> Result<Look> {
        let connection = self.connections.fresh(region).await?;
        let client = match connection.described {
            Described::Active(client) => client,
            Described::NotActive(status) => {
                return Ok(Look::Unreached(ClusterReach::NotActive(status)));
            }
        };
        let kept = connection.kept;
        let platform = &self.platform;
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &platform.namespace);
        match self
            .retrying(region, kept, Request::ReadDeployment.what(), || {
                deployments.get_opt(&platform.deployment)
            })
            .await
        {
            Ok(deployment) => Ok(Look::Reached {
                client,
                kept,
                deployment: deployment.map(Box::new),
            }),
            Err(error @ Error::Unavailable { .. }) => Ok(Look::Unreached(
                ClusterReach::Unreachable(error.to_string()),
            )),
            Err(error) => Err(error),
        }
    }

    pub(crate) async fn list_peers(
        &self,
        region: &RegionSettings,
        client: kube::Client,
        kept: Option<u64>,
    ) -> Result<Vec<PeerView>> {
        let peers: Api<DynamicObject> = Api::all_with(client, &network_peers());
        let all = ListParams::default();
        let list = self
            .retrying(region, kept, Request::ListPeers.what(), || peers.list(&all))
            .await?;
        Ok(list.items.iter().map(peer_view).collect())
    }

    /// Retries what may pass (5xx, throttling, timeouts) with a doubling
    /// backoff. A 401 also drops the kept connection the client came from:
    /// its token no longer passes, and the next call signs a new one.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        region: &RegionSettings,
        kept: Option<u64>,
        what: &str,
        call: F,
    ) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let cluster = region.cluster.as_str();
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(error) => {
                    if let (kube::Error::Api(status), Some(id)) = (&error, kept)
                        && status.code == 401
                    {
                        self.connections.forget(region, id);
                    }
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
}

#[async_trait]
impl Platform for KubePlatform {
    async fn diagnose(&self, region: &RegionSettings) -> Result<Diagnosis> {
        let (client, kept, deployment) = match self.look(region).await? {
            Look::Reached {
                client,
                kept,
                deployment,
            } => (client, kept, deployment),
            Look::Unreached(reach) => return Ok(Diagnosis::unreached(reach)),
        };
        let platform = &self.platform;
        let pods: Api<Pod> = Api::namespaced(client.clone(), &platform.namespace);
        let selector = ListParams::default().labels(&platform.selector);
        let pods = self
            .retrying(region, kept, Request::ListPods.what(), || {
                pods.list(&selector)
            })
            .await?;
        let nodes: Api<Node> = Api::all(client.clone());
        let all = ListParams::default();
        let nodes = self
            .retrying(region, kept, Request::ListNodes.what(), || nodes.list(&all))
            .await?;
        let ingresses: Api<Ingress> = Api::namespaced(client, &platform.namespace);
        let ingress = self
            .retrying(region, kept, Request::ReadIngress.what(), || {
                ingresses.get_opt(&platform.deployment)
            })
            .await?;

        let nodes_ready = nodes.items.iter().filter(|n| node_ready(n)).count();
        Ok(Diagnosis {
            cluster: ClusterReach::Reachable,
            deployment: deployment.as_deref().map(deployment_view),
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
        let (client, kept) = self.client(region).await?;
        let deployments: Api<Deployment> = Api::namespaced(client, &self.platform.namespace);
        let patch = Patch::Merge(json!({ "spec": { "replicas": replicas } }));
        let params = PatchParams::default();
        self.retrying(region, kept, Request::Scale.what(), || {
            deployments.patch_scale(&self.platform.deployment, &params, &patch)
        })
        .await?;
        Ok(())
    }

    async fn restart(&self, region: &RegionSettings, restarted_at: &str) -> Result<()> {
        let (client, kept) = self.client(region).await?;
        let deployments: Api<Deployment> = Api::namespaced(client, &self.platform.namespace);
        let patch = Patch::Merge(
            json!({ "spec": { "template": { "metadata": { "annotations": { RESTARTED_AT: restarted_at } } } } }),
        );
        let params = PatchParams::default();
        self.retrying(region, kept, Request::Restart.what(), || {
            deployments.patch(&self.platform.deployment, &params, &patch)
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Peers for KubePlatform {
    async fn peers(&self, region: &RegionSettings) -> Result<Vec<PeerView>> {
        let (client, kept) = self.client(region).await?;
        self.list_peers(region, client, kept).await
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

pub(crate) fn deployment_view(deployment: &Deployment) -> DeploymentView {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{
        FakeEks, Seen, api_server, list, platform_settings, region, requests, status,
    };
    use serde_json::Value;

    const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/vcluster-platform/deployments/loft";

    fn platform(eks: &FakeEks) -> KubePlatform {
        KubePlatform::connecting_with(Box::new(eks.clone()), platform_settings())
    }

    fn ok(body: Value) -> (u16, Value) {
        (200, body)
    }

    fn deployment(replicas: i32, ready: i32) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "loft", "namespace": "vcluster-platform", "generation": 4},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "loft"}},
                "template": {"metadata": {"labels": {"app": "loft"}}}
            },
            "status": {
                "observedGeneration": 4,
                "replicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "updatedReplicas": replicas
            }
        })
    }

    fn pod(name: &str, waiting: Option<&str>) -> Value {
        let ready = if waiting.is_none() { "True" } else { "False" };
        let state = match waiting {
            Some(reason) => json!({"waiting": {"reason": reason}}),
            None => json!({"running": {}}),
        };
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": ready}],
                "containerStatuses": [{
                    "name": "manager", "image": "loft", "imageID": "", "ready": waiting.is_none(),
                    "restartCount": 2, "state": state
                }]
            }
        })
    }

    fn node(name: &str, ready: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}
        })
    }

    fn ingress(hostname: &str) -> Value {
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "loft"},
            "status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}
        })
    }

    fn peer(name: &str, online: bool) -> Value {
        let status = if online {
            json!({"online": true, "homeDerpRegion": 900})
        } else {
            json!({"lastSeen": "2026-11-22T09:58:00Z", "homeDerpRegion": 901})
        };
        json!({
            "apiVersion": "storage.loft.sh/v1",
            "kind": "NetworkPeer",
            "metadata": {"name": name},
            "status": status
        })
    }

    /// The four reads of a diagnosis, answered as a healthy region would.
    fn healthy_region() -> Vec<(u16, Value)> {
        vec![
            ok(deployment(3, 3)),
            ok(list(
                "PodList",
                "v1",
                vec![pod("loft-a", None), pod("loft-b", Some("CrashLoopBackOff"))],
            )),
            ok(list(
                "NodeList",
                "v1",
                vec![node("n1", "True"), node("n2", "False")],
            )),
            ok(ingress("loft.elb.amazonaws.com")),
        ]
    }

    fn diagnosis_requests() -> Vec<Seen> {
        vec![
            Seen::get(DEPLOYMENT),
            Seen::get("/api/v1/namespaces/vcluster-platform/pods?&labelSelector=app%3Dloft"),
            Seen::get("/api/v1/nodes?"),
            Seen::get("/apis/networking.k8s.io/v1/namespaces/vcluster-platform/ingresses/loft"),
        ]
    }

    #[tokio::test(start_paused = true)]
    async fn a_diagnosis_reads_the_deployment_pods_nodes_and_ingress() {
        let (client, server) = api_server(healthy_region());
        let eks = FakeEks::connecting([client]);
        let adapter = platform(&eks);

        let diagnosis = adapter.diagnose(&region("us-east-1")).await.unwrap();
        drop(adapter);

        assert_eq!(
            requests(server).await,
            diagnosis_requests(),
            "one read each, in the runbook's order, with the platform's selector"
        );
        assert_eq!(diagnosis.cluster, ClusterReach::Reachable, "reachable");
        assert_eq!(
            diagnosis.deployment.as_ref().map(|d| (d.replicas, d.ready)),
            Some((3, 3)),
            "the deployment as read"
        );
        assert_eq!(
            diagnosis
                .pods
                .iter()
                .map(|p| (p.name.as_str(), p.ready, p.waiting_reason.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("loft-a", true, None),
                ("loft-b", false, Some("CrashLoopBackOff"))
            ],
            "each pod with its waiting reason"
        );
        assert_eq!(
            (diagnosis.nodes_ready, diagnosis.nodes_not_ready),
            (1, 1),
            "nodes counted by their Ready condition"
        );
        assert_eq!(
            diagnosis.ingress_load_balancers,
            Some(vec!["loft.elb.amazonaws.com".to_owned()]),
            "the ingress' load balancer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_deployment_and_ingress_are_read_as_absent() {
        let not_found = |what: &str| {
            (
                404,
                status(404, "NotFound", &format!("{what} \"loft\" not found")),
            )
        };
        let (client, server) = api_server(vec![
            not_found("deployments.apps"),
            ok(list("PodList", "v1", vec![])),
            ok(list("NodeList", "v1", vec![node("n1", "True")])),
            not_found("ingresses.networking.k8s.io"),
        ]);
        let adapter = platform(&FakeEks::connecting([client]));

        let diagnosis = adapter.diagnose(&region("us-east-1")).await.unwrap();
        drop(adapter);

        assert_eq!(
            requests(server).await.len(),
            4,
            "a 404 is an answer, not retried"
        );
        assert_eq!(diagnosis.deployment, None, "no deployment");
        assert_eq!(diagnosis.ingress_load_balancers, None, "no ingress");
        assert_eq!(diagnosis.pods, Vec::<PodView>::new(), "no pods");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_that_is_not_active_is_diagnosed_without_calling_its_api() {
        let eks = FakeEks::answering(["UPDATING"]);
        let adapter = platform(&eks);

        let diagnosis = adapter.diagnose(&region("us-east-1")).await.unwrap();

        assert_eq!(
            diagnosis.cluster,
            ClusterReach::NotActive("UPDATING".into()),
            "EKS' status is the diagnosis"
        );
        let peers = adapter.peers(&region("us-east-1")).await;
        match peers {
            Err(error @ Error::Rejected { .. }) => assert!(
                error
                    .to_string()
                    .contains("cluster platform-us-east-1 is UPDATING, not ACTIVE"),
                "names the cluster and its status: {error}"
            ),
            other => panic!("peers of an inactive cluster are refused, got {other:?}"),
        }
        assert_eq!(
            eks.calls(),
            ["us-east-1"],
            "the peers call after the diagnosis uses its answer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_api_that_stays_unavailable_is_an_unreachable_cluster() {
        let unavailable = || (503, status(503, "ServiceUnavailable", "etcd is down"));
        let (client, server) = api_server(vec![unavailable(), unavailable(), unavailable()]);
        let adapter = platform(&FakeEks::connecting([client]));

        let diagnosis = adapter.diagnose(&region("us-east-1")).await.unwrap();
        drop(adapter);

        assert_eq!(
            requests(server).await,
            vec![Seen::get(DEPLOYMENT); 3],
            "the deployment read is tried three times, and nothing else is read"
        );
        match &diagnosis.cluster {
            ClusterReach::Unreachable(why) => assert!(
                why.contains("platform-us-east-1") && why.contains("503"),
                "names the cluster and the answer: {why}"
            ),
            other => panic!("expected unreachable, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_remedies_send_kubectl_shaped_merge_patches() {
        let (client, server) = api_server(vec![
            ok(json!({
                "apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": "loft"}, "spec": {"replicas": 3}
            })),
            ok(deployment(3, 0)),
        ]);
        let adapter = platform(&FakeEks::connecting([client.clone(), client]));
        let east = region("us-east-1");

        adapter.scale(&east, 3).await.unwrap();
        adapter
            .restart(&east, "2026-11-22T10:00:00Z")
            .await
            .unwrap();
        drop(adapter);

        assert_eq!(
            requests(server).await,
            [
                Seen::merge_patch(
                    &format!("{DEPLOYMENT}/scale?"),
                    json!({"spec": {"replicas": 3}})
                ),
                Seen::merge_patch(
                    &format!("{DEPLOYMENT}?"),
                    json!({"spec": {"template": {"metadata": {"annotations": {
                        "kubectl.kubernetes.io/restartedAt": "2026-11-22T10:00:00Z"
                    }}}}})
                ),
            ],
            "the scale subresource, then the pod template annotation kubectl sets"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn which_answers_are_retried_and_what_they_become() {
        struct Row {
            name: &'static str,
            answers: Vec<(u16, Value)>,
            requests: usize,
            /// `None`: the restart succeeds; else the error's kind.
            kind: Option<&'static str>,
            says: &'static str,
        }
        let answer = |code: u16, reason: &str| (code, status(code, reason, "from the test"));
        let rows = [
            Row {
                name: "a 503 is retried, then succeeds",
                answers: vec![answer(503, "ServiceUnavailable"), ok(deployment(3, 0))],
                requests: 2,
                kind: None,
                says: "",
            },
            Row {
                name: "a 429 is retried, then succeeds",
                answers: vec![answer(429, "TooManyRequests"), ok(deployment(3, 0))],
                requests: 2,
                kind: None,
                says: "",
            },
            Row {
                name: "a 503 then a 429 use the last attempt",
                answers: vec![
                    answer(503, "ServiceUnavailable"),
                    answer(429, "TooManyRequests"),
                    ok(deployment(3, 0)),
                ],
                requests: 3,
                kind: None,
                says: "",
            },
            Row {
                name: "a 500 on every attempt is unavailable after three",
                answers: vec![answer(500, "InternalError"); 3],
                requests: 3,
                kind: Some("UpstreamUnavailable"),
                says: "500 InternalError",
            },
            Row {
                name: "a 403 is not retried",
                answers: vec![answer(403, "Forbidden")],
                requests: 1,
                kind: Some("UpstreamRejected"),
                says: "scripts/grant-eks-access",
            },
            Row {
                name: "a 401 is not retried",
                answers: vec![answer(401, "Unauthorized")],
                requests: 1,
                kind: Some("UpstreamRejected"),
                says: "refused the credentials for restart the deployment",
            },
            Row {
                name: "a 422 is not retried",
                answers: vec![answer(422, "Invalid")],
                requests: 1,
                kind: Some("UpstreamRejected"),
                says: "422 Invalid from the test",
            },
        ];
        for row in rows {
            let (client, server) = api_server(row.answers);
            let adapter = platform(&FakeEks::connecting([client]));

            let restarted = adapter
                .restart(&region("us-east-1"), "2026-11-22T10:00:00Z")
                .await;
            drop(adapter);

            let seen = requests(server).await;
            assert_eq!(seen.len(), row.requests, "{}: requests made", row.name);
            assert!(
                seen.windows(2).all(|w| w[0] == w[1]),
                "{}: every attempt is the same request",
                row.name
            );
            match (restarted, row.kind) {
                (Ok(()), None) => {}
                (Err(error), Some(kind)) => {
                    assert_eq!(error.kind(), kind, "{}: {error}", row.name);
                    assert!(
                        error.to_string().contains("platform-us-east-1")
                            && error.to_string().contains(row.says),
                        "{}: names the cluster and says {:?}: {error}",
                        row.name,
                        row.says
                    );
                }
                (outcome, kind) => panic!("{}: expected {kind:?}, got {outcome:?}", row.name),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_transport_failure_is_retried_like_a_5xx() {
        let (service, handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        let server = tokio::spawn(async move {
            let mut handle = std::pin::pin!(handle);
            let mut attempts = 0;
            while let Some((_, reply)) = handle.next_request().await {
                attempts += 1;
                reply.send_error(std::io::Error::other("connection reset by peer"));
            }
            attempts
        });
        let adapter = platform(&FakeEks::connecting([kube::Client::new(
            service, "default",
        )]));

        let scaled = adapter.scale(&region("us-east-1"), 3).await;
        drop(adapter);

        assert_eq!(server.await.unwrap(), 3, "tried three times");
        match scaled {
            Err(error @ Error::Unavailable { .. }) => assert!(
                error.to_string().contains("connection reset by peer"),
                "says what failed: {error}"
            ),
            other => panic!("a transport failure is unavailable, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn derp_peers_are_listed_cluster_wide() {
        let (client, server) = api_server(vec![ok(list(
            "NetworkPeerList",
            "storage.loft.sh/v1",
            vec![peer("eu-west-1-peer", true), peer("us-east-1-peer", false)],
        ))]);
        let adapter = platform(&FakeEks::connecting([client]));

        let peers = adapter.peers(&region("us-east-1")).await.unwrap();
        drop(adapter);

        assert_eq!(
            requests(server).await,
            [Seen::get("/apis/storage.loft.sh/v1/networkpeers?")],
            "one cluster-scoped list"
        );
        assert_eq!(
            peers
                .iter()
                .map(|p| (p.name.as_str(), p.online, p.home_derp_region))
                .collect::<Vec<_>>(),
            [
                ("eu-west-1-peer", true, Some(900)),
                ("us-east-1-peer", false, Some(901))
            ],
            "online as reported, omitted meaning offline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_verification_poll_reaches_a_region_over_one_connection() {
        let mut answers = healthy_region();
        answers.push(ok(list("NetworkPeerList", "storage.loft.sh/v1", vec![])));
        let (client, server) = api_server(answers);
        let eks = FakeEks::connecting([client]);
        let adapter = platform(&eks);
        let east = region("us-east-1");

        adapter.diagnose(&east).await.unwrap();
        adapter.peers(&east).await.unwrap();
        drop(adapter);

        assert_eq!(
            eks.calls(),
            ["us-east-1"],
            "one DescribeCluster and one token for the diagnosis and the peers"
        );
        let mut expected = diagnosis_requests();
        expected.push(Seen::get("/apis/storage.loft.sh/v1/networkpeers?"));
        assert_eq!(requests(server).await, expected, "all over that connection");
    }

    #[tokio::test(start_paused = true)]
    async fn a_restore_acts_over_its_diagnosis_connection() {
        let mut answers = healthy_region();
        answers.push(ok(deployment(3, 0)));
        let (client, server) = api_server(answers);
        let eks = FakeEks::connecting([client]);
        let adapter = platform(&eks);
        let east = region("us-east-1");

        adapter.diagnose(&east).await.unwrap();
        adapter
            .restart(&east, "2026-11-22T10:00:00Z")
            .await
            .unwrap();
        drop(adapter);

        assert_eq!(eks.calls(), ["us-east-1"], "one DescribeCluster");
        assert_eq!(requests(server).await.len(), 5, "four reads and the patch");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_makes_the_next_call_connect_anew() {
        let (refusing, refused) =
            api_server(vec![(401, status(401, "Unauthorized", "Unauthorized"))]);
        let (fresh, answered) = api_server(vec![ok(list(
            "NetworkPeerList",
            "storage.loft.sh/v1",
            vec![peer("p", true)],
        ))]);
        let eks = FakeEks::connecting([refusing, fresh]);
        let adapter = platform(&eks);
        let east = region("us-east-1");

        let diagnosed = adapter.diagnose(&east).await;
        assert!(
            matches!(diagnosed, Err(Error::Rejected { .. })),
            "a 401 is a refusal: {:?}",
            diagnosed.err()
        );
        let peers = adapter.peers(&east).await.unwrap();
        drop(adapter);

        assert_eq!(
            eks.calls(),
            ["us-east-1", "us-east-1"],
            "the refused connection is not reused"
        );
        assert_eq!(requests(refused).await.len(), 1, "one refused request");
        assert_eq!(
            requests(answered).await.len(),
            1,
            "the peers over the new one"
        );
        assert_eq!(peers.len(), 1, "the peers as listed");
    }

    #[test]
    fn the_adapter_can_be_shared_across_invocations() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<KubePlatform>();
    }
}

#[cfg(test)]
mod view_tests {
    use super::*;
    use serde_json::Value;

    fn from<T: k8s_openapi::serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn deployment_view_cases() {
        let base = DeploymentView {
            replicas: 3,
            ready: 3,
            available: 3,
            updated: 3,
            generation: 2,
            observed_generation: 2,
            paused: false,
            progress_deadline_exceeded: false,
        };
        let healthy = json!({
            "metadata": {"name": "loft", "generation": 2},
            "spec": {"replicas": 3},
            "status": {"observedGeneration": 2, "readyReplicas": 3, "availableReplicas": 3, "updatedReplicas": 3}
        });
        let with = |patch: Value| {
            let mut d = healthy.clone();
            json_patch(&mut d, patch);
            d
        };
        let progressing = |reason: &str| json!({"status": {"conditions": [{"type": "Progressing", "status": "False", "reason": reason}]}});
        let cases = [
            ("a healthy rollout", healthy.clone(), base.clone()),
            (
                "nothing but a name: one replica wanted (the API's default), none seen",
                json!({"metadata": {"name": "loft"}}),
                DeploymentView {
                    replicas: 1,
                    ready: 0,
                    available: 0,
                    updated: 0,
                    generation: 0,
                    observed_generation: 0,
                    ..base.clone()
                },
            ),
            (
                "scaled to zero: the status omits its counts",
                json!({"metadata": {"name": "loft", "generation": 3}, "spec": {"replicas": 0}, "status": {"observedGeneration": 3}}),
                DeploymentView {
                    replicas: 0,
                    ready: 0,
                    available: 0,
                    updated: 0,
                    generation: 3,
                    observed_generation: 3,
                    ..base.clone()
                },
            ),
            (
                "negative counts read as zero",
                with(json!({"spec": {"replicas": -1}, "status": {"readyReplicas": -2}})),
                DeploymentView {
                    replicas: 0,
                    ready: 0,
                    ..base.clone()
                },
            ),
            (
                "a rollout not yet observed",
                with(json!({"metadata": {"generation": 5}, "status": {"updatedReplicas": 1}})),
                DeploymentView {
                    generation: 5,
                    updated: 1,
                    ..base.clone()
                },
            ),
            (
                "paused",
                with(json!({"spec": {"paused": true}})),
                DeploymentView {
                    paused: true,
                    ..base.clone()
                },
            ),
            (
                "Progressing says ProgressDeadlineExceeded",
                with(progressing("ProgressDeadlineExceeded")),
                DeploymentView {
                    progress_deadline_exceeded: true,
                    ..base.clone()
                },
            ),
            (
                "Progressing with another reason is still progressing",
                with(progressing("ReplicaSetUpdated")),
                base.clone(),
            ),
            (
                "the reason on another condition does not count",
                with(
                    json!({"status": {"conditions": [{"type": "Available", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}),
                ),
                base.clone(),
            ),
        ];
        for (name, deployment, expected) in cases {
            assert_eq!(deployment_view(&from(deployment)), expected, "{name}");
        }
    }

    #[test]
    fn pod_view_cases() {
        let base = PodView {
            name: "loft-a".into(),
            phase: "Running".into(),
            ready: true,
            waiting_reason: None,
            restarts: 0,
            unschedulable: false,
        };
        let container = |restarts: i32, state: Value| json!({"name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": restarts, "state": state});
        let pod = |status: Value| json!({"metadata": {"name": "loft-a"}, "status": status});
        let ready = json!([{"type": "Ready", "status": "True"}]);
        let cases = [
            (
                "running and ready",
                pod(json!({"phase": "Running", "conditions": ready})),
                base.clone(),
            ),
            (
                "no status yet: phase Unknown, not ready",
                json!({"metadata": {"name": "loft-a"}}),
                PodView {
                    phase: "Unknown".into(),
                    ready: false,
                    ..base.clone()
                },
            ),
            (
                "no name",
                json!({"metadata": {}, "status": {"phase": "Running", "conditions": ready}}),
                PodView {
                    name: String::new(),
                    ..base.clone()
                },
            ),
            (
                "Ready False is not ready",
                pod(
                    json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}),
                ),
                PodView {
                    ready: false,
                    ..base.clone()
                },
            ),
            (
                "another condition True is not ready",
                pod(
                    json!({"phase": "Running", "conditions": [{"type": "ContainersReady", "status": "True"}]}),
                ),
                PodView {
                    ready: false,
                    ..base.clone()
                },
            ),
            (
                "crash-looping: the waiting reason and the restarts",
                pod(json!({"phase": "Running", "containerStatuses": [
                    container(7, json!({"waiting": {"reason": "CrashLoopBackOff"}}))
                ]})),
                PodView {
                    ready: false,
                    waiting_reason: Some("CrashLoopBackOff".into()),
                    restarts: 7,
                    ..base.clone()
                },
            ),
            (
                "the first waiting container names the reason; restarts add up",
                pod(json!({"phase": "Pending", "containerStatuses": [
                    container(1, json!({"running": {}})),
                    container(2, json!({"waiting": {"reason": "ImagePullBackOff"}})),
                    container(3, json!({"waiting": {"reason": "CrashLoopBackOff"}}))
                ]})),
                PodView {
                    phase: "Pending".into(),
                    ready: false,
                    waiting_reason: Some("ImagePullBackOff".into()),
                    restarts: 6,
                    ..base.clone()
                },
            ),
            (
                "a waiting container without a reason names none",
                pod(
                    json!({"phase": "Pending", "containerStatuses": [container(0, json!({"waiting": {}}))]}),
                ),
                PodView {
                    phase: "Pending".into(),
                    ready: false,
                    ..base.clone()
                },
            ),
            (
                "a negative restart count reads as zero",
                pod(
                    json!({"phase": "Running", "conditions": ready, "containerStatuses": [container(-1, json!({"running": {}}))]}),
                ),
                base.clone(),
            ),
            (
                "the scheduler could not place it",
                pod(json!({"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
                ]})),
                PodView {
                    phase: "Pending".into(),
                    ready: false,
                    unschedulable: true,
                    ..base.clone()
                },
            ),
            (
                "not scheduled for another reason is not unschedulable",
                pod(json!({"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "SchedulerError"}
                ]})),
                PodView {
                    phase: "Pending".into(),
                    ready: false,
                    ..base.clone()
                },
            ),
        ];
        for (name, pod, expected) in cases {
            assert_eq!(pod_view(&from(pod)), expected, "{name}");
        }
    }

    #[test]
    fn node_ready_cases() {
        let node = |conditions: Value| json!({"metadata": {"name": "n"}, "status": {"conditions": conditions}});
        let cases = [
            (
                "Ready True",
                node(json!([{"type": "Ready", "status": "True"}])),
                true,
            ),
            (
                "Ready True among others",
                node(json!([
                    {"type": "MemoryPressure", "status": "False"},
                    {"type": "Ready", "status": "True"}
                ])),
                true,
            ),
            (
                "Ready False",
                node(json!([{"type": "Ready", "status": "False"}])),
                false,
            ),
            (
                "Ready Unknown (the kubelet stopped reporting)",
                node(json!([{"type": "Ready", "status": "Unknown"}])),
                false,
            ),
            (
                "only another condition True",
                node(json!([{"type": "DiskPressure", "status": "True"}])),
                false,
            ),
            ("no conditions", node(json!([])), false),
            ("no status", json!({"metadata": {"name": "n"}}), false),
        ];
        for (name, node, expected) in cases {
            assert_eq!(node_ready(&from(node)), expected, "{name}");
        }
    }

    #[test]
    fn peer_view_cases() {
        let peer = |status: Value| json!({"apiVersion": "storage.loft.sh/v1", "kind": "NetworkPeer", "metadata": {"name": "p"}, "status": status});
        let seen = "2026-11-22T09:58:00Z".parse().ok();
        let base = PeerView {
            name: "p".into(),
            online: true,
            last_seen: None,
            home_derp_region: Some(900),
        };
        let cases = [
            (
                "online",
                peer(json!({"online": true, "homeDerpRegion": 900})),
                base.clone(),
            ),
            (
                "online omitted means offline",
                peer(json!({"lastSeen": "2026-11-22T09:58:00Z", "homeDerpRegion": 900})),
                PeerView {
                    online: false,
                    last_seen: seen,
                    ..base.clone()
                },
            ),
            (
                "online false",
                peer(json!({"online": false, "homeDerpRegion": 900})),
                PeerView {
                    online: false,
                    ..base.clone()
                },
            ),
            (
                "online as a string is not a boolean: offline",
                peer(json!({"online": "true", "homeDerpRegion": 900})),
                PeerView {
                    online: false,
                    ..base.clone()
                },
            ),
            (
                "a lastSeen that is no time is dropped",
                peer(json!({"online": true, "lastSeen": "yesterday", "homeDerpRegion": 900})),
                base.clone(),
            ),
            (
                "no status at all",
                json!({"apiVersion": "storage.loft.sh/v1", "kind": "NetworkPeer", "metadata": {"name": "p"}}),
                PeerView {
                    online: false,
                    home_derp_region: None,
                    ..base.clone()
                },
            ),
            (
                "no name",
                json!({"apiVersion": "storage.loft.sh/v1", "kind": "NetworkPeer", "metadata": {}, "status": {"online": true, "homeDerpRegion": 900}}),
                PeerView {
                    name: String::new(),
                    ..base.clone()
                },
            ),
        ];
        for (name, peer, expected) in cases {
            assert_eq!(peer_view(&from(peer)), expected, "{name}");
        }
    }

    /// Merges `patch` into `target` (JSON merge patch, objects only).
    fn json_patch(target: &mut Value, patch: Value) {
        match (target, patch) {
            (Value::Object(target), Value::Object(patch)) => {
                for (key, value) in patch {
                    json_patch(target.entry(key).or_insert(Value::Null), value);
                }
            }
            (target, patch) => *target = patch,
        }
    }
}
