//! Least privilege per function, as the local Kubernetes API enforces it:
//! the RBAC of `scripts/rbac/` (what `scripts/grant-eks-access` applies),
//! each function signing its EKS tokens with its own role's credentials and
//! mapped to its group by an access entry, as on EKS.
//!
//! - the read-only group may read what a diagnosis and the DERP check read,
//!   and a patch from it is refused (403) and not retried;
//! - restore-platform's role may patch the platform deployment and its
//!   scale, and nothing else;
//! - a recovery run by the real functions uses every permission the
//!   manifests grant, each by the group it is granted to, and is refused
//!   nothing: a grant nobody uses fails this test, as does a call the
//!   manifests forgot.
// Helpers here panic on failure: in a test, that is how a failure is reported.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use failover_core::app::ports::{Peers, Platform};
use failover_core::config::{PlatformSettings, RegionSettings};
use failover_kube::{EksClusters, KubePlatform};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use system::{Emulator, Environment, LocalCloud, RegionEnv};

const NAMESPACE: &str = "vcluster-platform";
const DEPLOYMENT: &str = "loft";
const QUICK: &[(&str, &str)] = &[
    ("CONFIRM_SAMPLES", "1"),
    ("CONFIRM_INTERVAL_SECONDS", "0"),
    ("RECOVERY_HEALTHY_READINGS", "1"),
    // Both regions are restored one right after the other here.
    ("RESTART_SPREAD_SECONDS", "0"),
];

/// A function's role session, from the real STS `AssumeRole` of its role.
struct Identity {
    credentials: Credentials,
    /// `arn:aws:sts::<account>:assumed-role/<env>-<function>/<env>-<function>`:
    /// the Kubernetes user its access entry makes of it.
    arn: String,
}

fn assume(env: &Environment, function: &str) -> Identity {
    let output = Command::new(system::root().join("scripts/local-cloud"))
        .args(["assume-role", function, "--name", &env.name])
        .output()
        .expect("run scripts/local-cloud assume-role");
    assert!(
        output.status.success(),
        "assume-role {function}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("assume-role prints JSON");
    let field = |key: &str| {
        answer[key]
            .as_str()
            .unwrap_or_else(|| panic!("assume-role answered no {key}"))
            .to_owned()
    };
    Identity {
        credentials: Credentials::new(
            field("AccessKeyId"),
            field("SecretAccessKey"),
            Some(field("SessionToken")),
            None,
            "local-cloud assume-role",
        ),
        arn: field("Arn"),
    }
}

fn settings(region: &RegionEnv) -> RegionSettings {
    RegionSettings {
        name: region.name.clone(),
        cluster: region.cluster.clone(),
        health_check_id: region.health_check_id.clone(),
        alarm_names: region.alarm_names.clone(),
    }
}

/// The functions' Kubernetes adapter, running as `identity`.
fn adapter(cloud: &LocalCloud, identity: &Identity) -> KubePlatform {
    let sdk = cloud
        .sdk()
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(identity.credentials.clone()))
        .build();
    let platform = PlatformSettings {
        namespace: NAMESPACE.into(),
        deployment: DEPLOYMENT.into(),
        selector: "app=loft".into(),
        replicas: 3,
    };
    KubePlatform::new(EksClusters::new(sdk), platform)
}

/// A plain client of the region's cluster with an EKS token `identity` signed.
async fn client(region: &RegionEnv, identity: &Identity) -> kube::Client {
    let (endpoint, ca_data) = region.kube().endpoint_and_ca_data();
    let token = failover_kube::eks_token::eks_token(
        &identity.credentials,
        &region.cluster,
        &region.name,
        SystemTime::now(),
    )
    .expect("token");
    failover_kube::kube_client(&region.cluster, endpoint, ca_data, token.expose())
        .await
        .expect("client")
}

/// The API server's refusal, word for word.
fn forbidden(
    user: &str,
    verb: &str,
    resource: &str,
    name: Option<&str>,
    namespace: &str,
) -> String {
    let qualified = format!("{}.apps", resource.split('/').next().unwrap_or(resource));
    let object = match name {
        Some(name) => format!("{qualified} \"{name}\""),
        None => qualified,
    };
    format!(
        "{object} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"apps\" in the namespace \"{namespace}\""
    )
}

/// Asserts `result` is the API server's 403 with `message`.
fn refused<T: std::fmt::Debug>(what: &str, result: Result<T, kube::Error>, message: &str) {
    match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!(
                (status.code, status.reason.as_str(), status.message.as_str()),
                (403, "Forbidden", message),
                "{what}"
            );
        }
        other => panic!("{what}: expected 403 Forbidden, got {other:?}"),
    }
}

