//! The recovery workflow over Step Functions.

use async_trait::async_trait;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sfn::types::ExecutionStatus as SfnStatus;
use failover_core::app::ports::Workflow;
use failover_core::config::Settings;
use failover_core::model::workflow::{ExecutionStatus, Started, WorkflowInput};
use failover_core::{Error, Result};

use crate::sdk_error::classify;

#[derive(Debug, Clone)]
pub struct StepFunctionsWorkflow {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl StepFunctionsWorkflow {
    /// The workflow `RECOVERY_WORKFLOW_ARN` names; a function that starts
    /// it cannot run without it.
    pub fn configured(config: &aws_config::SdkConfig, settings: &Settings) -> Result<Self> {
        let arn = settings.recovery_workflow_arn.as_deref().ok_or_else(|| {
            Error::Config(
                "RECOVERY_WORKFLOW_ARN is required: the ARN of the recovery workflow (template output RecoveryWorkflowArn)".into(),
            )
        })?;
        Ok(Self {
            client: aws_sdk_sfn::Client::new(config),
            state_machine_arn: arn.to_owned(),
        })
    }

    /// `arn:…:stateMachine:NAME` → `arn:…:execution:NAME:EXECUTION`.
    fn execution_arn(&self, name: &str) -> String {
        let execution = self
            .state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{execution}:{name}")
    }
}

#[async_trait]
impl Workflow for StepFunctionsWorkflow {
    async fn start(&self, input: &WorkflowInput) -> Result<Started> {
        let body = serde_json::to_string(input)
            .map_err(|e| Error::rejected("Step Functions", format!("execution input: {e}")))?;
        let answer = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(&input.incident_id)
            .input(body)
            .send()
            .await;
        match answer {
            Ok(started) => {
                tracing::info!(execution = %started.execution_arn(), "recovery workflow started");
                Ok(Started {
                    execution_arn: started.execution_arn().to_owned(),
                    new: true,
                })
            }
            // The name is the incident id: this incident's workflow exists.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(StartExecutionError::is_execution_already_exists) =>
            {
                let arn = self.execution_arn(&input.incident_id);
                tracing::info!(execution = %arn, code = error.code().unwrap_or_default(), "recovery workflow already started");
                Ok(Started {
                    execution_arn: arn,
                    new: false,
                })
            }
            Err(error) => Err(classify("Step Functions", error)),
        }
    }

