//! EKS and Kubernetes adapters: the bearer token EKS expects, a Kubernetes
//! client per cluster (TLS verified against the cluster's CA), and the
//! platform deployment read and changed through the Kubernetes API.

mod cluster;
pub mod eks_token;
mod kube_error;
mod platform;

pub use cluster::{EksClusters, kube_client};
pub use platform::KubePlatform;
