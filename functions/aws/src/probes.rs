//! The functions' probe mode over Lambda `Invoke`: each function, invoked
//! as itself, answers what its own role may do in every region. Only a
//! function's own invocation proves its permissions; a reading of its
//! policies from outside would not.

use std::collections::BTreeMap;

use async_trait::async_trait;
use failover_core::app::ports::{Probes, StandbyClusters};
use failover_core::config::RegionSettings;
use failover_core::model::readiness::{ClusterFacts, Probe};
use failover_core::notices::operator::unknown;
use failover_core::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::lambda_invoke::{Answered, invoke};

const SERVICE: &str = "Lambda";

/// The function that reads a standby cluster for the evaluation.
pub const CLUSTER_READER: &str = "verify-recovery";

/// The stack's functions, each invoked by its ARN.
///
/// A probe waits for the function's answer: the client's read and
/// operation timeouts must allow for the slowest function's reviews in
/// every region.
#[derive(Debug, Clone)]
pub struct LambdaProbes {
    client: aws_sdk_lambda::Client,
    /// As the stack names them (`restore-platform`) → ARN.
    functions: BTreeMap<String, String>,
}

impl LambdaProbes {
    pub fn new(client: aws_sdk_lambda::Client, functions: BTreeMap<String, String>) -> Self {
        Self { client, functions }
    }
}

impl LambdaProbes {
    /// Invokes `function` with `event` and waits for its answer.
    async fn invoke<T: DeserializeOwned>(&self, function: &str, event: &Value) -> Result<T> {
        let Some(arn) = self.functions.get(function) else {
            let known: Vec<&str> = self.functions.keys().map(String::as_str).collect();
            return Err(Error::InvalidEvent(unknown("function", function, &known)));
        };
        match invoke(&self.client, arn, event).await? {
            Answered::FunctionError(payload) => {
                let body = serde_json::from_slice(&payload).unwrap_or_else(
                    |_| serde_json::json!({"errorMessage": String::from_utf8_lossy(&payload)}),
                );
                Err(function_error(function, &body))
            }
            Answered::Payload(payload) => serde_json::from_slice(&payload).map_err(|e| {
                Error::rejected(
                    SERVICE,
                    format!(
                        "{function} answered no probe: {e}: {}",
                        String::from_utf8_lossy(&payload)
                    ),
                )
            }),
        }
    }
}

#[async_trait]
impl Probes for LambdaProbes {
    async fn probe(&self, function: &str) -> Result<Probe> {
        self.invoke(function, &serde_json::json!({"probe": "permissions"}))
            .await
    }
}

/// A standby is read by verify-recovery, which reads the clusters anyway
/// (with read-only access); the evaluation itself never reaches a cluster.
#[async_trait]
impl StandbyClusters for LambdaProbes {
    async fn facts(&self, region: &RegionSettings) -> Result<ClusterFacts> {
        self.invoke(
            CLUSTER_READER,
            &serde_json::json!({"probe": "cluster", "region": region.name}),
        )
        .await
    }
}

