//! Maps AWS SDK failures onto the one error type and its retry policy.
//!
//! Every AWS call of the adapters ends here (EKS `DescribeCluster` in the
//! Kubernetes adapters too), so a throttle, a server error or a refusal
//! means the same whichever service answered it.

use std::fmt;

use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use failover_core::Error;

/// Error codes that mean "try again": the service throttled the caller, was
/// busy with a conflicting request, or failed inside. Some services send
/// them with a 400, so the HTTP status alone would call them refusals.
const TRY_AGAIN_CODES: &[&str] = &[
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

/// Which error an SDK failure becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The same request may pass later: [`Error::Unavailable`].
    Unavailable,
    /// Repeating the request will not change the answer: [`Error::Rejected`].
    Rejected,
}

/// Timeouts, connection failures, unreadable answers, throttles and server
/// errors may pass; any other answer is a refusal that repeating will not
/// change. The SDK error stays the error's source (an [`SdkFailure`]).
pub fn classify<E>(service: &'static str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let class = class_of(&error);
    classified(service, error, class)
}

/// The error of an SDK failure whose class the caller knows better than
/// [`classify`] (a DynamoDB transaction cancelled by a throttle comes as a
/// 400 yet passes), with the same message and source.
pub(crate) fn classified<E>(
    service: &'static str,
    error: SdkError<E, HttpResponse>,
    class: Class,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = SdkFailure::new(error);
    let message = failure.line.clone();
    match class {
        Class::Unavailable => Error::unavailable(service, message),
        Class::Rejected => Error::rejected(service, message),
    }
    .caused_by(failure)
}

pub(crate) fn class_of<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Class {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Class::Unavailable
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or_default();
            let status = context.raw().status();
            if status.is_server_error() || status.as_u16() == 429 || TRY_AGAIN_CODES.contains(&code)
            {
                Class::Unavailable
            } else {
                Class::Rejected
            }
        }
        _ => Class::Rejected,
    }
}

/// An AWS SDK error kept whole as the source of an [`Error`], shown as the
/// one line an operator needs.
///
/// The SDK's own source chain tells a service's answer three times
/// ("service error", then "unhandled error (Throttling)", then the raw
/// error metadata); this line tells its code, message and HTTP status once,
/// and ends the chain there. A request that got no answer keeps the SDK's
/// chain below the line ("dispatch failure: io error: connection refused").
#[derive(Debug)]
pub struct SdkFailure {
    line: String,
    answered: bool,
    error: Box<dyn std::error::Error + Send + Sync>,
}

impl SdkFailure {
    fn new<E>(error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (line, answered) = match &error {
            SdkError::ServiceError(context) => {
                let status = context.raw().status().as_u16();
                let answer = context.err();
                let line = match (answer.code(), answer.message()) {
                    (Some(code), Some(message)) => format!("{code}: {message} (HTTP {status})"),
                    (Some(code), None) => format!("{code} (HTTP {status})"),
                    (None, Some(message)) => format!("{message} (HTTP {status})"),
                    (None, None) => format!("{answer} (HTTP {status})"),
                };
                (line, true)
            }
            other => (other.to_string(), false),
        };
        Self {
            line,
            answered,
            error: Box::new(error),
        }
    }

    /// The SDK's error, for a caller that needs more than the line (the
    /// request id, the raw answer): it downcasts to the operation's
    /// `SdkError<OperationError, HttpResponse>`.
    pub fn sdk_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.error.as_ref()
    }
}

impl fmt::Display for SdkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for SdkFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        if self.answered {
            None
        } else {
            self.error.source()
        }
    }
}

#[cfg(test)]
mod contract_tests {
    use aws_sdk_sns::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_sns::operation::publish::PublishError;
    use failover_core::error::RetryPolicy;

    use super::*;
    use crate::sdk_mock::http;

    type PublishFailure = SdkError<PublishError, HttpResponse>;

    fn answer(status: u16, code: Option<&str>, message: &str) -> PublishFailure {
        let mut meta = ErrorMetadata::builder().message(message);
        if let Some(code) = code {
            meta = meta.code(code);
        }
        SdkError::service_error(PublishError::generic(meta.build()), http(status, ""))
    }

