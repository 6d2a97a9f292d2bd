//! Maps AWS SDK failures onto the one error type and its retry policy.

use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use failover_core::Error;

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "PriorRequestNotComplete",
    "SlowDown",
    "KMSThrottlingException",
    "KMSThrottling",
    "LimitExceededException",
    "TransactionInProgressException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// Timeouts, connection failures, throttles and 5xx answers may pass; any
/// other answer is a refusal that repeating will not change.
pub fn classify<E>(service: &'static str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = DisplayErrorContext(&error).to_string();
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Error::unavailable(service, message)
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or_default();
            let status = context.raw().status();
            if status.is_server_error() || status.as_u16() == 429 || THROTTLING.contains(&code) {
                Error::unavailable(service, message)
            } else {
                Error::rejected(service, message)
            }
        }
        _ => Error::rejected(service, message),
    }
}
