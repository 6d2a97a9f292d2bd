//! `scripts/drill`, every scenario, as a person runs it: the script's exit
//! status and its last line, the JSON summary.

#![allow(clippy::expect_used)]

use std::process::Command;

use serde_json::Value;
use system::{LocalCloud, root};

/// Runs one scenario; answers its summary and what it printed, after
/// checking the exit status agrees with the outcome.
async fn run(scenario: &str) -> (Value, String) {
    LocalCloud::start().await; // shared, so parallel drills do not race to start it
    let output = Command::new(root().join("scripts/drill"))
        .arg(scenario)
        .output()
        .expect("run scripts/drill");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let summary: Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "{scenario}: the last line is not the JSON summary ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        output.status.success(),
        "{scenario}: exit {:?}\n{stdout}",
        output.status
    );
    assert_eq!(summary["scenario"], scenario);
    (summary, stdout.into_owned())
}

/// A scenario that breaks a region: its summary, with the incident's keys.
async fn drill(scenario: &str) -> Value {
    let (summary, stdout) = run(scenario).await;
    for key in [
        "outcome",
        "incident_id",
        "actions",
        "notifications",
        "detect_to_action_s",
        "time_to_recover_s",
        "incidents",
        "repairs",
        "notices",
        "leases",
        "failed_attempts",
    ] {
        assert!(
            summary.get(key).is_some(),
            "{scenario}: no {key} in {summary}"
        );
    }
    assert!(
        stdout.contains("+") && stdout.contains("report ("),
        "{scenario}: no timeline or report:\n{stdout}"
    );
    summary
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn actions(summary: &Value) -> Vec<&str> {
    strings(&summary["actions"])
}

/// Every incident of the run, oldest first.
fn incidents(summary: &Value) -> &[Value] {
    summary["incidents"].as_array().map_or(&[], Vec::as_slice)
}

/// The delivered notices' subjects; with `held`, only those the drill saw
/// waiting in an outbox while SNS was down.
fn subjects(summary: &Value, held: bool) -> Vec<&str> {
    summary["notices"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter(|n| !held || n["held"] == true)
                .filter_map(|n| n["subject"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn recovered(summary: &Value, action: &str) {
    assert_eq!(summary["outcome"], "recovered", "{summary}");
    assert_eq!(actions(summary), [action], "{summary}");
    let acted = summary["detect_to_action_s"].as_f64().expect("acted");
    let recovered = summary["time_to_recover_s"].as_f64().expect("recovered");
    assert!(0.0 <= acted && acted < recovered, "{summary}");
    assert_eq!(
        summary["notifications"], 3,
        "confirmed, acted, recovered: {summary}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn crashloop() {
    recovered(&drill("crashloop").await, "rollout_restart");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn scaled_to_zero() {
    recovered(&drill("scaled-to-zero").await, "scale");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn alarm_storm() {
    recovered(&drill("alarm-storm").await, "rollout_restart");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn derp_peer_offline() {
    let summary = drill("derp-peer-offline").await;
    assert_eq!(summary["outcome"], "recovered", "{summary}");
    assert_eq!(actions(&summary), ["rollout_restart"]);
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn transient() {
    let summary = drill("transient").await;
    assert_eq!(summary["outcome"], "dismissed", "{summary}");
    assert!(actions(&summary).is_empty());
    assert_eq!(summary["detect_to_action_s"], Value::Null);
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn both_regions_down() {
    let summary = drill("both-regions-down").await;
    assert_eq!(summary["outcome"], "escalated", "{summary}");
    assert!(actions(&summary).is_empty());
    assert_eq!(summary["notifications"], 1, "{summary}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn deployment_missing() {
    let summary = drill("deployment-missing").await;
    assert_eq!(summary["outcome"], "escalated", "{summary}");
    assert!(actions(&summary).is_empty());
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn restart_does_not_help() {
    let summary = drill("restart-does-not-help").await;
    assert_eq!(summary["outcome"], "escalated", "{summary}");
    assert_eq!(actions(&summary), ["rollout_restart", "rollout_restart"]);
    assert_eq!(summary["time_to_recover_s"], Value::Null);
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn dry_run() {
    let summary = drill("dry-run").await;
    assert_eq!(summary["outcome"], "reported", "{summary}");
    assert!(actions(&summary).is_empty(), "nothing applied: {summary}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn flapping() {
    let summary = drill("flapping").await;
    assert_eq!(summary["outcome"], "recovered", "{summary}");
    let incidents = incidents(&summary);
    assert_eq!(incidents.len(), 2, "dismissed, then reopened: {summary}");
    assert_eq!(incidents[0]["phase"], "dismissed", "{summary}");
    assert_eq!(incidents[0]["trigger"], "alarm_action", "{summary}");
    assert_eq!(incidents[1]["trigger"], "reconciler", "{summary}");
    assert!(
        strings(&summary["repairs"])
            .iter()
            .any(|r| r.contains("confirmed again")),
        "{summary}"
    );
    assert_eq!(actions(&summary), ["rollout_restart"]);
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn workflow_stopped() {
    let summary = drill("workflow-stopped").await;
    assert_eq!(summary["outcome"], "escalated", "{summary}");
    assert_eq!(
        incidents(&summary)[0]["escalation"],
        "workflow_stopped",
        "{summary}"
    );
    assert_eq!(summary["leases"], 0, "the region is released: {summary}");
    assert!(
        subjects(&summary, false)
            .contains(&"[CRITICAL] ESCALATION: us-east-1 recovery stopped without closing"),
        "{summary}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn sns_outage() {
    let summary = drill("sns-outage").await;
    recovered(&summary, "rollout_restart");
    assert_eq!(
        subjects(&summary, true),
        [
            "[CRITICAL] us-east-1 platform outage confirmed",
            "[WARNING] us-east-1 platform restarted"
        ],
        "held while SNS was down, delivered once it was back: {summary}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn retry_after_throttle() {
    let summary = drill("retry-after-throttle").await;
    recovered(&summary, "rollout_restart");
    assert_eq!(
        strings(&summary["failed_attempts"]),
        ["UpstreamUnavailable"],
        "{summary}"
    );
    assert_eq!(incidents(&summary).len(), 1, "{summary}");
}

#[test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
fn list_names_every_scenario_on_one_line() {
    let output = Command::new(root().join("scripts/drill"))
        .arg("--list")
        .output()
        .expect("run scripts/drill --list");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        [
            "crashloop",
            "scaled-to-zero",
            "transient",
            "both-regions-down",
            "deployment-missing",
            "restart-does-not-help",
            "derp-peer-offline",
            "alarm-storm",
            "dry-run",
            "flapping",
            "workflow-stopped",
            "sns-outage",
            "retry-after-throttle",
            "three-regions",
            "two-of-three-down",
            "all-three-down",
            "readiness-drift",
            "rbac-missing",
            "approval",
            "approval-rejected",
            "approval-timeout",
            "approval-four-eyes"
        ]
    );
}

/// The readiness findings of `summary` as (status, kind, scope, detail, fix).
fn findings(summary: &Value) -> Vec<(&str, &str, &str, &str, &str)> {
    summary["readiness"]["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let text = |key: &str| c[key].as_str().unwrap_or_default();
            (
                text("status"),
                text("kind"),
                text("scope"),
                text("detail"),
                text("fix"),
            )
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn readiness_drift() {
    let (summary, stdout) = run("readiness-drift").await;
    assert_eq!(summary["outcome"], "not_ready", "{summary}");
    assert_eq!(summary["incidents"], serde_json::json!([]), "{summary}");
    assert_eq!(
        summary["changed"],
        serde_json::json!({"us-east-1": 0, "eu-west-1": 0}),
        "the evaluation changes nothing"
    );
    let found = findings(&summary);
    assert!(
        found
            .iter()
            .any(|(status, kind, _, detail, fix)| *status == "fail"
                && *kind == "image_drift"
                && detail.contains("eu-west-1 ghcr.io/loft-sh/vcluster-platform:4.7.2")
                && fix.contains("set image deployment/loft")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(status, kind, scope, detail, fix)| *status == "fail"
                && *kind == "kubernetes_permissions"
                && *scope == "us-east-1"
                && detail.contains("restore-platform may not: patch apps/deployments/scale loft")
                && fix.starts_with("scripts/grant-eks-access --cluster")),
        "{found:?}"
    );
    assert!(stdout.contains("readiness: fail: "), "{stdout}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn rbac_missing() {
    let summary = drill("rbac-missing").await;
    assert_eq!(summary["outcome"], "escalated", "{summary}");
    assert!(
        actions(&summary).is_empty(),
        "nothing was applied: {summary}"
    );
    assert!(
        findings(&summary)
            .iter()
            .any(|(status, kind, scope, detail, _)| *status == "fail"
                && *kind == "kubernetes_permissions"
                && *scope == "us-east-1"
                && detail.contains("restore-platform may not: patch apps/deployments loft")),
        "readiness reported it before the outage: {summary}"
    );
    assert!(
        subjects(&summary, false)
            .contains(&"[CRITICAL] ESCALATION: us-east-1 recovery stopped on an error"),
        "{summary}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn three_regions() {
    let summary = drill("three-regions").await;
    recovered(&summary, "rollout_restart");
    assert_eq!(incidents(&summary).len(), 1, "{summary}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn two_of_three_down() {
    let summary = drill("two-of-three-down").await;
    assert_eq!(summary["outcome"], "recovered", "{summary}");
    let mut regions: Vec<&str> = incidents(&summary)
        .iter()
        .map(|i| {
            assert_eq!(i["phase"], "recovered", "{summary}");
            i["id"]
                .as_str()
                .and_then(|id| id.get(..9))
                .unwrap_or_default()
        })
        .collect();
    regions.sort_unstable();
    assert_eq!(
        regions,
        ["eu-west-1", "us-east-1"],
        "one incident each: {summary}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn all_three_down() {
    let summary = drill("all-three-down").await;
    assert_eq!(summary["outcome"], "escalated", "{summary}");
    assert!(actions(&summary).is_empty(), "{summary}");
    assert_eq!(
        incidents(&summary)[0]["escalation"],
        "all_regions_down",
        "{summary}"
    );
}

/// The approval drills' replies: (person, verdict, exit code, the workflow
/// state just before).
fn replies(summary: &Value) -> Vec<(&str, &str, i64, &str)> {
    summary["replies"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["person"].as_str().unwrap_or_default(),
                r["verdict"].as_str().unwrap_or_default(),
                r["code"].as_i64().unwrap_or(-1),
                r["state"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

fn asked_once(summary: &Value) {
    let asked: Vec<&str> = subjects(summary, false)
        .into_iter()
        .filter(|s| s.contains("APPROVAL NEEDED"))
        .collect();
    assert_eq!(asked.len(), 1, "{summary}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn approval() {
    let (summary, stdout) = run("approval").await;
    assert_eq!(summary["outcome"], "recovered", "{summary}");
    assert_eq!(actions(&summary), ["rollout_restart"], "{summary}");
    assert_eq!(
        replies(&summary),
        [("alice", "approve", 0, "AwaitApproval")],
        "{summary}"
    );
    asked_once(&summary);
    assert!(
        stdout.contains("approved by arn:aws:iam::123456789012:user/alice@drill-approval-"),
        "the approver's identity on the timeline:\n{stdout}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn approval_rejected() {
    let summary = drill("approval-rejected").await;
    assert_eq!(summary["outcome"], "escalated", "{summary}");
    assert_eq!(
        incidents(&summary)[0]["escalation"],
        "approval_rejected",
        "{summary}"
    );
    assert!(actions(&summary).is_empty(), "{summary}");
    assert_eq!(replies(&summary)[0].2, 0, "{summary}");
    assert_eq!(summary["leases"], 0, "{summary}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn approval_timeout() {
    let summary = drill("approval-timeout").await;
    assert_eq!(summary["outcome"], "escalated", "{summary}");
    assert_eq!(
        incidents(&summary)[0]["escalation"],
        "no_approval",
        "{summary}"
    );
    assert!(actions(&summary).is_empty(), "{summary}");
    asked_once(&summary);
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn approval_four_eyes() {
    let summary = drill("approval-four-eyes").await;
    assert_eq!(summary["outcome"], "recovered", "{summary}");
    assert_eq!(actions(&summary), ["rollout_restart"], "{summary}");
    assert_eq!(
        replies(&summary),
        [
            ("alice", "approve", 0, "AwaitApproval"),
            ("alice", "approve", 2, "AwaitApproval"),
            ("bob", "approve", 0, "AwaitApproval"),
        ],
        "the same person twice is refused (exit 2); one approval is not enough: {summary}"
    );
}