    #[test]
    fn every_code_that_means_try_again_passes_even_with_a_400() {
        for code in [
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
        ] {
            let error = classify("SNS", answer(400, Some(code), "try later"));
            assert_eq!(error.kind(), "UpstreamUnavailable", "{code}: {error}");
            assert_eq!(error.retry_policy(), RetryPolicy::Retry, "{code}");
        }
    }

    #[test]
    fn the_status_decides_when_the_code_does_not() {
        for (status, code, kind) in [
            (429, Some("SlowDownPlease"), "UpstreamUnavailable"),
            (429, None, "UpstreamUnavailable"),
            (500, Some("InternalServerError"), "UpstreamUnavailable"),
            (502, None, "UpstreamUnavailable"),
            (503, Some("Unavailable"), "UpstreamUnavailable"),
            (504, None, "UpstreamUnavailable"),
            (400, Some("ValidationException"), "UpstreamRejected"),
            (400, Some("InvalidParameter"), "UpstreamRejected"),
            (403, Some("AccessDenied"), "UpstreamRejected"),
            (404, Some("NoSuchHealthCheck"), "UpstreamRejected"),
            (409, Some("ConflictingDomainExists"), "UpstreamRejected"),
            (400, None, "UpstreamRejected"),
        ] {
            let error = classify("SNS", answer(status, code, "no"));
            assert_eq!(error.kind(), kind, "HTTP {status} {code:?}: {error}");
        }
    }

    #[test]
    fn a_request_without_an_answer_passes_unless_it_could_not_be_built() {
        let cases: [(&str, PublishFailure, &str); 4] = [
            (
                "timeout",
                SdkError::timeout_error("operation timeout after 25s"),
                "UpstreamUnavailable",
            ),
            (
                "dispatch failure",
                SdkError::dispatch_failure(ConnectorError::io("connection reset".into())),
                "UpstreamUnavailable",
            ),
            (
                "unreadable answer",
                SdkError::response_error("truncated body", http(200, "<Publish")),
                "UpstreamUnavailable",
            ),
            (
                "construction failure",
                SdkError::construction_failure("topic_arn is required"),
                "UpstreamRejected",
            ),
        ];
        for (case, failure, kind) in cases {
            let error = classify("SNS", failure);
            assert_eq!(error.kind(), kind, "{case}: {error}");
        }
    }

    #[test]
    fn the_chain_names_the_code_and_message_once() {
        for (failure, chain) in [
            (
                answer(400, Some("Throttling"), "Rate exceeded"),
                "SNS is unavailable: Throttling: Rate exceeded (HTTP 400)",
            ),
            (
                answer(403, Some("AuthorizationError"), "not allowed"),
                "SNS rejected the request: AuthorizationError: not allowed (HTTP 403)",
            ),
            (
                answer(503, None, "Service Unavailable"),
                "SNS is unavailable: Service Unavailable (HTTP 503)",
            ),
            (
                SdkError::dispatch_failure(ConnectorError::io("connection reset".into())),
                "SNS is unavailable: dispatch failure: io error: connection reset",
            ),
            (
                SdkError::timeout_error("operation timeout after 25s"),
                "SNS is unavailable: request has timed out: operation timeout after 25s",
            ),
        ] {
            assert_eq!(classify("SNS", failure).chain(), chain, "{chain}");
        }
    }

    #[test]
    fn the_sdk_error_stays_the_source() {
        let error = classify("SNS", answer(400, Some("Throttling"), "Rate exceeded"));
        // The core error holds its source behind an `Arc`, which is what
        // `source()` hands out.
        let failure = std::error::Error::source(&error)
            .and_then(|source| source.downcast_ref::<failover_core::error::Source>())
            .and_then(|source| source.downcast_ref::<SdkFailure>())
            .expect("the source is the SDK failure");
        let sdk = failure
            .sdk_error()
            .downcast_ref::<PublishFailure>()
            .expect("the SDK's own error");
        assert_eq!(sdk.code(), Some("Throttling"), "the service's error code");
        assert_eq!(
            sdk.raw_response().map(|r| r.status().as_u16()),
            Some(400),
            "the raw answer"
        );
    }
}
