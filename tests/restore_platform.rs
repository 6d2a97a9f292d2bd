//! `restore-platform` end to end: the real binary in the Lambda runtime
//! emulator, against moto, DynamoDB Local and a local Kubernetes API per
//! cluster (HTTPS, its own CA, EKS token checks), reached through the real
//! EKS `DescribeCluster` path.
// Helpers here panic on failure: in a test, that is how a failure is reported.
#![allow(clippy::expect_used)]

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use system::{Emulator, Environment, LocalCloud, of_kind, text};

const QUICK: &[(&str, &str)] = &[("CONFIRM_SAMPLES", "1"), ("CONFIRM_INTERVAL_SECONDS", "0")];
const RESTART_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// A confirmed outage in us-east-1 whose cluster looks like `scenario`.
struct Outage {
    cloud: LocalCloud,
    env: Environment,
    emulator: Emulator,
    incident_id: String,
}

impl Outage {
    async fn new(label: &str, scenario: Value, config: &[(&str, &str)]) -> Self {
        let cloud = LocalCloud::start().await;
        let env = cloud.provision(label);
        cloud
            .set_health(&env.region("us-east-1").health_check_id, "Failure")
            .await;
        let emulator = Emulator::start(&env, &[QUICK, config].concat(), 1);
        let confirmed = emulator.invoke(
            "confirm-outage",
            r#"{"region": "us-east-1", "reason": "system test"}"#,
        );
        assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
        let incident_id = confirmed.body["incident_id"]
            .as_str()
            .expect("incident id")
            .to_owned();
        let kube = env.region("us-east-1").kube();
        kube.scenario(scenario);
        Self {
            cloud,
            env,
            emulator,
            incident_id,
        }
    }

    fn restore(&self, extra: Value) -> system::Answer {
        let mut event = json!({ "incident_id": self.incident_id });
        if let (Some(event), Some(extra)) = (event.as_object_mut(), extra.as_object()) {
            event.extend(extra.clone());
        }
        self.emulator.invoke("restore-platform", &event.to_string())
    }

    /// One verification poll, as the workflow makes after a remedy.
    fn verify(&self) -> system::Answer {
        let event = json!({ "incident_id": self.incident_id });
        self.emulator.invoke("verify-recovery", &event.to_string())
    }

    fn kube(&self) -> system::KubeAdmin {
        self.env.region("us-east-1").kube()
    }

    /// The PATCH requests the cluster received.
    fn patches(&self) -> Vec<Value> {
        self.kube()
            .requests()
            .into_iter()
            .filter(|r| r["method"] == "PATCH" || r["method"] == "PUT")
            .collect()
    }

    async fn incident(&self) -> system::Item {
        let items = self.cloud.items(&self.env.table).await;
        of_kind(&items, "INCIDENT")
            .first()
            .map(|i| (*i).clone())
            .expect("the incident")
    }

