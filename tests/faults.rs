//! The orchestrator under faults of its own dependencies, crashes, retries
//! and operator stops: each test injects one (a dead endpoint for one
//! emulator, a stopped execution, a flapping check, a record left behind)
//! and asserts where the region ends within a bounded time: recovered, or
//! escalated with a delivered notice; never held by a closed incident, never
//! a silent duplicate, every repair on the incident's timeline.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use system::{Emulator, Environment, Item, LocalCloud, alarm_event, of_kind, text};

/// Nothing listens on port 9 here: a dependency that is down.
const DEAD: &str = "http://127.0.0.1:9";
const QUICK: &[(&str, &str)] = &[("CONFIRM_SAMPLES", "2"), ("CONFIRM_INTERVAL_SECONDS", "1")];
/// The shortest takeover time the functions accept; the tests that do not
/// say otherwise wait it out for real.
const TAKEOVER: (&str, &str) = ("TAKEOVER_AFTER_SECONDS", "30");
/// A whole recovery's short waits, with the shortest takeover time.
fn fast(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    [system::short_waits().as_slice(), &[TAKEOVER], extra].concat()
}

/// A provisioned environment whose us-east-1 is down: its health check
/// fails (`health`) and its alarm is in ALARM.
async fn outage(cloud: &LocalCloud, label: &str, health: &str) -> Environment {
    let env = cloud.provision(label);
    let east = env.region("us-east-1");
    cloud.set_health(&east.health_check_id, health).await;
    cloud.set_alarm(&east.alarm_names[0], "ALARM").await;
    env
}

fn alarm(env: &Environment) -> String {
    alarm_event(
        "confirm-outage-alarm-action.json",
        &env.region("us-east-1").alarm_names[0],
    )
    .to_string()
}

fn with(
    base: &[(&'static str, &'static str)],
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    [base, extra].concat()
}

async fn incidents(cloud: &LocalCloud, env: &Environment) -> Vec<Item> {
    let items = cloud.items(&env.table).await;
    of_kind(&items, "INCIDENT").into_iter().cloned().collect()
}

async fn leases(cloud: &LocalCloud, env: &Environment) -> Vec<String> {
    let items = cloud.items(&env.table).await;
    of_kind(&items, "LEASE")
        .iter()
        .map(|l| format!("{}={}", text(l, "sk"), text(l, "incident_id")))
        .collect()
}

/// (kind, message) of an incident's timeline, oldest first.
async fn timeline(
    cloud: &LocalCloud,
    env: &Environment,
    incident_id: &str,
) -> Vec<(String, String)> {
    let items = cloud.items(&env.table).await;
    let mut entries: Vec<&Item> = of_kind(&items, "TIMELINE#")
        .into_iter()
        .filter(|e| text(e, "incident_id") == incident_id)
        .collect();
    entries.sort_by_key(|e| text(e, "sk"));
    entries
        .iter()
        .map(|e| (text(e, "kind"), text(e, "message")))
        .collect()
}

