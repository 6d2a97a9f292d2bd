//! What the adapters' contract tests share: SDK clients answered in process
//! (`aws-smithy-mocks`), the requests they received, and the answers and
//! failures a service really sends.
//!
//! The clients never retry: a contract test asserts what the adapter makes
//! of one answer, and the SDK's own retries (configured in production by
//! `load_aws_config`) would spend the next rule on the same call.

use std::sync::{Arc, Mutex};

use aws_smithy_mocks::MockResponse;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// A client of `$sdk` answered by `$rules`, in order: a call that is not the
/// next rule's operation, or one more call than there are rules, panics.
macro_rules! mocked_client {
    ($sdk:ident, $rules:expr) => {
        aws_smithy_mocks::mock_client!(
            $sdk,
            aws_smithy_mocks::RuleMode::Sequential,
            $rules,
            |config| config.retry_config($sdk::config::retry::RetryConfig::disabled())
        )
    };
}
pub(crate) use mocked_client;

/// Every request one operation received, in order, to compare whole.
#[derive(Debug)]
pub(crate) struct Requests<I>(Arc<Mutex<Vec<I>>>);

impl<I> Clone for Requests<I> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<I: Clone + Send + 'static> Requests<I> {
    pub(crate) fn new() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }

    /// For `then_compute_response`: records the request, then answers it.
    pub(crate) fn answer<O, E>(
        &self,
        response: impl Fn() -> MockResponse<O, E> + Send + Sync + 'static,
    ) -> impl Fn(&I) -> MockResponse<O, E> + Send + Sync + 'static {
        let seen = self.clone();
        move |request| {
            seen.0.lock().unwrap().push(request.clone());
            response()
        }
    }

    pub(crate) fn all(&self) -> Vec<I> {
        self.0.lock().unwrap().clone()
    }

    /// The only request received; panics unless there was exactly one.
    pub(crate) fn only(&self) -> I {
        let all = self.all();
        assert_eq!(all.len(), 1, "expected exactly one request");
        all.into_iter().next().unwrap()
    }
}

pub(crate) fn http(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    )
}

/// An error as the awsJson services (DynamoDB, Step Functions) send it.
pub(crate) fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.service#{code}"),
        "message": message,
    });
    http(status, &body.to_string())
}

/// An error as the XML services (SNS, CloudWatch, Route 53) send it.
pub(crate) fn xml_error(status: u16, code: &str, message: &str) -> HttpResponse {
    http(
        status,
        &format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"
        ),
    )
}

/// A service that is never reached: the connection is refused, or it
/// never answers (for the SDK's timeouts to fire).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unreachable {
    Refused,
    Silent,
}

impl Unreachable {
    pub(crate) fn client(self) -> SharedHttpClient {
        http_client_fn(move |_, _| SharedHttpConnector::new(self))
    }
}

impl HttpConnector for Unreachable {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        match self {
            Self::Refused => HttpConnectorFuture::ready(Err(ConnectorError::io(
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into(),
            ))),
            Self::Silent => HttpConnectorFuture::new(std::future::pending()),
        }
    }
}

/// A client of `$sdk` whose every call fails without an answer: the
/// connection is refused, or the operation times out after 50 ms.
macro_rules! unreachable_client {
    ($sdk:ident, $unreachable:expr) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .with_test_defaults_v2()
                .http_client($unreachable.client())
                .retry_config($sdk::config::retry::RetryConfig::disabled())
                .timeout_config(
                    $sdk::config::timeout::TimeoutConfig::builder()
                        .operation_timeout(std::time::Duration::from_millis(50))
                        .build(),
                )
                .build(),
        )
    };
}
pub(crate) use unreachable_client;

/// What every failing answer of an error table says.
pub(crate) const FAILURE_MESSAGE: &str = "try later";

/// One row of an adapter's error table: how the call fails.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    /// The service answers with this HTTP status and error code.
    Answer(u16, &'static str),
    Unreachable(Unreachable),
}

/// The rows every adapter's error table has: a throttle the service sends
/// with a 400, a 429, a server error, a refusal, a refused connection and
/// a timeout, each with the error kind it must become.
pub(crate) fn failures(
    throttle: &'static str,
    server_error: &'static str,
    refusal: &'static str,
) -> [(Failure, &'static str); 6] {
    [
        (Failure::Answer(400, throttle), "UpstreamUnavailable"),
        (
            Failure::Answer(429, "TooManyRequests"),
            "UpstreamUnavailable",
        ),
        (Failure::Answer(500, server_error), "UpstreamUnavailable"),
        (Failure::Answer(403, refusal), "UpstreamRejected"),
        (
            Failure::Unreachable(Unreachable::Refused),
            "UpstreamUnavailable",
        ),
        (
            Failure::Unreachable(Unreachable::Silent),
            "UpstreamUnavailable",
        ),
    ]
}

/// Asserts that a call failing as `failure` became an error of `kind` whose
/// chain names what went wrong.
pub(crate) fn assert_failed_as<T: std::fmt::Debug>(
    failure: Failure,
    kind: &str,
    result: failover_core::Result<T>,
) {
    let error = match result {
        Ok(answer) => panic!("{failure:?}: answered {answer:?}"),
        Err(error) => error,
    };
    let chain = error.chain();
    assert_eq!(error.kind(), kind, "{failure:?}: {chain}");
    let named = match failure {
        Failure::Answer(status, code) => format!("{code}: {FAILURE_MESSAGE} (HTTP {status})"),
        Failure::Unreachable(Unreachable::Refused) => "dispatch failure".to_owned(),
        Failure::Unreachable(Unreachable::Silent) => "timed out".to_owned(),
    };
    assert!(chain.contains(&named), "{failure:?}: {chain}");
}
