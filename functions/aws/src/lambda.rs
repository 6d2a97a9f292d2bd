//! Plumbing every function binary shares.

use failover_core::Error;
use failover_core::config::Settings;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

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

/// Runs one invocation inside a span carrying its request id, so every line
/// it logs (the failure too) can be found together; [`record`] adds the
/// region and incident once they are known.
pub async fn in_span<F>(request_id: &str, invocation: F) -> Result<Value, Diagnostic>
where
    F: Future<Output = Result<Value, Diagnostic>>,
{
    let span = tracing::info_span!(
        "invocation",
        request_id,
        region = tracing::field::Empty,
        incident_id = tracing::field::Empty,
    );
    invocation.instrument(span).await
}

/// Records what the current invocation is about on its span.
pub fn record(region: Option<&str>, incident_id: Option<&str>) {
    let span = tracing::Span::current();
    if let Some(region) = region {
        span.record("region", region);
    }
    if let Some(incident_id) = incident_id {
        span.record("incident_id", incident_id);
    }
}