fn reconcile(emulator: &Emulator) -> Value {
    let answer = emulator.invoke("reconcile", r#"{"reason": "fault test"}"#);
    assert!(!answer.is_error(), "{answer:?}\n{}", emulator.log());
    answer.body
}

/// The repairs a reconcile run made in us-east-1.
fn east_repairs(report: &Value) -> Vec<String> {
    report["regions"][0]["repairs"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|x| x.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The run repaired something in us-east-1 that it describes as `what…`.
fn assert_repaired(report: &Value, what: &str) {
    assert!(
        east_repairs(report).iter().any(|r| r.starts_with(what)),
        "no repair {what:?}: {report}"
    );
}

/// The PATCH requests us-east-1's cluster received.
fn patches(env: &Environment) -> usize {
    env.region("us-east-1")
        .kube()
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .count()
}

/// Sleeps until a stored time (RFC 3339) is more than `seconds` old.
async fn wait_until_older(stored: &str, seconds: i64) {
    let at: chrono::DateTime<chrono::Utc> =
        stored.parse().unwrap_or_else(|e| panic!("{stored}: {e}"));
    let until = at + chrono::Duration::seconds(seconds);
    if let Ok(left) = (until - chrono::Utc::now()).to_std() {
        tokio::time::sleep(left).await;
    }
}

/// Sleeps until `seconds` have passed since `since`.
async fn wait_past(since: Instant, seconds: u64) {
    let at = since + Duration::from_secs(seconds);
    if let Some(left) = at.checked_duration_since(Instant::now()) {
        tokio::time::sleep(left).await;
    }
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f1_a_throttled_confirmation_is_taken_over_at_the_default_takeover_time() {
    let cloud = LocalCloud::start().await;
    let env = outage(&cloud, "f1-route53", "Failure").await;
    let throttled = Emulator::start(
        &env,
        &with(QUICK, &[("AWS_ENDPOINT_URL_ROUTE_53", DEAD)]),
        1,
    );
    let failed = throttled.invoke("confirm-outage", &alarm(&env));
    drop(throttled);
    assert_eq!(failed.error_type(), "UpstreamUnavailable", "{failed:?}");

    // The default takeover time, as deployed.
    let emulator = Emulator::start(&env, QUICK, 1);
    let joined = emulator.invoke("confirm-outage", &alarm(&env));
    assert_eq!(
        joined.body["verdict"], "duplicate",
        "another request only joins: {joined:?}"
    );
    let early = reconcile(&emulator);
    assert!(
        east_repairs(&early).is_empty(),
        "not yet abandoned: {early}"
    );

    // Past the takeover time since the abandoned incident's last write.
    let abandoned = &incidents(&cloud, &env).await[0];
    assert_eq!(text(abandoned, "phase"), "confirming");
    wait_until_older(&text(abandoned, "updated_at"), 122).await;
    let repaired = reconcile(&emulator);
    let repairs = east_repairs(&repaired);
    assert!(
        repairs
            .iter()
            .any(|r| r.contains("took over the confirmation") && r.ends_with("confirmed")),
        "{repaired}"
    );
    let incident = &incidents(&cloud, &env).await[0];
    assert_eq!(text(incident, "phase"), "confirmed");
    assert_eq!(
        cloud.executions(&env).await.len(),
        1,
        "its workflow started"
    );
    let notices = cloud.notices(&env, 1, Duration::from_secs(10)).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].subject.contains("outage confirmed"),
        "{notices:?}"
    );
    let kinds: Vec<String> = timeline(&cloud, &env, &text(incident, "id"))
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(kinds.contains(&"trigger_joined".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"taken_over".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"workflow_started".to_owned()), "{kinds:?}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f1_a_lost_workflow_start_is_made_once_by_reconcile() {
    let cloud = LocalCloud::start().await;
    let env = outage(&cloud, "f1-sfn", "Failure").await;
    let no_sfn = Emulator::start(
        &env,
        &with(QUICK, &[TAKEOVER, ("AWS_ENDPOINT_URL_SFN", DEAD)]),
        1,
    );
    let failed = no_sfn.invoke("confirm-outage", &alarm(&env));
    drop(no_sfn);
    assert_eq!(failed.error_type(), "UpstreamUnavailable", "{failed:?}");
    assert!(
        failed.error_message().contains("Step Functions"),
        "{failed:?}"
    );
    let started = Instant::now();
    assert!(cloud.executions(&env).await.is_empty());
    let incident = &incidents(&cloud, &env).await[0];
    assert_eq!(text(incident, "phase"), "confirmed", "the verdict stands");

    let emulator = Emulator::start(&env, &with(QUICK, &[TAKEOVER]), 1);
    wait_past(started, 31).await;
    let repaired = reconcile(&emulator);
    assert_repaired(&repaired, "started the recovery workflow");
    assert_eq!(cloud.executions(&env).await.len(), 1);
    let again = reconcile(&emulator);
    assert!(east_repairs(&again).is_empty(), "started once: {again}");
    assert_eq!(cloud.executions(&env).await.len(), 1);
    let kinds: Vec<String> = timeline(&cloud, &env, &text(incident, "id"))
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(kinds.contains(&"repaired".to_owned()), "{kinds:?}");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f2_escalation_with_sns_down_still_frees_the_region_and_tells_people_later() {
    let cloud = LocalCloud::start().await;
    let env = outage(&cloud, "f2-sns", "Platform").await;
    let east = env.region("us-east-1");
    east.kube().scenario(json!({"pods": "crashloop"}));
    // The API server refuses the restart: the workflow escalates.
    east.kube()
        .fault(json!({"status": 403, "method": "PATCH", "count": 1}));
    let confirmer = Emulator::start(&env, &fast(&[]), 1);
    let confirmed = confirmer.invoke("confirm-outage", &alarm(&env));
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    drop(confirmer);
    let execution = confirmed.body["execution_arn"].as_str().unwrap().to_owned();
    // Every workflow step meets a dead SNS.
    let workflow =
        Emulator::start(&env, &fast(&[("AWS_ENDPOINT_URL_SNS", DEAD)]), 2).serving_workflow();
    let ended = cloud.finished(&execution, Duration::from_secs(120)).await;
    assert_eq!(ended.status, "SUCCEEDED", "{ended:?}");
    assert_eq!(ended.states, ["Timing", "Restore", "Escalate", "Escalated"]);
    let incident = &incidents(&cloud, &env).await[0];
    assert_eq!(text(incident, "phase"), "escalated");
    assert!(
        incident.contains_key("outbox"),
        "the escalation notice waits"
    );
    assert!(leases(&cloud, &env).await.is_empty(), "the region is free");
    drop(workflow);

    let healed = Emulator::start(&env, &fast(&[]), 1);
    let started = Instant::now();
    wait_past(started, 31).await;
    let repaired = reconcile(&healed);
    assert_repaired(&repaired, "delivered 1 of 1");
    let notices = cloud.notices(&env, 2, Duration::from_secs(10)).await;
    let subjects: Vec<&str> = notices.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "[CRITICAL] us-east-1 platform outage confirmed",
            "[CRITICAL] ESCALATION: us-east-1 recovery stopped on an error"
        ]
    );
    assert!(!incidents(&cloud, &env).await[0].contains_key("outbox"));
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f3_sns_down_through_a_whole_recovery_delays_only_the_notices() {
    let cloud = LocalCloud::start().await;
    let env = outage(&cloud, "f3-sns", "Platform").await;
    env.region("us-east-1")
        .kube()
        .scenario(json!({"pods": "crashloop", "after_restart": "ready"}));
    for region in &env.regions {
        cloud.set_health(&region.health_check_id, "Platform").await;
    }
    let down =
        Emulator::start(&env, &fast(&[("AWS_ENDPOINT_URL_SNS", DEAD)]), 2).serving_workflow();
    let confirmed = down.invoke("confirm-outage", &alarm(&env));
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    assert_eq!(confirmed.body["notified"], false);
    let started = Instant::now();
    let execution = confirmed.body["execution_arn"].as_str().unwrap().to_owned();
    let ended = cloud.finished(&execution, Duration::from_secs(120)).await;
    assert_eq!(
        ended.status, "SUCCEEDED",
        "recovered without SNS: {ended:?}"
    );
    let incident = &incidents(&cloud, &env).await[0];
    assert_eq!(text(incident, "phase"), "recovered");
    assert!(leases(&cloud, &env).await.is_empty());
    assert!(
        cloud
            .notices(&env, 0, Duration::from_secs(1))
            .await
            .is_empty()
    );
    drop(down);

    let back = Emulator::start(&env, &fast(&[]), 1);
    wait_past(started, 31).await;
    let repaired = reconcile(&back);
    assert_repaired(&repaired, "delivered 3 of 3");
    let notices = cloud.notices(&env, 3, Duration::from_secs(10)).await;
    let subjects: Vec<&str> = notices.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(
        subjects[0].contains("outage confirmed"),
        "in order: {subjects:?}"
    );
    assert!(subjects[1].contains("restarted"), "{subjects:?}");
    assert!(subjects[2].contains("recovered"), "{subjects:?}");
    let ids: std::collections::BTreeSet<&str> = notices
        .iter()
        .filter_map(|n| n.attributes.get("notice_id").map(String::as_str))
        .collect();
    assert_eq!(ids.len(), 3, "each with its own notice_id");
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f4_no_record_blocks_a_region_even_once_its_incident_expired() {
    let cloud = LocalCloud::start().await;
    let env = outage(&cloud, "f4", "Success").await;
    let no_sns = Emulator::start(&env, &with(QUICK, &[("AWS_ENDPOINT_URL_SNS", DEAD)]), 1);
    let dismissed = no_sns.invoke("confirm-outage", &alarm(&env));
    drop(no_sns);
    assert_eq!(dismissed.body["verdict"], "transient", "{dismissed:?}");
    assert_eq!(dismissed.body["undelivered"], 1);
    assert!(
        leases(&cloud, &env).await.is_empty(),
        "closed: released at once"
    );

    // DynamoDB's TTL removes the old incident; a lease left by an older
    // release is simulated too: it names an incident that is gone.
    let dynamodb = cloud.dynamodb();
    let old = text(&incidents(&cloud, &env).await[0], "id");
    dynamodb
        .delete_item()
        .table_name(&env.table)
        .key("pk", AttributeValue::S(format!("INCIDENT#{old}")))
        .key("sk", AttributeValue::S("INCIDENT".into()))
        .send()
        .await
        .unwrap();
    dynamodb
        .put_item()
        .table_name(&env.table)
        .item("pk", AttributeValue::S("REGION#us-east-1".into()))
        .item("sk", AttributeValue::S("LEASE".into()))
        .item("incident_id", AttributeValue::S(old.clone()))
        .send()
        .await
        .unwrap();

    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    let emulator = Emulator::start(&env, QUICK, 1);
    let confirmed = emulator.invoke("confirm-outage", &alarm(&env));
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    let new = confirmed.body["incident_id"].as_str().unwrap();
    assert_eq!(leases(&cloud, &env).await, [format!("LEASE={new}")]);
    let report = reconcile(&emulator);
    assert!(
        report["regions"][0]["error"].is_null(),
        "an outbox marker of a gone incident is no error: {report}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f7_a_flap_that_dismissed_the_outage_is_confirmed_again_by_reconcile() {
    let cloud = LocalCloud::start().await;
    // One healthy sample among failing ones: dismissed while the alarm stays in ALARM.
    let env = outage(&cloud, "f7", "Failure,Success,Failure").await;
    let emulator = Emulator::start(&env, &with(QUICK, &[TAKEOVER]), 1);
    let first = emulator.invoke("confirm-outage", &alarm(&env));
    assert_eq!(first.body["verdict"], "transient", "{first:?}");
    let started = Instant::now();
    let soon = reconcile(&emulator);
    assert!(
        east_repairs(&soon).is_empty(),
        "its alarm may still catch up: {soon}"
    );

    wait_past(started, 31).await;
    let repaired = reconcile(&emulator);
    assert_repaired(&repaired, "confirmed again");
    let all = incidents(&cloud, &env).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let second = all
        .iter()
        .find(|i| text(i, "phase") == "confirmed")
        .expect("a confirmed incident");
    assert!(
        format!("{:?}", second.get("trigger")).contains("reconciler"),
        "{second:?}"
    );
    assert_eq!(
        cloud.executions(&env).await.len(),
        1,
        "its workflow started"
    );
    let notices = cloud.notices(&env, 2, Duration::from_secs(10)).await;
    assert!(
        notices[1].subject.contains("outage confirmed"),
        "{notices:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f8_a_dry_run_never_holds_the_region_and_a_real_alarm_meanwhile_is_real() {
    let cloud = LocalCloud::start().await;
    let env = outage(&cloud, "f8", "Failure").await;
    let emulator = Emulator::start(&env, QUICK, 2);
    let rehearsal = emulator.invoke(
        "confirm-outage",
        &system::event("confirm-outage-manual-dry-run.json").to_string(),
    );
    assert_eq!(rehearsal.body["dry_run"], true, "{rehearsal:?}");
    let real = emulator.invoke("confirm-outage", &alarm(&env));
    assert_eq!(
        real.body["verdict"], "confirmed",
        "not a duplicate of the rehearsal: {real:?}"
    );
    assert_eq!(real.body["dry_run"], false);
    assert_ne!(real.body["incident_id"], rehearsal.body["incident_id"]);
    let mut held = leases(&cloud, &env).await;
    held.sort();
    assert_eq!(
        held,
        [
            format!(
                "LEASE#DRY_RUN={}",
                rehearsal.body["incident_id"].as_str().unwrap()
            ),
            format!("LEASE={}", real.body["incident_id"].as_str().unwrap()),
        ]
    );
    assert_eq!(
        cloud.executions(&env).await.len(),
        2,
        "each incident its own workflow"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f14_a_live_restore_by_region_is_refused_and_changes_nothing() {
    let cloud = LocalCloud::start().await;
    let env = outage(&cloud, "f14", "Failure").await;
    env.region("us-east-1")
        .kube()
        .scenario(json!({"pods": "crashloop"}));
    let emulator = Emulator::start(&env, QUICK, 1);
    let confirmed = emulator.invoke("confirm-outage", &alarm(&env));
    assert_eq!(confirmed.body["verdict"], "confirmed", "{confirmed:?}");
    let before = incidents(&cloud, &env).await;
    let refused = emulator.invoke("restore-platform", r#"{"region": "us-east-1"}"#);
    assert_eq!(refused.error_type(), "InvalidEvent", "{refused:?}");
    assert!(
        refused
            .error_message()
            .contains("a live restore by region is refused"),
        "{refused:?}"
    );
    assert_eq!(incidents(&cloud, &env).await, before, "nothing written");
    assert_eq!(patches(&env), 0);
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn f16_a_malformed_timing_in_a_hand_started_execution_escalates() {
    let cloud = LocalCloud::start().await;
    let env = outage(&cloud, "f16", "Failure").await;
    env.region("us-east-1")
        .kube()
        .scenario(json!({"pods": "crashloop"}));
    let emulator = Emulator::start(&env, &with(QUICK, &[("AWS_ENDPOINT_URL_SFN", DEAD)]), 2)
        .serving_workflow();
    let confirmed = emulator.invoke("confirm-outage", &alarm(&env));
    assert_eq!(
        confirmed.error_type(),
        "UpstreamUnavailable",
        "no start: {confirmed:?}"
    );
    let incident_id = text(&incidents(&cloud, &env).await[0], "id");

    // A person starts it from the console with a timing the workflow cannot use.
    let sfn = aws_sdk_sfn::Client::new(&cloud.sdk());
    let started = sfn
        .start_execution()
        .state_machine_arn(&env.workflow_arn)
        .name(&incident_id)
        .input(json!({"incident_id": incident_id, "region": "us-east-1", "timing": {}}).to_string())
        .send()
        .await
        .unwrap();
    let ended = cloud
        .finished(started.execution_arn(), Duration::from_secs(60))
        .await;
    assert_eq!(ended.status, "SUCCEEDED", "{ended:?}");
    assert_eq!(
        ended.states,
        ["Timing", "Restore", "Escalate", "Escalated"],
        "{ended:?}"
    );
    let incident = &incidents(&cloud, &env).await[0];
    assert_eq!(text(incident, "phase"), "escalated");
    assert!(leases(&cloud, &env).await.is_empty());
    assert_eq!(patches(&env), 0, "nothing restarted on a bad input");
    let (_, why) = timeline(&cloud, &env, &incident_id)
        .await
        .into_iter()
        .find(|(k, _)| k == "escalated")
        .expect("the escalation on the timeline");
    assert!(
        why.contains("InvalidEvent") && why.contains("settle_seconds"),
        "{why}"
    );
}
