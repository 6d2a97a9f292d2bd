//! Pure decisions of the failover orchestrator.
//!
//! Nothing here performs I/O or knows an AWS or Kubernetes type: the model,
//! the configuration rules, the verdicts and the notices are plain functions
//! over plain data, and the use cases talk to the world only through the
//! small traits in [`ports`].

pub mod check_derp_peers;
mod commit;
pub mod config;
pub mod confirm_outage;
pub mod diagnosis;
pub mod error;
pub mod escalate_incident;
pub mod health;
pub mod incident;
pub mod notice;
pub mod ports;
pub mod reconcile;
pub mod recovery;
pub mod remedy;
pub mod restore_platform;
pub mod trigger;
pub mod verdict;
pub mod verify_recovery;
pub mod workflow;

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod lifecycle_props;

pub use error::{Error, Result};
