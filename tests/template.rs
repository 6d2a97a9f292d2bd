//! `template.yaml` against what the functions need: the workflow's timeouts
//! and retries, its waits, the reconciler's triggers and its IAM. Read
//! through the local cloud's own template loader (CloudFormation short
//! forms included), so no second YAML reader is needed.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

fn template() -> Value {
    let root = system::root();
    let output = Command::new(root.join(".tools/venv/bin/python"))
        .current_dir(root.join("scripts/localcloud"))
        .args([
            "-c",
            "import json, provision; print(json.dumps(provision.load_template()))",
        ])
        .output()
        .expect("run the template loader (scripts/tools installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("template as JSON")
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// The function a workflow Task invokes, by its `${...Arn}` substitution.
fn invoked_function<'t>(template: &'t Value, state: &Value) -> &'t Value {
    let workflow = &template["Resources"]["RecoveryWorkflow"]["Properties"];
    let placeholder = state["Parameters"]["FunctionName"]
        .as_str()
        .expect("FunctionName");
    let key = placeholder.trim_start_matches("${").trim_end_matches('}');
    let target = workflow["DefinitionSubstitutions"][key]["Fn::GetAtt"]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a GetAtt"));
    let logical = target.trim_end_matches(".Arn");
    &template["Resources"][logical]
}

#[test]
fn every_task_times_out_before_its_function_and_lambda_timeouts_are_retried() {
    let template = template();
    let global = number(&template["Globals"]["Function"]["Timeout"]);
    let states = template["Resources"]["RecoveryWorkflow"]["Properties"]["Definition"]["States"]
        .as_object()
        .unwrap();
    let tasks: Vec<(&String, &Value)> =
        states.iter().filter(|(_, s)| s["Type"] == "Task").collect();
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    for (name, task) in tasks {
        let function = invoked_function(&template, task);
        let timeout = function["Properties"].get("Timeout").map_or(global, number);
        let task_timeout = number(&task["TimeoutSeconds"]);
        assert!(
            task_timeout < timeout,
            "{name}: TimeoutSeconds {task_timeout} must be below the function's {timeout} s, so a stalled call is a retried States.Timeout"
        );
    }
    let retried: BTreeSet<&str> = states["Restore"]["Retry"][0]["ErrorEquals"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for error in [
        "UpstreamUnavailable",
        "ConcurrentUpdate",
        "Lambda.Unknown",
        "Sandbox.Timedout",
        "States.Timeout",
        "Lambda.TooManyRequestsException",
    ] {
        assert!(
            retried.contains(error),
            "{error} is not retried: {retried:?}"
        );
    }
    for refused in [
        "InvalidEvent",
        "UpstreamRejected",
        "ConfigurationError",
        "InternalError",
    ] {
        assert!(!retried.contains(refused), "{refused} must not be retried");
    }
}

#[test]
fn the_workflow_waits_come_from_restore_platforms_answer_and_fit_one_history() {
    let template = template();
    let states = &template["Resources"]["RecoveryWorkflow"]["Properties"]["Definition"]["States"];
    assert_eq!(
        states["Restore"]["Parameters"]["Payload"]["timing.$"],
        "$.timing"
    );
    assert_eq!(
        states["Settle"]["SecondsPath"],
        "$.restore.report.timing.settle_seconds"
    );
    assert_eq!(
        states["Verify"]["Parameters"]["Payload"]["timing.$"],
        "$.restore.report.timing"
    );
    let parameters = &template["Parameters"];
    let polls = number(&parameters["VerifyDeadlineSeconds"]["MaxValue"])
        / number(&parameters["VerifyPollSeconds"]["MinValue"]);
    assert!(
        polls <= failover_core::workflow::MAX_POLLS,
        "{polls} polls would overflow one execution's history"
    );
}

#[test]
fn reconcile_runs_on_its_schedule_and_on_every_execution_that_ends_badly() {
    let template = template();
    let function = &template["Resources"]["ReconcileFunction"];
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"],
        "reconcile"
    );
    let events = &function["Properties"]["Events"];
    assert_eq!(events["Schedule"]["Type"], "Schedule");
    assert_eq!(
        events["Schedule"]["Properties"]["Schedule"]["Ref"],
        "ReconcileSchedule"
    );
    assert_eq!(
        template["Parameters"]["ReconcileEnabled"]["Default"],
        "true"
    );
    let pattern = &events["ExecutionEnded"]["Properties"]["Pattern"];
    assert_eq!(events["ExecutionEnded"]["Type"], "EventBridgeRule");
    assert_eq!(pattern["source"][0], "aws.states");
    assert_eq!(
        pattern["detail"]["stateMachineArn"][0]["Ref"], "RecoveryWorkflow",
        "this state machine only"
    );
    let statuses: BTreeSet<&str> = pattern["detail"]["status"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(statuses, BTreeSet::from(["ABORTED", "FAILED", "TIMED_OUT"]));
    assert!(
        function["Properties"]["Environment"]["Variables"]
            .get("RECOVERY_WORKFLOW_ARN")
            .is_some()
    );
}

#[test]
fn reconcile_may_call_exactly_what_it_calls() {
    let template = template();
    let statements =
        template["Resources"]["ReconcileFunction"]["Properties"]["Policies"][0]["Statement"]
            .as_array()
            .unwrap();
    let granted: BTreeSet<String> = statements
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            other => panic!("Action {other}"),
        })
        .collect();
    let calls = [
        // Route53HealthChecks::observe
        "route53:GetHealthCheckStatus",
        // CloudWatchAlarms::states
        "cloudwatch:DescribeAlarms",
        // DynamoIncidentStore: GetItem, Query, PutItem, TransactWriteItems of Put and Delete
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        // SnsNotifier::publish
        "sns:Publish",
        // StepFunctionsWorkflow::start and ::status
        "states:StartExecution",
        "states:DescribeExecution",
    ];
    let expected: BTreeSet<String> = calls.iter().map(|c| (*c).to_owned()).collect();
    assert_eq!(granted, expected);
    for statement in statements {
        assert_ne!(
            statement["Resource"], "*",
            "{statement}: scoped to its resources"
        );
    }
}