/// The function ran and failed: repeating the probe will not change that
/// until its configuration or code does.
fn function_error(function: &str, body: &Value) -> Error {
    let kind = body["errorType"].as_str().unwrap_or("Unhandled");
    let message = body["errorMessage"].as_str().unwrap_or("no error message");
    Error::rejected(SERVICE, format!("{function}: {kind}: {message}"))
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_lambda::Client;
    use aws_sdk_lambda::operation::invoke::{InvokeInput, InvokeOutput};
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::InvocationType;
    use aws_smithy_mocks::{MockResponse, Rule, mock};
    use failover_core::model::readiness::{Access, AccessAnswer, RegionAccess};

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, assert_failed_as, failures, http, json_error,
        mocked_client, unreachable_client,
    };

    const RESTORE: &str =
        "arn:aws:lambda:us-east-1:123456789012:function:failover-RestorePlatform-4Xc2";
    const VERIFY: &str =
        "arn:aws:lambda:us-east-1:123456789012:function:failover-VerifyRecovery-9Pq1";

    fn probes(client: Client) -> LambdaProbes {
        LambdaProbes::new(
            client,
            BTreeMap::from([
                ("restore-platform".to_owned(), RESTORE.to_owned()),
                ("verify-recovery".to_owned(), VERIFY.to_owned()),
            ]),
        )
    }

    fn probe() -> Probe {
        Probe {
            function: "restore-platform".into(),
            regions: vec![
                RegionAccess {
                    region: "us-east-1".into(),
                    describe_error: None,
                    answers: vec![AccessAnswer {
                        access: Access {
                            verb: "patch".into(),
                            group: "apps".into(),
                            resource: "deployments".into(),
                            subresource: Some("scale".into()),
                            namespace: Some("vcluster-platform".into()),
                            name: Some("loft".into()),
                        },
                        allowed: true,
                        reason: "RBAC: allowed by RoleBinding".into(),
                    }],
                    review_error: None,
                },
                RegionAccess {
                    region: "eu-west-1".into(),
                    describe_error: Some("AccessDeniedException: not authorized".into()),
                    answers: vec![],
                    review_error: Some("the cluster could not be described".into()),
                },
            ],
        }
    }

    fn answered(payload: &str, function_error: Option<&str>) -> InvokeOutput {
        InvokeOutput::builder()
            .status_code(200)
            .payload(Blob::new(payload))
            .set_function_error(function_error.map(str::to_owned))
            .executed_version("$LATEST")
            .build()
    }

    #[tokio::test]
    async fn a_probe_invokes_the_function_by_its_arn_and_waits_for_its_answer() {
        let body = serde_json::to_string(&probe()).unwrap();
        let requests = Requests::new();
        let invoke = mock!(Client::invoke).then_compute_response(
            requests.answer(move || MockResponse::Output(answered(&body, None))),
        );

        let answer = probes(mocked_client!(aws_sdk_lambda, [&invoke]))
            .probe("restore-platform")
            .await;

        assert_eq!(answer, Ok(probe()));
        assert_eq!(
            requests.only(),
            InvokeInput::builder()
                .function_name(RESTORE)
                .invocation_type(InvocationType::RequestResponse)
                .payload(Blob::new(r#"{"probe":"permissions"}"#))
                .build()
                .unwrap(),
            "the function's ARN, synchronously, in probe mode"
        );
    }

    #[tokio::test]
    async fn a_standby_is_read_by_verify_recovery_in_its_probe_mode() {
        let facts = ClusterFacts {
            reach: failover_core::model::diagnosis::ClusterReach::Reachable,
            kubernetes_version: Some("1.31".into()),
            replicas: Some((3, 3)),
            images: vec![],
            peers: Some(vec![]),
        };
        let body = serde_json::to_string(&facts).unwrap();
        let requests = Requests::new();
        let invoke = mock!(Client::invoke).then_compute_response(
            requests.answer(move || MockResponse::Output(answered(&body, None))),
        );
        let region = RegionSettings {
            name: "eu-west-1".into(),
            cluster: "platform-eu-west-1".into(),
            health_check_id: "hc-b".into(),
            alarm_names: vec![],
        };

        let answer = probes(mocked_client!(aws_sdk_lambda, [&invoke]))
            .facts(&region)
            .await;

        assert_eq!(answer, Ok(facts));
        assert_eq!(
            requests.only(),
            InvokeInput::builder()
                .function_name(VERIFY)
                .invocation_type(InvocationType::RequestResponse)
                .payload(Blob::new(r#"{"probe":"cluster","region":"eu-west-1"}"#))
                .build()
                .unwrap(),
        );
    }

    #[tokio::test]
    async fn a_function_that_failed_or_answered_no_probe_is_refused_naming_it() {
        let cases: [(&str, Rule, &str); 4] = [
            (
                "a function error",
                mock!(Client::invoke).then_output(|| {
                    answered(
                        r#"{"errorType":"ConfigurationError","errorMessage":"invalid configuration: REGIONS is required"}"#,
                        Some("Unhandled"),
                    )
                }),
                "Lambda rejected the request: restore-platform: ConfigurationError: invalid configuration: REGIONS is required",
            ),
            (
                "a function error without a readable body",
                mock!(Client::invoke).then_output(|| answered("Task timed out", Some("Unhandled"))),
                "Lambda rejected the request: restore-platform: Unhandled: Task timed out",
            ),
            (
                "the local cloud's emulator answering a function error",
                mock!(Client::invoke).then_http_response(|| {
                    http(
                        500,
                        r#"{"errorType":"UpstreamUnavailable","errorMessage":"EKS is unavailable"}"#,
                    )
                }),
                "Lambda rejected the request: restore-platform: UpstreamUnavailable: EKS is unavailable",
            ),
            (
                "an answer that is no probe",
                mock!(Client::invoke).then_output(|| answered(r#"{"status":"ok"}"#, None)),
                "Lambda rejected the request: restore-platform answered no probe: missing field `function`",
            ),
        ];
        for (case, rule, message) in cases {
            let answer = probes(mocked_client!(aws_sdk_lambda, [&rule]))
                .probe("restore-platform")
                .await;
            assert!(
                matches!(&answer, Err(e) if e.kind() == "UpstreamRejected" && e.to_string().starts_with(message)),
                "{case}: {answer:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_function_the_stack_does_not_have_is_a_bad_request_naming_the_ones_it_has() {
        let answer = probes(mocked_client!(aws_sdk_lambda, [] as [&Rule; 0]))
            .probe("reconcile")
            .await;

        assert_eq!(
            answer,
            Err(Error::InvalidEvent(
                "unknown function \"reconcile\"; known: restore-platform, verify-recovery".into()
            ))
        );
    }

    #[tokio::test]
    async fn a_failed_invocation_says_whether_a_retry_helps() {
        let mut table = failures(
            "TooManyRequestsException",
            "ServiceException",
            "AccessDeniedException",
        )
        .to_vec();
        table.extend([
            (
                Failure::Answer(502, "ResourceNotReadyException"),
                "UpstreamUnavailable",
            ),
            (
                Failure::Answer(502, "EC2ThrottledException"),
                "UpstreamUnavailable",
            ),
            (
                Failure::Answer(404, "ResourceNotFoundException"),
                "UpstreamRejected",
            ),
            (
                Failure::Answer(413, "RequestTooLargeException"),
                "UpstreamRejected",
            ),
        ]);
        for (failure, kind) in table {
            let client = match failure {
                Failure::Answer(status, code) => {
                    let invoke = mock!(Client::invoke)
                        .then_http_response(move || json_error(status, code, FAILURE_MESSAGE));
                    mocked_client!(aws_sdk_lambda, [&invoke])
                }
                Failure::Unreachable(unreachable) => {
                    unreachable_client!(aws_sdk_lambda, unreachable)
                }
            };
            let result = probes(client).probe("verify-recovery").await;
            assert_failed_as(failure, kind, result);
        }
    }
}
