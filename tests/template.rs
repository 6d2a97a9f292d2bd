//! `template.yaml` against what the functions need and say: the workflow's
//! timeouts and retries, its waits and how it ends, the reconciler's and
//! the readiness evaluation's triggers and IAM, the functions' names, the
//! alarms on the orchestrator, their topic and its key, the dashboard, the
//! functions' sizing and network, the console's parameter groups, the
//! per-region resources and least privilege for any number of regions;
//! and one source of truth for the contract strings: every Choice of the
//! workflow is an answer the functions give, its Retry list is exactly the
//! errors whose policy is retry, every parameter's default and range is the
//! functions' own. The template is read as CloudFormation expands its
//! per-region loop for a sample `Regions` of three regions. Offline: no
//! local cloud, no tool.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use failover_core::Error;
use failover_core::config::{MAX_POLLS, ReadinessTargets, RegionSettings, Settings};
use failover_core::error::RetryPolicy;
use failover_core::model::remedy::{Cause, Remedy};
use failover_core::rules::guardrails::{Gate, WaitReason};
use failover_core::rules::readiness::PROBED;
use failover_core::rules::recovery::Recovery;
use system::template::{literal, substituted};

use serde_json::{Value, json};

/// A `Regions` of three regions, as a deployment passes it: the tests read
/// the template as CloudFormation expands its per-region loop for these.
const REGIONS: [&str; 3] = [
    "us-east-1:platform-us-east-1:0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b",
    "eu-west-1:platform-eu-west-1:1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d",
    "ap-southeast-2:platform-ap-southeast-2:9f8e7d6c-5b4a-4392-8a1b-0c9d8e7f6a5b",
];

fn template() -> Value {
    template_for(&REGIONS)
}

/// The template for `Regions` = `regions`, its loop expanded.
fn template_for(regions: &[&str]) -> Value {
    system::template::expanded(&system::template::load(), &[("Regions", regions)])
}

