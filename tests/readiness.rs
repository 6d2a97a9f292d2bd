//! `evaluate-readiness` end to end: the real binary against the local
//! cloud, reading Route 53, CloudWatch and confirm-outage's resource policy
//! itself, and each cluster function's permissions through that function's
//! probe mode (Lambda `Invoke`, the function running as its own role
//! against the local Kubernetes APIs' RBAC).

use std::time::Duration;

use serde_json::{Value, json};
use system::{Emulator, Environment, LocalCloud, of_kind};

const FUNCTION: &str = "evaluate-readiness";

/// One recovery of `region` by the real functions and the real workflow:
/// a crash-looping platform, confirmed, restarted, verified. The evidence
/// that the region can be recovered.
async fn recover(cloud: &LocalCloud, env: &Environment, emulator: &Emulator, region: &str) {
    let failed = env.region(region);
    failed
        .kube()
        .scenario(json!({"pods": "crashloop", "after_restart": "ready"}));
    cloud.set_health(&failed.health_check_id, "Platform").await;
    let confirmed = emulator.invoke("confirm-outage", &json!({"region": region}).to_string());
    let execution_arn = confirmed.body["execution_arn"]
        .as_str()
        .unwrap_or_else(|| panic!("no execution started: {confirmed:?}"))
        .to_owned();
    let execution = cloud
        .finished(&execution_arn, Duration::from_secs(120))
        .await;
    assert_eq!(
        execution.status,
        "SUCCEEDED",
        "{execution:?}\n{}",
        emulator.log()
    );
}

fn evaluate(emulator: &Emulator) -> Value {
    let answer = emulator.invoke(FUNCTION, "{}");
    assert!(!answer.is_error(), "{answer:?}\n{}", emulator.log());
    answer.body
}

