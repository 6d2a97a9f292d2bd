//! The Kubernetes requests each function makes in a region's cluster, as
//! `SelfSubjectAccessReview` asks about them: what its probe proves it may
//! do, and what `scripts/rbac/platform-failover.yaml` must grant its group.
//!
//! The adapter names each call it makes by a [`Request`], and each request's
//! group and resource come from the same k8s-openapi type its typed `Api`
//! is built on, so the list cannot drift from the calls.
//!
//! Two requests need no grant and are not listed: creating the
//! `SelfSubjectAccessReview` itself (every authenticated user may, through
//! `system:basic-user`) and `GET /version` (public, through
//! `system:public-info-viewer`).

use failover_core::config::PlatformSettings;
use failover_core::model::readiness::Access;
use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::ApiResource;

/// The DERP relay peers' resource: no k8s-openapi type exists for it.
const PEER_GROUP: &str = "storage.loft.sh";
const PEER_VERSION: &str = "v1";
const PEER_KIND: &str = "NetworkPeer";
const PEER_PLURAL: &str = "networkpeers";

/// `networkpeers.storage.loft.sh`, cluster scoped.
pub(crate) fn network_peers() -> ApiResource {
    ApiResource {
        group: PEER_GROUP.into(),
        version: PEER_VERSION.into(),
        api_version: format!("{PEER_GROUP}/{PEER_VERSION}"),
        kind: PEER_KIND.into(),
        plural: PEER_PLURAL.into(),
    }
}

/// One call the adapter makes to a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    ReadDeployment,
    ListPods,
    ListNodes,
    /// The ingress is named like the deployment.
    ReadIngress,
    ListPeers,
    Restart,
    Scale,
}

impl Request {
    /// A diagnosis, in the order it reads.
    pub(crate) const DIAGNOSIS: [Self; 4] = [
        Self::ReadDeployment,
        Self::ListPods,
        Self::ListNodes,
        Self::ReadIngress,
    ];

    /// How an error names the call.
    pub(crate) fn what(self) -> &'static str {
        match self {
            Self::ReadDeployment => "read the deployment",
            Self::ListPods => "list the pods",
            Self::ListNodes => "list the nodes",
            Self::ReadIngress => "read the ingress",
            Self::ListPeers => "list the DERP peers",
            Self::Restart => "restart the deployment",
            Self::Scale => "scale the deployment",
        }
    }

    pub(crate) fn access(self, platform: &PlatformSettings) -> Access {
        match self {
            Self::ReadDeployment => platform_object(typed::<Deployment>("get"), platform),
            Self::ListPods => in_namespace(typed::<Pod>("list"), platform),
            Self::ListNodes => typed::<Node>("list"),
            Self::ReadIngress => platform_object(typed::<Ingress>("get"), platform),
            Self::ListPeers => access("list", PEER_GROUP, PEER_PLURAL),
            Self::Restart => platform_object(typed::<Deployment>("patch"), platform),
            Self::Scale => Access {
                subresource: Some("scale".into()),
                ..platform_object(typed::<Deployment>("patch"), platform)
            },
        }
    }
}

fn access(verb: &str, group: &str, resource: &str) -> Access {
    Access {
        verb: verb.into(),
        group: group.into(),
        resource: resource.into(),
        subresource: None,
        namespace: None,
        name: None,
    }
}

fn typed<K: Resource>(verb: &str) -> Access {
    access(verb, K::GROUP, K::URL_PATH_SEGMENT)
}

fn in_namespace(access: Access, platform: &PlatformSettings) -> Access {
    Access {
        namespace: Some(platform.namespace.clone()),
        ..access
    }
}

fn platform_object(access: Access, platform: &PlatformSettings) -> Access {
    Access {
        name: Some(platform.deployment.clone()),
        ..in_namespace(access, platform)
    }
}

/// A function of the stack that reaches the regions' clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterFunction {
    /// Diagnoses, then restarts or scales.
    RestorePlatform,
    /// Diagnoses every region and reads the DERP peers.
    VerifyRecovery,
    CheckDerpPeers,
}

impl ClusterFunction {
    pub const ALL: [Self; 3] = [
        Self::RestorePlatform,
        Self::VerifyRecovery,
        Self::CheckDerpPeers,
    ];

