//! EKS and Kubernetes adapters: the bearer token EKS expects, a Kubernetes
//! client per cluster (TLS verified against the cluster's CA, kept from a
//! diagnosis or opened at the cold start for the calls that follow it), and
//! the platform deployment read and changed through the Kubernetes API; what
//! each function may do there, proven by its own access reviews.

mod access;
mod cluster;
mod connections;
pub mod eks_token;
mod inspection;
mod kube_error;
mod platform;
#[cfg(test)]
mod testing;
mod warm_up;

pub use access::{ClusterFunction, needed};
pub use cluster::{EksClusters, kube_client};
pub use platform::KubePlatform;
