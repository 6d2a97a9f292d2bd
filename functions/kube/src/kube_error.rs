//! Maps Kubernetes client failures onto the one error type and its retry policy.

use failover_core::Error;

const SERVICE: &str = "Kubernetes API";

/// Server errors, throttling and transport failures may pass; refusals
/// (401, 403, 422, ...) will not.
pub(crate) fn classify(cluster: &str, what: &str, error: kube::Error) -> Error {
    match &error {
        // The API server's message names the user and the verb it refused:
        // what a person needs to fix the grant, and never a credential.
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => Error::rejected(
            SERVICE,
            format!(
                "cluster {cluster} refused the credentials for {what} ({} {}{}): grant the function's role access with scripts/grant-eks-access",
                status.code,
                status.reason,
                if status.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", status.message)
                }
            ),
        ),
        kube::Error::Api(status) if status.code >= 500 || status.code == 429 => Error::unavailable(
            SERVICE,
            format!(
                "cluster {cluster}, {what}: {} {} {}",
                status.code, status.reason, status.message
            ),
        ),
        kube::Error::Api(status) => Error::rejected(
            SERVICE,
            format!(
                "cluster {cluster}, {what}: {} {} {}",
                status.code, status.reason, status.message
            ),
        ),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            Error::unavailable(SERVICE, format!("cluster {cluster}, {what}: {error}"))
        }
        _ => Error::rejected(SERVICE, format!("cluster {cluster}, {what}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use failover_core::error::RetryPolicy;
    use kube::core::Status;

    fn api(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(
            Status::failure("from the test", reason)
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn kubernetes_failures_are_classified_by_whether_a_retry_can_help() {
        let cases = [
            (
                "401: the token was refused",
                api(401, "Unauthorized"),
                RetryPolicy::Fail,
                "grant the function's role access with scripts/grant-eks-access",
            ),
            (
                "403: the role has no access",
                api(403, "Forbidden"),
                RetryPolicy::Fail,
                "refused the credentials for read the deployment (403 Forbidden: from the test)",
            ),
            (
                "404 (a get, not a get_opt)",
                api(404, "NotFound"),
                RetryPolicy::Fail,
                "404 NotFound from the test",
            ),
            (
                "409: a conflicting write",
                api(409, "Conflict"),
                RetryPolicy::Fail,
                "409 Conflict",
            ),
            (
                "422: an invalid patch",
                api(422, "Invalid"),
                RetryPolicy::Fail,
                "422 Invalid",
            ),
            (
                "429: throttled by API priority and fairness",
                api(429, "TooManyRequests"),
                RetryPolicy::Retry,
                "429 TooManyRequests",
            ),
            (
                "500",
                api(500, "InternalError"),
                RetryPolicy::Retry,
                "500 InternalError",
            ),
            (
                "502 from a proxy",
                api(502, "Failed to parse error data"),
                RetryPolicy::Retry,
                "502",
            ),
            (
                "503",
                api(503, "ServiceUnavailable"),
                RetryPolicy::Retry,
                "503 ServiceUnavailable",
            ),
            (
                "504",
                api(504, "Timeout"),
                RetryPolicy::Retry,
                "504 Timeout",
            ),
            (
                "no connection",
                kube::Error::Service(Box::new(std::io::Error::other("connection refused"))),
                RetryPolicy::Retry,
                "connection refused",
            ),
            (
                "the stream broke",
                kube::Error::ReadEvents(std::io::Error::other("unexpected end of file")),
                RetryPolicy::Retry,
                "unexpected end of file",
            ),
            (
                "an answer that is not the expected object",
                kube::Error::SerdeError(
                    serde_json::from_str::<serde_json::Value>("{").unwrap_err(),
                ),
                RetryPolicy::Fail,
                "Error deserializing response",
            ),
        ];
        for (name, error, policy, says) in cases {
            let error = classify("platform-us-east-1", "read the deployment", error);
            assert_eq!(error.retry_policy(), policy, "{name}: {error}");
            let kind = match policy {
                RetryPolicy::Retry => "UpstreamUnavailable",
                RetryPolicy::Fail => "UpstreamRejected",
            };
            assert_eq!(error.kind(), kind, "{name}: {error}");
            let text = error.to_string();
            assert!(
                text.starts_with("Kubernetes API ")
                    && text.contains("cluster platform-us-east-1")
                    && text.contains(says),
                "{name}: names the service and the cluster and says {says:?}: {text}"
            );
        }
    }
}
