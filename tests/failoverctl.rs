//! The operator's CLI, the built `failoverctl` binary, against the local
//! cloud: each test gives it its own provisioned environment
//! (`--local` with `FAILOVERCTL_LOCAL_ENV`) and reads back what it did.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use system::{Emulator, Environment, LocalCloud, of_kind, root, text};

/// What one run of the CLI answered.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {self:?}"))
    }
}

/// The CLI, pointed at one environment.
struct Ctl {
    binary: PathBuf,
    env_file: PathBuf,
    lambda_endpoint: Option<String>,
}

impl Ctl {
    fn new(env: &Environment) -> Self {
        let dir = root().join("target/system-tests").join(&env.name);
        std::fs::create_dir_all(&dir).unwrap();
        let env_file = dir.join("failoverctl-env.json");
        let described = json!({"name": env.name, "function_env": env.function_env});
        std::fs::write(&env_file, described.to_string()).unwrap();
        Self {
            binary: system::binary("failoverctl"),
            env_file,
            lambda_endpoint: None,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(root())
            .arg("--local")
            .args(args)
            .env("FAILOVERCTL_LOCAL_ENV", &self.env_file)
            .env_remove("FAILOVERCTL_LAMBDA_ENDPOINT");
        if let Some(endpoint) = &self.lambda_endpoint {
            command.env("FAILOVERCTL_LAMBDA_ENDPOINT", endpoint);
        }
        Run::of(&mut command)
    }
}

impl Run {
    fn of(command: &mut Command) -> Self {
        let output = command.output().expect("run failoverctl");
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The local cloud's admin API (`LOCAL_CLOUD_KUBE_ADMIN`).
fn admin() -> String {
    std::fs::read_to_string(root().join(".local-cloud/endpoints.env"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("LOCAL_CLOUD_KUBE_ADMIN="))
        .unwrap()
        .trim_matches('\'')
        .to_owned()
}

/// Takes the environment's emulator out of the registry, so the workflow's
/// tasks reach no function and its incident stays open; answers its
/// endpoint, for the CLI to invoke the functions directly.
fn unregister(env: &Environment) -> String {
    let url = format!("{}/lambda/{}", admin(), env.name);
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let entry: Value = serde_json::from_str(
        &agent
            .get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    agent.delete(&url).call().unwrap();
    entry["endpoint"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_recovery_asked_for_by_hand_shows_in_status_incidents_and_its_report() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("ctl-recover");
    let emulator = Emulator::start(&env, &system::short_waits(), 2).serving_workflow();
    let failed = env.region("us-east-1");
    failed
        .kube()
        .scenario(json!({"pods": "crashloop", "after_restart": "ready"}));
    for region in &env.regions {
        cloud.set_health(&region.health_check_id, "Platform").await;
    }
    let ctl = Ctl::new(&env);

    let recover = ctl.run(&[
        "--json",
        "recover",
        "us-east-1",
        "--reason",
        "503s seen by ana",
    ]);
    assert_eq!(recover.code, 0, "{recover:?}");
    let answer = recover.json();
    assert_eq!(answer["verdict"], "confirmed", "{answer}");
    let id = answer["incident_id"].as_str().unwrap().to_owned();
    let execution = cloud
        .finished(
            answer["execution_arn"].as_str().unwrap(),
            Duration::from_secs(120),
        )
        .await;
    assert_eq!(
        execution.status,
        "SUCCEEDED",
        "{execution:?}\n{}",
        emulator.log()
    );

    let reconcile = ctl.run(&["reconcile", "--reason", "after the drill"]);
    assert_eq!(reconcile.code, 0, "{reconcile:?}");
    assert!(reconcile.stdout.starts_with("REGION"), "{reconcile:?}");

    let status = ctl.run(&["--json", "status"]);
    assert_eq!(status.code, 0, "healthy, nothing open: {status:?}");
    let report = status.json();
    assert_eq!(report["attention"], "none");
    let regions = report["status"]["regions"].as_array().unwrap();
    assert_eq!(regions[0]["region"], "us-east-1");
    assert_eq!(regions[0]["health"]["health"], "healthy");
    assert_eq!(regions[0]["leases"], json!([]));
    let reason = report["status"]["reconciler"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("manual: after the drill (requested by arn:"),
        "{reason}"
    );
    let table = ctl.run(&["status"]);
    assert!(table.stdout.starts_with("REGION "), "{table:?}");
    assert!(table.stdout.contains("reconciler: last run"), "{table:?}");

    let listed = ctl.run(&["--json", "incidents", "--since", "1h"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    let listed = listed.json();
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    assert_eq!(listed[0]["phase"], "recovered");

    let shown = ctl.run(&["--json", "show", &id]);
    assert_eq!(shown.code, 0, "{shown:?}");
    let shown = shown.json();
    let trigger = shown["incident"]["trigger"]["reason"].as_str().unwrap();
    assert!(
        trigger.starts_with("503s seen by ana (requested by arn:")
            && trigger.ends_with(" with failoverctl)"),
        "{trigger}"
    );
    assert!(
        shown["time_to_recover"]["from_detection_seconds"]
            .as_i64()
            .is_some(),
        "{shown}"
    );
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"detected"), "{kinds:?}");
    assert!(
        kinds.contains(&"acted") && kinds.contains(&"verified"),
        "{kinds:?}"
    );

    let markdown = ctl.run(&["show", &id, "--markdown"]);
    assert_eq!(markdown.code, 0, "{markdown:?}");
    let lines: Vec<&str> = markdown.stdout.lines().collect();
    assert_eq!(
        lines[..6],
        [
            format!("# Incident {id}").as_str(),
            "",
            "| | |",
            "|---|---|",
            "| Region | us-east-1 |",
            "| Phase | recovered |",
        ],
        "{}",
        markdown.stdout
    );
    assert!(
        markdown.stdout.contains("| Time to recover | "),
        "{}",
        markdown.stdout
    );
    assert!(
        markdown.stdout.contains("rollout restart | applied"),
        "{}",
        markdown.stdout
    );
}

/// us-east-1 failing in a fresh environment whose workflow reaches no
/// function, so an incident opened there stays open; the CLI invokes the
/// functions directly.
async fn stuck_outage(label: &str) -> (LocalCloud, Environment, Ctl, Emulator) {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision(label);
    let emulator = Emulator::start(&env, &system::short_waits(), 2).serving_workflow();
    let mut ctl = Ctl::new(&env);
    ctl.lambda_endpoint = Some(unregister(&env));
    cloud
        .set_health(&env.region("us-east-1").health_check_id, "Failure")
        .await;
    (cloud, env, ctl, emulator)
}

/// `failoverctl recover us-east-1`: the id of the incident it opened.
fn open_by_hand(ctl: &Ctl) -> String {
    let recover = ctl.run(&["--json", "recover", "us-east-1"]);
    assert_eq!(recover.code, 0, "{recover:?}");
    recover.json()["incident_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_release_by_hand_needs_a_reason_and_records_it_on_the_timeline() {
    let (cloud, env, ctl, _emulator) = stuck_outage("ctl-release").await;
    let id = open_by_hand(&ctl);
    let status = ctl.run(&["--json", "status"]);
    assert_eq!(status.code, 3, "an incident is open: {status:?}");

    let items = cloud.items(&env.table).await;
    let refused = ctl.run(&["release", "us-east-1", "--reason", "  "]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("a reason is required"),
        "{refused:?}"
    );
    let missing = ctl.run(&["release", "us-east-1"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("--reason"), "{missing:?}");
    assert_eq!(
        cloud.items(&env.table).await.len(),
        items.len(),
        "nothing written"
    );

    let released = ctl.run(&[
        "--json",
        "release",
        "us-east-1",
        "--reason",
        "database failover by hand",
    ]);
    assert_eq!(released.code, 0, "{released:?}");
    let report = released.json();
    assert_eq!(report["outcome"], "escalated", "{report}");
    assert_eq!(report["incident_id"], id.as_str());

    let items = cloud.items(&env.table).await;
    assert!(of_kind(&items, "LEASE").is_empty(), "released: {items:?}");
    let shown = ctl.run(&["--json", "show", &id]).json();
    assert_eq!(shown["incident"]["phase"], "escalated");
    assert_eq!(shown["incident"]["escalation"], "by_operator");
    let messages: Vec<String> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}: {}", text_of(e, "kind"), text_of(e, "message")))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("escalated: released by arn:")
                && m.ends_with(": database failover by hand")),
        "{messages:?}"
    );
    let notices = cloud.notices(&env, 2, Duration::from_secs(10)).await;
    assert!(
        notices
            .iter()
            .any(|n| n.subject.contains("us-east-1 incident released by hand")),
        "{:?}",
        notices.iter().map(|n| &n.subject).collect::<Vec<_>>()
    );

    let again = ctl.run(&["release", "us-east-1", "--reason", "once more"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("nothing to release"), "{again:?}");
    let closed = ctl.run(&["escalate", &id, "--reason", "late"]);
    assert_eq!(closed.code, 2, "{closed:?}");
    assert!(closed.stderr.contains("is already escalated"), "{closed:?}");
    assert_eq!(
        cloud.items(&env.table).await.len(),
        items.len(),
        "nothing written"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn an_escalation_by_hand_closes_the_open_incident_with_who_and_why() {
    let (cloud, env, ctl, _emulator) = stuck_outage("ctl-escalate").await;
    let id = open_by_hand(&ctl);

    let missing = ctl.run(&["escalate", &id]);
    assert_eq!(missing.code, 2, "{missing:?}");
    let escalated = ctl.run(&["--json", "escalate", &id, "--reason", "taking it by hand"]);
    assert_eq!(escalated.code, 0, "{escalated:?}");
    assert_eq!(escalated.json()["outcome"], "escalated", "{escalated:?}");

    let items = cloud.items(&env.table).await;
    assert!(
        of_kind(&items, "LEASE").is_empty(),
        "the region is free: {items:?}"
    );
    let shown = ctl.run(&["--json", "show", &id]).json();
    assert_eq!(shown["incident"]["phase"], "escalated");
    assert_eq!(shown["incident"]["escalation"], "by_operator");
    let by_hand = shown["timeline"].as_array().unwrap().iter().any(|e| {
        text_of(e, "kind") == "escalated"
            && text_of(e, "message").starts_with("escalated by arn:")
            && text_of(e, "message").ends_with(": taking it by hand")
    });
    assert!(by_hand, "{}", shown["timeline"]);
    let status = ctl.run(&["--json", "status"]);
    assert_ne!(status.code, 3, "no incident is open any more: {status:?}");
}

fn text_of<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry[key].as_str().unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn unknown_names_are_refused_naming_the_known_ones_and_nothing_changes() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("ctl-unknown");
    let ctl = Ctl::new(&env);
    let before = cloud.items(&env.table).await;

    for (args, named) in [
        (
            &["recover", "eu-central-1"][..],
            "\"eu-central-1\"; known: us-east-1, eu-west-1",
        ),
        (
            &["release", "eu-central-1", "--reason", "x"][..],
            "\"eu-central-1\"; known: us-east-1, eu-west-1",
        ),
        (
            &["incidents", "--region", "mars-1"][..],
            "\"mars-1\"; known: us-east-1, eu-west-1",
        ),
        (
            &["show", "us-east-1-nope"][..],
            "unknown incident \"us-east-1-nope\"; none is kept",
        ),
        (
            &["escalate", "us-east-1-nope", "--reason", "x"][..],
            "unknown incident \"us-east-1-nope\"",
        ),
    ] {
        let run = ctl.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(named), "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("nothing was changed"),
            "{args:?}: {run:?}"
        );
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
    }
    let after = cloud.items(&env.table).await;
    assert_eq!(
        after.iter().map(|i| text(i, "sk")).collect::<Vec<_>>(),
        before.iter().map(|i| text(i, "sk")).collect::<Vec<_>>()
    );
}

/// Deploys a stand-in of the stack in the local cloud's CloudFormation and
/// Lambda: the outputs the CLI reads, and a confirm-outage function whose
/// environment is `env`'s configuration (`provision` made the function; the
/// stand-in gives it the stack's configuration).
async fn stand_in_stack(cloud: &LocalCloud, env: &Environment) -> String {
    let sdk = cloud.sdk();
    let role = format!("arn:aws:iam::123456789012:role/{}-reconcile", env.name);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let variables = aws_sdk_lambda::types::Environment::builder()
        .set_variables(Some(env.function_env.clone().into_iter().collect()))
        .build();
    lambda
        .update_function_configuration()
        .function_name(format!("{}-confirm-outage", env.name))
        .environment(variables.clone())
        .send()
        .await
        .unwrap();
    lambda
        .create_function()
        .function_name(format!("{}-reconcile", env.name))
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(&role)
        .environment(variables)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let stack = format!("{}-stack", env.name);
    let template = json!({
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ConfirmOutageFunctionName": {"Value": format!("{}-confirm-outage", env.name)},
            "ReconcileFunctionName": {"Value": format!("{}-reconcile", env.name)},
        }
    });
    aws_sdk_cloudformation::Client::new(&sdk)
        .create_stack()
        .stack_name(&stack)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    stack
}

/// A zip archive with no entries: the end-of-central-directory record alone.
fn empty_zip() -> Vec<u8> {
    let mut zip = vec![0x50, 0x4b, 0x05, 0x06];
    zip.extend([0; 18]);
    zip
}

/// The CLI against a stack, with the local cloud as its AWS: the endpoints
/// and static credentials any program would get, and no local environment.
fn against_stack(cloud: &LocalCloud, args: &[&str]) -> Run {
    let mut command = Command::new(system::binary("failoverctl"));
    command.current_dir(std::env::temp_dir()).args(args);
    for (key, value) in cloud.endpoint_vars() {
        if key.starts_with("AWS_") {
            command.env(key, value);
        }
    }
    command
        .env_remove("FAILOVERCTL_LOCAL_ENV")
        .env_remove("FAILOVERCTL_LAMBDA_ENDPOINT");
    Run::of(&mut command)
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn a_stack_is_read_from_its_outputs_and_its_function_s_configuration() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("ctl-stack");
    let stack = stand_in_stack(&cloud, &env).await;
    for region in &env.regions {
        cloud.set_health(&region.health_check_id, "Success").await;
    }

    let status = against_stack(
        &cloud,
        &[
            "--stack",
            &stack,
            "--stack-region",
            "us-east-1",
            "--json",
            "status",
        ],
    );
    assert_eq!(status.code, 0, "{status:?}");
    let regions: Vec<String> = status.json()["status"]["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text_of(r, "region").to_owned())
        .collect();
    assert_eq!(regions, ["us-east-1", "eu-west-1"], "{status:?}");

    let unknown = against_stack(
        &cloud,
        &[
            "--stack",
            "no-such-stack",
            "--stack-region",
            "us-east-1",
            "status",
        ],
    );
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown.stderr.contains("unknown stack \"no-such-stack\"")
            && unknown.stderr.contains(&stack),
        "names the stacks there: {unknown:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn readiness_is_evaluated_by_hand_and_the_stored_report_read_back() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("ctl-ready");
    let emulator = Emulator::start(&env, &[], 2).serving_workflow();
    let ctl = Ctl::new(&env);

    let none = ctl.run(&["readiness"]);
    assert_eq!(none.code, 2, "{none:?}");
    assert!(
        none.stderr
            .contains("no readiness report is stored in ctl-ready")
            && none.stderr.contains("failoverctl readiness --evaluate"),
        "{none:?}"
    );

    env.region("eu-west-1")
        .kube()
        .scenario(json!({"deployment": {"image": "ghcr.io/loft-sh/vcluster-platform:4.7.2"}}));
    let evaluated = ctl.run(&["readiness", "--evaluate"]);
    assert_eq!(
        evaluated.code,
        5,
        "a failing check: {evaluated:?}\n{}",
        emulator.log()
    );
    assert!(
        evaluated.stdout.starts_with("readiness fail: "),
        "{evaluated:?}"
    );
    let drift = evaluated
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL") && l.contains("image_drift"))
        .unwrap_or_else(|| panic!("no failing image_drift row: {evaluated:?}"));
    assert!(
        drift.contains("eu-west-1 ghcr.io/loft-sh/vcluster-platform:4.7.2"),
        "{drift}"
    );
    assert!(
        evaluated.stdout.contains("- image_drift (orchestrator): in eu-west-1: kubectl --namespace vcluster-platform set image deployment/loft"),
        "{evaluated:?}"
    );

    let stored = ctl.run(&["--json", "readiness"]);
    assert_eq!(stored.code, 5, "{stored:?}");
    let stored = stored.json();
    assert_eq!(stored["status"], "fail", "{stored}");
    let checks = stored["report"]["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["kind"] == "image_drift" && c["status"] == "fail"),
        "the stored report is the one just made: {stored}"
    );
    assert_eq!(
        of_kind(&cloud.items(&env.table).await, "REPORT#").len(),
        1,
        "reading evaluates nothing"
    );
}
