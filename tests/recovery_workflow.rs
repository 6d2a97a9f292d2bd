//! The whole recovery, end to end: an alarm reaches the real `confirm-outage`
//! binary, which starts the real workflow from `template.yaml` on the local
//! cloud's Step Functions; its Lambda tasks run the real `restore-platform`,
//! `verify-recovery`, `check-derp-peers` and `escalate-incident` binaries
//! against the local Kubernetes APIs, whose state Route 53 health follows.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use system::{
    Delivered, Emulator, Environment, Execution, Item, LocalCloud, alarm_event, emf, of_kind, text,
};

struct Recovery {
    env: Environment,
    execution: Execution,
    incident: Item,
    /// (kind, message) of each timeline entry, oldest first.
    timeline: Vec<(String, String)>,
    notices: Vec<Delivered>,
    /// Kubernetes PATCHes the failed region's cluster received.
    patches: Vec<String>,
    /// What the functions reported as metrics (Embedded Metric Format).
    metrics: Vec<emf::Figure>,
}

impl Recovery {
    fn kinds(&self) -> Vec<&str> {
        self.timeline.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn subjects(&self) -> Vec<&str> {
        self.notices.iter().map(|n| n.subject.as_str()).collect()
    }

    fn time(&self, field: &str) -> chrono::DateTime<chrono::Utc> {
        text(&self.incident, field)
            .parse()
            .unwrap_or_else(|e| panic!("{field}: {e}: {:?}", self.incident))
    }

    fn count(&self, state: &str) -> usize {
        self.execution.states.iter().filter(|s| *s == state).count()
    }
}

/// Breaks us-east-1's platform as `scenario` says, fires its alarm the way
/// CloudWatch does, and follows the workflow `confirm-outage` starts to its end.
async fn recover(label: &str, scenario: Value, faults: &[Value], notices: usize) -> Recovery {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision(label);
    let emulator = Emulator::start(&env, &system::short_waits(), 2).serving_workflow();
    let failed = env.region("us-east-1");
    failed.kube().scenario(scenario);
    for fault in faults {
        failed.kube().fault(fault.clone());
    }
    for region in &env.regions {
        cloud.set_health(&region.health_check_id, "Platform").await;
    }

    let alarm = alarm_event("confirm-outage-alarm-action.json", &failed.alarm_names[0]);
    let confirmed = emulator.invoke("confirm-outage", &alarm.to_string());
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    let incident_id = confirmed.body["incident_id"].as_str().unwrap().to_owned();
    let execution_arn = confirmed.body["execution_arn"]
        .as_str()
        .unwrap_or_else(|| panic!("no execution started: {confirmed:?}"))
        .to_owned();
    assert!(
        execution_arn.ends_with(&format!(":{incident_id}")),
        "{execution_arn}"
    );
    assert_eq!(
        cloud.executions(&env).await,
        std::slice::from_ref(&execution_arn)
    );

    let execution = cloud
        .finished(&execution_arn, Duration::from_secs(120))
        .await;
    assert_ne!(
        execution.status,
        "RUNNING",
        "{execution:?}\n{}",
        emulator.log()
    );

    let items = cloud.items(&env.table).await;
    let incident = of_kind(&items, "INCIDENT")[0].clone();
    let mut entries: Vec<&Item> = of_kind(&items, "TIMELINE#");
    entries.sort_by_key(|e| text(e, "sk"));
    let timeline = entries
        .iter()
        .map(|e| (text(e, "kind"), text(e, "message")))
        .collect();
    assert!(
        of_kind(&items, "LEASE").is_empty(),
        "the closed incident released the region: {items:?}"
    );
    let patches = failed
        .kube()
        .requests()
        .iter()
        .filter(|r| r["method"] == "PATCH" && r["status"].as_u64().is_some_and(|s| s < 300))
        .map(|r| r["path"].as_str().unwrap_or_default().to_owned())
        .collect();
    let notices = cloud.notices(&env, notices, Duration::from_secs(15)).await;
    let metrics = emf::figures(&emulator.log());
    Recovery {
        env,
        execution,
        incident,
        timeline,
        notices,
        patches,
        metrics,
    }
}

/// Recovered with one remedy: `remedy` named in its notice, one PATCH to `patched`.
fn assert_recovered(recovery: &Recovery, remedy: &str, patched: &str) {
    let r = recovery;
    assert_eq!(r.patches.len(), 1, "one remedy: {:?}", r.patches);
    assert!(r.patches[0].ends_with(patched), "{:?}", r.patches);
    assert_eq!(r.execution.status, "SUCCEEDED", "{:?}", r.execution);
    assert_eq!(
        r.execution.states[..6],
        [
            "Timing",
            "Restore",
            "RestoreDecision",
            "Settle",
            "Verify",
            "VerifyOutcome"
        ],
        "{:?}",
        r.execution.states
    );
    assert_eq!(
        r.execution.states[r.execution.states.len() - 2..],
        ["CheckDerpPeers", "Recovered"],
        "{:?}",
        r.execution.states
    );
    assert!(
        r.count("Verify") >= 2,
        "two healthy readings in a row: {:?}",
        r.execution.states
    );
    assert_eq!(
        r.execution.output["peers"]["report"]["verdict"], "all_online",
        "{}",
        r.execution.output
    );

    assert_eq!(text(&r.incident, "phase"), "recovered");
    let detected = r.time("detected_at");
    let confirmed = r.time("confirmed_at");
    let acted = r.time("acted_at");
    let recovered = r.time("recovered_at");
    assert!(
        detected <= confirmed && confirmed <= acted && acted < recovered,
        "{detected} {confirmed} {acted} {recovered}"
    );
    let took = (recovered - detected).num_seconds();
    assert!((1..60).contains(&took), "detected to recovered: {took} s");

    let kinds = r.kinds();
    let first = |kind: &str| {
        kinds
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_else(|| panic!("no {kind} in {kinds:?}"))
    };
    assert!(
        first("detected") < first("verdict")
            && first("verdict") < first("workflow_started")
            && first("workflow_started") < first("diagnosed")
            && first("diagnosed") < first("acted")
            && first("acted") < first("verified"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "acted").count(),
        1,
        "{kinds:?}"
    );
    let (_, closing) = r
        .timeline
        .iter()
        .rev()
        .find(|(k, _)| k == "verified")
        .unwrap();
    assert!(closing.starts_with("recovered"), "{closing}");

    let subjects = r.subjects();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(
        subjects[0].starts_with("[CRITICAL]") && subjects[0].contains("us-east-1"),
        "{subjects:?}"
    );
    assert!(subjects[1].contains(remedy), "{subjects:?}");
    assert!(
        subjects[2].starts_with("[INFO] us-east-1 platform recovered in "),
        "{subjects:?}"
    );
    assert!(
        r.notices[2].body.contains("from detection"),
        "{}",
        r.notices[2].body
    );
    for notice in &r.notices {
        assert_eq!(notice.attributes["incident_id"], text(&r.incident, "id"));
    }

    // The figures the functions printed add up to this one incident.
    let m = &r.metrics;
    let region = ("region", "us-east-1");
    assert!(
        m.iter().all(|f| f.namespace == "PlatformFailover"),
        "{m:#?}"
    );
    assert_eq!(emf::sum(m, "IncidentsOpened", &[region]), 1.0, "{m:#?}");
    assert_eq!(
        emf::sum(m, "Verdicts", &[region, ("verdict", "confirmed")]),
        1.0
    );
    let action = if remedy == "scale" {
        "scale"
    } else {
        "rollout_restart"
    };
    assert_eq!(
        emf::sum(m, "ActionsApplied", &[region, ("action", action)]),
        1.0
    );
    assert_eq!(
        emf::sum(m, "IncidentsClosed", &[region, ("outcome", "recovered")]),
        1.0
    );
    let seconds = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| {
        (to - from).num_milliseconds() as f64 / 1000.0
    };
    // One figure each, the incident's own durations (to the millisecond).
    let close = |got: Vec<f64>, want: f64| got.len() == 1 && (got[0] - want).abs() < 0.002;
    let to_action = emf::values(m, "DetectionToAction", &[region]);
    assert!(close(to_action, seconds(detected, acted)), "{m:#?}");
    let to_recover = emf::values(m, "TimeToRecover", &[region]);
    assert!(close(to_recover, seconds(detected, recovered)), "{m:#?}");
    let unit = m
        .iter()
        .find(|f| f.name == "TimeToRecover")
        .map(|f| f.unit.as_str());
    assert_eq!(unit, Some("Seconds"));
    assert_eq!(emf::sum(m, "NoticesUndelivered", &[]), 0.0);
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_crash_looping_region_is_restarted_and_closed_with_its_time_to_recover() {
    let r = recover(
        "wf-crashloop",
        json!({"pods": "crashloop", "after_restart": "ready"}),
        &[],
        3,
    )
    .await;
    assert_recovered(&r, "restart", "/deployments/loft");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_region_scaled_to_zero_is_scaled_back_and_closed() {
    let r = recover(
        "wf-zero",
        json!({"deployment": {"replicas": 0}, "after_restart": "ready"}),
        &[],
        3,
    )
    .await;
    assert_recovered(&r, "scale", "/deployments/loft/scale");
    let state = r.env.region("us-east-1").kube().state();
    assert_eq!(state["deployment"]["spec"]["replicas"], 3, "{state}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn pods_that_keep_crashing_spend_the_restart_budget_then_escalate() {
    let r = recover(
        "wf-budget",
        json!({"pods": "crashloop", "after_restart": ["crashloop"]}),
        &[],
        4,
    )
    .await;
    // An escalation is a designed outcome: it does not count as a failed execution.
    assert_eq!(r.execution.status, "SUCCEEDED", "{:?}", r.execution);
    assert_eq!(r.execution.error, None, "{:?}", r.execution);
    assert_eq!(
        r.execution.states.last().map(String::as_str),
        Some("Escalated")
    );
    assert!(
        !r.execution.states.contains(&"Escalate".to_owned()),
        "restore escalated by itself, nothing failed: {:?}",
        r.execution.states
    );
    assert_eq!(
        r.patches.len(),
        2,
        "the budget is 2 restarts: {:?}",
        r.patches
    );
    assert_eq!(r.count("Settle"), 2, "{:?}", r.execution.states);

    assert_eq!(text(&r.incident, "phase"), "escalated");
    assert_eq!(text(&r.incident, "escalation"), "restart_budget_spent");
    assert!(r.time("closed_at") > r.time("acted_at"));
    let kinds = r.kinds();
    assert_eq!(
        kinds.iter().filter(|k| **k == "acted").count(),
        2,
        "{kinds:?}"
    );
    assert!(
        r.timeline
            .iter()
            .any(|(k, m)| k == "verified" && m.contains("ProgressDeadlineExceeded")),
        "{:?}",
        r.timeline
    );
    let subjects = r.subjects();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(subjects[3].contains("ESCALATION"), "{subjects:?}");
    let (m, region) = (&r.metrics, ("region", "us-east-1"));
    assert_eq!(
        emf::sum(m, "IncidentsClosed", &[region, ("outcome", "escalated")]),
        1.0,
        "{m:#?}"
    );
    assert_eq!(
        emf::sum(m, "IncidentsClosed", &[region, ("outcome", "recovered")]),
        0.0
    );
    assert_eq!(
        emf::sum(
            m,
            "ActionsApplied",
            &[region, ("action", "rollout_restart")]
        ),
        2.0
    );
    assert_eq!(
        emf::values(m, "DetectionToAction", &[region]).len(),
        1,
        "{m:#?}"
    );
    assert!(
        emf::values(m, "TimeToRecover", &[region]).is_empty(),
        "{m:#?}"
    );
    assert!(
        r.notices[3].body.contains("kubectl logs"),
        "{}",
        r.notices[3].body
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_step_that_fails_for_good_escalates_the_incident_and_says_why() {
    // The API server refuses the restart: not something a retry fixes.
    let r = recover(
        "wf-refused",
        json!({"pods": "crashloop"}),
        &[json!({"status": 403, "method": "PATCH", "count": 1})],
        2,
    )
    .await;
    assert_eq!(r.execution.status, "SUCCEEDED", "{:?}", r.execution);
    assert_eq!(
        r.execution.states,
        ["Timing", "Restore", "Escalate", "Escalated"],
        "no retry of a refusal"
    );
    assert_eq!(text(&r.incident, "phase"), "escalated");
    assert_eq!(text(&r.incident, "escalation"), "workflow_failed");
    assert!(r.patches.is_empty(), "{:?}", r.patches);
    let (_, why) = r.timeline.iter().find(|(k, _)| k == "escalated").unwrap();
    assert!(
        why.contains("UpstreamRejected") && why.contains("403"),
        "{why}"
    );
    let subjects = r.subjects();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert_eq!(
        subjects[1],
        "[CRITICAL] ESCALATION: us-east-1 recovery stopped on an error"
    );
    assert!(
        r.notices[1].body.contains("Step Functions console"),
        "{}",
        r.notices[1].body
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_execution_stopped_mid_recovery_is_escalated_by_reconcile_and_the_region_freed() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("wf-stopped");
    // A long settle wait, so the execution is surely waiting when it is stopped.
    let slow_settle = [
        system::short_waits().as_slice(),
        &[("ROLLOUT_SETTLE_SECONDS", "60")],
    ]
    .concat();
    let emulator = Emulator::start(&env, &slow_settle, 2).serving_workflow();
    let failed = env.region("us-east-1");
    failed
        .kube()
        .scenario(json!({"pods": "crashloop", "after_restart": "crashloop"}));
    for region in &env.regions {
        cloud.set_health(&region.health_check_id, "Platform").await;
    }
    let alarm = alarm_event("confirm-outage-alarm-action.json", &failed.alarm_names[0]);
    let confirmed = emulator.invoke("confirm-outage", &alarm.to_string());
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    let execution_arn = confirmed.body["execution_arn"].as_str().unwrap().to_owned();

    // A person stops the execution while it settles after the restart.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let items = cloud.items(&env.table).await;
        if of_kind(&items, "INCIDENT")
            .first()
            .is_some_and(|i| text(i, "phase") == "restoring")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never restored: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    cloud
        .stop_execution(&execution_arn, "stopped by a person during a change freeze")
        .await;
    let stopped = cloud
        .finished(&execution_arn, Duration::from_secs(30))
        .await;
    assert_eq!(stopped.status, "ABORTED", "{stopped:?}");
    let items = cloud.items(&env.table).await;
    assert_eq!(text(of_kind(&items, "INCIDENT")[0], "phase"), "restoring");
    assert_eq!(
        of_kind(&items, "LEASE").len(),
        1,
        "left open: the region is held"
    );

    // The execution-ended event (or the next minute's schedule) runs reconcile.
    let event = system::event("reconcile-execution-ended.json");
    let repaired = emulator.invoke("reconcile", &event.to_string());
    assert_eq!(repaired.body["repairs"], 1, "{repaired:?}");
    let repair = repaired.body["regions"][0]["repairs"][0]
        .as_str()
        .unwrap_or_default();
    assert!(repair.contains("ended ABORTED"), "{repaired:?}");

    let items = cloud.items(&env.table).await;
    let incident = of_kind(&items, "INCIDENT")[0];
    assert_eq!(text(incident, "phase"), "escalated");
    assert_eq!(text(incident, "escalation"), "workflow_stopped");
    assert!(
        of_kind(&items, "LEASE").is_empty(),
        "the region is free again"
    );
    let notices = cloud.notices(&env, 3, Duration::from_secs(10)).await;
    let subjects: Vec<&str> = notices.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(
        subjects.last().copied(),
        Some("[CRITICAL] ESCALATION: us-east-1 recovery stopped without closing"),
        "{subjects:?}"
    );

    // A second run finds nothing left to repair and starts no restart loop.
    let again = emulator.invoke("reconcile", "{}");
    assert_eq!(again.body["repairs"], 0, "{again:?}");
}