    /// The function as the stack names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::RestorePlatform => "restore-platform",
            Self::VerifyRecovery => "verify-recovery",
            Self::CheckDerpPeers => "check-derp-peers",
        }
    }

    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    fn requests(self) -> Vec<Request> {
        match self {
            Self::RestorePlatform => [
                Request::DIAGNOSIS.as_slice(),
                &[Request::Restart, Request::Scale],
            ]
            .concat(),
            Self::VerifyRecovery => [Request::DIAGNOSIS.as_slice(), &[Request::ListPeers]].concat(),
            Self::CheckDerpPeers => vec![Request::ListPeers],
        }
    }

    /// Every Kubernetes request the function makes, each once.
    pub fn needs(self, platform: &PlatformSettings) -> Vec<Access> {
        self.requests()
            .into_iter()
            .map(|r| r.access(platform))
            .collect()
    }
}

/// The requests of the function the stack names `function`; `None` for one
/// that reaches no cluster.
pub fn needed(function: &str, platform: &PlatformSettings) -> Option<Vec<Access>> {
    ClusterFunction::named(function).map(|f| f.needs(platform))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::platform::KubePlatform;
    use crate::testing::{
        FakeEks, Seen, api_server, list, platform_settings, region, requests, status,
    };
    use failover_core::app::ports::{Peers, Platform};
    use k8s_openapi::api::rbac::v1::{
        ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding,
    };
    use k8s_openapi::serde::Deserialize;
    use serde_json::{Value, json};

    #[test]
    fn each_function_needs_what_its_port_calls_read_and_change() {
        let diagnosis = [
            "get apps/deployments loft in vcluster-platform",
            "list pods in vcluster-platform",
            "list nodes",
            "get networking.k8s.io/ingresses loft in vcluster-platform",
        ];
        let cases: [(&str, Vec<&str>); 3] = [
            (
                "restore-platform",
                [
                    diagnosis.as_slice(),
                    &[
                        "patch apps/deployments loft in vcluster-platform",
                        "patch apps/deployments/scale loft in vcluster-platform",
                    ],
                ]
                .concat(),
            ),
            (
                "verify-recovery",
                [diagnosis.as_slice(), &["list storage.loft.sh/networkpeers"]].concat(),
            ),
            (
                "check-derp-peers",
                vec!["list storage.loft.sh/networkpeers"],
            ),
        ];
        for (function, want) in cases {
            let needs: Vec<String> = needed(function, &platform_settings())
                .unwrap_or_else(|| panic!("{function} reaches the clusters"))
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(needs, want, "{function}");
        }
        for function in [
            "confirm-outage",
            "reconcile",
            "escalate-incident",
            "Restore-Platform",
        ] {
            assert_eq!(
                needed(function, &platform_settings()),
                None,
                "{function} reaches no cluster"
            );
        }
    }

    #[test]
    fn the_platform_settings_name_the_namespace_and_the_objects() {
        let platform = PlatformSettings {
            namespace: "loft-system".into(),
            deployment: "platform".into(),
            ..platform_settings()
        };
        let needs = ClusterFunction::RestorePlatform.needs(&platform);
        let scale = needs.last().cloned();
        assert_eq!(
            scale,
            Some(Access {
                verb: "patch".into(),
                group: "apps".into(),
                resource: "deployments".into(),
                subresource: Some("scale".into()),
                namespace: Some("loft-system".into()),
                name: Some("platform".into()),
            }),
            "the scale of the configured deployment"
        );
        assert!(
            needs
                .iter()
                .filter(|a| a.resource != "nodes")
                .all(|a| a.namespace.as_deref() == Some("loft-system")),
            "every namespaced request is in the configured namespace: {needs:?}"
        );
        for function in ClusterFunction::ALL {
            assert_eq!(ClusterFunction::named(function.name()), Some(function));
        }
    }

    #[test]
    fn the_functions_the_readiness_evaluation_probes_are_these() {
        let probed: Vec<Option<ClusterFunction>> = failover_core::rules::readiness::PROBED
            .iter()
            .map(|name| ClusterFunction::named(name))
            .collect();
        assert_eq!(
            probed,
            ClusterFunction::ALL.map(Some),
            "each probed function is one that reaches the clusters, and each is probed"
        );
    }

    /// What RBAC sees of a request the mock API server received.
    fn seen_access(seen: &Seen) -> Access {
        let path = seen.uri.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (group, rest) = match parts.as_slice() {
            ["api", _version, rest @ ..] => ("", rest),
            ["apis", group, _version, rest @ ..] => (*group, rest),
            _ => panic!("not a resource path: {}", seen.uri),
        };
        let (namespace, rest) = match rest {
            ["namespaces", namespace, rest @ ..] if !rest.is_empty() => (Some(*namespace), rest),
            rest => (None, rest),
        };
        let (resource, name, subresource) = match rest {
            [resource] => (*resource, None, None),
            [resource, name] => (*resource, Some(*name), None),
            [resource, name, subresource] => (*resource, Some(*name), Some(*subresource)),
            _ => panic!("not a resource path: {}", seen.uri),
        };
        let verb = match (seen.method.as_str(), name) {
            ("GET", None) => "list",
            ("GET", Some(_)) => "get",
            ("PATCH", _) => "patch",
            (method, _) => panic!("unexpected {method} {}", seen.uri),
        };
        Access {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.map(Into::into),
            namespace: namespace.map(Into::into),
            name: name.map(Into::into),
        }
    }

    /// Every request a function's port calls send, as RBAC sees them.
    async fn sent_by(function: ClusterFunction) -> BTreeSet<Access> {
        let absent = || (404, status(404, "NotFound", "not found"));
        let empty = |kind: &str, version: &str| (200, list(kind, version, vec![]));
        let diagnosis = vec![
            absent(),
            empty("PodList", "v1"),
            empty("NodeList", "v1"),
            absent(),
        ];
        let peers = empty("NetworkPeerList", "storage.loft.sh/v1");
        let answers = match function {
            ClusterFunction::RestorePlatform => [
                diagnosis,
                vec![
                    (200, json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "loft"}})),
                    (200, json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "loft"}})),
                ],
            ]
            .concat(),
            ClusterFunction::VerifyRecovery => [diagnosis, vec![peers]].concat(),
            ClusterFunction::CheckDerpPeers => vec![peers],
        };
        let (client, server) = api_server(answers);
        let adapter = KubePlatform::connecting_with(
            Box::new(FakeEks::connecting([client])),
            platform_settings(),
        );
        let east = region("us-east-1");
        let outcome = match function {
            ClusterFunction::RestorePlatform => {
                let diagnosed = adapter.diagnose(&east).await.map(drop);
                let restarted = adapter.restart(&east, "2026-11-22T10:00:00Z").await;
                let scaled = adapter.scale(&east, 3).await;
                diagnosed.and(restarted).and(scaled)
            }
            ClusterFunction::VerifyRecovery => {
                let diagnosed = adapter.diagnose(&east).await.map(drop);
                diagnosed.and(adapter.peers(&east).await.map(drop))
            }
            ClusterFunction::CheckDerpPeers => adapter.peers(&east).await.map(drop),
        };
        drop(adapter);
        let seen = requests(server).await;
        assert!(
            outcome.is_ok(),
            "{}: {outcome:?} after {seen:?}",
            function.name()
        );
        seen.iter().map(seen_access).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn what_a_function_needs_is_exactly_what_the_adapter_sends_for_it() {
        for function in ClusterFunction::ALL {
            let needs: BTreeSet<Access> =
                function.needs(&platform_settings()).into_iter().collect();
            assert_eq!(
                sent_by(function).await,
                needs,
                "{}: every request sent is listed, and nothing more",
                function.name()
            );
        }
    }

    /// The RBAC objects of the shipped manifest, filled in as
    /// `scripts/grant-eks-access` does.
    struct Manifest {
        roles: Vec<Role>,
        cluster_roles: Vec<ClusterRole>,
        bindings: Vec<RoleBinding>,
        cluster_bindings: Vec<ClusterRoleBinding>,
    }

    const MANIFEST: &str = include_str!("../../../scripts/rbac/platform-failover.yaml");

    fn manifest(platform: &PlatformSettings) -> Manifest {
        let text = MANIFEST
            .replace("${PLATFORM_NAMESPACE}", &platform.namespace)
            .replace("${PLATFORM_DEPLOYMENT}", &platform.deployment);
        assert!(!text.contains("${"), "every placeholder is filled in");
        let mut manifest = Manifest {
            roles: Vec::new(),
            cluster_roles: Vec::new(),
            bindings: Vec::new(),
            cluster_bindings: Vec::new(),
        };
        for document in serde_yaml::Deserializer::from_str(&text) {
            let object = Value::deserialize(document).unwrap();
            let kind = object["kind"].as_str().unwrap_or_default().to_owned();
            match kind.as_str() {
                "Role" => manifest.roles.push(serde_json::from_value(object).unwrap()),
                "ClusterRole" => manifest
                    .cluster_roles
                    .push(serde_json::from_value(object).unwrap()),
                "RoleBinding" => manifest
                    .bindings
                    .push(serde_json::from_value(object).unwrap()),
                "ClusterRoleBinding" => {
                    manifest
                        .cluster_bindings
                        .push(serde_json::from_value(object).unwrap());
                }
                other => panic!("unexpected {other:?} in the manifest"),
            }
        }
        manifest
    }

    /// One rule's grant, as the RBAC authorizer matches it.
    struct Grant<'a> {
        /// `None`: every namespace (a ClusterRole bound cluster-wide).
        namespace: Option<&'a str>,
        rule: &'a PolicyRule,
    }

    fn bound_to(
        binding_subjects: Option<&Vec<k8s_openapi::api::rbac::v1::Subject>>,
        group: &str,
    ) -> bool {
        binding_subjects
            .into_iter()
            .flatten()
            .any(|s| s.kind == "Group" && s.name == group)
    }

    impl Manifest {
        fn grants<'a>(&'a self, group: &str) -> Vec<Grant<'a>> {
            let mut grants = Vec::new();
            for binding in self
                .bindings
                .iter()
                .filter(|b| bound_to(b.subjects.as_ref(), group))
            {
                let namespace = binding.metadata.namespace.as_deref();
                let rules = match binding.role_ref.kind.as_str() {
                    "Role" => self
                        .roles
                        .iter()
                        .filter(|r| {
                            r.metadata.name.as_deref() == Some(binding.role_ref.name.as_str())
                                && r.metadata.namespace.as_deref() == namespace
                        })
                        .flat_map(|r| r.rules.iter().flatten())
                        .collect::<Vec<_>>(),
                    _ => self.cluster_rules(&binding.role_ref.name),
                };
                assert!(!rules.is_empty(), "{group}: a binding to no rules");
                grants.extend(rules.into_iter().map(|rule| Grant { namespace, rule }));
            }
            for binding in self
                .cluster_bindings
                .iter()
                .filter(|b| bound_to(b.subjects.as_ref(), group))
            {
                let rules = self.cluster_rules(&binding.role_ref.name);
                assert!(!rules.is_empty(), "{group}: a binding to no rules");
                grants.extend(rules.into_iter().map(|rule| Grant {
                    namespace: None,
                    rule,
                }));
            }
            grants
        }

        fn cluster_rules(&self, name: &str) -> Vec<&PolicyRule> {
            self.cluster_roles
                .iter()
                .filter(|r| r.metadata.name.as_deref() == Some(name))
                .flat_map(|r| r.rules.iter().flatten())
                .collect()
        }

        fn allows(&self, group: &str, access: &Access) -> bool {
            self.grants(group).iter().any(|g| g.allows(access))
        }
    }

    impl Grant<'_> {
        fn allows(&self, access: &Access) -> bool {
            let any =
                |values: &[String], value: &str| values.iter().any(|v| v == "*" || v == value);
            let resource = match &access.subresource {
                Some(sub) => format!("{}/{sub}", access.resource),
                None => access.resource.clone(),
            };
            let names = self.rule.resource_names.as_deref().unwrap_or_default();
            self.namespace
                .is_none_or(|ns| access.namespace.as_deref() == Some(ns))
                && any(&self.rule.verbs, &access.verb)
                && any(
                    self.rule.api_groups.as_deref().unwrap_or_default(),
                    &access.group,
                )
                && any(
                    self.rule.resources.as_deref().unwrap_or_default(),
                    &resource,
                )
                && (names.is_empty() || access.name.as_ref().is_some_and(|n| names.contains(n)))
        }

        /// Each single permission of the rule, as the access that would use it.
        fn permissions(&self) -> Vec<Access> {
            let names: Vec<Option<String>> = match self.rule.resource_names.as_deref() {
                None | Some([]) => vec![None],
                Some(names) => names.iter().cloned().map(Some).collect(),
            };
            let mut permissions = Vec::new();
            for verb in &self.rule.verbs {
                for group in self.rule.api_groups.iter().flatten() {
                    for resource in self.rule.resources.iter().flatten() {
                        let (resource, subresource) = match resource.split_once('/') {
                            Some((r, s)) => (r.to_owned(), Some(s.to_owned())),
                            None => (resource.clone(), None),
                        };
                        for name in &names {
                            permissions.push(Access {
                                verb: verb.clone(),
                                group: group.clone(),
                                resource: resource.clone(),
                                subresource: subresource.clone(),
                                namespace: self.namespace.map(Into::into),
                                name: name.clone(),
                            });
                        }
                    }
                }
            }
            permissions
        }
    }

    /// The group `scripts/grant-eks-access` maps each function's role to.
    const GROUPS: [(ClusterFunction, &str); 3] = [
        (
            ClusterFunction::RestorePlatform,
            "platform-failover-restore",
        ),
        (ClusterFunction::VerifyRecovery, "platform-failover-read"),
        (ClusterFunction::CheckDerpPeers, "platform-failover-read"),
    ];

    #[test]
    fn the_manifest_grants_each_function_what_it_needs() {
        let platform = platform_settings();
        let manifest = manifest(&platform);
        for (function, group) in GROUPS {
            let refused: Vec<String> = function
                .needs(&platform)
                .iter()
                .filter(|a| !manifest.allows(group, a))
                .map(ToString::to_string)
                .collect();
            assert_eq!(
                refused,
                Vec::<String>::new(),
                "{} ({group}) is refused these",
                function.name()
            );
        }
    }

    #[test]
    fn the_manifest_grants_nothing_its_functions_do_not_need() {
        let platform = platform_settings();
        let manifest = manifest(&platform);
        let groups: BTreeSet<&str> = GROUPS.iter().map(|(_, g)| *g).collect();
        for group in groups {
            let needs: BTreeSet<Access> = GROUPS
                .iter()
                .filter(|(_, g)| *g == group)
                .flat_map(|(f, _)| f.needs(&platform))
                .collect();
            let grants = manifest.grants(group);
            assert!(!grants.is_empty(), "{group} is granted something");
            let unused: Vec<String> = grants
                .iter()
                .flat_map(Grant::permissions)
                .filter(|p| !needs.contains(p))
                .map(|p| p.to_string())
                .collect();
            assert_eq!(unused, Vec::<String>::new(), "{group}: granted, never used");
        }
    }

    #[test]
    fn the_manifest_refuses_what_a_group_should_not_do() {
        let platform = platform_settings();
        let manifest = manifest(&platform);
        let other_deployment = |access: &Access| Access {
            name: Some("coredns".into()),
            ..access.clone()
        };
        let elsewhere = |access: &Access| Access {
            namespace: Some("kube-system".into()),
            ..access.clone()
        };
        let cases = [
            (
                "the read group patches",
                "platform-failover-read",
                Request::Restart.access(&platform),
            ),
            (
                "the read group scales",
                "platform-failover-read",
                Request::Scale.access(&platform),
            ),
            (
                "restore patches another deployment",
                "platform-failover-restore",
                other_deployment(&Request::Restart.access(&platform)),
            ),
            (
                "restore lists pods in another namespace",
                "platform-failover-restore",
                elsewhere(&Request::ListPods.access(&platform)),
            ),
            (
                "restore lists the DERP peers",
                "platform-failover-restore",
                Request::ListPeers.access(&platform),
            ),
            (
                "a group the manifest does not know",
                "platform-failover",
                Request::ListNodes.access(&platform),
            ),
        ];
        for (name, group, access) in cases {
            assert!(!manifest.allows(group, &access), "{name}: {access}");
        }
    }
}
