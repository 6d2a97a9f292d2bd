//! What the readiness evaluation and the functions' probes read of a
//! region's cluster: its facts over the same look a diagnosis takes, and
//! the function's own permissions, proven by `SelfSubjectAccessReview`.

use async_trait::async_trait;
use failover_core::app::ports::{AccessReviews, StandbyClusters};
use failover_core::config::RegionSettings;
use failover_core::model::diagnosis::ClusterReach;
use failover_core::model::readiness::{
    Access, AccessAnswer, ClusterFacts, ContainerImage, RegionAccess,
};
use failover_core::{Error, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::apimachinery::pkg::version::Info;
use kube::Api;
use kube::api::PostParams;

use crate::cluster::Described;
use crate::platform::{KubePlatform, Look, deployment_view};

/// Why a region's reviews could not be made.
enum Unasked {
    /// `DescribeCluster`, or building the client from its answer.
    Connect(Error),
    /// The API could not be asked.
    Review(String),
}

#[async_trait]
impl StandbyClusters for KubePlatform {
    async fn facts(&self, region: &RegionSettings) -> Result<ClusterFacts> {
        let (client, kept, deployment) = match self.look(region).await? {
            Look::Reached {
                client,
                kept,
                deployment,
            } => (client, kept, deployment),
            Look::Unreached(reach) => {
                return Ok(ClusterFacts {
                    reach,
                    kubernetes_version: None,
                    replicas: None,
                    images: Vec::new(),
                    peers: None,
                });
            }
        };
        // The cluster answered: a later read that fails leaves its fact
        // unknown rather than hiding the ones that were read.
        let cluster = region.cluster.as_str();
        let kubernetes_version = match self
            .retrying(region, kept, "read the Kubernetes version", || {
                client.apiserver_version()
            })
            .await
        {
            Ok(info) => minor_version(&info),
            Err(error) => {
                tracing::warn!(cluster, "{error}");
                None
            }
        };
        let peers = match self.list_peers(region, client, kept).await {
            Ok(peers) => Some(peers),
            Err(error) => {
                tracing::warn!(cluster, "{error}");
                None
            }
        };
        Ok(ClusterFacts {
            reach: ClusterReach::Reachable,
            kubernetes_version,
            replicas: deployment
                .as_deref()
                .map(deployment_view)
                .map(|d| (d.replicas, d.ready)),
            images: deployment.as_deref().map(images).unwrap_or_default(),
            peers,
        })
    }
}

#[async_trait]
impl AccessReviews for KubePlatform {
    async fn review(&self, region: &RegionSettings, wanted: &[Access]) -> RegionAccess {
        let mut answer = RegionAccess {
            region: region.name.clone(),
            describe_error: None,
            answers: Vec::new(),
            review_error: None,
        };
        match self.reviews(region, wanted).await {
            Ok(answers) => answer.answers = answers,
            // The errors' words name the cluster, the call and the answer;
            // a token or a credential is never among them.
            Err(Unasked::Connect(error)) => answer.describe_error = Some(error.to_string()),
            Err(Unasked::Review(why)) => answer.review_error = Some(why),
        }
        answer
    }
}

impl KubePlatform {
    /// Every review over one connection; one that cannot be made leaves
    /// none answered, so that a partial list is never read as the whole.
    async fn reviews(
        &self,
        region: &RegionSettings,
        wanted: &[Access],
    ) -> Result<Vec<AccessAnswer>, Unasked> {
        let connection = self
            .connections
            .reuse(region)
            .await
            .map_err(Unasked::Connect)?;
        let client = match connection.described {
            Described::Active(client) => client,
            Described::NotActive(status) => {
                return Err(Unasked::Review(format!(
                    "cluster {} is {status}, not ACTIVE: its API cannot be asked",
                    region.cluster
                )));
            }
        };
        let reviews: Api<SelfSubjectAccessReview> = Api::all(client);
        let params = PostParams::default();
        let mut answers = Vec::with_capacity(wanted.len());
        for access in wanted {
            let asked = self_review(access);
            // A review changes nothing, so its retries are as safe as a read's.
            let reviewed = self
                .retrying(
                    region,
                    connection.kept,
                    &format!("ask whether it may {access}"),
                    || reviews.create(&params, &asked),
                )
                .await
                .map_err(|error| Unasked::Review(error.to_string()))?;
            answers.push(access_answer(access, reviewed));
        }
        Ok(answers)
    }
}

fn self_review(access: &Access) -> SelfSubjectAccessReview {
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(access.verb.clone()),
                // Omitted for the core group, as kubectl sends it.
                group: (!access.group.is_empty()).then(|| access.group.clone()),
                resource: Some(access.resource.clone()),
                subresource: access.subresource.clone(),
                namespace: access.namespace.clone(),
                name: access.name.clone(),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    }
}

