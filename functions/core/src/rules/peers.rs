//! Whether a region's DERP relay peers are all online.

use crate::model::peers::PeerView;
use serde::{Deserialize, Serialize};

/// The DERP peers of one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum PeersVerdict {
    AllOnline {
        peers: u32,
    },
    Degraded {
        peers: u32,
        offline: Vec<PeerView>,
    },
    /// The cluster's peers could not be read.
    Unreachable {
        why: String,
    },
}

/// Every region's peers at once: the worst region decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    AllOnline,
    Degraded,
    Unreachable,
}

impl Overall {
    /// The worst of `verdicts`; no region at all is all online.
    pub fn of<'v>(verdicts: impl IntoIterator<Item = &'v PeersVerdict>) -> Self {
        verdicts
            .into_iter()
            .map(|v| match v {
                PeersVerdict::AllOnline { .. } => Self::AllOnline,
                PeersVerdict::Degraded { .. } => Self::Degraded,
                PeersVerdict::Unreachable { .. } => Self::Unreachable,
            })
            .max()
            .unwrap_or(Self::AllOnline)
    }

    /// As the answer and the saved watch state spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllOnline => "all_online",
            Self::Degraded => "degraded",
            Self::Unreachable => "unreachable",
        }
    }
}

pub fn judge_peers(peers: Result<&[PeerView], &str>) -> PeersVerdict {
    match peers {
        Err(why) => PeersVerdict::Unreachable {
            why: why.to_owned(),
        },
        Ok(peers) => {
            let offline: Vec<PeerView> = peers.iter().filter(|p| !p.online).cloned().collect();
            let count = u32::try_from(peers.len()).unwrap_or(u32::MAX);
            if offline.is_empty() {
                PeersVerdict::AllOnline { peers: count }
            } else {
                PeersVerdict::Degraded {
                    peers: count,
                    offline,
                }
            }
        }
    }
}

impl PeersVerdict {
    pub fn describe(&self) -> String {
        match self {
            Self::AllOnline { peers } => format!("all {peers} DERP peers online"),
            Self::Degraded { peers, offline } => {
                let names: Vec<String> = offline
                    .iter()
                    .map(|p| match p.last_seen {
                        Some(at) => format!("{} (offline, last seen {})", p.name, at.to_rfc3339()),
                        None => format!("{} (offline, never seen)", p.name),
                    })
                    .collect();
                format!(
                    "{} of {peers} DERP peers offline: {}",
                    offline.len(),
                    names.join(", ")
                )
            }
            Self::Unreachable { why } => format!("DERP peers unreadable: {why}"),
        }
    }
}
