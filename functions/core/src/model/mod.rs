//! The data of an incident and of what the orchestrator observes: plain
//! types with the invariants they keep themselves, and no decisions.

pub mod approval;
pub mod diagnosis;
pub mod health;
pub mod incident;
pub mod metric;
pub mod notice;
pub mod peers;
pub mod phase;
pub mod readiness;
pub mod remedy;
pub mod trigger;
pub mod verdict;
pub mod workflow;