fn access_answer(access: &Access, reviewed: SelfSubjectAccessReview) -> AccessAnswer {
    let status = reviewed.status.unwrap_or_default();
    let reason = status.reason.unwrap_or_default();
    // RBAC may still decide with a role missing; the reader should know it was.
    let reason = match status.evaluation_error.filter(|e| !e.is_empty()) {
        None => reason,
        Some(error) if reason.is_empty() => format!("evaluation error: {error}"),
        Some(error) => format!("{reason}; evaluation error: {error}"),
    };
    AccessAnswer {
        access: access.clone(),
        allowed: status.allowed,
        reason,
    }
}

/// `major.minor`, comparable across regions: EKS answers minors like `31+`,
/// and a server that leaves them empty still names them in `gitVersion`
/// (`v1.31.4-eks-1234567`).
fn minor_version(info: &Info) -> Option<String> {
    let number = |s: &str| {
        let s = s.trim().trim_end_matches('+');
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_owned())
    };
    if let (Some(major), Some(minor)) = (number(&info.major), number(&info.minor)) {
        return Some(format!("{major}.{minor}"));
    }
    let mut parts = info.git_version.trim().trim_start_matches('v').split('.');
    let major = number(parts.next()?)?;
    let minor = number(parts.next()?)?;
    Some(format!("{major}.{minor}"))
}

