//! From an EKS cluster name to a Kubernetes client: `DescribeCluster` gives
//! the endpoint, CA and status; the bearer token is a fresh EKS token.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_eks::config::http::HttpResponse;
use aws_sdk_eks::error::SdkError;
use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;
use failover_aws::sdk_error;
use failover_core::Error;
use failover_core::config::RegionSettings;
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use secrecy::SecretString;

use crate::eks_token::eks_token;

/// How long a connection may wait for the API server to accept it.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection may wait for the API server's answer.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What `DescribeCluster` says about a cluster, and the client to reach it
/// when it is ACTIVE.
#[derive(Clone)]
pub(crate) enum Described {
    Active(kube::Client),
    NotActive(String),
}

/// From a region to its cluster: the seam the connection cache counts and
/// the tests replace with a mock Kubernetes API.
#[async_trait]
pub(crate) trait Connect: Send + Sync {
    async fn connect(&self, region: &RegionSettings) -> Result<Described, Error>;
}

/// The part of `DescribeCluster`'s answer a connection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterDescription {
    /// `ACTIVE`, `CREATING`, `FAILED`, ... (`UNKNOWN` when EKS says nothing).
    pub(crate) status: String,
    /// The API server's URL; empty when EKS gives none.
    pub(crate) endpoint: String,
    /// The cluster CA, base64 PEM as EKS answers it; empty when EKS gives none.
    pub(crate) certificate_authority: String,
}

/// EKS access for every configured cluster, built once per cold start.
#[derive(Debug, Clone)]
pub struct EksClusters {
    sdk: aws_config::SdkConfig,
}

impl EksClusters {
    pub fn new(sdk: aws_config::SdkConfig) -> Self {
        Self { sdk }
    }

    async fn describe(&self, region: &RegionSettings) -> Result<ClusterDescription, Error> {
        // Each cluster is described in its own region.
        let config = aws_sdk_eks::config::Builder::from(&self.sdk)
            .region(aws_sdk_eks::config::Region::new(region.name.clone()))
            .build();
        let answer = aws_sdk_eks::Client::from_conf(config)
            .describe_cluster()
            .name(&region.cluster)
            .send()
            .await
            .map_err(|e| describe_failed(region, e))?;
        let cluster = answer.cluster.ok_or_else(|| {
            Error::rejected(
                "EKS",
                format!("DescribeCluster {} answered no cluster", region.cluster),
            )
        })?;
        Ok(ClusterDescription {
            status: cluster
                .status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "UNKNOWN".into()),
            endpoint: cluster.endpoint.unwrap_or_default(),
            certificate_authority: cluster
                .certificate_authority
                .and_then(|c| c.data)
                .unwrap_or_default(),
        })
    }
}

/// A failed `DescribeCluster`, classified like every AWS call (a throttle
/// passes, a refusal does not), naming the cluster and its region.
fn describe_failed(
    region: &RegionSettings,
    error: SdkError<DescribeClusterError, HttpResponse>,
) -> Error {
    in_context(
        sdk_error::classify("EKS", error),
        &format!("DescribeCluster {} in {}", region.cluster, region.name),
    )
}

/// The classified error, its message prefixed with what was asked of whom:
/// the shared classifier knows the service, not the cluster or region. The
/// kind, the service and any source stay as the classifier made them.
fn in_context(error: Error, context: &str) -> Error {
    match error {
        Error::Unavailable {
            service,
            message,
            source,
        } => Error::Unavailable {
            service,
            message: format!("{context}: {message}"),
            source,
        },
        Error::Rejected {
            service,
            message,
            source,
        } => Error::Rejected {
            service,
            message: format!("{context}: {message}"),
            source,
        },
        other => other,
    }
}

#[async_trait]
impl Connect for EksClusters {
    /// A client for the region's cluster with a freshly signed token (see
    /// `eks_token::VALIDITY` for how long it passes).
    async fn connect(&self, region: &RegionSettings) -> Result<Described, Error> {
        let described = self.describe(region).await?;
        if described.status != "ACTIVE" {
            return Ok(Described::NotActive(described.status));
        }
        if described.endpoint.is_empty() || described.certificate_authority.is_empty() {
            return Err(Error::rejected(
                "EKS",
                format!(
                    "cluster {} has no endpoint or certificate authority",
                    region.cluster
                ),
            ));
        }
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| Error::rejected("EKS token", "no AWS credentials are configured"))?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            Error::unavailable("EKS token", format!("cannot load AWS credentials: {e}"))
        })?;
        let token = eks_token(
            &credentials,
            &region.cluster,
            &region.name,
            SystemTime::now(),
        )?;

        let client = kube_client(
            &region.cluster,
            described.endpoint,
            described.certificate_authority,
            token.expose(),
        )
        .await?;
        Ok(Described::Active(client))
    }
}

