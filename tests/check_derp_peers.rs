//! `check-derp-peers` end to end: the real binary against the local
//! Kubernetes APIs of both regions, reached through EKS.

use std::time::Duration;

use serde_json::json;
use system::{Emulator, LocalCloud};

const FUNCTION: &str = "check-derp-peers";

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn reports_an_offline_peer_by_name_and_an_unreachable_cluster_with_the_reason() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("derp");
    env.region("us-east-1").kube().scenario(json!({"peers": [
        {"name": "us-east-1-peer", "online": true},
        {"name": "eu-west-1-peer", "online": false, "lastSeen": "2026-11-22T09:58:00Z"}
    ]}));
    let emulator = Emulator::start(&env, &[], 1);

    let degraded = emulator.invoke(
        FUNCTION,
        &system::event("check-derp-peers-manual.json").to_string(),
    );
    assert_eq!(degraded.body["verdict"], "degraded", "{degraded:?}");
    let east = &degraded.body["regions"][0];
    assert_eq!(east["region"], "us-east-1");
    assert_eq!(east["offline"][0]["name"], "eu-west-1-peer", "{degraded:?}");
    assert_eq!(east["offline"][0]["last_seen"], "2026-11-22T09:58:00Z");
    assert!(
        degraded.body["summary"].as_str().is_some_and(
            |s| s.contains("eu-west-1-peer (offline, last seen 2026-11-22T09:58:00+00:00)")
        ),
        "{degraded:?}"
    );
    assert_eq!(degraded.body["regions"][1]["verdict"], "all_online");

    let west = env.region("eu-west-1");
    west.kube().scenario(json!({"cluster_status": "FAILED"}));
    let unreachable = emulator.invoke(FUNCTION, "{}");
    assert_eq!(
        unreachable.body["verdict"], "unreachable",
        "{unreachable:?}"
    );
    let why = unreachable.body["regions"][1]["why"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.contains(&west.cluster) && why.contains("is FAILED, not ACTIVE"),
        "{unreachable:?}"
    );
    assert!(
        cloud
            .notices(&env, 0, Duration::from_secs(2))
            .await
            .is_empty(),
        "a manual check only reports"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_scheduled_check_notifies_a_change_once() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("derpwatch");
    let scheduled = system::event("check-derp-peers-scheduled.json").to_string();
    let emulator = Emulator::start(&env, &[], 1);

    let quiet = emulator.invoke(FUNCTION, &scheduled);
    assert_eq!(
        (
            quiet.body["verdict"].as_str(),
            quiet.body["changed"].as_bool()
        ),
        (Some("all_online"), Some(false)),
        "{quiet:?}"
    );

    env.region("eu-west-1").kube().scenario(json!({"peers": [{"name": "eu-west-1-peer", "online": false, "lastSeen": "2026-11-22T09:58:00Z"}]}));
    for round in 0..2 {
        let answer = emulator.invoke(FUNCTION, &scheduled);
        assert_eq!(answer.body["verdict"], "degraded", "{answer:?}");
        assert_eq!(
            answer.body["notified"],
            round == 0,
            "round {round}: {answer:?}"
        );
    }
    let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(
        notices.len(),
        1,
        "an unchanged answer is not repeated: {notices:?}"
    );
    assert_eq!(
        notices[0].subject,
        "[WARNING] DERP relay degraded in eu-west-1"
    );
    assert!(
        notices[0]
            .body
            .contains("eu-west-1-peer (offline, last seen 2026-11-22T09:58:00+00:00)"),
        "{}",
        notices[0].body
    );
    assert_eq!(
        notices[0].attributes.get("region").map(String::as_str),
        Some("eu-west-1")
    );
    assert!(!notices[0].attributes.contains_key("incident_id"));
}
