//! The use cases, one per function, over the ports they borrow; and the one
//! commit step they all write through.

pub mod approve_remedy;
pub mod check_derp_peers;
pub(crate) mod commit;
pub mod confirm_outage;
pub mod context;
pub mod escalate_incident;
pub mod evaluate_readiness;
pub mod operate;
pub mod ports;
pub mod probe;
pub mod reconcile;
pub mod restore_platform;
pub mod verify_recovery;
