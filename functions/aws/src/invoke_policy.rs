//! Who may invoke confirm-outage: its resource policy (Lambda `GetPolicy`),
//! read for the statements that let CloudWatch alarms invoke it. An alarm
//! whose ARN no statement names acts on nothing when it fires.

use async_trait::async_trait;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::operation::get_policy::GetPolicyError;
use failover_core::app::ports::InvokePolicy;
use failover_core::{Error, Result};
use serde_json::Value;

use crate::sdk_error::classify;

const SERVICE: &str = "Lambda";

/// The principal CloudWatch alarms invoke a Lambda function as.
pub const ALARMS_PRINCIPAL: &str = "lambda.alarms.cloudwatch.amazonaws.com";

/// What a statement that names no `AWS:SourceArn` lets invoke: every alarm
/// (as `ArnLike` reads it).
pub const ANY_SOURCE: &str = "*";

/// The resource policy of one function (its name or ARN).
#[derive(Debug, Clone)]
pub struct LambdaInvokePolicy {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaInvokePolicy {
    pub fn new(client: aws_sdk_lambda::Client, function: &str) -> Self {
        Self {
            client,
            function: function.to_owned(),
        }
    }
}

#[async_trait]
impl InvokePolicy for LambdaInvokePolicy {
    async fn alarm_sources(&self) -> Result<Vec<String>> {
        let answer = match self
            .client
            .get_policy()
            .function_name(&self.function)
            .send()
            .await
        {
            Ok(answer) => answer,
            // A function nobody was ever granted has no policy at all.
            // Lambda answers the same exception for a function that does not
            // exist, which no permission can fix: that one is refused.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(GetPolicyError::is_resource_not_found_exception)
                    && !error
                        .message()
                        .is_some_and(|m| m.starts_with("Function not found")) =>
            {
                return Ok(Vec::new());
            }
            Err(error) => return Err(classify(SERVICE, error)),
        };
        let Some(policy) = answer.policy() else {
            return Ok(Vec::new());
        };
        alarm_sources(policy).map_err(|why| {
            Error::rejected(
                SERVICE,
                format!(
                    "the resource policy of {} is unreadable: {why}",
                    self.function
                ),
            )
        })
    }
}

/// The source ARNs (or patterns) of the policy's Allow statements that let
/// the alarms principal invoke the function, each once, in policy order.
fn alarm_sources(policy: &str) -> std::result::Result<Vec<String>, String> {
    let policy: Value = serde_json::from_str(policy).map_err(|e| e.to_string())?;
    let statements = match policy.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        // IAM takes a single statement without its list.
        Some(statement @ Value::Object(_)) => vec![statement],
        None => Vec::new(),
        Some(other) => return Err(format!("Statement is {other}, not a list")),
    };
    let mut sources = Vec::new();
    for statement in statements {
        if !lets_alarms_invoke(statement) {
            continue;
        }
        for source in source_arns(statement) {
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
    }
    Ok(sources)
}

fn lets_alarms_invoke(statement: &Value) -> bool {
    let allows = statement.get("Effect").and_then(Value::as_str) == Some("Allow");
    let principal = match statement.get("Principal") {
        Some(Value::String(any)) => any == "*",
        Some(Value::Object(principal)) => {
            principal.get("Service").is_some_and(|service| {
                strings(service).any(|s| s.eq_ignore_ascii_case(ALARMS_PRINCIPAL))
            }) || principal
                .get("AWS")
                .is_some_and(|aws| strings(aws).any(|a| a == "*"))
        }
        _ => false,
    };
    let invokes = statement
        .get("Action")
        .is_some_and(|action| strings(action).any(|a| action_matches(a, "lambda:InvokeFunction")));
    allows && principal && invokes
}

/// The statement's `AWS:SourceArn` under `ArnLike` or `ArnEquals`; without
/// one it restricts no source.
fn source_arns(statement: &Value) -> Vec<String> {
    let mut arns = Vec::new();
    if let Some(Value::Object(condition)) = statement.get("Condition") {
        for operator in ["ArnLike", "ArnEquals"] {
            let Some(Value::Object(keys)) = condition.get(operator) else {
                continue;
            };
            // Condition keys are case-insensitive.
            for (key, value) in keys {
                if key.eq_ignore_ascii_case("aws:SourceArn") {
                    arns.extend(strings(value).map(str::to_owned));
                }
            }
        }
    }
    if arns.is_empty() {
        arns.push(ANY_SOURCE.to_owned());
    }
    arns
}

/// A policy value that is a string or a list of them.
fn strings(value: &Value) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match value {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

/// IAM action matching: case-insensitive, `*` any run, `?` any one character.
fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let action: Vec<char> = action.to_ascii_lowercase().chars().collect();
    let (mut p, mut a) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while a < action.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, a));
                p += 1;
            }
            Some(&c) if c == '?' || c == action[a] => {
                p += 1;
                a += 1;
            }
            _ => match backtrack {
                Some((star, from)) => {
                    p = star + 1;
                    a = from + 1;
                    backtrack = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ALARM_EAST: &str =
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:failover-us-east-1-platform-health";
    const ALARM_WEST: &str =
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:failover-eu-west-1-platform-health";

    fn statement(effect: &str, principal: Value, action: Value, condition: Value) -> Value {
        let mut statement = json!({
            "Sid": "alarm",
            "Effect": effect,
            "Principal": principal,
            "Action": action,
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:failover-confirm-outage",
        });
        if !condition.is_null() {
            statement["Condition"] = condition;
        }
        statement
    }

    fn alarms() -> Value {
        json!({"Service": ALARMS_PRINCIPAL})
    }

    fn arn_like(source: Value) -> Value {
        json!({"ArnLike": {"AWS:SourceArn": source}})
    }

    fn policy(statements: Vec<Value>) -> String {
        json!({"Version": "2012-10-17", "Id": "default", "Statement": statements}).to_string()
    }

    #[test]
    fn the_alarms_allowed_to_invoke_are_read_from_the_policy() {
        let invoke = || json!("lambda:InvokeFunction");
        let cases: Vec<(&str, Vec<Value>, Vec<&str>)> = vec![
            (
                "one statement per alarm, as add-permission writes them",
                vec![
                    statement("Allow", alarms(), invoke(), arn_like(json!(ALARM_EAST))),
                    statement("Allow", alarms(), invoke(), arn_like(json!(ALARM_WEST))),
                ],
                vec![ALARM_EAST, ALARM_WEST],
            ),
            (
                "a list of sources, under ArnEquals with the key in lower case",
                vec![statement(
                    "Allow",
                    alarms(),
                    invoke(),
                    json!({"ArnEquals": {"aws:SourceArn": [ALARM_EAST, ALARM_WEST]}}),
                )],
                vec![ALARM_EAST, ALARM_WEST],
            ),
            (
                "a pattern is answered as written; a source named twice, once",
                vec![
                    statement(
                        "Allow",
                        alarms(),
                        invoke(),
                        arn_like(json!(
                            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:failover-*"
                        )),
                    ),
                    statement("Allow", alarms(), invoke(), arn_like(json!(ALARM_EAST))),
                    statement("Allow", alarms(), invoke(), arn_like(json!(ALARM_EAST))),
                ],
                vec![
                    "arn:aws:cloudwatch:us-east-1:123456789012:alarm:failover-*",
                    ALARM_EAST,
                ],
            ),
            (
                "the source account beside the source ARN changes nothing",
                vec![statement(
                    "Allow",
                    alarms(),
                    invoke(),
                    json!({
                        "ArnLike": {"AWS:SourceArn": ALARM_EAST},
                        "StringEquals": {"AWS:SourceAccount": "123456789012"},
                    }),
                )],
                vec![ALARM_EAST],
            ),
            (
                "other principals are ignored",
                vec![
                    statement(
                        "Allow",
                        json!({"Service": "events.amazonaws.com"}),
                        invoke(),
                        arn_like(json!("arn:aws:events:us-east-1:123456789012:rule/failover")),
                    ),
                    statement(
                        "Allow",
                        json!({"AWS": "arn:aws:iam::123456789012:root"}),
                        invoke(),
                        Value::Null,
                    ),
                    statement(
                        "Allow",
                        json!({"Service": ["sns.amazonaws.com", ALARMS_PRINCIPAL]}),
                        invoke(),
                        arn_like(json!(ALARM_WEST)),
                    ),
                ],
                vec![ALARM_WEST],
            ),
            (
                "Deny is ignored",
                vec![statement(
                    "Deny",
                    alarms(),
                    invoke(),
                    arn_like(json!(ALARM_EAST)),
                )],
                vec![],
            ),
            (
                "other actions are ignored; wildcards that cover invoking count",
                vec![
                    statement(
                        "Allow",
                        alarms(),
                        json!("lambda:GetFunction"),
                        arn_like(json!(ALARM_EAST)),
                    ),
                    statement(
                        "Allow",
                        alarms(),
                        json!(["lambda:GetFunction", "lambda:Invoke*"]),
                        arn_like(json!(ALARM_WEST)),
                    ),
                    statement(
                        "Allow",
                        alarms(),
                        json!("LAMBDA:invokefunction"),
                        arn_like(json!(
                            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:other"
                        )),
                    ),
                ],
                vec![
                    ALARM_WEST,
                    "arn:aws:cloudwatch:us-east-1:123456789012:alarm:other",
                ],
            ),
            (
                "anyone, or no source named, lets every alarm invoke",
                vec![
                    statement("Allow", json!("*"), invoke(), arn_like(json!(ALARM_EAST))),
                    statement("Allow", alarms(), json!("lambda:*"), Value::Null),
                ],
                vec![ALARM_EAST, ANY_SOURCE],
            ),
            (
                "a source under a string operator is no ARN condition",
                vec![statement(
                    "Allow",
                    alarms(),
                    invoke(),
                    json!({"StringEquals": {"AWS:SourceArn": ALARM_EAST}}),
                )],
                vec![ANY_SOURCE],
            ),
            ("no statement", vec![], vec![]),
        ];
        for (case, statements, expected) in cases {
            assert_eq!(
                alarm_sources(&policy(statements)),
                Ok(expected.iter().map(|s| (*s).to_owned()).collect()),
                "{case}"
            );
        }
    }

    #[test]
    fn a_single_statement_needs_no_list_and_a_policy_that_is_no_json_is_refused() {
        let single = json!({
            "Statement": statement("Allow", alarms(), json!("lambda:InvokeFunction"), arn_like(json!(ALARM_EAST))),
        });
        assert_eq!(
            alarm_sources(&single.to_string()),
            Ok(vec![ALARM_EAST.to_owned()])
        );
        assert!(alarm_sources("{\"Statement\": 3}").is_err());
        assert!(alarm_sources("not json").is_err());
    }

    #[test]
    fn actions_match_as_iam_matches_them() {
        for (pattern, matches) in [
            ("lambda:InvokeFunction", true),
            ("lambda:invokefunction", true),
            ("lambda:*", true),
            ("*", true),
            ("lambda:Invoke*", true),
            ("lambda:Invoke?unction", true),
            ("lambda:*Function", true),
            ("lambda:InvokeAsync", false),
            ("lambda:InvokeFunctionUrl", false),
            ("lambda:Get*", false),
            ("sns:*", false),
            ("", false),
        ] {
            assert_eq!(
                action_matches(pattern, "lambda:InvokeFunction"),
                matches,
                "{pattern}"
            );
        }
    }
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_lambda::Client;
    use aws_sdk_lambda::operation::get_policy::{GetPolicyInput, GetPolicyOutput};
    use aws_smithy_mocks::{MockResponse, mock};

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, assert_failed_as, failures, json_error, mocked_client,
        unreachable_client,
    };

    const FUNCTION: &str = "failover-confirm-outage";
    const ALARM: &str =
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:failover-us-east-1-platform-health";

    #[tokio::test]
    async fn the_function_s_policy_is_read_for_the_alarms_it_lets_invoke() {
        // As Lambda answers it: the policy document as a JSON string.
        let document = serde_json::json!({
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": [{
                "Sid": "alarm-us-east-1",
                "Effect": "Allow",
                "Principal": {"Service": ALARMS_PRINCIPAL},
                "Action": "lambda:InvokeFunction",
                "Resource": format!("arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"),
                "Condition": {"ArnLike": {"AWS:SourceArn": ALARM}},
            }],
        })
        .to_string();
        let requests = Requests::new();
        let read = mock!(Client::get_policy).then_compute_response(requests.answer(move || {
            MockResponse::Output(
                GetPolicyOutput::builder()
                    .policy(document.clone())
                    .revision_id("4f1b2a")
                    .build(),
            )
        }));

        let sources = LambdaInvokePolicy::new(mocked_client!(aws_sdk_lambda, [&read]), FUNCTION)
            .alarm_sources()
            .await;

        assert_eq!(sources, Ok(vec![ALARM.to_owned()]));
        assert_eq!(
            requests.only(),
            GetPolicyInput::builder()
                .function_name(FUNCTION)
                .build()
                .unwrap(),
            "the configured function's policy, no qualifier"
        );
    }

    #[tokio::test]
    async fn a_function_without_a_policy_lets_no_alarm_invoke_it() {
        let read = mock!(Client::get_policy).then_http_response(|| {
            json_error(
                404,
                "ResourceNotFoundException",
                "The resource you requested does not exist.",
            )
        });
        let answered_none =
            mock!(Client::get_policy).then_output(|| GetPolicyOutput::builder().build());

        for rule in [read, answered_none] {
            let sources =
                LambdaInvokePolicy::new(mocked_client!(aws_sdk_lambda, [&rule]), FUNCTION)
                    .alarm_sources()
                    .await;
            assert_eq!(sources, Ok(vec![]));
        }
    }

    #[tokio::test]
    async fn a_function_that_does_not_exist_or_a_policy_that_does_not_read_is_refused() {
        let missing = mock!(Client::get_policy).then_http_response(|| {
            json_error(
                404,
                "ResourceNotFoundException",
                &format!(
                    "Function not found: arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"
                ),
            )
        });
        let garbled = mock!(Client::get_policy).then_output(|| {
            GetPolicyOutput::builder()
                .policy("{\"Statement\": ")
                .build()
        });

        for (rule, names) in [(missing, "Function not found"), (garbled, FUNCTION)] {
            let sources =
                LambdaInvokePolicy::new(mocked_client!(aws_sdk_lambda, [&rule]), FUNCTION)
                    .alarm_sources()
                    .await;
            assert!(
                matches!(&sources, Err(e) if e.kind() == "UpstreamRejected" && e.chain().contains(names)),
                "{sources:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_failed_policy_read_says_whether_a_retry_helps() {
        let mut table = failures(
            "TooManyRequestsException",
            "ServiceException",
            "AccessDeniedException",
        )
        .to_vec();
        table.push((
            Failure::Answer(400, "InvalidParameterValueException"),
            "UpstreamRejected",
        ));
        for (failure, kind) in table {
            let client = match failure {
                Failure::Answer(status, code) => {
                    let read = mock!(Client::get_policy)
                        .then_http_response(move || json_error(status, code, FAILURE_MESSAGE));
                    mocked_client!(aws_sdk_lambda, [&read])
                }
                Failure::Unreachable(unreachable) => {
                    unreachable_client!(aws_sdk_lambda, unreachable)
                }
            };
            let result = LambdaInvokePolicy::new(client, FUNCTION)
                .alarm_sources()
                .await;
            assert_failed_as(failure, kind, result);
        }
    }
}