fn admin(region: &RegionEnv, path: &str) -> Value {
    let url = format!("{}{path}", region.kube_admin);
    let text = ureq::get(&url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .expect("admin answer");
    serde_json::from_str(&text).expect("admin JSON")
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_read_only_function_may_read_but_a_patch_is_refused_once_not_retried() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("rbacread");
    let east = env.region("us-east-1");
    let verify = assume(&env, "verify-recovery");
    let reader = adapter(&cloud, &verify);

    let diagnosis = reader
        .diagnose(&settings(east))
        .await
        .expect("a diagnosis is all reads");
    assert!(diagnosis.deployment.is_some(), "{diagnosis:?}");
    assert!(
        !reader
            .peers(&settings(east))
            .await
            .expect("the DERP peers")
            .is_empty()
    );

    let error = reader
        .restart(&settings(east), "2026-11-22T10:00:00Z")
        .await
        .expect_err("the read-only group may not patch");
    let text = error.to_string();
    assert!(
        text.contains("refused the credentials for restart the deployment (403 Forbidden: ")
            && text.contains("deployments.apps \"loft\" is forbidden: User ")
            && text.contains(" cannot patch "),
        "the API server's own words name who may not do what: {text}"
    );
    let patches: Vec<Value> = east
        .kube()
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1, "a 403 is not retried: {patches:?}");
    assert_eq!(
        (patches[0]["status"].as_u64(), patches[0]["user"].as_str()),
        (Some(403), Some(verify.arn.as_str())),
        "{patches:?}"
    );
    assert_eq!(
        east.kube().state()["rollouts"],
        0,
        "the deployment is unchanged"
    );

    let deployments: kube::Api<Deployment> =
        kube::Api::namespaced(client(east, &verify).await, NAMESPACE);
    let stamp =
        Patch::Merge(json!({"spec": {"template": {"metadata": {"annotations": {"a": "b"}}}}}));
    refused(
        "a patch of the platform deployment",
        deployments
            .patch(DEPLOYMENT, &PatchParams::default(), &stamp)
            .await,
        &forbidden(
            &verify.arn,
            "patch",
            "deployments",
            Some(DEPLOYMENT),
            NAMESPACE,
        ),
    );
    refused(
        "a patch of its scale",
        deployments
            .patch_scale(
                DEPLOYMENT,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 0}})),
            )
            .await,
        &forbidden(
            &verify.arn,
            "patch",
            "deployments/scale",
            Some(DEPLOYMENT),
            NAMESPACE,
        ),
    );
    let derp = assume(&env, "check-derp-peers");
    let deployments: kube::Api<Deployment> =
        kube::Api::namespaced(client(east, &derp).await, NAMESPACE);
    refused(
        "check-derp-peers patching",
        deployments
            .patch(DEPLOYMENT, &PatchParams::default(), &stamp)
            .await,
        &forbidden(
            &derp.arn,
            "patch",
            "deployments",
            Some(DEPLOYMENT),
            NAMESPACE,
        ),
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn restore_may_patch_the_platform_deployment_and_its_scale_and_nothing_else() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("rbacrestore");
    let east = env.region("us-east-1");
    let restore = assume(&env, "restore-platform");
    let restorer = adapter(&cloud, &restore);

    restorer
        .scale(&settings(east), 2)
        .await
        .expect("restore may scale the platform deployment");
    restorer
        .restart(&settings(east), "2026-11-22T10:00:00Z")
        .await
        .expect("restore may restart it");
    let changed = east.kube().state()["summary"]["deployment"].clone();
    assert_eq!(
        (
            changed["replicas"].as_u64(),
            changed["restartedAt"].as_str()
        ),
        (Some(2), Some("2026-11-22T10:00:00Z")),
        "{changed}"
    );

    let deployments: kube::Api<Deployment> =
        kube::Api::namespaced(client(east, &restore).await, NAMESPACE);
    let stamp =
        Patch::Merge(json!({"spec": {"template": {"metadata": {"annotations": {"a": "b"}}}}}));
    let replicas = Patch::Merge(json!({"spec": {"replicas": 1}}));
    let params = PatchParams::default();
    refused(
        "a patch of another deployment",
        deployments.patch("other", &params, &stamp).await,
        &forbidden(
            &restore.arn,
            "patch",
            "deployments",
            Some("other"),
            NAMESPACE,
        ),
    );
    refused(
        "a scale of another deployment",
        deployments.patch_scale("other", &params, &replicas).await,
        &forbidden(
            &restore.arn,
            "patch",
            "deployments/scale",
            Some("other"),
            NAMESPACE,
        ),
    );
    refused(
        "deleting the platform deployment",
        deployments
            .delete(DEPLOYMENT, &DeleteParams::default())
            .await,
        &forbidden(
            &restore.arn,
            "delete",
            "deployments",
            Some(DEPLOYMENT),
            NAMESPACE,
        ),
    );
    refused(
        "listing the deployments",
        deployments.list(&ListParams::default()).await,
        &forbidden(&restore.arn, "list", "deployments", None, NAMESPACE),
    );
    let elsewhere: kube::Api<Deployment> =
        kube::Api::namespaced(client(east, &restore).await, "default");
    refused(
        "the same name in another namespace",
        elsewhere.patch(DEPLOYMENT, &params, &stamp).await,
        &forbidden(
            &restore.arn,
            "patch",
            "deployments",
            Some(DEPLOYMENT),
            "default",
        ),
    );

    // A function that never reaches Kubernetes has no access entry: EKS does not know it.
    let confirm = assume(&env, "confirm-outage");
    let deployments: kube::Api<Deployment> =
        kube::Api::namespaced(client(east, &confirm).await, NAMESPACE);
    match deployments.get(DEPLOYMENT).await {
        Err(kube::Error::Api(status)) => assert_eq!(
            (status.code, status.reason.as_str()),
            (401, "Unauthorized"),
            "{status:?}"
        ),
        other => panic!("confirm-outage's role has no access entry: {other:?}"),
    }
    assert_eq!(
        east.kube().state()["summary"]["deployment"],
        changed,
        "nothing refused changed anything"
    );
}