    /// The notices after the confirmation's.
    async fn restore_notices(&self, expected: usize) -> Vec<system::Delivered> {
        let all = self
            .cloud
            .notices(&self.env, expected + 1, Duration::from_secs(10))
            .await;
        assert!(all[0].subject.contains("outage confirmed"), "{all:?}");
        all[1..].to_vec()
    }
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn each_remedy_row_against_the_kubernetes_api() {
    struct Row {
        name: &'static str,
        scenario: Value,
        decision: Value,
        phase: &'static str,
        patch_path: Option<&'static str>,
        notice: &'static str,
    }
    let escalate = |cause: &str| json!({"decision": "escalate", "cause": cause});
    let rows = [
        Row {
            name: "crash looping",
            scenario: json!({"pods": "crashloop", "after_restart": "ready"}),
            decision: json!({"decision": "act", "remedy": {"remedy": "rollout_restart"}}),
            phase: "restoring",
            patch_path: Some("/apis/apps/v1/namespaces/vcluster-platform/deployments/loft"),
            notice: "[WARNING] us-east-1 platform restarted",
        },
        Row {
            name: "scaled to zero",
            scenario: json!({"deployment": {"replicas": 0}}),
            decision: json!({"decision": "act", "remedy": {"remedy": "scale", "replicas": 3}}),
            phase: "restoring",
            patch_path: Some("/apis/apps/v1/namespaces/vcluster-platform/deployments/loft/scale"),
            notice: "[WARNING] us-east-1 platform scaled to 3 replicas",
        },
        Row {
            name: "deployment missing",
            scenario: json!({"deployment": {"exists": false}}),
            decision: escalate("deployment_missing"),
            phase: "escalated",
            patch_path: None,
            notice: "helm upgrade loft vcluster-platform",
        },
        Row {
            name: "cluster not active",
            scenario: json!({"cluster_status": "FAILED"}),
            decision: escalate("cluster_not_active"),
            phase: "escalated",
            patch_path: None,
            notice: "Restore the EKS cluster",
        },
        Row {
            name: "image cannot be pulled",
            scenario: json!({"pods": "imagepull"}),
            decision: escalate("image_cannot_be_pulled"),
            phase: "escalated",
            patch_path: None,
            notice: "fix the image reference",
        },
        Row {
            name: "no ready node",
            scenario: json!({"nodes": {"ready": 0, "not_ready": 3}}),
            decision: escalate("no_ready_node"),
            phase: "escalated",
            patch_path: None,
            notice: "kubectl get nodes",
        },
        Row {
            name: "paused",
            scenario: json!({"deployment": {"paused": true}, "pods": "crashloop"}),
            decision: escalate("deployment_paused"),
            phase: "escalated",
            patch_path: None,
            notice: "rollout resume",
        },
        Row {
            name: "pods healthy, check failing",
            scenario: json!({"pods": "ready"}),
            decision: escalate("pods_healthy_but_check_failing"),
            phase: "escalated",
            patch_path: None,
            notice: "ALB target group",
        },
    ];
    for row in rows {
        let outage = Outage::new("remedy", row.scenario, &[]).await;
        let answer = outage.restore(json!({}));
        assert!(
            !answer.is_error(),
            "{}: {answer:?}\n{}",
            row.name,
            outage.emulator.log()
        );
        assert_eq!(
            answer.body["decision"], row.decision,
            "{}: {answer:?}",
            row.name
        );
        assert_eq!(answer.body["phase"], row.phase, "{}", row.name);

        let patches = outage.patches();
        match row.patch_path {
            Some(path) => {
                assert_eq!(patches.len(), 1, "{}: one change: {patches:?}", row.name);
                assert_eq!(patches[0]["path"], path, "{}", row.name);
                assert_eq!(patches[0]["auth"], true, "{}", row.name);
            }
            None => assert!(
                patches.is_empty(),
                "{}: nothing may change: {patches:?}",
                row.name
            ),
        }
        if row.name == "crash looping" {
            let stamp = &patches[0]["body"]["spec"]["template"]["metadata"]["annotations"]
                [RESTART_ANNOTATION];
            assert!(
                stamp.as_str().is_some_and(|s| s.starts_with("20")),
                "restartedAt stamp: {patches:?}"
            );
            assert_eq!(outage.kube().state()["rollouts"], 1);
        }
        if row.name == "scaled to zero" {
            assert_eq!(patches[0]["body"]["spec"]["replicas"], 3);
        }

        let incident = outage.incident().await;
        assert_eq!(text(&incident, "phase"), row.phase, "{}", row.name);
        assert!(
            incident.contains_key("diagnosis"),
            "{}: the diagnosis is recorded",
            row.name
        );
        let notices = outage.restore_notices(1).await;
        assert_eq!(notices.len(), 1, "{}: {notices:?}", row.name);
        assert!(
            notices[0].subject.contains(row.notice) || notices[0].body.contains(row.notice),
            "{}: {:?} should mention {:?}",
            row.name,
            notices[0],
            row.notice
        );
    }
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn dry_run_changes_nothing() {
    let outage = Outage::new("restoredry", json!({"pods": "crashloop"}), &[]).await;
    let answer = outage.restore(json!({"dry_run": true}));
    assert_eq!(
        answer.body["decision"],
        json!({"decision": "report", "remedy": {"remedy": "rollout_restart"}}),
        "{answer:?}"
    );
    assert!(outage.patches().is_empty(), "dry run patched the cluster");
    assert_eq!(outage.kube().state()["rollouts"], 0);
    // On a live incident a dry-run request is a preview: nothing recorded or sent.
    assert_eq!(text(&outage.incident().await, "phase"), "confirmed");
    assert!(!outage.incident().await.contains_key("actions"));
    assert!(outage.restore_notices(0).await.is_empty());
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_dry_run_deployment_records_and_reports_what_it_would_do() {
    let outage = Outage::new(
        "restoredrycfg",
        json!({"pods": "crashloop"}),
        &[("DRY_RUN", "true")],
    )
    .await;
    let answer = outage.restore(json!({}));
    assert_eq!(
        answer.body["decision"],
        json!({"decision": "report", "remedy": {"remedy": "rollout_restart"}}),
        "{answer:?}"
    );
    assert!(outage.patches().is_empty(), "dry run patched the cluster");
    let notices = outage.restore_notices(1).await;
    assert!(notices[0].subject.contains("[DRY RUN]"), "{notices:?}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn the_budget_stops_a_third_restart() {
    let outage = Outage::new(
        "budget",
        json!({"pods": "crashloop", "after_restart": "crashloop"}),
        &[("ACTION_COOLDOWN_SECONDS", "0")],
    )
    .await;
    for round in 1..=2 {
        let answer = outage.restore(json!({}));
        assert_eq!(
            answer.body["decision"]["decision"], "act",
            "restart {round}: {answer:?}"
        );
        // The workflow verifies between two decisions: still crashing.
        let poll = outage.verify();
        assert_ne!(poll.body["outcome"], "recovered", "{poll:?}");
    }
    let third = outage.restore(json!({}));
    assert_eq!(
        third.body["decision"],
        json!({"decision": "escalate", "cause": "restart_budget_spent"}),
        "{third:?}"
    );
    assert_eq!(outage.patches().len(), 2, "no third restart");
    assert_eq!(text(&outage.incident().await, "phase"), "escalated");
    let notices = outage.restore_notices(3).await;
    assert!(notices[2].body.contains("kubectl logs"), "{notices:?}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_retry_after_the_restart_was_applied_decides_nothing_new() {
    let outage = Outage::new(
        "replay",
        json!({"pods": "crashloop", "after_restart": "crashloop"}),
        &[("ACTION_COOLDOWN_SECONDS", "1")],
    )
    .await;
    let first = outage.restore(json!({}));
    assert_eq!(first.body["decision"]["decision"], "act", "{first:?}");
    // Step Functions retries the step (its answer was lost), after the cooldown.
    std::thread::sleep(Duration::from_secs(2));
    let retry = outage.restore(json!({}));
    assert_eq!(retry.body["decision"], first.body["decision"], "{retry:?}");
    assert!(
        retry.body["summary"]
            .as_str()
            .is_some_and(|s| s.contains("already applied")),
        "{retry:?}"
    );
    assert_eq!(outage.patches().len(), 1, "one restart");
    assert_eq!(outage.kube().state()["rollouts"], 1);
    assert_eq!(
        retry.body["timing"],
        json!({"settle_seconds": 30, "poll_seconds": 15, "deadline_seconds": 900}),
        "the waits the workflow settles and verifies with"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_unapplied_decision_is_dropped_once_the_region_reads_healthy() {
    let outage = Outage::new("dropped", json!({"pods": "crashloop"}), &[]).await;
    outage
        .kube()
        .fault(json!({"status": 500, "count": 3, "method": "PATCH"}));
    let failed = outage.restore(json!({}));
    assert_eq!(failed.error_type(), "UpstreamUnavailable", "{failed:?}");
    assert_eq!(outage.patches().len(), 3);

    // By the time of the retry the region is healthy again: never act on it.
    outage
        .cloud
        .set_health(&outage.env.region("us-east-1").health_check_id, "Success")
        .await;
    let retried = outage.restore(json!({}));
    assert_eq!(retried.body["decision"]["decision"], "skip", "{retried:?}");
    assert_eq!(
        outage.patches().len(),
        3,
        "no PATCH after the region recovered"
    );
    assert_eq!(outage.kube().state()["rollouts"], 0);
    let incident = outage.incident().await;
    assert!(
        format!("{:?}", incident.get("actions")).contains("dropped"),
        "the dropped decision is recorded: {incident:?}"
    );
    let items = outage.cloud.items(&outage.env.table).await;
    assert!(
        of_kind(&items, "TIMELINE#")
            .iter()
            .any(|e| text(e, "kind") == "repaired"
                && text(e, "message").contains("region reads healthy again")),
        "on the timeline"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_failing_patch_is_retried_with_backoff_and_a_retry_issues_no_second_restart() {
    let outage = Outage::new("retry", json!({"pods": "crashloop"}), &[]).await;
    outage
        .kube()
        .fault(json!({"status": 500, "count": 3, "method": "PATCH"}));

    let failed = outage.restore(json!({}));
    assert_eq!(failed.error_type(), "UpstreamUnavailable", "{failed:?}");
    let attempts = outage.patches();
    assert_eq!(
        attempts.len(),
        3,
        "three attempts with backoff: {attempts:?}"
    );
    assert!(attempts.iter().all(|a| a["status"] == 500));
    let stamp = attempts[0]["body"]["spec"]["template"]["metadata"]["annotations"]
        [RESTART_ANNOTATION]
        .clone();
    assert!(
        attempts
            .iter()
            .all(
                |a| a["body"]["spec"]["template"]["metadata"]["annotations"][RESTART_ANNOTATION]
                    == stamp
            )
    );
    let incident = outage.incident().await;
    assert_eq!(
        text(&incident, "phase"),
        "confirmed",
        "nothing claimed that did not happen"
    );
    assert!(
        format!("{:?}", incident.get("actions")).contains("applied"),
        "the decision is kept: {incident:?}"
    );

    // The retry applies the recorded decision with the same stamp: one restart.
    let retried = outage.restore(json!({}));
    assert_eq!(retried.body["decision"]["decision"], "act", "{retried:?}");
    let patches = outage.patches();
    assert_eq!(patches.len(), 4);
    assert_eq!(patches[3]["status"], 200);
    assert_eq!(
        patches[3]["body"]["spec"]["template"]["metadata"]["annotations"][RESTART_ANNOTATION],
        stamp,
        "the same stamp"
    );
    assert_eq!(outage.kube().state()["rollouts"], 1, "one rollout");
    assert_eq!(text(&outage.incident().await, "phase"), "restoring");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_api_that_keeps_failing_is_escalated_after_retries() {
    let outage = Outage::new("apidown", json!({"pods": "crashloop"}), &[]).await;
    outage.kube().fault(json!({"status": 503, "count": 50}));
    let answer = outage.restore(json!({}));
    assert_eq!(
        answer.body["decision"],
        json!({"decision": "escalate", "cause": "api_unreachable"}),
        "{answer:?}"
    );
    // The cold start's warm-up asked first (GET /version) and met the fault too.
    let (warm_up, reads): (Vec<_>, Vec<_>) = outage
        .kube()
        .requests()
        .into_iter()
        .partition(|request| request["path"] == "/version");
    assert_eq!(warm_up.len(), 1, "one warm-up: {warm_up:?}");
    assert_eq!(reads.len(), 3, "three attempts, then escalation: {reads:?}");
    assert!(
        reads.iter().all(|read| read["path"]
            .as_str()
            .is_some_and(|path| path.ends_with("/deployments/loft"))
            && read["status"] == 503),
        "{reads:?}"
    );
    outage.kube().clear_faults();
    assert!(outage.patches().is_empty());
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_refused_token_is_reported_as_an_auth_error() {
    // Signed with a key the cluster does not accept.
    let outage = Outage::new(
        "authfail",
        json!({"pods": "crashloop"}),
        &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")],
    )
    .await;
    let answer = outage.restore(json!({}));
    assert_eq!(answer.error_type(), "UpstreamRejected", "{answer:?}");
    assert!(
        answer.error_message().contains("refused the credentials"),
        "{answer:?}"
    );
    assert!(
        answer.error_message().contains("grant-eks-access"),
        "{answer:?}"
    );
    assert!(
        !answer.error_message().contains("k8s-aws-v1."),
        "the token never appears in an error"
    );
    assert!(
        !outage.emulator.log().contains("k8s-aws-v1."),
        "the token never appears in a log"
    );
    let requests = outage.kube().requests();
    assert!(
        requests
            .iter()
            .all(|r| r["status"] == 401 && r["auth"] == false),
        "{requests:?}"
    );
    assert!(outage.patches().is_empty());
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn expired_and_malformed_tokens_are_refused_by_the_local_api() {
    use k8s_openapi::api::apps::v1::Deployment;

    let cloud = LocalCloud::start().await;
    let env = cloud.provision("tokens");
    let region = env.region("us-east-1");
    let (endpoint, ca_data) = region.kube().endpoint_and_ca_data();
    let credentials =
        aws_credential_types::Credentials::new("testing", "testing", None, None, "local-cloud");
    let token = |cluster: &str, age: u64| {
        failover_kube::eks_token::eks_token(
            &credentials,
            cluster,
            "us-east-1",
            SystemTime::now() - Duration::from_secs(age),
        )
        .expect("token")
    };
    let cases = [
        ("valid", token(&region.cluster, 0).expose().to_owned(), true),
        (
            "expired",
            token(&region.cluster, 600).expose().to_owned(),
            false,
        ),
        (
            "for another cluster",
            token("someone-elses-cluster", 0).expose().to_owned(),
            false,
        ),
        ("malformed", "k8s-aws-v1.bm90IGEgdXJs".to_owned(), false),
        ("not an EKS token", "hello".to_owned(), false),
    ];
    for (name, bearer, accepted) in cases {
        let client =
            failover_kube::kube_client(&region.cluster, endpoint.clone(), ca_data.clone(), &bearer)
                .await
                .expect("client");
        let deployments: kube::Api<Deployment> = kube::Api::namespaced(client, "vcluster-platform");
        match deployments.get("loft").await {
            Ok(_) => assert!(accepted, "{name}: accepted"),
            Err(kube::Error::Api(status)) => {
                assert!(!accepted, "{name}: refused: {status:?}");
                assert_eq!(
                    (status.code, status.reason.as_str()),
                    (401, "Unauthorized"),
                    "{name}"
                );
            }
            Err(other) => panic!("{name}: {other}"),
        }
    }

    // TLS is verified: another cluster's CA does not trust this endpoint.
    let (_, other_ca) = env.region("eu-west-1").kube().endpoint_and_ca_data();
    let client = failover_kube::kube_client(
        &region.cluster,
        endpoint,
        other_ca,
        token(&region.cluster, 0).expose(),
    )
    .await
    .expect("client");
    let deployments: kube::Api<Deployment> = kube::Api::namespaced(client, "vcluster-platform");
    let error = deployments
        .get("loft")
        .await
        .expect_err("a foreign CA must fail the TLS handshake");
    assert!(!matches!(error, kube::Error::Api(_)), "{error}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_api_that_times_out_is_retried_then_escalated() {
    let outage = Outage::new("apislow", json!({"pods": "crashloop"}), &[]).await;
    // Longer than the client's 10 s read timeout, three times: every attempt
    // to read the deployment times out (the cold start's GET /version does
    // not take one of them; the warm-up gives up after a second anyway).
    outage.kube().fault(json!({
        "delay_seconds": 12, "count": 3, "path_prefix": "/apis/apps/v1/"
    }));
    let answer = outage.restore(json!({}));
    assert_eq!(
        answer.body["decision"],
        json!({"decision": "escalate", "cause": "api_unreachable"}),
        "{answer:?}"
    );
    assert!(
        answer.body["diagnosis"]
            .as_str()
            .is_some_and(|d| d.contains("unreachable")),
        "{answer:?}"
    );
    assert!(outage.patches().is_empty());
    let notices = outage.restore_notices(1).await;
    assert!(
        notices[0].body.contains("Restore the EKS cluster"),
        "{notices:?}"
    );
}
