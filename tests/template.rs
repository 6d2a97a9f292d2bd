//! `template.yaml` against what the functions need and say: the workflow's
//! timeouts and retries, its waits and how it ends, the reconciler's and
//! the readiness evaluation's triggers and IAM, the functions' names, the
//! alarms on the orchestrator, their topic and its key, the dashboard, the
//! functions' sizing and network, the console's parameter groups;
//! and one source of truth for the contract strings: every Choice of the
//! workflow is an answer the functions give, its Retry list is exactly the
//! errors whose policy is retry, every parameter's default and range is the
//! functions' own. Offline: no local cloud, no tool.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use failover_core::Error;
use failover_core::config::{MAX_POLLS, ReadinessTargets, Settings};
use failover_core::error::RetryPolicy;
use failover_core::model::remedy::{Cause, Remedy};
use failover_core::rules::guardrails::{Gate, WaitReason};
use failover_core::rules::readiness::PROBED;
use failover_core::rules::recovery::Recovery;
use system::template::substituted;

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
        .flat_map(actions)
        .map(str::to_owned)
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

/// The function built from `binary`, by logical id.
fn function_by_binary<'t>(template: &'t Value, binary: &str) -> (&'t String, &'t Value) {
    let found: Named<'t> = resources(template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"] == binary)
        .collect();
    assert_eq!(found.len(), 1, "functions built from {binary}: {found:?}");
    found[0]
}

/// The resources a policy statement names, one or many.
fn statement_resources(statement: &Value) -> Vec<&Value> {
    match &statement["Resource"] {
        Value::Array(many) => many.iter().collect(),
        Value::Null => panic!("{statement} names no Resource"),
        one => vec![one],
    }
}

/// A resource of a statement as text: a `Fn::Sub` with its placeholders
/// named, anything else as its JSON.
fn resource_text(resource: &Value) -> String {
    if resource.get("Fn::Sub").is_some() {
        substituted(resource, true)
    } else {
        resource.to_string()
    }
}

fn arn_of(logical: &str) -> String {
    serde_json::json!({"Fn::GetAtt": format!("{logical}.Arn")}).to_string()
}

fn ref_to(logical: &str) -> String {
    serde_json::json!({"Ref": logical}).to_string()
}

#[test]
fn evaluate_readiness_may_call_exactly_what_it_calls() {
    let template = template();
    let policies = template["Resources"]["EvaluateReadinessFunction"]["Properties"]["Policies"]
        .as_array()
        .unwrap();
    assert_eq!(policies.len(), 1, "one policy of its own: {policies:?}");
    let mut granted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for statement in policies[0]["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        for resource in statement_resources(statement) {
            let text = resource_text(resource);
            assert!(
                !text.contains('*'),
                "{statement}: scoped to its resources, not {text}"
            );
            for action in actions(statement) {
                granted.entry(action).or_default().insert(text.clone());
            }
        }
    }

    let health_checks: BTreeSet<String> = ["RegionAHealthCheckId", "RegionBHealthCheckId"]
        .map(|id| format!("arn:AWS::Partition:route53:::healthcheck/{id}"))
        .into();
    let (health, _) = alarms(&template);
    let health_alarms: BTreeSet<String> = health
        .iter()
        .map(|(_, alarm)| {
            format!(
                "arn:AWS::Partition:cloudwatch:AWS::Region:AWS::AccountId:alarm:{}",
                substituted(&alarm["Properties"]["AlarmName"], true)
            )
        })
        .collect();
    assert_eq!(health_alarms.len(), 2, "{health_alarms:?}");
    let probed: BTreeSet<String> = PROBED
        .iter()
        .map(|binary| arn_of(function_by_binary(&template, binary).0))
        .collect();
    assert_eq!(probed.len(), 3, "{probed:?}");
    let confirm = BTreeSet::from([arn_of(function_by_binary(&template, "confirm-outage").0)]);
    let table = BTreeSet::from([arn_of("IncidentTable")]);
    let topic = BTreeSet::from([ref_to("OpsTopic")]);
    let key = BTreeSet::from([arn_of("OpsKey")]);
    let calls: BTreeMap<&str, BTreeSet<String>> = BTreeMap::from([
        // Route53HealthChecks::config
        ("route53:GetHealthCheck", health_checks),
        // CloudWatchAlarms::configs
        ("cloudwatch:DescribeAlarms", health_alarms),
        // LambdaInvokePolicy::alarm_sources, of confirm-outage
        ("lambda:GetPolicy", confirm),
        // LambdaProbes: each probed function's permissions, and
        // verify-recovery's view of each region's cluster
        ("lambda:InvokeFunction", probed),
        // GetItem, Query, and TransactWriteItems of two Puts
        ("dynamodb:GetItem", table.clone()),
        ("dynamodb:Query", table.clone()),
        ("dynamodb:PutItem", table),
        // SnsNotifier::publish to the operations topic, under its key
        ("sns:Publish", topic),
        ("kms:GenerateDataKey", key.clone()),
        ("kms:Decrypt", key),
    ]);
    assert_eq!(granted, calls);
    assert_eq!(
        template["Resources"]["OpsTopic"]["Properties"]["KmsMasterKeyId"]["Ref"], "OpsKey",
        "the key it may use is the topic's"
    );
}

