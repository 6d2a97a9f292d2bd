//! The recovery workflow over Step Functions.

use async_trait::async_trait;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sfn::types::ExecutionStatus as SfnStatus;
use failover_core::config::Settings;
use failover_core::ports::Workflow;
use failover_core::workflow::{ExecutionStatus, Started, WorkflowInput};
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
