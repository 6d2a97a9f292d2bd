//! The workflow's approval callback over Step Functions (`SendTaskSuccess`).
//!
//! The task token is a bearer secret, and Step Functions may repeat it in
//! an error message: errors here carry the error code only, never the
//! service's message.

use async_trait::async_trait;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
use failover_core::app::ports::{Callbacks, Outcome, Resumed};
use failover_core::model::approval::TaskToken;
use failover_core::{Error, Result};

use crate::sdk_error::{Class, class_of};

const SERVICE: &str = "Step Functions";

#[derive(Debug, Clone)]
pub struct StepFunctionsCallbacks {
    client: aws_sdk_sfn::Client,
}

impl StepFunctionsCallbacks {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

/// The task's output: `{"approval": "approved"}` or `{"approval": "closed"}`,
/// which the workflow's `ApprovalAnswer` choice reads.
pub fn output(outcome: Outcome) -> String {
    serde_json::json!({ "approval": outcome.as_str() }).to_string()
}

/// No longer waiting on that token: timed out, stopped, or already told.
fn is_gone(error: &SendTaskSuccessError) -> bool {
    error.is_invalid_token() || error.is_task_does_not_exist() || error.is_task_timed_out()
}

#[async_trait]
impl Callbacks for StepFunctionsCallbacks {
    async fn resume(&self, token: &TaskToken, outcome: Outcome) -> Result<Resumed> {
        let answer = self
            .client
            .send_task_success()
            .task_token(token.expose())
            .output(output(outcome))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(Resumed::Resumed),
            Err(error) if error.as_service_error().is_some_and(is_gone) => Ok(Resumed::Gone),
            Err(error) => {
                let code = error.code().unwrap_or("no error code").to_owned();
                let message = format!("SendTaskSuccess failed ({code})");
                Err(match class_of(&error) {
                    Class::Unavailable => Error::unavailable(SERVICE, message),
                    Class::Rejected => Error::rejected(SERVICE, message),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_is_what_the_workflow_reads() {
        assert_eq!(output(Outcome::Approved), r#"{"approval":"approved"}"#);
        assert_eq!(output(Outcome::Closed), r#"{"approval":"closed"}"#);
    }
}
