//! EKS and Kubernetes adapters: the bearer token EKS expects, and (next) the
//! platform deployment read and changed through the Kubernetes API.

pub mod eks_token;
