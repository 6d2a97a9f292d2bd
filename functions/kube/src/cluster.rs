//! From an EKS cluster name to a Kubernetes client: `DescribeCluster` gives
//! the endpoint, CA and status; the bearer token is a fresh EKS token.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_eks::error::{DisplayErrorContext, ProvideErrorMetadata};
use failover_core::Error;
use failover_core::config::RegionSettings;
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use secrecy::SecretString;

use crate::eks_token::eks_token;

/// What `DescribeCluster` says about a cluster.
pub(crate) enum Described {
    Active(kube::Client),
    NotActive(String),
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

    async fn describe(&self, region: &RegionSettings) -> Result<(String, String, String), Error> {
        // Each cluster is described in its own region.
        let config = aws_sdk_eks::config::Builder::from(&self.sdk)
            .region(aws_sdk_eks::config::Region::new(region.name.clone()))
            .build();
        let answer = aws_sdk_eks::Client::from_conf(config)
            .describe_cluster()
            .name(&region.cluster)
            .send()
            .await
            .map_err(|e| {
                let message = format!(
                    "DescribeCluster {} in {}: {}",
                    region.cluster,
                    region.name,
                    DisplayErrorContext(&e)
                );
                let throttled = matches!(
                    e.code(),
                    Some("ThrottlingException" | "TooManyRequestsException")
                );
                match e.raw_response().map(|r| r.status()) {
                    Some(status)
                        if !status.is_server_error() && status.as_u16() != 429 && !throttled =>
                    {
                        Error::rejected("EKS", message)
                    }
                    _ => Error::unavailable("EKS", message),
                }
            })?;
        let cluster = answer.cluster.ok_or_else(|| {
            Error::rejected(
                "EKS",
                format!("DescribeCluster {} answered no cluster", region.cluster),
            )
        })?;
        let status = cluster
            .status
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "UNKNOWN".into());
        let endpoint = cluster.endpoint.unwrap_or_default();
        let ca = cluster
            .certificate_authority
            .and_then(|c| c.data)
            .unwrap_or_default();
        Ok((status, endpoint, ca))
    }

    /// A client for the region's cluster, with a token valid for about a
    /// minute: built per invocation, because a cached token would expire.
    pub(crate) async fn connect(&self, region: &RegionSettings) -> Result<Described, Error> {
        let (status, endpoint, ca) = self.describe(region).await?;
        if status != "ACTIVE" {
            return Ok(Described::NotActive(status));
        }
        if endpoint.is_empty() || ca.is_empty() {
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

        let client = kube_client(&region.cluster, endpoint, ca, token.expose()).await?;
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
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(10));
    kube::Client::try_from(config)
        .map_err(|e| Error::rejected("Kubernetes API", format!("client for {cluster}: {e}")))
}
