//! The failover orchestrator's core: what an incident is, how the runbook
//! decides, what people are told, and the use cases that tie them together.
//!
//! Nothing here performs I/O or knows an AWS or Kubernetes type. The layers
//! depend one way, each only on those above it in this list (a test,
//! `tests/layers.rs`, fails on any other edge and on any import cycle):
//!
//! - [`error`]: the one error type and its retry policy;
//! - [`config`]: the settings and policies, read once at a cold start;
//! - [`model`]: the data: incident, notice, verdict, diagnosis, peers, health;
//! - [`rules`]: the pure decisions of the runbook over that data;
//! - [`notices`]: every word people are told;
//! - [`app`]: the ports, the commit step and the use cases, one per function.

pub mod app;
pub mod config;
pub mod error;
pub mod model;
pub mod notices;
pub mod rules;

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
#[cfg(test)]
mod lifecycle_props;

pub use error::{Error, Result};