/// The pod template's containers, in its order.
fn images(deployment: &Deployment) -> Vec<ContainerImage> {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .map(|pod| {
            pod.containers
                .iter()
                .map(|c| ContainerImage {
                    container: c.name.clone(),
                    image: c.image.clone().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::ClusterFunction;
    use crate::testing::{
        FakeEks, Seen, api_server, list, platform_settings, region, requests, status,
    };
    use failover_core::model::peers::PeerView;
    use serde_json::{Value, json};

    const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/vcluster-platform/deployments/loft";
    const PEERS: &str = "/apis/storage.loft.sh/v1/networkpeers?";
    const REVIEWS: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews?";

    fn inspection(eks: &FakeEks) -> KubePlatform {
        KubePlatform::connecting_with(Box::new(eks.clone()), platform_settings())
    }

    fn deployment(replicas: i32, ready: i32) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "loft", "namespace": "vcluster-platform", "generation": 2},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "loft"}},
                "template": {
                    "metadata": {"labels": {"app": "loft"}},
                    "spec": {"containers": [
                        {"name": "manager", "image": "ghcr.io/loft-sh/vcluster-platform:4.3.1"},
                        {"name": "agent", "image": "ghcr.io/loft-sh/agent@sha256:0123"}
                    ]}
                }
            },
            "status": {"observedGeneration": 2, "replicas": replicas, "readyReplicas": ready}
        })
    }

    fn version(major: &str, minor: &str, git_version: &str) -> Value {
        json!({
            "major": major, "minor": minor, "gitVersion": git_version,
            "gitCommit": "abc", "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64"
        })
    }

    fn peers(items: Vec<Value>) -> Value {
        list("NetworkPeerList", "storage.loft.sh/v1", items)
    }

    fn peer(name: &str, online: bool) -> Value {
        let status = if online {
            json!({"online": true, "homeDerpRegion": 900})
        } else {
            json!({"homeDerpRegion": 900})
        };
        json!({"apiVersion": "storage.loft.sh/v1", "kind": "NetworkPeer", "metadata": {"name": name}, "status": status})
    }

    fn unavailable() -> (u16, Value) {
        (503, status(503, "ServiceUnavailable", "etcd is down"))
    }

    fn unreached(reach: ClusterReach) -> ClusterFacts {
        ClusterFacts {
            reach,
            kubernetes_version: None,
            replicas: None,
            images: Vec::new(),
            peers: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_facts_of_a_healthy_cluster_over_one_connection() {
        let (client, server) = api_server(vec![
            (200, deployment(3, 2)),
            (200, version("1", "31+", "v1.31.4-eks-1234567")),
            (
                200,
                peers(vec![
                    peer("eu-west-1-peer", true),
                    peer("us-east-1-peer", false),
                ]),
            ),
        ]);
        let eks = FakeEks::connecting([client]);
        let adapter = inspection(&eks);

        let facts = adapter.facts(&region("us-east-1")).await.unwrap();
        drop(adapter);

        assert_eq!(
            requests(server).await,
            [
                Seen::get(DEPLOYMENT),
                Seen::get("/version"),
                Seen::get(PEERS)
            ],
            "the deployment, the version, the peers"
        );
        assert_eq!(eks.calls(), ["us-east-1"], "one DescribeCluster");
        assert_eq!(
            facts,
            ClusterFacts {
                reach: ClusterReach::Reachable,
                kubernetes_version: Some("1.31".into()),
                replicas: Some((3, 2)),
                images: vec![
                    ContainerImage {
                        container: "manager".into(),
                        image: "ghcr.io/loft-sh/vcluster-platform:4.3.1".into(),
                    },
                    ContainerImage {
                        container: "agent".into(),
                        image: "ghcr.io/loft-sh/agent@sha256:0123".into(),
                    },
                ],
                peers: Some(vec![
                    PeerView {
                        name: "eu-west-1-peer".into(),
                        online: true,
                        last_seen: None,
                        home_derp_region: Some(900),
                    },
                    PeerView {
                        name: "us-east-1-peer".into(),
                        online: false,
                        last_seen: None,
                        home_derp_region: Some(900),
                    },
                ]),
            },
            "version without the EKS '+', wanted and ready replicas, template images, peers"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_inactive_cluster_is_a_fact_read_from_eks_alone() {
        let eks = FakeEks::answering(["CREATING"]);
        let adapter = inspection(&eks);

        let facts = adapter.facts(&region("us-east-1")).await.unwrap();

        assert_eq!(
            facts,
            unreached(ClusterReach::NotActive("CREATING".into())),
            "EKS' status and nothing else"
        );
        assert_eq!(
            eks.calls(),
            ["us-east-1"],
            "one DescribeCluster, no API to call"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_api_that_stays_unavailable_is_an_unreachable_cluster() {
        let (client, server) = api_server(vec![unavailable(), unavailable(), unavailable()]);
        let adapter = inspection(&FakeEks::connecting([client]));

        let facts = adapter.facts(&region("us-east-1")).await.unwrap();
        drop(adapter);

        assert_eq!(
            requests(server).await,
            vec![Seen::get(DEPLOYMENT); 3],
            "the deployment read is retried, then nothing else is read"
        );
        match &facts.reach {
            ClusterReach::Unreachable(why) => assert!(
                why.contains("platform-us-east-1") && why.contains("503"),
                "names the cluster and the answer: {why}"
            ),
            other => panic!("expected unreachable, got {other:?}"),
        }
        assert_eq!(
            facts,
            unreached(facts.reach.clone()),
            "nothing else is known"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn what_could_be_read_is_kept_when_a_later_read_fails() {
        let cases = [
            (
                "no deployment, the version unavailable: the peers still",
                vec![
                    (
                        404,
                        status(404, "NotFound", "deployments.apps \"loft\" not found"),
                    ),
                    unavailable(),
                    unavailable(),
                    unavailable(),
                    (200, peers(vec![peer("p", true)])),
                ],
                (None, None, 0, Some(1)),
            ),
            (
                "the peers refused: the deployment and the version still",
                vec![
                    (200, deployment(3, 3)),
                    (200, version("1", "33", "v1.33.0")),
                    (403, status(403, "Forbidden", "networkpeers is forbidden")),
                ],
                (Some("1.33"), Some((3, 3)), 2, None),
            ),
        ];
        for (name, answers, (version, replicas, images, peers)) in cases {
            let (client, server) = api_server(answers);
            let adapter = inspection(&FakeEks::connecting([client]));

            let facts = adapter.facts(&region("us-east-1")).await;
            drop(adapter);
            requests(server).await;

            let facts = facts.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(facts.reach, ClusterReach::Reachable, "{name}");
            assert_eq!(facts.kubernetes_version.as_deref(), version, "{name}");
            assert_eq!(facts.replicas, replicas, "{name}");
            assert_eq!(facts.images.len(), images, "{name}");
            assert_eq!(facts.peers.as_ref().map(Vec::len), peers, "{name}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn facts_fail_only_when_the_cluster_itself_cannot_be_read() {
        let refused = FakeEks::new(vec![Err(Error::rejected(
            "EKS",
            "DescribeCluster platform-us-east-1 in us-east-1: AccessDeniedException",
        ))]);
        let described = inspection(&refused).facts(&region("us-east-1")).await;
        assert!(
            matches!(&described, Err(e) if e.to_string().contains("AccessDeniedException")),
            "a DescribeCluster refusal: {described:?}"
        );

        let (client, server) = api_server(vec![(403, status(403, "Forbidden", "forbidden"))]);
        let adapter = inspection(&FakeEks::connecting([client]));
        let read = adapter.facts(&region("us-east-1")).await;
        drop(adapter);
        assert_eq!(
            requests(server).await,
            [Seen::get(DEPLOYMENT)],
            "not retried"
        );
        match read {
            Err(error @ Error::Rejected { .. }) => assert!(
                error
                    .to_string()
                    .contains("read the deployment (403 Forbidden: forbidden)"),
                "names the read refused: {error}"
            ),
            other => panic!("a refused deployment read is an error, got {other:?}"),
        }
    }

    #[test]
    fn kubernetes_versions_read_as_major_minor() {
        let cases = [
            ("1", "31", "v1.31.0", Some("1.31")),
            ("1", "31+", "v1.31.4-eks-1234567", Some("1.31")),
            (" 1 ", "30+", "", Some("1.30")),
            ("", "", "v1.29.10-eks-7f9249a", Some("1.29")),
            ("1", "", "v1.32.1+k3s1", Some("1.32")),
            ("", "", "", None),
            ("", "", "unknown", None),
            ("one", "x", "", None),
        ];
        for (major, minor, git_version, want) in cases {
            let info = Info {
                major: major.into(),
                minor: minor.into(),
                git_version: git_version.into(),
                ..Info::default()
            };
            assert_eq!(
                minor_version(&info).as_deref(),
                want,
                "{major:?} {minor:?} {git_version:?}"
            );
        }
    }

    fn reviewed(allowed: bool, reason: &str) -> (u16, Value) {
        (
            201,
            json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "metadata": {},
                "spec": {},
                "status": {"allowed": allowed, "reason": reason}
            }),
        )
    }

    fn attributes(seen: &Seen) -> &Value {
        &seen.body["spec"]["resourceAttributes"]
    }

    #[tokio::test(start_paused = true)]
    async fn each_access_is_reviewed_as_the_function_itself() {
        let wanted = ClusterFunction::RestorePlatform.needs(&platform_settings());
        let mut answers: Vec<_> = (0..wanted.len() - 1)
            .map(|_| {
                reviewed(
                    true,
                    "RBAC: allowed by RoleBinding \"platform-failover-restore\"",
                )
            })
            .collect();
        answers.push(reviewed(false, ""));
        let (client, server) = api_server(answers);
        let eks = FakeEks::connecting([client]);
        let adapter = inspection(&eks);

        let access = adapter.review(&region("us-east-1"), &wanted).await;
        drop(adapter);
        let seen = requests(server).await;

        assert_eq!(eks.calls(), ["us-east-1"], "one connection for the region");
        assert_eq!(access.region, "us-east-1");
        assert_eq!(
            (&access.describe_error, &access.review_error),
            (&None, &None)
        );
        assert_eq!(
            access
                .answers
                .iter()
                .map(|a| (a.access.clone(), a.allowed))
                .collect::<Vec<_>>(),
            wanted
                .iter()
                .enumerate()
                .map(|(i, a)| (a.clone(), i + 1 < wanted.len()))
                .collect::<Vec<_>>(),
            "one answer per access, in order, allowed or denied as reviewed"
        );
        assert_eq!(
            access.answers[0].reason, "RBAC: allowed by RoleBinding \"platform-failover-restore\"",
            "the authorizer's reason"
        );
        assert_eq!(
            access.answers[5].reason, "",
            "no reason given, none made up"
        );
        assert!(
            seen.iter().all(|s| s.method == "POST" && s.uri == REVIEWS),
            "every review is a POST of a SelfSubjectAccessReview: {seen:?}"
        );
        assert_eq!(
            seen[0].body,
            json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "metadata": {},
                "spec": {"resourceAttributes": {
                    "verb": "get", "group": "apps", "resource": "deployments",
                    "namespace": "vcluster-platform", "name": "loft"
                }}
            }),
            "no user or groups: the server reviews the caller"
        );
        assert_eq!(
            attributes(&seen[5]),
            &json!({
                "verb": "patch", "group": "apps", "resource": "deployments",
                "subresource": "scale", "namespace": "vcluster-platform", "name": "loft"
            }),
            "the scale subresource"
        );
        assert_eq!(
            attributes(&seen[2]),
            &json!({"verb": "list", "resource": "nodes"}),
            "a cluster-wide list of the core group names no group, namespace or object"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_evaluation_error_is_part_of_the_reason() {
        let (client, server) = api_server(vec![(
            201,
            json!({
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "metadata": {}, "spec": {},
                "status": {"allowed": false, "evaluationError": "clusterrole.rbac.authorization.k8s.io \"platform-failover-read\" not found"}
            }),
        )]);
        let adapter = inspection(&FakeEks::connecting([client]));
        let wanted = ClusterFunction::CheckDerpPeers.needs(&platform_settings());

        let access = adapter.review(&region("us-east-1"), &wanted).await;
        drop(adapter);
        requests(server).await;

        assert_eq!(access.answers.len(), 1, "{access:?}");
        assert!(!access.answers[0].allowed, "denied");
        assert_eq!(
            access.answers[0].reason,
            "evaluation error: clusterrole.rbac.authorization.k8s.io \"platform-failover-read\" not found"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_review_the_api_refuses_is_a_review_error_naming_it() {
        let wanted = ClusterFunction::VerifyRecovery.needs(&platform_settings());
        let (client, server) = api_server(vec![
            reviewed(true, ""),
            (
                403,
                status(
                    403,
                    "Forbidden",
                    "selfsubjectaccessreviews.authorization.k8s.io is forbidden",
                ),
            ),
        ]);
        let adapter = inspection(&FakeEks::connecting([client]));

        let access = adapter.review(&region("us-east-1"), &wanted).await;
        drop(adapter);

        assert_eq!(
            requests(server).await.len(),
            2,
            "a 403 is not retried, nor are the rest asked"
        );
        assert_eq!(access.describe_error, None, "EKS answered");
        assert_eq!(access.answers, Vec::new(), "no partial list");
        let why = access.review_error.unwrap_or_default();
        assert!(
            why.contains("platform-us-east-1")
                && why.contains("list pods in vcluster-platform")
                && why.contains("403 Forbidden"),
            "names the cluster, the review and the answer: {why}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_review_that_meets_a_5xx_is_retried() {
        let wanted = ClusterFunction::CheckDerpPeers.needs(&platform_settings());
        let (client, server) = api_server(vec![unavailable(), reviewed(true, "")]);
        let adapter = inspection(&FakeEks::connecting([client]));

        let access = adapter.review(&region("us-east-1"), &wanted).await;
        drop(adapter);

        let seen = requests(server).await;
        assert_eq!(seen.len(), 2, "retried once");
        assert_eq!(seen[0], seen[1], "the same review");
        assert_eq!(access.review_error, None);
        assert_eq!(
            access.answers.iter().map(|a| a.allowed).collect::<Vec<_>>(),
            [true]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_that_cannot_be_asked_says_why() {
        let wanted = ClusterFunction::CheckDerpPeers.needs(&platform_settings());
        let describe = "DescribeCluster platform-us-east-1 in us-east-1: AccessDeniedException: not authorized to perform eks:DescribeCluster";
        let cases = [
            (
                "DescribeCluster refused",
                FakeEks::new(vec![Err(Error::rejected("EKS", describe))]),
                Some(describe),
                None,
            ),
            (
                "not ACTIVE",
                FakeEks::answering(["UPDATING"]),
                None,
                Some("cluster platform-us-east-1 is UPDATING, not ACTIVE"),
            ),
        ];
        for (name, eks, describe_error, review_error) in cases {
            let access = inspection(&eks).review(&region("us-east-1"), &wanted).await;

            let contains = |error: &Option<String>, want: Option<&str>| match (error, want) {
                (None, None) => true,
                (Some(error), Some(want)) => error.contains(want),
                _ => false,
            };
            assert!(
                contains(&access.describe_error, describe_error),
                "{name}: describe_error {:?}",
                access.describe_error
            );
            assert!(
                contains(&access.review_error, review_error),
                "{name}: review_error {:?}",
                access.review_error
            );
            assert_eq!(access.answers, Vec::new(), "{name}: nothing answered");
            assert_eq!(eks.calls(), ["us-east-1"], "{name}: asked EKS once");
        }
    }
}
