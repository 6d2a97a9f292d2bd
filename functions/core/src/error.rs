//! One error type for every function, with the retry policy attached.

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The function's environment is wrong; nothing can work until it is fixed.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The event cannot be understood or names nothing we know.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// A service did not answer or answered with a throttle or server error.
    #[error("{service} is unavailable: {message}")]
    Unavailable {
        service: &'static str,
        message: String,
    },
    /// A service refused the request (permissions, validation, missing resource).
    #[error("{service} rejected the request: {message}")]
    Rejected {
        service: &'static str,
        message: String,
    },
    /// Someone else changed the record between our read and our write.
    #[error("concurrent update: {0}")]
    Conflict(String),
    /// A state the types should exclude (an illegal lifecycle step, say):
    /// a bug, never retried.
    #[error("internal error: {0}")]
    Internal(String),
}

/// How a caller (Lambda async retries, Step Functions `Retry`) should treat an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RetryPolicy {
    /// The same request may succeed later.
    Retry,
    /// Repeating the request cannot help; a person or a fix must act.
    Fail,
}

impl Error {
    pub fn unavailable(service: &'static str, message: impl Into<String>) -> Self {
        Self::Unavailable {
            service,
            message: message.into(),
        }
    }

    pub fn rejected(service: &'static str, message: impl Into<String>) -> Self {
        Self::Rejected {
            service,
            message: message.into(),
        }
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        match self {
            Self::Unavailable { .. } | Self::Conflict(_) => RetryPolicy::Retry,
            Self::Config(_) | Self::InvalidEvent(_) | Self::Rejected { .. } | Self::Internal(_) => {
                RetryPolicy::Fail
            }
        }
    }

    /// Stable error name reported to Lambda; `Retry` and `Catch` rules match on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(_) => "ConfigurationError",
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::Unavailable { .. } => "UpstreamUnavailable",
            Self::Rejected { .. } => "UpstreamRejected",
            Self::Conflict(_) => "ConcurrentUpdate",
            Self::Internal(_) => "InternalError",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passing_failures_are_retried() {
        let cases = [
            (
                Error::Config("x".into()),
                RetryPolicy::Fail,
                "ConfigurationError",
            ),
            (
                Error::InvalidEvent("x".into()),
                RetryPolicy::Fail,
                "InvalidEvent",
            ),
            (
                Error::unavailable("SNS", "timeout"),
                RetryPolicy::Retry,
                "UpstreamUnavailable",
            ),
            (
                Error::rejected("SNS", "denied"),
                RetryPolicy::Fail,
                "UpstreamRejected",
            ),
            (
                Error::Conflict("incident".into()),
                RetryPolicy::Retry,
                "ConcurrentUpdate",
            ),
            (
                Error::Internal("illegal step".into()),
                RetryPolicy::Fail,
                "InternalError",
            ),
        ];
        for (error, policy, kind) in cases {
            assert_eq!(error.retry_policy(), policy, "{error}");
            assert_eq!(error.kind(), kind, "{error}");
        }
    }
}