#[test]
fn every_function_is_named_as_evaluate_readiness_names_it() {
    let template = template();
    let variables = &template["Resources"]["EvaluateReadinessFunction"]["Properties"]["Environment"]
        ["Variables"];
    assert_eq!(variables["OPS_TOPIC_ARN"]["Ref"], "OpsTopic");
    assert_eq!(
        variables["FUNCTION_NAME_PREFIX"]["Fn::Sub"],
        "${AWS::StackName}-"
    );
    let stack = "platform-failover";
    let prefix = substituted(&variables["FUNCTION_NAME_PREFIX"], true);
    let targets = ReadinessTargets::from_vars([
        (
            "OPS_TOPIC_ARN",
            format!("arn:aws:sns:us-east-1:123456789012:{stack}-ops"),
        ),
        (
            "FUNCTION_NAME_PREFIX",
            prefix.replace("AWS::StackName", stack),
        ),
    ])
    .unwrap_or_else(|e| panic!("evaluate-readiness refuses its variables: {e}"));
    // The functions it names: the probed ones and confirm-outage.
    for binary in PROBED.into_iter().chain(["confirm-outage"]) {
        function_by_binary(&template, binary);
    }
    let functions = resources(&template, "AWS::Serverless::Function");
    assert!(functions.len() > PROBED.len(), "{functions:?}");
    for (name, function) in functions {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no Binary"));
        let named = &function["Properties"]["FunctionName"];
        assert_eq!(
            named["Fn::Sub"],
            format!("${{AWS::StackName}}-{binary}"),
            "{name}"
        );
        assert_eq!(
            substituted(named, true).replace("AWS::StackName", stack),
            targets.function(binary),
            "{name}"
        );
    }
}

