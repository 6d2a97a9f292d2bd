//! `verify-recovery` end to end, after a real confirmation and restore: the
//! real binaries against the local cloud and the local Kubernetes APIs.

use std::time::Duration;

use serde_json::{Value, json};
use system::{Emulator, Environment, LocalCloud, of_kind, text};

/// Confirms an outage in us-east-1, restores it (a crash-looping platform whose
/// pods do `after_restart` once restarted), and answers the incident id.
async fn restored(
    cloud: &LocalCloud,
    env: &Environment,
    emulator: &Emulator,
    after_restart: &str,
) -> String {
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    let confirmed = emulator.invoke("confirm-outage", r#"{"region": "us-east-1"}"#);
    let incident_id = confirmed.body["incident_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{confirmed:?}"))
        .to_owned();
    env.region("us-east-1")
        .kube()
        .scenario(json!({"pods": "crashloop", "after_restart": after_restart}));
    let restored = emulator.invoke(
        "restore-platform",
        &json!({"incident_id": incident_id}).to_string(),
    );
    assert_eq!(restored.body["decision"]["decision"], "act", "{restored:?}");
    incident_id
}

fn poll(emulator: &Emulator, event: &Value) -> Value {
    let answer = emulator.invoke("verify-recovery", &event.to_string());
    assert!(!answer.is_error(), "{answer:?}\n{}", emulator.log());
    answer.body
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_restored_region_is_verified_and_closed_with_its_time_to_recover() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("verify");
    let config = [
        ("CONFIRM_SAMPLES", "1"),
        ("CONFIRM_INTERVAL_SECONDS", "0"),
        ("RECOVERY_HEALTHY_READINGS", "2"),
    ];
    let emulator = Emulator::start(&env, &config, 1);
    let incident_id = restored(&cloud, &env, &emulator, "ready").await;
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Success")
        .await;

    let event = json!({"incident_id": incident_id});
    let first = poll(&emulator, &event);
    assert_eq!(
        first["outcome"], "keep_waiting",
        "one healthy reading is not enough: {first}"
    );
    let second = poll(&emulator, &event);
    assert_eq!(second["outcome"], "recovered", "{second}");
    assert_eq!(second["phase"], "recovered");
    assert!(
        second["time_to_recover_s"].as_i64().is_some_and(|s| s >= 0),
        "{second}"
    );

    let items = cloud.items(&env.table).await;
    let incident = of_kind(&items, "INCIDENT")[0];
    assert_eq!(text(incident, "phase"), "recovered");
    assert!(incident.contains_key("recovered_at") && incident.contains_key("closed_at"));
    assert!(
        of_kind(&items, "LEASE").is_empty(),
        "closing releases the region"
    );
    let notices = cloud.notices(&env, 3, Duration::from_secs(10)).await;
    let subjects: Vec<&str> = notices.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(
        subjects[2].starts_with("[INFO] us-east-1 platform recovered in "),
        "{subjects:?}"
    );
    assert!(
        notices[2].body.contains("from detection"),
        "{}",
        notices[2].body
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_failed_rollout_goes_back_to_restore_until_the_deadline_then_escalates() {
    // (pods after the restart, the workflow's deadline, outcome, what it names)
    let cases = [
        (
            "crashloop",
            None,
            "restore_again",
            "ProgressDeadlineExceeded",
        ),
        ("crashloop", Some(0), "failed", "ProgressDeadlineExceeded"),
        ("ready", Some(0), "failed", "health check: not yet healthy"),
    ];
    for (after_restart, deadline_seconds, outcome, named) in cases {
        let cloud = LocalCloud::start().await;
        let env = cloud.provision("verifyfail");
        let emulator = Emulator::start(
            &env,
            &[("CONFIRM_SAMPLES", "1"), ("CONFIRM_INTERVAL_SECONDS", "0")],
            1,
        );
        let incident_id = restored(&cloud, &env, &emulator, after_restart).await;

        let mut event = json!({"incident_id": incident_id});
        if let Some(deadline) = deadline_seconds {
            event["timing"] =
                json!({"settle_seconds": 0, "poll_seconds": 1, "deadline_seconds": deadline});
        }
        let answer = poll(&emulator, &event);
        let case = format!("{after_restart} {deadline_seconds:?}");
        assert_eq!(answer["outcome"], outcome, "{case}: {answer}");
        assert!(
            answer["reasons"].to_string().contains(named),
            "{case}: {answer}"
        );
        let notices = cloud.notices(&env, 3, Duration::from_secs(10)).await;
        if outcome == "restore_again" {
            assert_eq!(answer["phase"], "restoring", "{case}: still open");
            assert_eq!(notices.len(), 2, "{case}: nothing new to say: {notices:?}");
            continue;
        }
        assert_eq!(answer["phase"], "escalated");
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert_eq!(
            notices[2].subject,
            "[CRITICAL] ESCALATION: us-east-1 platform not recovered in time"
        );
        assert!(notices[2].body.contains(named), "{}", notices[2].body);
    }
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_poll_retried_after_the_recovered_write_delivers_the_notice_it_lost() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("verify-retry");
    let config = [
        ("CONFIRM_SAMPLES", "1"),
        ("CONFIRM_INTERVAL_SECONDS", "0"),
        ("RECOVERY_HEALTHY_READINGS", "1"),
    ];
    let emulator = Emulator::start(&env, &config, 1);
    let incident_id = restored(&cloud, &env, &emulator, "ready").await;
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Success")
        .await;
    let before = cloud.notices(&env, 2, Duration::from_secs(10)).await;
    assert_eq!(before.len(), 2, "confirmed, restarted: {before:?}");

    // The poll that closes the incident meets a dead SNS.
    let no_sns = Emulator::start(
        &env,
        &[
            &config[..],
            &[("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")],
        ]
        .concat(),
        1,
    );
    let event = json!({"incident_id": incident_id});
    let closing = poll(&no_sns, &event);
    drop(no_sns);
    assert_eq!(closing["outcome"], "recovered", "{closing}");
    assert_eq!(closing["notified"], false, "{closing}");
    assert_eq!(closing["undelivered"], 1, "{closing}");
    let items = cloud.items(&env.table).await;
    assert!(of_kind(&items, "LEASE").is_empty(), "released all the same");

    // Step Functions retries the step: the same answer, and the notice goes out.
    let retried = poll(&emulator, &event);
    assert_eq!(retried["outcome"], "recovered", "{retried}");
    assert_eq!(retried["notified"], true, "{retried}");
    let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].subject.contains("recovered"), "{notices:?}");
    let items = cloud.items(&env.table).await;
    assert!(!of_kind(&items, "INCIDENT")[0].contains_key("outbox"));
}
