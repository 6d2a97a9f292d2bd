//! `confirm-outage` end to end: the real binary in the Lambda runtime
//! emulator, against moto (Route 53, SNS -> SQS) and DynamoDB Local.

use std::time::Duration;

use serde_json::json;
use system::{Emulator, Environment, LocalCloud, alarm_event, binary, of_kind, text};

const FUNCTION: &str = "confirm-outage";
/// Two samples one second apart keep the tests quick; the logic is the same as 3 x 10 s.
const QUICK: &[(&str, &str)] = &[("CONFIRM_SAMPLES", "2"), ("CONFIRM_INTERVAL_SECONDS", "1")];

fn alarm_name(env: &Environment, region: &str) -> String {
    env.region(region).alarm_names[0].clone()
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn every_alarm_shape_and_a_manual_event_confirm_a_real_outage() {
    let cloud = LocalCloud::start().await;
    for file in [
        "confirm-outage-alarm-action.json",
        "confirm-outage-eventbridge.json",
        "confirm-outage-sns.json",
        "confirm-outage-manual.json",
    ] {
        let env = cloud.provision("shape");
        cloud
            .set_health(&env.region("us-east-1").health_check_id, "Failure")
            .await;
        let payload = if file.contains("manual") {
            system::event(file)
        } else {
            alarm_event(file, &alarm_name(&env, "us-east-1"))
        };
        let emulator = Emulator::start(&env, QUICK, 1);

        let answer = emulator.invoke(FUNCTION, &payload.to_string());

        assert!(!answer.is_error(), "{file}: {answer:?}\n{}", emulator.log());
        assert_eq!(answer.body["verdict"], "confirmed", "{file}: {answer:?}");
        assert_eq!(answer.body["region"], "us-east-1", "{file}");
        assert_eq!(answer.body["phase"], "confirmed", "{file}");
        let incident_id = answer.body["incident_id"]
            .as_str()
            .expect("incident id")
            .to_owned();
        assert!(incident_id.starts_with("us-east-1-"), "{incident_id}");

        let items = cloud.items(&env.table).await;
        let incidents = of_kind(&items, "INCIDENT");
        assert_eq!(incidents.len(), 1, "{file}: exactly one incident");
        let incident = incidents[0];
        assert_eq!(text(incident, "id"), incident_id);
        assert_eq!(text(incident, "phase"), "confirmed");
        assert_eq!(text(incident, "verdict"), "confirmed");
        assert_eq!(
            text(incident, "version"),
            "2",
            "{file}: verdict write, then notice cleared"
        );
        assert!(
            !incident.contains_key("pending_notice"),
            "{file}: the notice was delivered"
        );
        assert!(incident.contains_key("confirmed_at") && incident.contains_key("detected_at"));
        let leases = of_kind(&items, "LEASE");
        assert_eq!(
            leases.len(),
            1,
            "{file}: the region's lease is held while the incident is open"
        );
        assert_eq!(text(leases[0], "incident_id"), incident_id);
        let mut kinds: Vec<String> = of_kind(&items, "TIMELINE#")
            .iter()
            .map(|e| text(e, "kind"))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                "detected",
                "health_sampled",
                "health_sampled",
                "health_sampled",
                "notified",
                "verdict",
                "workflow_started"
            ],
            "{file}"
        );
        let executions = cloud.executions(&env).await;
        assert_eq!(executions.len(), 1, "{file}: one recovery workflow");
        assert_eq!(
            answer.body["execution_arn"],
            executions[0].as_str(),
            "{file}"
        );

        let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
        assert_eq!(
            notices.len(),
            1,
            "{file}: one notice per transition: {notices:?}"
        );
        let notice = &notices[0];
        assert_eq!(
            notice.subject,
            "[CRITICAL] us-east-1 platform outage confirmed"
        );
        assert!(notice.body.contains("What happens next"), "{}", notice.body);
        assert!(notice.body.contains(&incident_id));
        assert_eq!(
            notice.attributes.get("region").map(String::as_str),
            Some("us-east-1")
        );
        assert_eq!(
            notice.attributes.get("phase").map(String::as_str),
            Some("confirmed")
        );
        assert_eq!(
            notice.attributes.get("severity").map(String::as_str),
            Some("critical")
        );
        assert_eq!(notice.attributes.get("incident_id"), Some(&incident_id));
    }
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn twenty_concurrent_duplicate_alarms_open_exactly_one_incident() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("storm");
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    let payload = alarm_event(
        "confirm-outage-alarm-action.json",
        &alarm_name(&env, "us-east-1"),
    )
    .to_string();
    let emulator = Emulator::start(&env, QUICK, 20);

    let calls: Vec<_> = (0..20)
        .map(|_| emulator.spawn_invoke(FUNCTION, payload.clone()))
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.expect("invocation"));
    }

    let verdicts: Vec<&str> = answers
        .iter()
        .map(|a| a.body["verdict"].as_str().unwrap_or("error"))
        .collect();
    assert_eq!(
        verdicts.iter().filter(|v| **v == "confirmed").count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        verdicts.iter().filter(|v| **v == "duplicate").count(),
        19,
        "{answers:?}"
    );
    let ids: std::collections::BTreeSet<&str> = answers
        .iter()
        .filter_map(|a| a.body["incident_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "every answer names the one incident: {ids:?}");

    let items = cloud.items(&env.table).await;
    assert_eq!(of_kind(&items, "INCIDENT").len(), 1);
    assert_eq!(of_kind(&items, "LEASE").len(), 1);
    let joined = of_kind(&items, "TIMELINE#")
        .iter()
        .filter(|e| text(e, "kind") == "trigger_joined")
        .count();
    assert_eq!(joined, 19, "each duplicate is on the timeline");
    let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(notices.len(), 1, "one notice, not twenty: {notices:?}");
    assert_eq!(
        cloud.executions(&env).await.len(),
        1,
        "one recovery workflow, not twenty"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn both_regions_down_escalates_without_an_incident_action() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("bothdown");
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    cloud
        .set_health(&env.region("eu-west-1").health_check_id, "Failure")
        .await;
    let emulator = Emulator::start(&env, QUICK, 1);

    let answer = emulator.invoke(
        FUNCTION,
        &alarm_event(
            "confirm-outage-eventbridge.json",
            &alarm_name(&env, "us-east-1"),
        )
        .to_string(),
    );

    assert_eq!(answer.body["verdict"], "all_regions_down", "{answer:?}");
    assert_eq!(answer.body["phase"], "escalated");
    assert_eq!(answer.body.get("execution_arn"), None, "nothing to recover");
    assert!(cloud.executions(&env).await.is_empty());
    let items = cloud.items(&env.table).await;
    let incidents = of_kind(&items, "INCIDENT");
    assert_eq!(incidents.len(), 1);
    assert_eq!(text(incidents[0], "phase"), "escalated");
    assert!(
        incidents[0].contains_key("closed_at") && incidents[0].contains_key("expires_at"),
        "closed incidents expire"
    );
    assert!(
        of_kind(&items, "LEASE").is_empty(),
        "an escalated incident holds no lease"
    );
    let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        notices[0].subject,
        "[CRITICAL] ESCALATION: all regions unhealthy, no automatic action"
    );
    assert!(
        notices[0].body.contains("Nothing was restarted"),
        "{}",
        notices[0].body
    );
    assert_eq!(
        notices[0].attributes.get("phase").map(String::as_str),
        Some("escalated")
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_region_healthy_again_is_recorded_as_transient_without_action() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("transient");
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure,Success")
        .await;
    let emulator = Emulator::start(&env, QUICK, 1);

    let answer = emulator.invoke(
        FUNCTION,
        &alarm_event("confirm-outage-sns.json", &alarm_name(&env, "us-east-1")).to_string(),
    );

    assert_eq!(answer.body["verdict"], "transient", "{answer:?}");
    assert_eq!(
        answer.body["readings"].as_array().map(Vec::len),
        Some(2),
        "stopped sampling once healthy"
    );
    let items = cloud.items(&env.table).await;
    assert_eq!(text(of_kind(&items, "INCIDENT")[0], "phase"), "dismissed");
    assert!(of_kind(&items, "LEASE").is_empty());
    let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(
        notices[0].attributes.get("severity").map(String::as_str),
        Some("info")
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_ok_event_does_nothing() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("ok");
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    let emulator = Emulator::start(&env, QUICK, 1);

    let answer = emulator.invoke(
        FUNCTION,
        &alarm_event(
            "confirm-outage-alarm-ok.json",
            &alarm_name(&env, "us-east-1"),
        )
        .to_string(),
    );

    assert_eq!(answer.body["verdict"], "not_alarm", "{answer:?}");
    assert_eq!(answer.body["region"], "us-east-1");
    assert!(answer.body.get("incident_id").is_none());
    assert!(cloud.items(&env.table).await.is_empty(), "nothing written");
    assert!(
        cloud
            .notices(&env, 0, Duration::from_secs(2))
            .await
            .is_empty(),
        "nothing published"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn dry_run_records_and_reports_but_says_nothing_will_change() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("dryrun");
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    let emulator = Emulator::start(&env, QUICK, 1);

    let answer = emulator.invoke(
        FUNCTION,
        &system::event("confirm-outage-manual-dry-run.json").to_string(),
    );

    assert_eq!(answer.body["verdict"], "confirmed", "{answer:?}");
    assert_eq!(answer.body["dry_run"], true);
    let items = cloud.items(&env.table).await;
    assert_eq!(text(of_kind(&items, "INCIDENT")[0], "dry_run"), "true");
    let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(
        notices[0].subject,
        "[CRITICAL] [DRY RUN] us-east-1 platform outage confirmed"
    );
    assert!(notices[0].body.contains("DRY RUN: nothing will be changed"));
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn malformed_events_get_clear_errors_and_change_nothing() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("malformed");
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    let emulator = Emulator::start(&env, QUICK, 1);
    let ours = alarm_name(&env, "us-east-1");

    let mut wrong_detail = alarm_event("confirm-outage-eventbridge.json", &ours);
    wrong_detail["detail-type"] = "EC2 Instance State-change Notification".into();
    let mut no_state = alarm_event("confirm-outage-alarm-action.json", &ours);
    no_state["alarmData"]
        .as_object_mut()
        .expect("alarmData")
        .remove("state");
    let mut not_json_message = alarm_event("confirm-outage-sns.json", &ours);
    not_json_message["Records"][0]["Sns"]["Message"] = "the platform is down".into();
    let mut two_records = alarm_event("confirm-outage-sns.json", &ours);
    let record = two_records["Records"][0].clone();
    two_records["Records"]
        .as_array_mut()
        .expect("records")
        .push(record);

    let cases: Vec<(String, &str, &str)> = vec![
        (
            "[1, 2]".into(),
            "InvalidEvent",
            "the event must be a JSON object, got an array",
        ),
        (
            r#"{"hello": "world"}"#.into(),
            "InvalidEvent",
            "unrecognized event with keys [hello]",
        ),
        (
            r#"{"region": "us-east-1", "dryrun": true}"#.into(),
            "InvalidEvent",
            "unknown field `dryrun`",
        ),
        (
            r#"{"region": "ap-south-1"}"#.into(),
            "InvalidEvent",
            "region \"ap-south-1\" is not configured",
        ),
        (
            alarm_event("confirm-outage-alarm-action.json", "someone-elses-alarm").to_string(),
            "InvalidEvent",
            "alarm \"someone-elses-alarm\"",
        ),
        (
            wrong_detail.to_string(),
            "InvalidEvent",
            "EventBridge events of detail-type \"EC2 Instance State-change Notification\" are not handled",
        ),
        (no_state.to_string(), "InvalidEvent", "has no state"),
        (
            not_json_message.to_string(),
            "InvalidEvent",
            "the SNS message is not a CloudWatch alarm notification (not JSON",
        ),
        (
            two_records.to_string(),
            "InvalidEvent",
            "exactly one record, this one has 2",
        ),
        (
            r#"{"region": "#.into(),
            "DeserializeError",
            "EOF while parsing a value",
        ),
    ];
    for (payload, error_type, message) in &cases {
        let answer = emulator.invoke(FUNCTION, payload);
        assert!(answer.is_error(), "{payload}: {answer:?}");
        assert!(
            answer.error_type().contains(error_type),
            "{payload}: {answer:?}"
        );
        assert!(
            answer.error_message().contains(message),
            "{payload}: {:?} should contain {message:?}",
            answer.error_message()
        );
    }
    assert!(
        cloud.items(&env.table).await.is_empty(),
        "no bad event wrote anything"
    );
    assert!(
        cloud
            .notices(&env, 0, Duration::from_secs(2))
            .await
            .is_empty(),
        "no bad event published anything"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_sns_outage_holds_nothing_back_and_reconcile_delivers_the_notice_later() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("snsdown");
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    let payload = alarm_event(
        "confirm-outage-alarm-action.json",
        &alarm_name(&env, "us-east-1"),
    )
    .to_string();
    // The shortest takeover time the functions accept: reconcile leaves a
    // notice this young to the step that wrote it.
    let takeover = [("TAKEOVER_AFTER_SECONDS", "30")];

    // SNS unreachable: nothing listens on port 9 here.
    let broken = Emulator::start(
        &env,
        &[
            QUICK,
            &takeover,
            &[("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")],
        ]
        .concat(),
        1,
    );
    let confirmed = broken.invoke(FUNCTION, &payload);
    drop(broken);
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    assert_eq!(confirmed.body["notified"], false, "{confirmed:?}");
    assert_eq!(confirmed.body["undelivered"], 1, "{confirmed:?}");
    let execution = confirmed.body["execution_arn"].as_str().unwrap_or_default();
    assert_eq!(
        cloud.executions(&env).await,
        [execution.to_owned()],
        "the workflow starts without waiting for SNS"
    );
    let items = cloud.items(&env.table).await;
    let stuck = of_kind(&items, "INCIDENT")[0];
    assert_eq!(text(stuck, "phase"), "confirmed");
    assert!(
        stuck.contains_key("outbox"),
        "the notice is kept: {stuck:?}"
    );
    assert_eq!(
        of_kind(&items, "OUTBOX#").len(),
        1,
        "and findable by region"
    );
    assert!(
        cloud
            .notices(&env, 0, Duration::from_secs(2))
            .await
            .is_empty()
    );

    let healed = Emulator::start(&env, &[QUICK, &takeover].concat(), 1);
    let early = healed.invoke("reconcile", r#"{"reason": "system test"}"#);
    assert_eq!(
        early.body["repairs"], 0,
        "too fresh to take over: {early:?}"
    );
    tokio::time::sleep(Duration::from_secs(31)).await;
    let repaired = healed.invoke("reconcile", r#"{"reason": "system test"}"#);
    assert_eq!(repaired.body["repairs"], 1, "{repaired:?}");
    let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        notices[0].subject,
        "[CRITICAL] us-east-1 platform outage confirmed"
    );
    assert!(
        notices[0]
            .attributes
            .get("notice_id")
            .is_some_and(|id| id.starts_with(confirmed.body["incident_id"].as_str().unwrap_or("?"))),
        "{notices:?}"
    );
    let items = cloud.items(&env.table).await;
    assert!(!of_kind(&items, "INCIDENT")[0].contains_key("outbox"));
    assert!(of_kind(&items, "OUTBOX#").is_empty());
    let kinds: Vec<String> = of_kind(&items, "TIMELINE#")
        .iter()
        .map(|e| text(e, "kind"))
        .collect();
    assert!(kinds.contains(&"repaired".to_owned()), "{kinds:?}");
    let heartbeat = items
        .iter()
        .find(|i| text(i, "pk") == "WATCH#reconciler")
        .expect("the reconciler's heartbeat");
    assert!(
        text(heartbeat, "state").contains("\"repairs\":1"),
        "{heartbeat:?}"
    );
}

#[test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
fn bad_configuration_fails_the_cold_start_naming_each_wrong_variable() {
    let binary = binary(FUNCTION);
    let regions =
        json!([{"name": "us-east-1", "cluster": "a", "health_check_id": "x"}]).to_string();
    let output = std::process::Command::new(&binary)
        .env_clear()
        .env("REGIONS", regions)
        .env("NOTIFY_TOPIC_ARN", "not-an-arn")
        .env("DRY_RUN", "perhaps")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .output()
        .expect("run the function binary");
    assert!(
        !output.status.success(),
        "a bad configuration must stop the cold start"
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for part in [
        "REGIONS must name at least two regions",
        "INCIDENT_TABLE is required",
        "NOTIFY_TOPIC_ARN is not an SNS topic ARN",
        "DRY_RUN must be true or false, not \"perhaps\"",
    ] {
        assert!(printed.contains(part), "{part:?} missing from:\n{printed}");
    }
}