/// The checks of `kind` about `scope`, as (status, detail, fix).
fn checks<'a>(answer: &'a Value, kind: &str, scope: &str) -> Vec<(&'a str, &'a str, &'a str)> {
    answer["checks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|c| c["kind"] == kind && c["scope"] == scope)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default(),
                c["detail"].as_str().unwrap_or_default(),
                c["fix"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

fn patches(env: &Environment) -> usize {
    env.regions
        .iter()
        .flat_map(|r| r.kube().requests())
        .filter(|r| {
            r["method"] != "GET"
                && !r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("accessreviews")
        })
        .count()
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_ready_setup_passes_every_check_and_is_told_once() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("ready");
    let emulator = Emulator::start(&env, &system::short_waits(), 2).serving_workflow();
    for region in ["us-east-1", "eu-west-1"] {
        recover(&cloud, &env, &emulator, region).await;
    }
    let reconciled = emulator.invoke("reconcile", "{}");
    assert!(!reconciled.is_error(), "{reconciled:?}");
    let changes = patches(&env);

    let first = evaluate(&emulator);
    assert_eq!(first["status"], "pass", "{:#}", first["findings"]);
    assert_eq!(first["notified"], true, "{first}");
    let kinds: std::collections::BTreeSet<&str> = first["checks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["kind"].as_str())
        .collect();
    assert_eq!(kinds.len(), 14, "every kind of check was made: {kinds:?}");
    for (function, requests) in [
        ("restore-platform", "6"),
        ("verify-recovery", "5"),
        ("check-derp-peers", "1"),
    ] {
        let (status, detail, _) = checks(&first, "kubernetes_permissions", "us-east-1")
            .into_iter()
            .find(|(_, d, _)| d.starts_with(function))
            .unwrap_or_else(|| panic!("no permission check of {function}: {first}"));
        assert_eq!(status, "pass");
        assert!(
            detail.contains(&format!("each of its {requests} requests")),
            "{detail}"
        );
    }
    let told = cloud.ops_notices(&env, 1, Duration::from_secs(10)).await;
    let subjects: Vec<&str> = told.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(subjects, ["[INFO] readiness: every check passes"]);

    let second = evaluate(&emulator);
    assert_eq!(second["status"], "pass", "{second}");
    assert_eq!(second["notified"], false, "the same outcome: {second}");
    assert!(
        cloud
            .ops_notices(&env, 0, Duration::from_secs(2))
            .await
            .is_empty()
    );
    let items = cloud.items(&env.table).await;
    assert_eq!(of_kind(&items, "REPORT#").len(), 2, "each report is kept");
    assert_eq!(of_kind(&items, "LATEST").len(), 1);
    assert_eq!(
        patches(&env),
        changes,
        "the evaluation changed nothing in a cluster"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn each_part_that_would_break_a_recovery_fails_its_check_with_its_fix() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("broken");
    let emulator = Emulator::start(&env, &[], 2).serving_workflow();
    emulator.invoke("reconcile", "{}");
    let sdk = cloud.sdk();
    let (east, west) = (env.region("us-east-1"), env.region("eu-west-1"));

    // The detection path: us-east-1's alarm acts on nothing and may not
    // invoke confirm-outage; eu-west-1's alarm has no data and its health
    // check is gone.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    cloudwatch
        .disable_alarm_actions()
        .alarm_names(&east.alarm_names[0])
        .send()
        .await
        .expect("disable the alarm's actions");
    aws_sdk_lambda::Client::new(&sdk)
        .remove_permission()
        .function_name(format!("{}-confirm-outage", env.name))
        .statement_id(format!("{}-invoke", east.alarm_names[0]))
        .send()
        .await
        .expect("remove the alarm's invoke permission");
    cloud
        .set_alarm(&west.alarm_names[0], "INSUFFICIENT_DATA")
        .await;
    aws_sdk_route53::Client::new(&sdk)
        .delete_health_check()
        .health_check_id(&west.health_check_id)
        .send()
        .await
        .expect("delete the health check");
    // The clusters: restore-platform may no longer scale in us-east-1;
    // eu-west-1 runs an older Kubernetes and platform, and wants 5 replicas.
    east.kube().remove_verb(
        "roles/vcluster-platform/platform-failover-restore",
        "patch",
        "deployments/scale",
    );
    west.kube().scenario(json!({
        "kubernetes_version": "1.30",
        "deployment": {"image": "ghcr.io/loft-sh/vcluster-platform:4.7.2", "replicas": 5}
    }));

    let answer = evaluate(&emulator);
    assert_eq!(answer["status"], "fail", "{answer}");
    let wanted: &[(&str, &str, &str, &str, &str)] = &[
        (
            "health_alarm",
            "us-east-1",
            "fail",
            "its actions are disabled",
            "aws cloudwatch enable-alarm-actions --alarm-names",
        ),
        (
            "invoke_permission",
            "us-east-1",
            "fail",
            "may not invoke confirm-outage",
            "aws lambda add-permission --function-name",
        ),
        (
            "health_alarm",
            "eu-west-1",
            "fail",
            "INSUFFICIENT_DATA",
            "reports its HealthCheckStatus metric",
        ),
        (
            "health_check",
            "eu-west-1",
            "fail",
            "does not exist",
            "set its id for eu-west-1",
        ),
        (
            "kubernetes_permissions",
            "us-east-1",
            "fail",
            "restore-platform may not: patch apps/deployments/scale loft in vcluster-platform",
            "scripts/grant-eks-access --cluster",
        ),
        (
            "permission_drift",
            "orchestrator",
            "fail",
            "restore-platform may in another region but not in us-east-1",
            "scripts/grant-eks-access --cluster",
        ),
        (
            "kubernetes_version_drift",
            "orchestrator",
            "fail",
            "us-east-1 1.31, eu-west-1 1.30",
            "aws eks update-cluster-version",
        ),
        (
            "image_drift",
            "orchestrator",
            "fail",
            "eu-west-1 ghcr.io/loft-sh/vcluster-platform:4.7.2",
            "set image deployment/loft",
        ),
        (
            "replicas_drift",
            "orchestrator",
            "warn",
            "eu-west-1 5",
            "scale deployment/loft --replicas=3",
        ),
        (
            "drill_evidence",
            "us-east-1",
            "warn",
            "no successful recovery or drill",
            "exercise the recovery of us-east-1",
        ),
    ];
    for (kind, scope, status, detail, fix) in wanted {
        let found = checks(&answer, kind, scope);
        assert!(
            found
                .iter()
                .any(|(s, d, f)| s == status && d.contains(detail) && f.contains(fix)),
            "no {status} {kind} check for {scope} with {detail:?} and fix {fix:?}: {found:?}"
        );
    }
    let told = cloud.ops_notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0].subject,
        "[CRITICAL] readiness: a recovery would not work unattended"
    );
    assert!(
        told[0].body.contains("fix: scripts/grant-eks-access"),
        "{}",
        told[0].body
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_operations_topic_that_is_down_fails_the_evaluation_and_the_next_one_tells() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("readyops");
    let broken = Emulator::start(&env, &[("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")], 1)
        .serving_workflow();
    let failed = broken.invoke(FUNCTION, "{}");
    assert_eq!(failed.error_type(), "UpstreamUnavailable", "{failed:?}");
    let items = cloud.items(&env.table).await;
    assert!(
        of_kind(&items, "REPORT#").is_empty() && of_kind(&items, "LATEST").is_empty(),
        "nothing stored: the change is still to be told"
    );
    drop(broken);

    let emulator = Emulator::start(&env, &[], 1).serving_workflow();
    let answer = evaluate(&emulator);
    assert_eq!(answer["notified"], true, "{answer}");
    assert_eq!(
        cloud
            .ops_notices(&env, 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );
}