    async fn status(&self, incident_id: &str) -> Result<Option<ExecutionStatus>> {
        let answer = self
            .client
            .describe_execution()
            .execution_arn(self.execution_arn(incident_id))
            .send()
            .await;
        match answer {
            Ok(described) => status(described.status()).map(Some),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(DescribeExecutionError::is_execution_does_not_exist) =>
            {
                Ok(None)
            }
            Err(error) => Err(classify("Step Functions", error)),
        }
    }
}

fn status(status: &SfnStatus) -> Result<ExecutionStatus> {
    Ok(match status {
        SfnStatus::Running => ExecutionStatus::Running,
        SfnStatus::Succeeded => ExecutionStatus::Succeeded,
        SfnStatus::Failed => ExecutionStatus::Failed,
        SfnStatus::TimedOut => ExecutionStatus::TimedOut,
        SfnStatus::Aborted => ExecutionStatus::Aborted,
        SfnStatus::PendingRedrive => ExecutionStatus::PendingRedrive,
        other => {
            return Err(Error::rejected(
                "Step Functions",
                format!("unknown execution status {:?}", other.as_str()),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_execution_status_maps() {
        for (sfn, ours) in [
            ("RUNNING", ExecutionStatus::Running),
            ("SUCCEEDED", ExecutionStatus::Succeeded),
            ("FAILED", ExecutionStatus::Failed),
            ("TIMED_OUT", ExecutionStatus::TimedOut),
            ("ABORTED", ExecutionStatus::Aborted),
            ("PENDING_REDRIVE", ExecutionStatus::PendingRedrive),
        ] {
            assert_eq!(status(&SfnStatus::from(sfn)), Ok(ours), "{sfn}");
            assert_eq!(ours.as_str(), sfn);
        }
        assert!(status(&SfnStatus::from("PAUSED")).is_err());
    }
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_sfn::Client;
    use aws_sdk_sfn::operation::describe_execution::{
        DescribeExecutionInput, DescribeExecutionOutput,
    };
    use aws_sdk_sfn::operation::start_execution::{StartExecutionInput, StartExecutionOutput};
    use aws_sdk_sfn::primitives::DateTime;
    use aws_smithy_mocks::{MockResponse, mock};
    use failover_core::model::workflow::Timing;

    use super::*;
    use crate::sdk_mock::{
        FAILURE_MESSAGE, Failure, Requests, assert_failed_as, failures, json_error, mocked_client,
        unreachable_client,
    };

    const STATE_MACHINE: &str =
        "arn:aws:states:us-east-1:123456789012:stateMachine:RecoveryWorkflow";
    const INCIDENT: &str = "us-east-1-20261122-101500-3f9a2c1b";
    const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:RecoveryWorkflow:us-east-1-20261122-101500-3f9a2c1b";

    fn workflow(client: Client) -> StepFunctionsWorkflow {
        StepFunctionsWorkflow {
            client,
            state_machine_arn: STATE_MACHINE.into(),
        }
    }

    fn input() -> WorkflowInput {
        WorkflowInput {
            incident_id: INCIDENT.into(),
            region: "us-east-1".into(),
            timing: Timing {
                settle_seconds: 30,
                poll_seconds: 15,
                deadline_seconds: 900,
                approval_seconds: None,
            },
        }
    }

    fn started() -> StartExecutionOutput {
        StartExecutionOutput::builder()
            .execution_arn(EXECUTION)
            .start_date(DateTime::from_secs(1_795_000_000))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn an_execution_is_started_named_after_its_incident_with_the_timing() {
        let requests = Requests::new();
        let start = mock!(Client::start_execution)
            .then_compute_response(requests.answer(|| MockResponse::Output(started())));

        let answer = workflow(mocked_client!(aws_sdk_sfn, [&start]))
            .start(&input())
            .await;

        assert_eq!(
            answer,
            Ok(Started {
                execution_arn: EXECUTION.into(),
                new: true,
            }),
            "the execution Step Functions answered"
        );
        let request = requests.only();
        let body: serde_json::Value =
            serde_json::from_str(request.input().unwrap_or_default()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "incident_id": INCIDENT,
                "region": "us-east-1",
                "timing": {"settle_seconds": 30, "poll_seconds": 15, "deadline_seconds": 900},
            }),
            "execution input"
        );
        let expected = StartExecutionInput::builder()
            .state_machine_arn(STATE_MACHINE)
            .name(INCIDENT)
            .set_input(request.input.clone())
            .build()
            .unwrap();
        assert_eq!(request, expected, "nothing else is asked for");
    }

    #[tokio::test]
    async fn a_second_start_of_the_same_incident_finds_its_execution() {
        let start = mock!(Client::start_execution).then_http_response(|| {
            json_error(
                400,
                "ExecutionAlreadyExists",
                "Execution Already Exists: 'us-east-1-20261122-101500-3f9a2c1b'",
            )
        });

        let answer = workflow(mocked_client!(aws_sdk_sfn, [&start]))
            .start(&input())
            .await;

        assert_eq!(
            answer,
            Ok(Started {
                execution_arn: EXECUTION.into(),
                new: false,
            }),
            "the execution of that name, not a new one"
        );
    }

    #[tokio::test]
    async fn a_failed_start_says_whether_a_retry_helps() {
        let mut table = failures(
            "ThrottlingException",
            "InternalFailure",
            "AccessDeniedException",
        )
        .to_vec();
        table.push((Failure::Answer(400, "InvalidName"), "UpstreamRejected"));
        table.push((
            Failure::Answer(400, "StateMachineDoesNotExist"),
            "UpstreamRejected",
        ));
        for (failure, kind) in table {
            let client = match failure {
                Failure::Answer(status, code) => {
                    let start = mock!(Client::start_execution)
                        .then_http_response(move || json_error(status, code, FAILURE_MESSAGE));
                    mocked_client!(aws_sdk_sfn, [&start])
                }
                Failure::Unreachable(unreachable) => unreachable_client!(aws_sdk_sfn, unreachable),
            };
            assert_failed_as(failure, kind, workflow(client).start(&input()).await);
        }
    }

    fn described(status: &str) -> DescribeExecutionOutput {
        DescribeExecutionOutput::builder()
            .execution_arn(EXECUTION)
            .state_machine_arn(STATE_MACHINE)
            .status(SfnStatus::from(status))
            .start_date(DateTime::from_secs(1_795_000_000))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn the_status_is_read_from_the_incident_s_execution() {
        for (sfn, ours) in [
            ("RUNNING", ExecutionStatus::Running),
            ("SUCCEEDED", ExecutionStatus::Succeeded),
            ("FAILED", ExecutionStatus::Failed),
            ("TIMED_OUT", ExecutionStatus::TimedOut),
            ("ABORTED", ExecutionStatus::Aborted),
            ("PENDING_REDRIVE", ExecutionStatus::PendingRedrive),
        ] {
            let requests = Requests::new();
            let describe = mock!(Client::describe_execution).then_compute_response(
                requests.answer(move || MockResponse::Output(described(sfn))),
            );

            let status = workflow(mocked_client!(aws_sdk_sfn, [&describe]))
                .status(INCIDENT)
                .await;

            assert_eq!(status, Ok(Some(ours)), "{sfn}");
            assert_eq!(
                requests.only(),
                DescribeExecutionInput::builder()
                    .execution_arn(EXECUTION)
                    .build()
                    .unwrap(),
                "{sfn}"
            );
        }
    }

    #[tokio::test]
    async fn an_execution_never_started_has_no_status_and_an_unknown_one_is_refused() {
        let missing = mock!(Client::describe_execution).then_http_response(|| {
            json_error(400, "ExecutionDoesNotExist", "Execution Does Not Exist")
        });
        let status = workflow(mocked_client!(aws_sdk_sfn, [&missing]))
            .status(INCIDENT)
            .await;
        assert_eq!(status, Ok(None), "no execution of that name");

        let paused = mock!(Client::describe_execution).then_output(|| described("PAUSED"));
        let status = workflow(mocked_client!(aws_sdk_sfn, [&paused]))
            .status(INCIDENT)
            .await;
        assert!(
            matches!(&status, Err(e) if e.kind() == "UpstreamRejected" && e.to_string().contains("PAUSED")),
            "{status:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_status_read_says_whether_a_retry_helps() {
        for (failure, kind) in failures(
            "ThrottlingException",
            "InternalFailure",
            "AccessDeniedException",
        ) {
            let client = match failure {
                Failure::Answer(status, code) => {
                    let describe = mock!(Client::describe_execution)
                        .then_http_response(move || json_error(status, code, FAILURE_MESSAGE));
                    mocked_client!(aws_sdk_sfn, [&describe])
                }
                Failure::Unreachable(unreachable) => unreachable_client!(aws_sdk_sfn, unreachable),
            };
            assert_failed_as(failure, kind, workflow(client).status(INCIDENT).await);
        }
    }
}
