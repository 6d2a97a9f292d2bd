//! Three regions end to end: the real functions and the real recovery
//! workflow against three clusters of the local cloud. Each region down is
//! its own incident within its own budget; regions down together are
//! restarted one after another; with every region down nothing is touched.

// Helpers here panic on failure: in a test, that is how a failure is reported.
#![allow(clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use system::{Emulator, Environment, LocalCloud, alarm_event, of_kind, text};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];

/// Breaks `failed` (pods crash-looping until restarted) and invokes
/// confirm-outage with each one's alarm at once, as CloudWatch would: each
/// answer, in the order of `failed`.
async fn outage(
    cloud: &LocalCloud,
    env: &Environment,
    emulator: &Emulator,
    failed: &[&str],
) -> Vec<serde_json::Value> {
    for region in failed {
        env.region(region)
            .kube()
            .scenario(json!({"pods": "crashloop", "after_restart": "ready"}));
    }
    for region in &env.regions {
        cloud.set_health(&region.health_check_id, "Platform").await;
    }
    let calls: Vec<_> = failed
        .iter()
        .map(|region| {
            let alarm = alarm_event(
                "confirm-outage-alarm-action.json",
                &env.region(region).alarm_names[0],
            );
            emulator.spawn_invoke("confirm-outage", alarm.to_string())
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        let answer = call.await.expect("confirm-outage ran");
        assert!(!answer.is_error(), "{answer:?}\n{}", emulator.log());
        answers.push(answer.body);
    }
    answers
}

fn patches(env: &Environment, region: &str) -> usize {
    env.region(region)
        .kube()
        .requests()
        .iter()
        .filter(|r| r["method"] == "PATCH" && r["status"].as_u64().is_some_and(|s| s < 300))
        .count()
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn two_of_three_down_recover_in_their_own_incidents_one_after_another() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision_in("three", &REGIONS);
    let waits = system::short_waits();
    let spread: i64 = waits
        .iter()
        .find(|(k, _)| *k == "RESTART_SPREAD_SECONDS")
        .and_then(|(_, v)| v.parse().ok())
        .expect("the short waits spread the restarts");
    let emulator = Emulator::start(&env, &waits, 4).serving_workflow();

    let answers = outage(&cloud, &env, &emulator, &REGIONS[..2]).await;
    for answer in &answers {
        assert_eq!(
            answer["verdict"], "confirmed",
            "ap-southeast-1 is healthy: {answer}"
        );
    }
    for answer in &answers {
        let arn = answer["execution_arn"]
            .as_str()
            .expect("a workflow started");
        let execution = cloud.finished(arn, Duration::from_secs(120)).await;
        assert_eq!(
            execution.status,
            "SUCCEEDED",
            "{execution:?}\n{}",
            emulator.log()
        );
    }

    let items = cloud.items(&env.table).await;
    let incidents = of_kind(&items, "INCIDENT");
    let mut recovered: Vec<(String, DateTime<Utc>)> = incidents
        .iter()
        .map(|i| {
            assert_eq!(text(i, "phase"), "recovered", "{i:?}");
            let acted: DateTime<Utc> = text(i, "acted_at").parse().expect("acted_at");
            (text(i, "region"), acted)
        })
        .collect();
    recovered.sort_by_key(|(_, acted)| *acted);
    let mut regions: Vec<&str> = recovered.iter().map(|(r, _)| r.as_str()).collect();
    regions.sort_unstable();
    assert_eq!(regions, ["eu-west-1", "us-east-1"], "one incident each");
    let gap = recovered[1].1 - recovered[0].1;
    assert!(
        gap >= chrono::Duration::seconds(spread),
        "restarted {gap} apart, the spread is {spread} s: {recovered:?}"
    );
    assert_eq!(patches(&env, "us-east-1"), 1);
    assert_eq!(patches(&env, "eu-west-1"), 1);
    assert_eq!(
        patches(&env, "ap-southeast-1"),
        0,
        "the healthy region is never touched"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn all_three_down_escalate_and_nothing_is_restarted() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision_in("allthree", &REGIONS);
    let emulator = Emulator::start(&env, &system::short_waits(), 4).serving_workflow();

    let answers = outage(&cloud, &env, &emulator, &REGIONS).await;
    for answer in &answers {
        assert_eq!(answer["verdict"], "all_regions_down", "{answer}");
        assert!(
            answer.get("execution_arn").is_none_or(|a| a.is_null()),
            "{answer}"
        );
    }
    assert!(
        cloud.executions(&env).await.is_empty(),
        "no recovery started"
    );
    for region in REGIONS {
        assert_eq!(patches(&env, region), 0, "{region} was changed");
    }
    let notices = cloud.notices(&env, 3, Duration::from_secs(10)).await;
    assert!(
        notices
            .iter()
            .filter(|n| n.subject.starts_with("[CRITICAL]"))
            .count()
            >= 1,
        "{notices:?}"
    );
}