/// An item of `Regions`: its region, cluster and health check id.
fn parts(item: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = item.split(':').collect();
    let [region, cluster, health_check] = parts[..] else {
        panic!("{item} is not region:cluster:health-check-id");
    };
    (region, cluster, health_check)
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
    assert_eq!(tasks.len(), 5, "{tasks:?}");
    for (name, task) in tasks {
        if task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken" {
            // A person's answer resumes it: it waits up to the approval
            // timeout restore-platform answered, never forever, and its
            // timeout is the approval's, never retried.
            assert_eq!(name, "AwaitApproval");
            assert_eq!(
                task["TimeoutSecondsPath"],
                "$.restore.report.approval.timeout_seconds"
            );
            assert!(task.get("TimeoutSeconds").is_none());
            let retried = task["Retry"][0]["ErrorEquals"].to_string();
            assert!(!retried.contains("States.Timeout"), "{retried}");
            assert_eq!(task["Catch"][0]["ErrorEquals"][0], "States.Timeout");
            assert_eq!(task["Catch"][0]["Next"], "ApprovalTimedOut");
            let timed_out = &states["ApprovalTimedOut"]["Parameters"];
            assert_eq!(
                timed_out["Error"],
                failover_core::app::escalate_incident::APPROVAL_TIMED_OUT
            );
            continue;
        }
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
    let granted = grants(&template, "ReconcileFunction");
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
    assert_eq!(granted.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for (action, resources) in &granted {
        assert!(
            !resources.contains(r#""*""#),
            "{action}: scoped to its resources, not {resources:?}"
        );
    }
}

/// What the role of function `logical` may do, action -> resources (as
/// [`resource_text`]): its own `Policies`, and every statement of an
/// `AWS::IAM::Policy` attached to the role SAM generates for it
/// (`<logical>Role`) that names that role as its caller
/// (`aws:PrincipalArn`) or names no caller.
fn grants(template: &Value, logical: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut allow = |statement: &Value| allow_into(&mut granted, statement);
    let function = &template["Resources"][logical]["Properties"];
    assert!(function.is_object(), "no function {logical}");
    for policy in function["Policies"].as_array().into_iter().flatten() {
        for statement in policy["Statement"].as_array().into_iter().flatten() {
            allow(statement);
        }
    }
    let role = format!("{logical}Role");
    for (name, policy) in resources(template, "AWS::IAM::Policy") {
        let properties = &policy["Properties"];
        let attached = properties["Roles"]
            .as_array()
            .unwrap()
            .contains(&json!({ "Ref": role }));
        for statement in properties["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
        {
            let callers = callers(name, statement);
            if attached && callers.as_ref().is_none_or(|c| c.contains(&role)) {
                allow(statement);
            }
        }
    }
    granted
}

/// Adds what an `Allow` statement grants, action -> resources (as [`resource_text`]).
fn allow_into(granted: &mut BTreeMap<String, BTreeSet<String>>, statement: &Value) {
    if statement["Effect"] != "Allow" {
        return;
    }
    for resource in statement_resources(statement) {
        for action in actions(statement) {
            granted
                .entry(action.to_owned())
                .or_default()
                .insert(resource_text(resource));
        }
    }
}

/// What a managed policy of the template grants; it has no condition.
fn managed_grants(template: &Value, logical: &str) -> BTreeMap<String, BTreeSet<String>> {
    let policy = &template["Resources"][logical];
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy", "{logical}");
    let mut granted = BTreeMap::new();
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
    {
        assert!(statement.get("Condition").is_none(), "{statement}");
        allow_into(&mut granted, statement);
    }
    granted
}

fn one_each(pairs: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    pairs
        .iter()
        .map(|(action, resource)| {
            (
                (*action).to_owned(),
                BTreeSet::from([(*resource).to_owned()]),
            )
        })
        .collect()
}

#[test]
fn approve_remedy_may_call_exactly_what_it_calls() {
    let template = template();
    let table = arn_of("IncidentTable");
    let topic = ref_to("NoticesTopic");
    let expected = one_each(&[
        // DynamoIncidentStore: GetItem (the incident, the task token),
        // PutItem (the token; the answer), TransactWriteItems of Put and
        // Delete (a rejection closes the incident and frees the lease)
        ("dynamodb:GetItem", &table),
        ("dynamodb:PutItem", &table),
        ("dynamodb:DeleteItem", &table),
        // SnsNotifier::publish
        ("sns:Publish", &topic),
        // StepFunctionsCallbacks::resume (a task token has no ARN to scope)
        ("states:SendTaskSuccess", r#""*""#),
    ]);
    assert_eq!(grants(&template, "ApproveRemedyFunction"), expected);
}

#[test]
fn approvers_get_exactly_what_answering_calls_and_nothing_else() {
    let template = template();
    // The console: approve-remedy does the rest with its own role.
    assert_eq!(
        managed_grants(&template, "ApproverConsolePolicy"),
        one_each(&[("lambda:InvokeFunction", &arn_of("ApproveRemedyFunction"))])
    );
    // failoverctl approve and reject take the answer in the caller's process.
    let table = arn_of("IncidentTable");
    let stack =
        "arn:AWS::Partition:cloudformation:AWS::Region:AWS::AccountId:stack/AWS::StackName/*";
    let expected = one_each(&[
        // failoverctl's target: stack_outputs, function_environment
        ("cloudformation:DescribeStacks", stack),
        (
            "lambda:GetFunctionConfiguration",
            &arn_of("ConfirmOutageFunction"),
        ),
        // approve_remedy::answer over DynamoIncidentStore, as approve-remedy;
        // and Query: explain's listing of the newest incidents
        ("dynamodb:GetItem", &table),
        ("dynamodb:PutItem", &table),
        ("dynamodb:DeleteItem", &table),
        ("dynamodb:Query", &table),
        ("sns:Publish", &ref_to("NoticesTopic")),
        ("states:SendTaskSuccess", r#""*""#),
    ]);
    let cli = managed_grants(&template, "ApproverCliPolicy");
    assert_eq!(cli, expected);
    for (output, policy) in [
        ("ApproverConsolePolicyArn", "ApproverConsolePolicy"),
        ("ApproverCliPolicyArn", "ApproverCliPolicy"),
    ] {
        assert_eq!(
            template["Outputs"][output]["Value"],
            json!({ "Ref": policy }),
            "{output}"
        );
    }
}

/// The roles (logical ids) a statement of an attached policy is limited
/// to, `None` when it names no caller; any other condition is refused, so
/// that what [`grants`] reads is what IAM decides.
fn callers(policy: &str, statement: &Value) -> Option<BTreeSet<String>> {
    let condition = statement.get("Condition")?;
    let arns = &condition["ArnEquals"]["aws:PrincipalArn"];
    assert!(
        condition.as_object().map(serde_json::Map::len) == Some(1)
            && condition["ArnEquals"].as_object().map(serde_json::Map::len) == Some(1),
        "{policy}: a condition other than the caller's role: {condition}"
    );
    Some(
        arns.as_array()
            .unwrap_or_else(|| panic!("{policy}: aws:PrincipalArn {arns}"))
            .iter()
            .map(|arn| {
                arn["Fn::GetAtt"]
                    .as_str()
                    .and_then(|a| a.strip_suffix(".Arn"))
                    .unwrap_or_else(|| panic!("{policy}: a caller that is no role's Arn: {arn}"))
                    .to_owned()
            })
            .collect(),
    )
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
    for statement in policies[0]["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
    }
    let granted = grants(&template, "EvaluateReadinessFunction");
    for (action, resources) in &granted {
        for text in resources {
            assert!(
                !text.contains('*'),
                "{action}: scoped to its resources, not {text}"
            );
        }
    }

    let health_checks: BTreeSet<String> = REGIONS
        .map(|item| format!("arn:AWS::Partition:route53:::healthcheck/{}", parts(item).2))
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
    assert_eq!(health_alarms.len(), REGIONS.len(), "{health_alarms:?}");
    let probed: BTreeSet<String> = PROBED
        .iter()
        .map(|binary| arn_of(function_by_binary(&template, binary).0))
        .collect();
    assert_eq!(probed.len(), 3, "{probed:?}");
    let confirm = BTreeSet::from([arn_of(function_by_binary(&template, "confirm-outage").0)]);
    let table = BTreeSet::from([arn_of("IncidentTable")]);
    let topic = BTreeSet::from([ref_to("OpsTopic")]);
    let key = BTreeSet::from([arn_of("OpsKey")]);
    let calls: BTreeMap<String, BTreeSet<String>> = [
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
    ]
    .map(|(action, resources)| (action.to_owned(), resources))
    .into();
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

/// `sam build` builds every function with the Makefile: one cargo build of
/// all their binaries for the template's architecture, then each target
/// copies its own function's binary.
#[test]
fn the_makefile_builds_every_function_once_for_the_templates_architecture() {
    let template = template();
    let makefile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Makefile"))
        .expect("the Makefile");
    let lines: Vec<&str> = makefile.lines().collect();
    let mut listed = Vec::new();
    let mut in_list = false;
    for line in &lines {
        if let Some(rest) = line.strip_prefix("FUNCTIONS :=") {
            in_list = true;
            listed.extend(rest.split_whitespace());
        } else if in_list {
            listed.extend(line.split_whitespace());
        }
        in_list = in_list && line.trim_end().ends_with('\\');
    }
    listed.retain(|word| *word != "\\");

    let functions = resources(&template, "AWS::Serverless::Function");
    let mut binaries = Vec::new();
    for (name, function) in &functions {
        assert_eq!(function["Metadata"]["BuildMethod"], "makefile", "{name}");
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no Binary"));
        let target = format!("build-{name}: functions");
        let at = lines
            .iter()
            .position(|l| *l == target)
            .unwrap_or_else(|| panic!("the Makefile has no `{target}`"));
        assert_eq!(
            lines[at + 1].trim(),
            format!("$(call artifact,{binary})"),
            "{name} copies its own binary"
        );
        binaries.push(binary);
    }
    listed.sort_unstable();
    binaries.sort_unstable();
    assert_eq!(listed, binaries, "FUNCTIONS is every function's binary");

    let architectures = &template["Globals"]["Function"]["Architectures"];
    assert_eq!(architectures, &json!(["arm64"]));
    let build = lines
        .iter()
        .find(|l| l.trim_start().starts_with("cargo lambda build"))
        .expect("the build line");
    assert!(build.contains("--release --arm64 --locked"), "{build}");
    assert!(
        build.contains("$(addprefix --bin ,$(FUNCTIONS))"),
        "{build}"
    );
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
        Gate::Approve {
            remedy: Remedy::RolloutRestart,
        },
    ];
    for decision in &decisions {
        match decision {
            Gate::Act { .. }
            | Gate::Approve { .. }
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
    assert_eq!(health.len(), REGIONS.len(), "{health:?}");
    assert!(ops.len() >= 5 + REGIONS.len(), "{ops:?}");
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
    assert_eq!(functions.len(), 8, "{functions:?}");
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
    assert_eq!(health.len(), REGIONS.len(), "{health:?}");
    for (name, alarm) in health {
        // "AWS::StackName-us-east-1-platform-health" -> us-east-1
        let named = substituted(&alarm["Properties"]["AlarmName"], true);
        let region = named
            .strip_prefix("AWS::StackName-")
            .and_then(|n| n.strip_suffix("-platform-health"))
            .unwrap_or_else(|| panic!("{name}: {named}"));
        let watching: Vec<&String> = ops
            .iter()
            .filter(|(_, a)| {
                let p = &a["Properties"];
                let dimensions = p["Dimensions"].as_array();
                p["MetricName"] == "HealthAlarmInsufficientData"
                    && dimensions.is_some_and(|d| {
                        d.len() == 1
                            && d[0]["Name"] == "region"
                            && literal(&d[0]["Value"]).as_deref() == Some(region)
                    })
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
        BTreeSet::from([
            "ApprovalAnswer",
            "Escalate",
            "RestoreDecision",
            "VerifyOutcome"
        ])
    );
    // approve-remedy tells the workflow `closed` only of an incident
    // already closed: rejected (escalated with its notice), or by hand.
    let closed: Vec<&Value> = states["ApprovalAnswer"]["Choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["Next"] == "Escalated")
        .collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(
        closed[0]["StringEquals"],
        failover_core::app::ports::Outcome::Closed.as_str()
    );
    let approved: Vec<&Value> = states["ApprovalAnswer"]["Choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["Next"] == "Restore")
        .collect();
    assert_eq!(
        approved[0]["StringEquals"],
        failover_core::app::ports::Outcome::Approved.as_str()
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
        .filter(|r| r[0].is_string())
        .collect()
}

/// A dashboard line of metric math:
/// `SEARCH('{Namespace,Dimension,...} MetricName="M" dimension="value"', 'Stat', Period)`.
#[derive(Debug)]
struct Search {
    namespace: String,
    /// The dimensions a metric must have, all of them and no other.
    dimensions: BTreeSet<String>,
    metric: String,
    /// Dimension values a metric must have.
    filters: BTreeMap<String, String>,
    stat: String,
    period: u64,
}

impl Search {
    fn parse(expression: &str) -> Self {
        let malformed = || -> ! { panic!("not a SEARCH this test reads: {expression}") };
        let inner = expression
            .strip_prefix("SEARCH('")
            .and_then(|e| e.strip_suffix(')'))
            .unwrap_or_else(|| malformed());
        let (query, rest) = inner.split_once("', '").unwrap_or_else(|| malformed());
        let (stat, period) = rest.split_once("', ").unwrap_or_else(|| malformed());
        let (schema, terms) = query
            .strip_prefix('{')
            .and_then(|q| q.split_once("} "))
            .unwrap_or_else(|| malformed());
        let mut schema = schema.split(',').map(|p| p.trim_matches('"').to_owned());
        let namespace = schema.next().unwrap_or_else(|| malformed());
        let mut filters: BTreeMap<String, String> = terms
            .split(' ')
            .map(|term| {
                let (name, value) = term.split_once('=').unwrap_or_else(|| malformed());
                (name.to_owned(), value.trim_matches('"').to_owned())
            })
            .collect();
        let metric = filters.remove("MetricName").unwrap_or_else(|| malformed());
        Self {
            namespace,
            dimensions: schema.collect(),
            metric,
            filters,
            stat: stat.to_owned(),
            period: period.trim().parse().unwrap_or_else(|_| malformed()),
        }
    }

    /// Whether this line shows `alarm`'s metric as the alarm reads it.
    fn shows(&self, alarm: &Value) -> bool {
        let properties = &alarm["Properties"];
        let namespace = match &properties["Namespace"] {
            Value::String(plain) => plain.clone(),
            sub => substituted(sub, true),
        };
        let dimensions: BTreeMap<String, String> = properties["Dimensions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let value = literal(&d["Value"]).unwrap_or_else(|| d["Value"].to_string());
                (d["Name"].as_str().unwrap().to_owned(), value)
            })
            .collect();
        self.namespace == namespace
            && properties["MetricName"] == self.metric.as_str()
            && self.dimensions == dimensions.keys().cloned().collect()
            && self
                .filters
                .iter()
                .all(|(k, v)| dimensions.get(k) == Some(v))
            && properties["Statistic"] == self.stat.as_str()
            && number(&properties["Period"]) == self.period
    }
}

/// Every SEARCH line of the dashboard.
fn searches(dashboard: &Value) -> Vec<Search> {
    dashboard["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["properties"]["metrics"].as_array())
        .flatten()
        .filter_map(|r| r[0]["expression"].as_str())
        .map(Search::parse)
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
    // The stack's own alarms, and the copies the loop makes per region.
    let raw = system::template::load();
    let (per_region, stack): (Named<'_>, Named<'_>) = health
        .iter()
        .chain(&ops)
        .copied()
        .partition(|(n, _)| raw["Resources"].get(n.as_str()).is_none());
    assert_eq!(
        per_region.len(),
        2 * REGIONS.len(),
        "a health and an insufficient-data alarm per region: {per_region:?}"
    );

    for reconciler in [true, false] {
        let board = dashboard(&template, reconciler);
        let searches = searches(&board);
        let shown: BTreeSet<&str> = rows(&board)
            .into_iter()
            .filter(|r| r[0] == namespace.as_str())
            .filter_map(|r| r[1].as_str())
            .chain(
                searches
                    .iter()
                    .filter(|s| s.namespace == namespace)
                    .map(|s| s.metric.as_str()),
            )
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
        // Per region only by search, so that every listed region shows.
        for row in rows(&board) {
            assert!(
                !row.iter().any(|v| v == "region"),
                "a line for one region: {row:?}"
            );
        }
        for search in &searches {
            if search.namespace == namespace {
                assert!(
                    search.dimensions.contains("region"),
                    "by region: {search:?}"
                );
                assert!(!search.filters.contains_key("region"), "{search:?}");
            }
        }
        let actions: BTreeSet<&str> = searches
            .iter()
            .filter(|s| s.metric == "ActionsApplied")
            .map(|s| {
                assert_eq!(
                    s.dimensions,
                    BTreeSet::from(["action".to_owned(), "region".to_owned()])
                );
                s.filters["action"].as_str()
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
        let expected: BTreeSet<String> = stack
            .iter()
            .filter(|(_, a)| reconciler || a.get("Condition").is_none())
            .map(|(n, _)| format!("{n}.Arn"))
            .collect();
        assert_eq!(listed, expected, "reconciler on: {reconciler}");
        for (name, alarm) in &per_region {
            if !reconciler && alarm.get("Condition").is_some() {
                continue;
            }
            assert!(
                searches.iter().any(|s| s.shows(alarm)),
                "{name}: no line of the dashboard shows its metric as it reads it"
            );
        }
    }
}

#[test]
fn each_region_of_the_list_gets_its_alarms_its_invoke_permission_and_its_policy() {
    let template = template();
    let (health, ops) = alarms(&template);
    let permissions: Named<'_> = resources(&template, "AWS::Lambda::Permission")
        .into_iter()
        .filter(|(_, p)| p["Properties"]["Principal"] == "lambda.alarms.cloudwatch.amazonaws.com")
        .collect();
    let policies = resources(&template, "AWS::IAM::Policy");
    for (what, count) in [
        ("health alarms", health.len()),
        ("alarm invoke permissions", permissions.len()),
        ("IAM policies", policies.len()),
    ] {
        assert_eq!(count, REGIONS.len(), "{what}: one per region");
    }
    for item in REGIONS {
        let (region, cluster, check) = parts(item);
        let alarm_name = format!("AWS::StackName-{region}-platform-health");

        let mine: Named<'_> = health
            .iter()
            .filter(|(_, a)| substituted(&a["Properties"]["AlarmName"], true) == alarm_name)
            .copied()
            .collect();
        assert_eq!(mine.len(), 1, "{region}: {mine:?}");
        let (alarm_id, alarm) = mine[0];
        let properties = &alarm["Properties"];
        assert_eq!(properties["Namespace"], "AWS/Route53");
        assert_eq!(properties["MetricName"], "HealthCheckStatus");
        let dimensions = properties["Dimensions"].as_array().unwrap();
        assert_eq!(dimensions.len(), 1, "{alarm_id}");
        assert_eq!(dimensions[0]["Name"], "HealthCheckId");
        assert_eq!(literal(&dimensions[0]["Value"]).as_deref(), Some(check));
        let description = substituted(&properties["AlarmDescription"], true);
        for named in [region, cluster, check] {
            assert!(description.contains(named), "{alarm_id}: {description}");
        }

        let invoking: Named<'_> = permissions
            .iter()
            .filter(|(_, p)| {
                p["Properties"]["SourceArn"]
                    .get("Fn::Sub")
                    .is_some_and(|_| {
                        substituted(&p["Properties"]["SourceArn"], true)
                            == format!("{alarm_id}.Arn")
                    })
            })
            .copied()
            .collect();
        assert_eq!(invoking.len(), 1, "{alarm_id} may invoke: {invoking:?}");
        let permission = &invoking[0].1["Properties"];
        assert_eq!(permission["Action"], "lambda:InvokeFunction");
        assert_eq!(
            permission["FunctionName"],
            json!({"Fn::GetAtt": "ConfirmOutageFunction.Arn"})
        );
        assert_eq!(
            permission["SourceAccount"],
            json!({"Ref": "AWS::AccountId"})
        );

        let blind: Named<'_> = ops
            .iter()
            .filter(|(_, a)| {
                let p = &a["Properties"];
                p["MetricName"] == "HealthAlarmInsufficientData"
                    && literal(&p["Dimensions"][0]["Value"]).as_deref() == Some(region)
            })
            .copied()
            .collect();
        assert_eq!(blind.len(), 1, "{region}: {blind:?}");
        let (blind_id, blind) = blind[0];
        assert_eq!(blind["Condition"], "ReconcileOn", "{blind_id}");
        assert_eq!(
            substituted(&blind["Properties"]["AlarmName"], true),
            format!("AWS::StackName-{region}-health-alarm-insufficient-data")
        );
        let description = substituted(&blind["Properties"]["AlarmDescription"], true);
        for named in [alarm_name.as_str(), check] {
            assert!(description.contains(named), "{blind_id}: {description}");
        }

        let arns = BTreeSet::from([
            format!("arn:AWS::Partition:route53:::healthcheck/{check}"),
            format!("arn:AWS::Partition:cloudwatch:AWS::Region:AWS::AccountId:alarm:{alarm_name}"),
            format!("arn:AWS::Partition:eks:{region}:AWS::AccountId:cluster/{cluster}"),
        ]);
        let policy: Vec<BTreeSet<String>> = policies
            .iter()
            .map(|(_, p)| {
                p["Properties"]["PolicyDocument"]["Statement"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(statement_resources)
                    .map(resource_text)
                    .collect::<BTreeSet<String>>()
            })
            .filter(|named| named.iter().any(|arn| arns.contains(arn)))
            .collect();
        assert_eq!(policy, [arns], "{region}: one policy, exactly its ARNs");
    }
    // Each policy is attached to roles SAM generates, and each statement
    // names the callers it is for, among them.
    let functions: BTreeSet<String> = resources(&template, "AWS::Serverless::Function")
        .into_iter()
        .inspect(|(name, f)| {
            assert!(
                f["Properties"].get("Role").is_none(),
                "{name}: SAM makes its role"
            );
        })
        .map(|(name, _)| format!("{name}Role"))
        .collect();
    for (name, policy) in policies {
        let properties = &policy["Properties"];
        let roles: BTreeSet<String> = properties["Roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Ref"].as_str().unwrap().to_owned())
            .collect();
        assert!(roles.is_subset(&functions), "{name}: {roles:?}");
        for statement in properties["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
        {
            assert_eq!(statement["Effect"], "Allow", "{name}");
            let callers = callers(name, statement).unwrap_or_else(|| {
                panic!("{name}: a statement for every attached role: {statement}")
            });
            assert!(
                callers.is_subset(&roles),
                "{name}: {callers:?} not attached"
            );
        }
    }
}

/// What each function calls in every region, on that region's own
/// resources (its health check, health alarm, cluster).
const PER_REGION: &[(&str, &[&str])] = &[
    ("confirm-outage", &["route53:GetHealthCheckStatus"]),
    (
        "restore-platform",
        &["route53:GetHealthCheckStatus", "eks:DescribeCluster"],
    ),
    (
        "verify-recovery",
        &["route53:GetHealthCheckStatus", "eks:DescribeCluster"],
    ),
    ("check-derp-peers", &["eks:DescribeCluster"]),
    ("escalate-incident", &[]),
    ("approve-remedy", &[]),
    (
        "reconcile",
        &["route53:GetHealthCheckStatus", "cloudwatch:DescribeAlarms"],
    ),
    (
        "evaluate-readiness",
        &["route53:GetHealthCheck", "cloudwatch:DescribeAlarms"],
    ),
];

/// The ARN of the resource of region `item` that `action` is on.
fn region_arn(action: &str, item: &str) -> String {
    let (region, cluster, check) = parts(item);
    match action.split(':').next() {
        Some("route53") => format!("arn:AWS::Partition:route53:::healthcheck/{check}"),
        Some("cloudwatch") => format!(
            "arn:AWS::Partition:cloudwatch:AWS::Region:AWS::AccountId:alarm:AWS::StackName-{region}-platform-health"
        ),
        Some("eks") => format!("arn:AWS::Partition:eks:{region}:AWS::AccountId:cluster/{cluster}"),
        _ => panic!("{action} is on no region's resource"),
    }
}

#[test]
fn every_function_may_reach_exactly_the_listed_regions_and_no_other() {
    let per_region: BTreeSet<&str> = PER_REGION
        .iter()
        .flat_map(|(_, a)| a.iter().copied())
        .collect();
    for listed in [&REGIONS[..2], &REGIONS[..]] {
        let template = template_for(listed);
        assert_eq!(
            PER_REGION.len(),
            resources(&template, "AWS::Serverless::Function").len(),
            "every function"
        );
        for (binary, calls) in PER_REGION {
            let (logical, _) = function_by_binary(&template, binary);
            let granted = grants(&template, logical);
            for action in &per_region {
                let want: BTreeSet<String> = if calls.contains(action) {
                    listed.iter().map(|item| region_arn(action, item)).collect()
                } else {
                    BTreeSet::new()
                };
                assert_eq!(
                    granted.get(*action).cloned().unwrap_or_default(),
                    want,
                    "{binary}: {action} with {} regions",
                    listed.len()
                );
            }
        }
        // A region outside the list is named nowhere: not in a policy, not
        // in an alarm, not in what the functions are told.
        let text = template.to_string();
        for item in REGIONS.iter().filter(|item| !listed.contains(item)) {
            let (region, cluster, check) = parts(item);
            for named in [region, cluster, check] {
                assert!(!text.contains(named), "{named} is not listed, yet named");
            }
        }
    }
}

#[test]
fn the_functions_read_the_list_and_name_each_regions_alarm_as_the_stack_does() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        variables["REGIONS"],
        json!({"Fn::Join": [",", {"Ref": "Regions"}]})
    );
    let stack = "platform-failover";
    // What CloudFormation makes of the two for the sample list.
    let regions =
        literal(&json!({"Fn::Join": [variables["REGIONS"]["Fn::Join"][0], REGIONS]})).unwrap();
    let alarm = substituted(&variables["HEALTH_ALARM_NAME"], true).replace("AWS::StackName", stack);
    let mut vars: Vec<(String, String)> = required_vars()
        .into_iter()
        .filter(|(k, _)| k != "REGIONS")
        .collect();
    vars.push(("REGIONS".to_owned(), regions));
    vars.push(("HEALTH_ALARM_NAME".to_owned(), alarm));
    let settings = Settings::from_vars(vars)
        .unwrap_or_else(|e| panic!("the functions refuse the stack's regions: {e}"));
    let want: Vec<RegionSettings> = REGIONS
        .map(|item| {
            let (region, cluster, check) = parts(item);
            RegionSettings {
                name: region.to_owned(),
                cluster: cluster.to_owned(),
                health_check_id: check.to_owned(),
                alarm_names: vec![format!("{stack}-{region}-platform-health")],
            }
        })
        .into();
    assert_eq!(settings.regions, want);
    // The alarms they read are the ones the stack makes.
    let (health, _) = alarms(&template);
    let made: BTreeSet<String> = health
        .iter()
        .map(|(_, a)| {
            substituted(&a["Properties"]["AlarmName"], true).replace("AWS::StackName", stack)
        })
        .collect();
    assert_eq!(made, settings.alarm_names().into_iter().collect());
}

#[test]
fn one_loop_over_the_regions_makes_every_per_region_resource_and_no_function() {
    let raw = system::template::load();
    assert_eq!(
        raw["Transform"],
        json!(["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]),
        "the loop is expanded before SAM reads the functions"
    );
    let parameter = &raw["Parameters"]["Regions"];
    assert_eq!(parameter["Type"], "CommaDelimitedList");
    let pattern = parameter["AllowedPattern"].as_str().unwrap();
    assert!(
        pattern.starts_with('^') && pattern.ends_with('$'),
        "{pattern}"
    );
    assert!(
        parameter["ConstraintDescription"]
            .as_str()
            .unwrap()
            .contains("region:eks-cluster-name:route-53-health-check-id"),
        "{parameter}"
    );
    assert!(
        parameter.get("Default").is_none(),
        "no region has a safe default"
    );

    let loops: Vec<(&String, &Value)> = raw
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(section, body)| {
            body.as_object()
                .into_iter()
                .flatten()
                .map(move |e| (section, e))
        })
        .filter(|(_, (key, _))| key.starts_with("Fn::ForEach::"))
        .map(|(section, (_, body))| (section, body))
        .collect();
    assert_eq!(loops.len(), 1, "{loops:?}");
    let (section, body) = loops[0];
    assert_eq!(section, "Resources");
    let [identifier, collection, fragment] = body.as_array().unwrap().as_slice() else {
        panic!("{body}");
    };
    assert_eq!(collection, &json!({"Ref": "Regions"}));
    let placeholder = format!("&{{{}}}", identifier.as_str().unwrap());
    let mut kinds = BTreeMap::<&str, usize>::new();
    for (key, resource) in fragment.as_object().unwrap() {
        assert!(key.contains(&placeholder), "{key}: one logical id per item");
        let kind = resource["Type"].as_str().unwrap();
        assert!(
            !kind.starts_with("AWS::Serverless::"),
            "{key}: SAM packages a function inside a loop from its source folder"
        );
        *kinds.entry(kind).or_default() += 1;
    }
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("AWS::CloudWatch::Alarm", 2),
            ("AWS::IAM::Policy", 1),
            ("AWS::Lambda::Permission", 1),
        ])
    );
}

/// `samconfig.toml`: section -> key -> value, as written (a list from its
/// `[` to its `]`, one item a line).
fn samconfig() -> BTreeMap<String, BTreeMap<String, String>> {
    let path = system::root().join("samconfig.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = String::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = &mut open {
            value.push_str(line);
            if line == "]" {
                let (key, value) = (key.clone(), value.clone());
                sections
                    .entry(section.clone())
                    .or_default()
                    .insert(key, value);
                open = None;
            }
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("samconfig.toml: {line}"));
        let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
        if value == "[" {
            open = Some((key, value));
        } else {
            sections
                .entry(section.clone())
                .or_default()
                .insert(key, value);
        }
    }
    sections
}

#[test]
fn sam_build_and_deploy_expand_the_loop_and_have_regions_to_expand_it_with() {
    let config = samconfig();
    for command in ["build", "deploy"] {
        assert_eq!(
            config[&format!("default.{command}.parameters")]
                .get("language_extensions")
                .map(String::as_str),
            Some("true"),
            "sam {command} reads the template only with its loop expanded"
        );
    }
    // The regions in global, so that sam build has them as sam deploy does.
    let overrides = &config["default.global.parameters"]["parameter_overrides"];
    let regions: Vec<&str> = overrides
        .split('"')
        .filter_map(|o| o.strip_prefix("Regions="))
        .collect();
    assert_eq!(regions.len(), 1, "{overrides}");
    let items: Vec<(&str, &str, &str)> = regions[0].split(',').map(parts).collect();
    assert!(items.len() >= 2, "{items:?}");
    let names: BTreeSet<&str> = items.iter().map(|(r, _, _)| *r).collect();
    assert_eq!(names.len(), items.len(), "{items:?}");
    for command in ["build", "deploy"] {
        assert!(
            config
                .get(&format!("default.{command}.parameters"))
                .is_none_or(|s| !s.contains_key("parameter_overrides")),
            "sam {command} would not read the global list"
        );
    }
}
