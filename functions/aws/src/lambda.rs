//! Plumbing every function binary shares.

use failover_core::Error;
use failover_core::config::Settings;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde_json::Value;

/// JSON logs when Lambda's `AWS_LAMBDA_LOG_FORMAT=JSON`, level from
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Logs a failed invocation and turns it into Lambda's error answer, whose
/// `errorType` names the error and whether a retry can help.
pub fn failure(error: Error) -> Diagnostic {
    let message = error.chain();
    tracing::error!(error_type = error.kind(), retry = ?error.retry_policy(), "{message}");
    Diagnostic {
        error_type: error.kind().to_owned(),
        error_message: message,
    }
}

/// What every function does first: logs set up, configuration read and
/// checked once (a bad one stops the cold start, naming every wrong
/// variable), AWS configuration loaded.
pub async fn cold_start() -> Result<(Settings, aws_config::SdkConfig), Error> {
    init_tracing();
    let settings =
        Settings::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    Ok((settings, crate::load_aws_config().await))
}

/// A function's JSON answer.
pub fn answer<T: Serialize>(report: &T) -> Result<Value, Diagnostic> {
    serde_json::to_value(report).map_err(|e| {
        failure(Error::Internal(format!(
            "the answer does not serialize: {e}"
        )))
    })
}
