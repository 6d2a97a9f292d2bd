//! Maps Kubernetes client failures onto the one error type and its retry policy.

use failover_core::Error;

const SERVICE: &str = "Kubernetes API";

/// Server errors, throttling and transport failures may pass; refusals
/// (401, 403, 422, ...) will not.
pub(crate) fn classify(cluster: &str, what: &str, error: kube::Error) -> Error {
    match &error {
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => Error::rejected(
            SERVICE,
            format!(
                "cluster {cluster} refused the credentials for {what} ({} {}): grant the function's role access with scripts/grant-eks-access",
                status.code, status.reason
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
