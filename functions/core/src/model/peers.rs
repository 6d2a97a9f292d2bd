//! The DERP relay peers of a region's platform, as the platform reports them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One DERP relay peer (`networkpeers.storage.loft.sh`, cluster scoped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    pub name: String,
    /// `status.online`; the field is omitted when false.
    pub online: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_derp_region: Option<i64>,
}