/// Confirms an outage in `region` (the other one healthy), lets the cluster
/// look like `scenario`, restores with `remedy`, heals the health check and
/// verifies it recovered.
async fn recover(
    cloud: &LocalCloud,
    env: &Environment,
    emulator: &Emulator,
    region: &str,
    scenario: Value,
    remedy: &str,
) {
    let target = env.region(region);
    cloud.set_health(&target.health_check_id, "Failure").await;
    let confirmed = emulator.invoke(
        "confirm-outage",
        &json!({"region": region, "reason": "rbac system test"}).to_string(),
    );
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    let incident = json!({"incident_id": confirmed.body["incident_id"]}).to_string();
    target.kube().scenario(scenario);
    let restored = emulator.invoke("restore-platform", &incident);
    assert_eq!(
        restored.body["decision"]["remedy"]["remedy"], remedy,
        "{restored:?}"
    );
    cloud.set_health(&target.health_check_id, "Success").await;
    let verified = emulator.invoke("verify-recovery", &incident);
    assert_eq!(verified.body["outcome"], "recovered", "{verified:?}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_recovery_uses_every_granted_permission_and_is_refused_nothing() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("rbacuse");
    let emulator = Emulator::start(&env, QUICK, 1);

    recover(
        &cloud,
        &env,
        &emulator,
        "us-east-1",
        json!({"pods": "crashloop", "after_restart": "ready"}),
        "rollout_restart",
    )
    .await;
    recover(
        &cloud,
        &env,
        &emulator,
        "eu-west-1",
        json!({"deployment": {"replicas": 0}}),
        "scale",
    )
    .await;
    let peers = emulator.invoke(
        "check-derp-peers",
        &system::event("check-derp-peers-manual.json").to_string(),
    );
    assert_eq!(peers.body["verdict"], "all_online", "{peers:?}");

    // Each function signed as its own role; the local cloud's own
    // credentials (cluster admin) never stood in for one.
    let role = |function: &str| {
        let name = format!("{}-{function}", env.name);
        format!("arn:aws:sts::123456789012:assumed-role/{name}/{name}")
    };
    let functions: BTreeMap<String, &str> =
        ["restore-platform", "verify-recovery", "check-derp-peers"]
            .into_iter()
            .map(|f| (role(f), f))
            .collect();
    let mut callers = BTreeMap::<&str, usize>::new();
    let mut uses = BTreeMap::<String, u64>::new();
    for region in &env.regions {
        for request in region.kube().requests() {
            let user = request["user"].as_str().unwrap_or_default();
            let function = functions
                .get(user)
                .unwrap_or_else(|| panic!("a request not made as a function's role: {request}"));
            *callers.entry(function).or_default() += 1;
            assert_eq!(
                request["status"], 200,
                "{function}'s call was refused: {request}"
            );
        }
        let report = admin(region, "/rbac");
        assert_eq!(
            report["refused"],
            json!([]),
            "nothing is refused in a recovery"
        );
        for grant in report["grants"].as_array().expect("grants") {
            let mut key = grant.clone();
            let used = key["used"].as_u64().expect("used");
            key.as_object_mut().expect("a grant").remove("used");
            *uses.entry(key.to_string()).or_default() += used;
        }
    }
    assert_eq!(
        callers.keys().copied().collect::<Vec<_>>(),
        ["check-derp-peers", "restore-platform", "verify-recovery"],
        "every function reached the clusters as itself: {callers:?}"
    );
    assert!(
        !uses.is_empty(),
        "the manifests grant nothing? {}",
        env.regions[0].kube_admin
    );
    let unused: Vec<&String> = uses
        .iter()
        .filter(|(_, used)| **used == 0)
        .map(|(grant, _)| grant)
        .collect();
    assert!(
        unused.is_empty(),
        "granted in scripts/rbac but used by nobody of its group in a whole recovery (remove them):\n{}",
        unused
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
