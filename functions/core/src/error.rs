//! One error type for every function, with the retry policy attached.

use std::sync::Arc;

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The lower-level failure behind an upstream error, kept whole (not
/// flattened into text) so logs and answers can show the chain.
pub type Source = Arc<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, thiserror::Error)]
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
        #[source]
        source: Option<Source>,
    },
    /// A service refused the request (permissions, validation, missing resource).
    #[error("{service} rejected the request: {message}")]
    Rejected {
        service: &'static str,
        message: String,
        #[source]
        source: Option<Source>,
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
            source: None,
        }
    }

    pub fn rejected(service: &'static str, message: impl Into<String>) -> Self {
        Self::Rejected {
            service,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, keeping `cause` as its source. Only upstream errors
    /// carry one; on any other kind the cause is dropped.
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        if let Self::Unavailable { source, .. } | Self::Rejected { source, .. } = &mut self {
            *source = Some(Arc::new(cause));
        }
        self
    }

    /// The message with every source below it, outermost first: what an
    /// operator reads in the Lambda answer and the log.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            next = cause.source();
        }
        text
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

/// Two errors are equal when they say the same; the sources are details.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind() && self.to_string() == other.to_string()
    }
}

impl Eq for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("dispatch failure")]
    struct Dispatch(#[source] Io);

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Io;

    #[test]
    fn the_chain_names_every_source_once() {
        let error = Error::unavailable("SNS", "Publish to topic t").caused_by(Dispatch(Io));
        assert_eq!(
            error.chain(),
            "SNS is unavailable: Publish to topic t: dispatch failure: connection refused"
        );
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(error, Error::unavailable("SNS", "Publish to topic t"));
        let plain = Error::Conflict("incident".into()).caused_by(Io);
        assert_eq!(plain.chain(), "concurrent update: incident");
    }

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