/// A Kubernetes client for one cluster: its API endpoint, its CA (base64 PEM,
/// as EKS answers it) and a bearer token. TLS is always verified against that
/// CA. Built through kube's own kubeconfig handling, like a kubeconfig
/// written by `aws eks update-kubeconfig`.
pub async fn kube_client(
    cluster: &str,
    endpoint: String,
    ca_data: String,
    bearer: &str,
) -> Result<kube::Client, Error> {
    let name = cluster.to_owned();
    let kubeconfig = Kubeconfig {
        clusters: vec![NamedCluster {
            name: name.clone(),
            cluster: Some(Cluster {
                server: Some(endpoint),
                certificate_authority_data: Some(ca_data),
                ..Cluster::default()
            }),
            other: Default::default(),
        }],
        auth_infos: vec![NamedAuthInfo {
            name: name.clone(),
            auth_info: Some(AuthInfo {
                token: Some(SecretString::from(bearer.to_owned())),
                ..AuthInfo::default()
            }),
            other: Default::default(),
        }],
        contexts: vec![NamedContext {
            name: name.clone(),
            context: Some(Context {
                cluster: name.clone(),
                user: Some(name.clone()),
                ..Context::default()
            }),
            other: Default::default(),
        }],
        current_context: Some(name),
        ..Kubeconfig::default()
    };
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| {
                Error::rejected(
                    "EKS",
                    format!("cluster {cluster} cannot be configured: {e}"),
                )
            })?;
    config.accept_invalid_certs = false;
    // One retry policy: the adapter's (classified, bounded); none stacked under it.
    config.default_retry = false;
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    kube::Client::try_from(config)
        .map_err(|e| Error::rejected("Kubernetes API", format!("client for {cluster}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::region;
    use aws_sdk_eks::error::ErrorMetadata;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use failover_core::error::RetryPolicy;

    fn answered(status: u16, code: &str) -> SdkError<DescribeClusterError, HttpResponse> {
        let error = DescribeClusterError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("from the test")
                .build(),
        );
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(error, raw)
    }

    #[test]
    fn describe_cluster_failures_are_classified_like_every_aws_call() {
        let cases = [
            (
                "throttled with a 400",
                answered(400, "ThrottlingException"),
                RetryPolicy::Retry,
            ),
            (
                "too many requests",
                answered(429, "TooManyRequestsException"),
                RetryPolicy::Retry,
            ),
            (
                "a server error",
                answered(500, "ServerException"),
                RetryPolicy::Retry,
            ),
            (
                "unavailable",
                answered(503, "ServiceUnavailableException"),
                RetryPolicy::Retry,
            ),
            (
                "no answer in time",
                SdkError::timeout_error("operation timed out"),
                RetryPolicy::Retry,
            ),
            (
                "the role may not describe it",
                answered(403, "AccessDeniedException"),
                RetryPolicy::Fail,
            ),
            (
                "no such cluster",
                answered(404, "ResourceNotFoundException"),
                RetryPolicy::Fail,
            ),
            (
                "a bad request",
                answered(400, "InvalidParameterException"),
                RetryPolicy::Fail,
            ),
        ];
        for (name, error, policy) in cases {
            let error = describe_failed(&region("us-east-1"), error);
            assert_eq!(error.retry_policy(), policy, "{name}: {error}");
            let text = error.to_string();
            assert!(
                text.starts_with("EKS ")
                    && text.contains("DescribeCluster platform-us-east-1 in us-east-1: "),
                "{name}: names the service, the cluster and its region: {text}"
            );
        }
    }

    #[test]
    fn the_context_keeps_the_kind_the_service_and_the_source() {
        let cause = || std::io::Error::other("connection refused");
        let cases = [
            (
                Error::unavailable("EKS", "dispatch failure").caused_by(cause()),
                "EKS is unavailable: DescribeCluster c in r: dispatch failure",
            ),
            (
                Error::rejected("EKS", "AccessDenied").caused_by(cause()),
                "EKS rejected the request: DescribeCluster c in r: AccessDenied",
            ),
        ];
        for (error, says) in cases {
            let kind = error.kind();
            let wrapped = in_context(error, "DescribeCluster c in r");
            assert_eq!(wrapped.kind(), kind, "{says}");
            assert_eq!(
                wrapped.to_string(),
                says,
                "the message leads with the context"
            );
            assert_eq!(
                wrapped.chain(),
                format!("{says}: connection refused"),
                "the source stays"
            );
        }
        let other = Error::Internal("x".into());
        assert_eq!(
            in_context(other.clone(), "DescribeCluster c in r"),
            other,
            "only upstream errors carry a message to prefix"
        );
    }
}
