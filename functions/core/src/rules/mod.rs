//! The runbook's decisions: pure functions over the model and the policies,
//! each tested as a table.

pub mod approval;
pub mod confirmation;
pub mod guardrails;
pub mod health;
pub mod metrics;
pub mod peers;
pub mod readiness;
pub mod recovery;
pub mod remedy;
pub mod repair;
pub mod trigger;
