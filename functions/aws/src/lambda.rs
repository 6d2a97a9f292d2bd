//! Plumbing every function binary shares.

use failover_core::Error;
use lambda_runtime::Diagnostic;

/// JSON logs when Lambda's `AWS_LAMBDA_LOG_FORMAT=JSON`, level from
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Logs a failed invocation and turns it into Lambda's error answer, whose
/// `errorType` names the error and whether a retry can help.
pub fn failure(error: Error) -> Diagnostic {
    tracing::error!(error_type = error.kind(), retry = ?error.retry_policy(), "{error}");
    Diagnostic {
        error_type: error.kind().to_owned(),
        error_message: error.to_string(),
    }
}
