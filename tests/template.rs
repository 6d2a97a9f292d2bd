//! `template.yaml` against what the functions need and say: the workflow's
//! timeouts and retries, its waits, the reconciler's triggers and its IAM;
//! and one source of truth for the contract strings: every Choice of the
//! workflow is an answer the functions give, its Retry list is exactly the
//! errors whose policy is retry, every parameter's default and range is the
//! functions' own. Offline: no local cloud, no tool.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;

use failover_core::Error;
use failover_core::config::{MAX_POLLS, Settings};
use failover_core::error::RetryPolicy;
use failover_core::model::remedy::{Cause, Remedy};
use failover_core::rules::guardrails::Gate;
use failover_core::rules::recovery::Recovery;

use serde_json::Value;

fn template() -> Value {
    system::template::load()
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
        polls <= MAX_POLLS,
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

fn states(template: &Value) -> &Value {
    &template["Resources"]["RecoveryWorkflow"]["Properties"]["Definition"]["States"]
}

/// Every `StringEquals` a Choice state compares `variable` with.
fn choices<'t>(state: &'t Value, variable: &str) -> BTreeSet<&'t str> {
    state["Choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["Variable"] == variable)
        .filter_map(|c| c["StringEquals"].as_str())
        .collect()
}

/// The serde tag `field` of each answer, as the functions write it.
fn tags<T: serde::Serialize>(answers: &[T], field: &str) -> BTreeSet<String> {
    answers
        .iter()
        .map(|a| {
            serde_json::to_value(a).unwrap()[field]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn every_choice_of_the_workflow_is_an_answer_the_functions_give() {
    // One of each variant: a variant added to Gate or Recovery breaks this
    // match until the template handles it too.
    let decisions = [
        Gate::Act {
            remedy: Remedy::RolloutRestart,
        },
        Gate::Report {
            remedy: Remedy::Scale { replicas: 3 },
        },
        Gate::Wait { seconds: 30 },
        Gate::Skip,
        Gate::Escalate {
            cause: Cause::DeploymentMissing,
        },
    ];
    for decision in &decisions {
        match decision {
            Gate::Act { .. }
            | Gate::Report { .. }
            | Gate::Wait { .. }
            | Gate::Skip
            | Gate::Escalate { .. } => {}
        }
    }
    let outcomes = [
        Recovery::Recovered { warnings: vec![] },
        Recovery::KeepWaiting {
            wait_seconds: 15,
            pending: vec![],
        },
        Recovery::RestoreAgain { reasons: vec![] },
        Recovery::Failed { reasons: vec![] },
    ];
    for outcome in &outcomes {
        match outcome {
            Recovery::Recovered { .. }
            | Recovery::KeepWaiting { .. }
            | Recovery::RestoreAgain { .. }
            | Recovery::Failed { .. } => {}
        }
    }

    let template = template();
    let states = states(&template);
    let restore: BTreeSet<String> = choices(
        &states["RestoreDecision"],
        "$.restore.report.decision.decision",
    )
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(
        restore,
        tags(&decisions, "decision"),
        "RestoreDecision handles every decision, and only those"
    );
    let verify: BTreeSet<String> = choices(&states["VerifyOutcome"], "$.verify.report.outcome")
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        verify,
        tags(&outcomes, "outcome"),
        "VerifyOutcome handles every outcome, and only those"
    );
    // And each string reads back as the answer it names.
    for sample in &decisions {
        let json = serde_json::to_value(sample).unwrap();
        assert_eq!(&serde_json::from_value::<Gate>(json).unwrap(), sample);
    }
    for sample in &outcomes {
        let json = serde_json::to_value(sample).unwrap();
        assert_eq!(&serde_json::from_value::<Recovery>(json).unwrap(), sample);
    }
}

#[test]
fn the_workflow_retries_exactly_the_errors_whose_policy_is_retry() {
    let errors = [
        Error::Config("x".into()),
        Error::InvalidEvent("x".into()),
        Error::unavailable("SNS", "x"),
        Error::rejected("SNS", "x"),
        Error::Conflict("x".into()),
        Error::Internal("x".into()),
    ];
    for error in &errors {
        // A new variant breaks this match until it is listed above.
        match error {
            Error::Config(_)
            | Error::InvalidEvent(_)
            | Error::Unavailable { .. }
            | Error::Rejected { .. }
            | Error::Conflict(_)
            | Error::Internal(_) => {}
        }
    }
    let retried_kinds: BTreeSet<&str> = errors
        .iter()
        .filter(|e| e.retry_policy() == RetryPolicy::Retry)
        .map(Error::kind)
        .collect();
    let all_kinds: BTreeSet<&str> = errors.iter().map(Error::kind).collect();

    let template = template();
    let states = states(&template).as_object().unwrap();
    let tasks: Vec<(&String, &Value)> =
        states.iter().filter(|(_, s)| s["Type"] == "Task").collect();
    assert!(!tasks.is_empty());
    for (name, task) in tasks {
        let equals: Vec<&str> = task["Retry"][0]["ErrorEquals"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no Retry"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if equals.contains(&"States.ALL") {
            // The step that tells a person must get through whatever failed.
            assert_eq!(name, "Escalate", "only Escalate retries every error");
            continue;
        }
        let listed: BTreeSet<&str> = equals
            .into_iter()
            .filter(|e| all_kinds.contains(e))
            .collect();
        assert_eq!(
            listed, retried_kinds,
            "{name}: the functions' own errors it retries"
        );
    }
}

/// Template parameters whose range is narrower than the functions accept,
/// each for a reason the template states (and another test checks).
const NARROWER: &[(&str, &str)] = &[
    (
        "ConfirmSamples",
        "samples x interval fit the confirm-outage timeout",
    ),
    (
        "ConfirmIntervalSeconds",
        "samples x interval fit the confirm-outage timeout",
    ),
    (
        "VerifyPollSeconds",
        "the longest deadline's polls fit one execution's history",
    ),
];

#[test]
fn every_parameter_default_and_range_is_the_functions_own() {
    let template = template();
    let variables = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_object()
        .unwrap();
    let parameters = &template["Parameters"];
    let base: Vec<(String, String)> = [
        ("REGIONS", r#"[{"name":"us-east-1","cluster":"a","health_check_id":"hc-a"},{"name":"eu-west-1","cluster":"b","health_check_id":"hc-b"}]"#),
        ("INCIDENT_TABLE", "incidents"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:notices"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    let defaults = Settings::from_vars(base.clone()).unwrap();
    let with = |var: &str, value: String| {
        let mut vars = base.clone();
        vars.push((var.to_owned(), value));
        Settings::from_vars(vars)
    };
    let mut checked = 0;
    for (var, value) in variables {
        let Some(name) = value["Ref"].as_str() else {
            continue;
        };
        let parameter = &parameters[name];
        let Some(default) = parameter.get("Default") else {
            continue;
        };
        if parameter["Type"] != "Number" && parameter.get("AllowedValues").is_none() {
            continue;
        }
        let default = default
            .as_str()
            .map_or_else(|| default.to_string(), str::to_owned);
        assert_eq!(
            with(var, default.clone()).as_ref(),
            Ok(&defaults),
            "{name}'s Default {default} is not {var}'s default"
        );
        if let Some(allowed) = parameter["AllowedValues"].as_array() {
            for value in allowed {
                let value = value.as_str().unwrap().to_owned();
                assert!(
                    with(var, value.clone()).is_ok(),
                    "{var} refuses {name}'s {value}"
                );
            }
            checked += 1;
            continue;
        }
        let narrower = NARROWER.iter().any(|(n, _)| *n == name);
        for (bound, outside) in [("MinValue", -1i64), ("MaxValue", 1)] {
            let edge = number(&parameter[bound]) as i64;
            assert!(
                with(var, edge.to_string()).is_ok(),
                "{var} refuses {name}'s {bound} {edge}"
            );
            let beyond = with(var, (edge + outside).to_string());
            if narrower {
                continue;
            }
            let refused = beyond.expect_err(&format!(
                "{var} accepts {} beyond {name}'s {bound}: the ranges differ",
                edge + outside
            ));
            assert!(refused.to_string().contains(var.as_str()), "{refused}");
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} parameters checked");
}