#[test]
fn evaluate_readiness_runs_every_30_minutes_unless_turned_off() {
    let template = template();
    let function = &template["Resources"]["EvaluateReadinessFunction"];
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"],
        "evaluate-readiness"
    );
    let properties = &function["Properties"];
    let events = properties["Events"].as_object().unwrap();
    assert_eq!(
        events.keys().collect::<Vec<_>>(),
        ["Schedule"],
        "its schedule is its only trigger"
    );
    let schedule = &events["Schedule"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(
        schedule["Properties"]["Schedule"]["Ref"],
        "ReadinessSchedule"
    );
    assert_eq!(
        schedule["Properties"]["Name"]["Fn::Sub"],
        "${AWS::StackName}-readiness"
    );
    assert_eq!(
        schedule["Properties"]["Enabled"],
        serde_json::json!({"Fn::If": ["ReadinessOn", true, false]})
    );
    assert_eq!(
        template["Conditions"]["ReadinessOn"],
        serde_json::json!({"Fn::Equals": [{"Ref": "ReadinessEnabled"}, "true"]})
    );
    let parameters = &template["Parameters"];
    assert_eq!(
        parameters["ReadinessSchedule"]["Default"],
        "rate(30 minutes)"
    );
    assert_eq!(parameters["ReadinessEnabled"]["Default"], "true");
    assert_eq!(
        parameters["ReadinessEnabled"]["AllowedValues"],
        serde_json::json!(["true", "false"])
    );
    let retries = number(&properties["EventInvokeConfig"]["MaximumRetryAttempts"]);
    assert!(retries <= 1, "the next scheduled run comes soon: {retries}");
    // A callee that runs to its own timeout still leaves the run time to finish.
    let global = number(&template["Globals"]["Function"]["Timeout"]);
    let timeout = properties.get("Timeout").map_or(global, number);
    for binary in PROBED {
        let (name, callee) = function_by_binary(&template, binary);
        let callee = callee["Properties"].get("Timeout").map_or(global, number);
        assert!(
            callee < timeout,
            "{name}'s {callee} s must fit in evaluate-readiness's {timeout} s"
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
        Gate::Wait {
            seconds: 30,
            because: WaitReason::Cooldown,
        },
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

/// The variables the functions cannot start without.
fn required_vars() -> Vec<(String, String)> {
    [
        ("REGIONS", r#"[{"name":"us-east-1","cluster":"a","health_check_id":"hc-a"},{"name":"eu-west-1","cluster":"b","health_check_id":"hc-b"}]"#),
        ("INCIDENT_TABLE", "incidents"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:notices"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
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

/// What the functions accept of a variable.
enum Accepts {
    /// Every whole number from the first to the second.
    Range(u32, u32),
    /// These and nothing else.
    Only(&'static [u32]),
}

/// Variables every function's configuration reads, with the parameter the
/// template passes each from, the functions' own default and what they
/// accept (functions/core/src/config.rs).
const TUNING: &[(&str, &str, u32, Accepts)] = &[
    (
        "DRILL_EVIDENCE_DAYS",
        "DrillEvidenceDays",
        60,
        Accepts::Range(1, 3650),
    ),
    (
        "HEALTH_CHECK_INTERVAL_SECONDS",
        "HealthCheckIntervalSeconds",
        30,
        Accepts::Only(&[10, 30]),
    ),
    (
        "HEALTH_CHECK_FAILURE_THRESHOLD",
        "HealthCheckFailureThreshold",
        3,
        Accepts::Range(1, 10),
    ),
];

#[test]
fn every_parameter_default_and_range_is_the_functions_own() {
    let template = template();
    let variables = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_object()
        .unwrap();
    let parameters = &template["Parameters"];
    let base = required_vars();
    let defaults = Settings::from_vars(base.clone()).unwrap();
    let with = |var: &str, value: String| {
        let mut vars = base.clone();
        vars.push((var.to_owned(), value));
        Settings::from_vars(vars)
    };
    let mut checked = BTreeSet::new();
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
            checked.insert(var.as_str());
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
        checked.insert(var.as_str());
    }
    assert!(checked.len() >= 18, "only {checked:?} checked");

    for (var, name, default, accepts) in TUNING {
        assert_eq!(
            variables.get(*var).map(|v| &v["Ref"]),
            Some(&Value::from(*name)),
            "every function gets {var} from {name}"
        );
        assert!(checked.contains(var), "{var} was not compared");
        let parameter = &parameters[name];
        assert_eq!(number(&parameter["Default"]), u64::from(*default), "{name}");
        assert_eq!(
            with(var, default.to_string()).as_ref(),
            Ok(&defaults),
            "{default} is not {var}'s default"
        );
        match accepts {
            Accepts::Range(low, high) => {
                assert_eq!(number(&parameter["MinValue"]), u64::from(*low), "{name}");
                assert_eq!(number(&parameter["MaxValue"]), u64::from(*high), "{name}");
                for (value, ok) in [
                    (low - 1, false),
                    (*low, true),
                    (*high, true),
                    (high + 1, false),
                ] {
                    assert_eq!(with(var, value.to_string()).is_ok(), ok, "{var} {value}");
                }
            }
            Accepts::Only(values) => {
                let allowed: Vec<u64> = parameter["AllowedValues"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name} has no AllowedValues"))
                    .iter()
                    .map(number)
                    .collect();
                let want: Vec<u64> = values.iter().copied().map(u64::from).collect();
                assert_eq!(allowed, want, "{name}");
                let top = values.iter().max().unwrap() * 2;
                for value in 0..=top {
                    assert_eq!(
                        with(var, value.to_string()).is_ok(),
                        values.contains(&value),
                        "{var} {value}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_parameter_is_in_one_group_of_the_console() {
    let template = template();
    let interface = &template["Metadata"]["AWS::CloudFormation::Interface"];
    let grouped: Vec<&str> = interface["ParameterGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["Parameters"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    let once: BTreeSet<&str> = grouped.iter().copied().collect();
    assert_eq!(
        once.len(),
        grouped.len(),
        "a parameter in two groups: {grouped:?}"
    );
    let declared: BTreeSet<&str> = template["Parameters"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(once, declared, "the console groups every parameter");
    for label in interface["ParameterLabels"].as_object().unwrap().keys() {
        assert!(
            declared.contains(label.as_str()),
            "a label for no parameter: {label}"
        );
    }
}

/// Resources by logical id.
type Named<'t> = Vec<(&'t String, &'t Value)>;

/// Every resource of `kind`.
fn resources<'t>(template: &'t Value, kind: &str) -> Named<'t> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// The health alarms (their action is confirm-outage) and the alarms on the
/// orchestrator itself, by logical id.
fn alarms(template: &Value) -> (Named<'_>, Named<'_>) {
    resources(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .partition(|(_, a)| {
            a["Properties"]["AlarmActions"][0]["Fn::GetAtt"] == "ConfirmOutageFunction.Arn"
        })
}

/// The statements of a policy document that let `service` in.
fn granted_to<'t>(document: &'t Value, service: &str) -> Vec<&'t Value> {
    document["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow" && s["Principal"]["Service"] == service)
        .collect()
}

/// The actions a policy statement allows or denies.
fn actions(statement: &Value) -> BTreeSet<&str> {
    match &statement["Action"] {
        Value::String(one) => BTreeSet::from([one.as_str()]),
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        other => panic!("Action {other}"),
    }
}

/// The metric names an alarm reads: its own, or those of its metric math.
fn alarm_metrics(alarm: &Value) -> BTreeSet<&str> {
    let properties = &alarm["Properties"];
    if let Some(name) = properties["MetricName"].as_str() {
        return BTreeSet::from([name]);
    }
    properties["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["MetricStat"]["Metric"]["MetricName"].as_str())
        .collect()
}

/// The ids a metric-math alarm's expression reads, and each id's metric.
fn expression_inputs(alarm: &Value) -> (String, Vec<&Value>) {
    let metrics = alarm["Properties"]["Metrics"].as_array().unwrap();
    let returned: Vec<&Value> = metrics.iter().filter(|m| m["ReturnData"] == true).collect();
    assert_eq!(returned.len(), 1, "one series decides: {metrics:?}");
    let expression = returned[0]["Expression"].as_str().unwrap().to_owned();
    let inputs = metrics
        .iter()
        .filter(|m| m.get("MetricStat").is_some())
        .inspect(|m| {
            let id = m["Id"].as_str().unwrap();
            assert!(expression.contains(id), "{expression} leaves out {id}: {m}");
            assert_eq!(m["ReturnData"], false, "{m}");
        })
        .map(|m| &m["MetricStat"]["Metric"])
        .collect();
    (expression, inputs)
}

#[test]
fn the_ops_topic_has_its_own_key_which_cloudwatch_may_use() {
    let template = template();
    let resources = &template["Resources"];
    let topic = &resources["OpsTopic"]["Properties"];
    assert_eq!(
        topic["KmsMasterKeyId"]["Ref"], "OpsKey",
        "CloudWatch cannot publish to a topic under alias/aws/sns"
    );
    let key = &resources["OpsKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    assert_eq!(
        resources["OpsKeyAlias"]["Properties"]["TargetKeyId"]["Ref"],
        "OpsKey"
    );
    let for_cloudwatch = granted_to(&key["Properties"]["KeyPolicy"], "cloudwatch.amazonaws.com");
    assert_eq!(for_cloudwatch.len(), 1, "{for_cloudwatch:?}");
    assert_eq!(
        actions(for_cloudwatch[0]),
        BTreeSet::from(["kms:Decrypt", "kms:GenerateDataKey*"])
    );
    assert_eq!(
        for_cloudwatch[0]["Condition"]["StringEquals"]["aws:SourceAccount"]["Ref"],
        "AWS::AccountId"
    );

    let policy = &resources["OpsTopicPolicy"]["Properties"];
    assert_eq!(policy["Topics"][0]["Ref"], "OpsTopic");
    let publish = granted_to(&policy["PolicyDocument"], "cloudwatch.amazonaws.com");
    assert_eq!(publish.len(), 1, "{publish:?}");
    assert_eq!(actions(publish[0]), BTreeSet::from(["sns:Publish"]));
    let condition = &publish[0]["Condition"];
    assert_eq!(
        condition["StringEquals"]["aws:SourceAccount"]["Ref"],
        "AWS::AccountId"
    );
    let source = system::template::substituted(&condition["ArnLike"]["aws:SourceArn"], true);
    assert!(
        source.ends_with(":alarm:AWS::StackName-*"),
        "only this stack's alarms: {source}"
    );
    let statements = policy["PolicyDocument"]["Statement"].as_array().unwrap();
    assert!(
        statements
            .iter()
            .any(|s| s["Effect"] == "Deny"
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"),
        "publishing without TLS is refused"
    );
}

#[test]
fn every_alarm_on_the_orchestrator_tells_the_ops_topic_and_may_publish_there() {
    let template = template();
    let (health, ops) = alarms(&template);
    assert_eq!(health.len(), 2, "{health:?}");
    assert!(ops.len() >= 7, "{ops:?}");
    let topic = serde_json::json!([{"Ref": "OpsTopic"}]);
    for (name, alarm) in ops {
        let properties = &alarm["Properties"];
        assert_eq!(properties["AlarmActions"], topic, "{name}");
        assert_eq!(properties["OKActions"], topic, "{name}");
        assert!(
            ["breaching", "notBreaching"]
                .contains(&properties["TreatMissingData"].as_str().unwrap_or("")),
            "{name}: missing data is decided, not left to the default"
        );
        // The topic policy admits alarms named ${AWS::StackName}-*.
        let named = system::template::substituted(&properties["AlarmName"], true);
        assert!(named.starts_with("AWS::StackName-"), "{name}: {named}");
        assert!(
            !properties["AlarmDescription"].to_string().trim().is_empty(),
            "{name}"
        );
    }
}

#[test]
fn the_function_alarms_add_up_every_function() {
    let template = template();
    let functions: BTreeSet<&str> = resources(&template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(functions.len(), 7, "{functions:?}");
    for (alarm, metric) in [
        ("FunctionErrorsAlarm", "Errors"),
        ("FunctionThrottlesAlarm", "Throttles"),
    ] {
        let alarm = &template["Resources"][alarm];
        let (expression, inputs) = expression_inputs(alarm);
        assert!(expression.starts_with("SUM("), "{expression}");
        let summed: BTreeSet<&str> = inputs
            .iter()
            .inspect(|m| {
                assert_eq!(m["Namespace"], "AWS/Lambda");
                assert_eq!(m["MetricName"], metric);
            })
            .filter_map(|m| m["Dimensions"][0]["Value"]["Ref"].as_str())
            .collect();
        assert_eq!(summed, functions, "{metric}");
        assert_eq!(number(&alarm["Properties"]["Threshold"]), 1);
    }
}

#[test]
fn the_workflow_alarm_counts_only_executions_that_ended_outside_the_design() {
    let template = template();
    let alarm = &template["Resources"]["WorkflowEndedBadlyAlarm"];
    let (expression, inputs) = expression_inputs(alarm);
    assert!(expression.starts_with("SUM("), "{expression}");
    let counted: BTreeSet<&str> = inputs
        .iter()
        .inspect(|m| {
            assert_eq!(m["Namespace"], "AWS/States");
            assert_eq!(m["Dimensions"][0]["Name"], "StateMachineArn");
            assert_eq!(m["Dimensions"][0]["Value"]["Ref"], "RecoveryWorkflow");
        })
        .filter_map(|m| m["MetricName"].as_str())
        .collect();
    assert_eq!(
        counted,
        BTreeSet::from([
            "ExecutionsAborted",
            "ExecutionsFailed",
            "ExecutionsTimedOut"
        ])
    );
}

/// `METRICS_NAMESPACE` as the functions get it.
fn metrics_namespace(template: &Value) -> &Value {
    &template["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"]
}

#[test]
fn the_heartbeat_alarm_treats_no_data_as_a_dead_reconciler() {
    let template = template();
    let alarm = &template["Resources"]["ReconcilerHeartbeatAlarm"];
    assert_eq!(alarm["Condition"], "ReconcileOn");
    let properties = &alarm["Properties"];
    assert_eq!(properties["MetricName"], "ReconcilerHeartbeat");
    assert_eq!(&properties["Namespace"], metrics_namespace(&template));
    assert_eq!(properties["TreatMissingData"], "breaching");
    assert_eq!(properties["Statistic"], "Sum");
    assert_eq!(properties["ComparisonOperator"], "LessThanThreshold");
    assert_eq!(number(&properties["Threshold"]), 1);
    assert!(
        properties.get("Dimensions").is_none(),
        "the heartbeat has no dimension"
    );
}

#[test]
fn each_health_alarm_has_an_alarm_for_its_insufficient_data() {
    let template = template();
    let (health, ops) = alarms(&template);
    for (name, alarm) in health {
        // "${AWS::StackName}-${RegionAName}-platform-health" -> RegionAName
        let named = alarm["Properties"]["AlarmName"]["Fn::Sub"]
            .as_str()
            .unwrap();
        let region = named
            .split("${")
            .nth(2)
            .and_then(|p| p.split('}').next())
            .unwrap();
        let watching: Vec<&String> = ops
            .iter()
            .filter(|(_, a)| {
                let p = &a["Properties"];
                p["MetricName"] == "HealthAlarmInsufficientData"
                    && p["Dimensions"]
                        == serde_json::json!([{"Name": "region", "Value": {"Ref": region}}])
            })
            .map(|(n, a)| {
                assert_eq!(a["Condition"], "ReconcileOn", "{n}: reconcile emits it");
                assert_eq!(&a["Properties"]["Namespace"], metrics_namespace(&template));
                assert_eq!(a["Properties"]["TreatMissingData"], "notBreaching", "{n}");
                *n
            })
            .collect();
        assert_eq!(watching.len(), 1, "{name} ({region}): {watching:?}");
    }
}

#[test]
fn reconcile_and_escalate_have_reserved_concurrency() {
    let template = template();
    let parameter = &template["Parameters"]["ReservedConcurrency"];
    assert!(number(&parameter["Default"]) >= 2, "{parameter}");
    let reserved = serde_json::json!({"Fn::If": [
        "HasReservedConcurrency",
        {"Ref": "ReservedConcurrency"},
        {"Ref": "AWS::NoValue"}
    ]});
    for (name, function) in resources(&template, "AWS::Serverless::Function") {
        let set = function["Properties"].get("ReservedConcurrentExecutions");
        if ["ReconcileFunction", "EscalateIncidentFunction"].contains(&name.as_str()) {
            assert_eq!(set, Some(&reserved), "{name}");
        } else {
            assert_eq!(set, None, "{name}: a cap it does not need");
        }
    }
}

#[test]
fn memory_is_a_parameter_of_256_mb_by_default() {
    let template = template();
    let parameter = &template["Parameters"]["MemorySize"];
    assert_eq!(parameter["Type"], "Number");
    assert_eq!(number(&parameter["Default"]), 256);
    assert_eq!(number(&parameter["MinValue"]), 128);
    assert_eq!(number(&parameter["MaxValue"]), 10240);
    assert_eq!(
        template["Globals"]["Function"]["MemorySize"]["Ref"],
        "MemorySize"
    );
    for (name, function) in resources(&template, "AWS::Serverless::Function") {
        assert!(
            function["Properties"].get("MemorySize").is_none(),
            "{name} overrides MemorySize"
        );
    }
}

#[test]
fn only_the_functions_that_reach_the_clusters_join_the_vpc() {
    let template = template();
    let reach = [
        "RestorePlatformFunction",
        "VerifyRecoveryFunction",
        "CheckDerpPeersFunction",
    ];
    for (name, function) in resources(&template, "AWS::Serverless::Function") {
        let properties = &function["Properties"];
        let vpc = properties.get("VpcConfig");
        if !reach.contains(&name.as_str()) {
            assert_eq!(vpc, None, "{name}");
            continue;
        }
        let vpc = vpc.unwrap_or_else(|| panic!("{name} has no VpcConfig"));
        assert_eq!(vpc["Fn::If"][0], "HasVpc", "{name}");
        assert_eq!(vpc["Fn::If"][2]["Ref"], "AWS::NoValue", "{name}");
        // SAM attaches the ENI permissions whenever VpcConfig is present.
        let denied = properties["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["Fn::If"][0] == "HasVpc")
            .unwrap_or_else(|| panic!("{name} keeps the ENI permissions without a VPC"));
        assert_eq!(denied["Fn::If"][1]["Ref"], "AWS::NoValue");
        let statement = &denied["Fn::If"][2]["Statement"][0];
        assert_eq!(statement["Effect"], "Deny");
        assert!(actions(statement).contains("ec2:CreateNetworkInterface"));
    }
}

#[test]
fn an_escalation_ends_the_execution_in_a_succeed_state() {
    let template = template();
    let states = states(&template).as_object().unwrap();
    assert_eq!(states["Escalated"]["Type"], "Succeed");
    let failing: Vec<&String> = states
        .iter()
        .filter(|(_, s)| s["Type"] == "Fail")
        .map(|(name, _)| name)
        .collect();
    assert!(
        failing.is_empty(),
        "a designed outcome must not count as ExecutionsFailed: {failing:?}"
    );
    // Every way into Escalated has recorded the escalation already: the
    // Escalate task succeeded, or restore-platform or verify-recovery
    // answered the escalation they closed the incident with.
    let into: BTreeSet<&str> = states
        .iter()
        .filter(|(_, s)| {
            s["Next"] == "Escalated"
                || s["Default"] == "Escalated"
                || s["Choices"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["Next"] == "Escalated"))
        })
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        into,
        BTreeSet::from(["Escalate", "RestoreDecision", "VerifyOutcome"])
    );
    assert!(
        states["Escalate"].get("Catch").is_none(),
        "an Escalate that fails for good ends FAILED, for reconcile and the alarm"
    );
    let escalate = Gate::Escalate {
        cause: Cause::DeploymentMissing,
    };
    let failed = Recovery::Failed { reasons: vec![] };
    for (choice, answers) in [
        ("RestoreDecision", tags(&[escalate], "decision")),
        ("VerifyOutcome", tags(&[failed], "outcome")),
    ] {
        let escalating: BTreeSet<String> = states[choice]["Choices"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["Next"] == "Escalated")
            .filter_map(|c| c["StringEquals"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(escalating, answers, "{choice}");
    }
}

/// The dashboard as CloudWatch reads it, the reconciler on or off.
fn dashboard(template: &Value, reconciler: bool) -> Value {
    let body = &template["Resources"]["Dashboard"]["Properties"]["DashboardBody"];
    let text = system::template::substituted(body, reconciler);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("DashboardBody is not JSON: {e}\n{text}"))
}

/// Every metric row of every widget, `[namespace, name, dimension, value, ..., {options}]`.
fn rows(dashboard: &Value) -> Vec<&Vec<Value>> {
    dashboard["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["properties"]["metrics"].as_array())
        .flatten()
        .filter_map(Value::as_array)
        .collect()
}

#[test]
fn the_dashboard_is_json_that_shows_every_custom_metric_and_alarm() {
    use failover_core::model::metric::Metric;
    use failover_core::model::readiness::CheckKind;
    use failover_core::model::remedy::Remedy;

    let template = template();
    let namespace = system::template::substituted(metrics_namespace(&template), true);
    let mut vars = required_vars();
    vars.push((
        "METRICS_NAMESPACE".to_owned(),
        namespace.replace("AWS::StackName", "platform-failover"),
    ));
    assert!(
        Settings::from_vars(vars).is_ok(),
        "the functions refuse METRICS_NAMESPACE {namespace}"
    );
    let (health, ops) = alarms(&template);
    let custom: BTreeSet<&str> = ops
        .iter()
        .filter(|(_, a)| {
            a["Properties"]
                .get("Namespace")
                .is_some_and(|n| n != "AWS/SQS")
        })
        .inspect(|(n, a)| {
            assert_eq!(
                &a["Properties"]["Namespace"],
                metrics_namespace(&template),
                "{n}"
            );
        })
        .flat_map(|(_, a)| alarm_metrics(a))
        .collect();

    for reconciler in [true, false] {
        let board = dashboard(&template, reconciler);
        let shown: BTreeSet<&str> = rows(&board)
            .into_iter()
            .filter(|r| r[0] == namespace.as_str())
            .filter_map(|r| r[1].as_str())
            .collect();
        for name in [
            "OpenIncidents",
            "TimeToRecover",
            "ActionsApplied",
            "ReconcilerHeartbeat",
            "HealthAlarmInsufficientData",
            "ReadinessChecksFailing",
        ] {
            assert!(shown.contains(name), "the dashboard leaves out {name}");
        }
        for name in shown.iter().chain(&custom) {
            assert!(
                Metric::NAMES.contains(name),
                "{name} is no metric the functions emit: {:?}",
                Metric::NAMES
            );
        }
        let actions: BTreeSet<&str> = rows(&board)
            .into_iter()
            .filter(|r| r[1] == "ActionsApplied")
            .filter_map(|r| {
                let at = r.iter().position(|v| v == "action")?;
                r[at + 1].as_str()
            })
            .collect();
        assert_eq!(
            actions,
            BTreeSet::from([
                Remedy::RolloutRestart.kind(),
                Remedy::Scale { replicas: 1 }.kind()
            ]),
            "the action dimension as the functions write it"
        );
        let checks: Vec<&str> = rows(&board)
            .into_iter()
            .filter(|r| r[1] == "ReadinessChecksFailing")
            .map(|r| {
                assert_eq!(r[2], "check", "{r:?}");
                r[3].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            checks.iter().copied().collect::<BTreeSet<_>>(),
            BTreeSet::from(CheckKind::ALL.map(CheckKind::as_str)),
            "one line per check, the check dimension as the function writes it"
        );
        assert_eq!(checks.len(), CheckKind::ALL.len(), "{checks:?}");

        let listed: BTreeSet<String> = board["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["type"] == "alarm")
            .flat_map(|w| w["properties"]["alarms"].as_array().unwrap())
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let expected: BTreeSet<String> = health
            .iter()
            .chain(&ops)
            .filter(|(_, a)| reconciler || a.get("Condition").is_none())
            .map(|(n, _)| format!("{n}.Arn"))
            .collect();
        assert_eq!(listed, expected, "reconciler on: {reconciler}");
    }
}
