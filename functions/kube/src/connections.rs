//! The connection a diagnosis made to a region's cluster, kept for the calls
//! that follow it in the same invocation: a verification poll reads the DERP
//! peers right after its diagnosis, a restore scales or restarts right after
//! its own. So an invocation makes one `DescribeCluster` call and signs one
//! token per region, not one per call.
//!
//! A diagnosis always asks EKS afresh: the cluster's status is part of what
//! it reports, and an invocation must see a cluster that stopped being
//! ACTIVE since the last one. Only a diagnosis and the cold start's warm-up
//! (`warm_up.rs`) keep their connection; a call that finds none young enough
//! connects for itself alone, so no call works from a look older than
//! `REUSE_FOR`. The warm-up's connection serves one call, the first
//! invocation's: a process that only ever reuses (a DERP check) would
//! otherwise report a later invocation from the cold start's look.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use failover_core::Result;
use failover_core::config::RegionSettings;
use tokio::time::Instant;

use crate::cluster::{CONNECT_TIMEOUT, Connect, Described, READ_TIMEOUT};
use crate::eks_token::VALIDITY;
use crate::platform::{ATTEMPTS, FIRST_BACKOFF};

/// How long a kept connection serves. Its token was signed for `VALIDITY`
/// and the API server checks it on every request, so a reused token must
/// still pass when the last retry of the call it serves is sent (the
/// assertion below keeps that true when any of these numbers changes). The
/// call right after a diagnosis comes within a second or two; an invocation
/// slower than this connects again, which costs one `DescribeCluster`.
pub(crate) const REUSE_FOR: Duration = Duration::from_secs(20);

const _: () = assert!(
    REUSE_FOR.as_millis() + latest_send().as_millis() <= VALIDITY.as_millis(),
    "a reused EKS token must outlive the call it serves, retries included"
);

/// When a call sends its last attempt at the latest: each earlier attempt
/// used its whole connect and read timeouts, then its backoff, and the last
/// one its connect timeout.
const fn latest_send() -> Duration {
    let mut elapsed = CONNECT_TIMEOUT;
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    while attempt < ATTEMPTS {
        elapsed = elapsed
            .saturating_add(CONNECT_TIMEOUT)
            .saturating_add(READ_TIMEOUT)
            .saturating_add(backoff);
        backoff = backoff.saturating_mul(2);
        attempt += 1;
    }
    elapsed
}

/// A cluster is known by its region and its name.
type Key = (String, String);

fn key(region: &RegionSettings) -> Key {
    (region.name.clone(), region.cluster.clone())
}

struct Kept {
    id: u64,
    made: Instant,
    described: Described,
    /// Served to one call, then dropped (the warm-up's connection).
    once: bool,
}

/// A connection for one port call. `kept` names the kept connection it is,
/// so a refused token drops exactly that one and not a newer one.
pub(crate) struct Connection {
    pub(crate) described: Described,
    pub(crate) kept: Option<u64>,
}

/// The kept connections, one per cluster. Shared by every invocation of
/// the process (`&self`); the lock is never held across an await, so
/// regions connect in parallel and a slow `DescribeCluster` blocks nobody.
pub(crate) struct Connections {
    connector: Box<dyn Connect>,
    reuse_for: Duration,
    kept: Mutex<HashMap<Key, Kept>>,
    next_id: AtomicU64,
}

impl Connections {
    pub(crate) fn new(connector: Box<dyn Connect>, reuse_for: Duration) -> Self {
        Self {
            connector,
            reuse_for,
            kept: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// A new connection (`DescribeCluster`, a new token), kept for the calls
    /// that follow it.
    pub(crate) async fn fresh(&self, region: &RegionSettings) -> Result<Connection> {
        self.keep(region, false).await
    }

    /// A new connection kept for the next call alone: the cold start's, for
    /// the first invocation.
    pub(crate) async fn for_one_call(&self, region: &RegionSettings) -> Result<Connection> {
        self.keep(region, true).await
    }

    async fn keep(&self, region: &RegionSettings, once: bool) -> Result<Connection> {
        // Taken before the token is signed: the window never outlasts the token.
        let made = Instant::now();
        match self.connector.connect(region).await {
            Ok(described) => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                self.slots().insert(
                    key(region),
                    Kept {
                        id,
                        made,
                        described: described.clone(),
                        once,
                    },
                );
                Ok(Connection {
                    described,
                    kept: Some(id),
                })
            }
            Err(error) => {
                // The cluster's state is unknown now: no older look stands in for it.
                self.slots().remove(&key(region));
                Err(error)
            }
        }
    }

    /// The kept connection while it is younger than the reuse window, else a
    /// new one for this call alone.
    pub(crate) async fn reuse(&self, region: &RegionSettings) -> Result<Connection> {
        if let Some(connection) = self.young(region) {
            return Ok(connection);
        }
        let described = self.connector.connect(region).await?;
        Ok(Connection {
            described,
            kept: None,
        })
    }

    /// Drops kept connection `id` (the API server refused its token), so the
    /// next call connects with a new one; a connection kept since stays.
    pub(crate) fn forget(&self, region: &RegionSettings, id: u64) {
        let key = key(region);
        let mut slots = self.slots();
        if slots.get(&key).is_some_and(|kept| kept.id == id) {
            slots.remove(&key);
        }
    }

    fn young(&self, region: &RegionSettings) -> Option<Connection> {
        let key = key(region);
        let mut slots = self.slots();
        let kept = slots.get(&key)?;
        if kept.made.elapsed() >= self.reuse_for {
            // Dropped, not left: it holds the client's connection pool.
            slots.remove(&key);
            return None;
        }
        let connection = Connection {
            described: kept.described.clone(),
            kept: Some(kept.id),
        };
        if kept.once {
            slots.remove(&key);
        }
        Some(connection)
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<Key, Kept>> {
        // Every change under the lock is one insert or remove, so a panic
        // elsewhere while it was held cannot have left the map half-changed.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeEks, region};
    use failover_core::Error;

    fn connections(eks: &FakeEks) -> Connections {
        Connections::new(Box::new(eks.clone()), REUSE_FOR)
    }

    fn status(connection: &Connection) -> &str {
        match &connection.described {
            Described::NotActive(status) => status,
            Described::Active(_) => "ACTIVE",
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_diagnosis_connection_serves_the_call_after_it() {
        let eks = FakeEks::answering(["CREATING"]);
        let connections = connections(&eks);
        let east = region("us-east-1");

        let first = connections.fresh(&east).await.unwrap();
        let second = connections.reuse(&east).await.unwrap();

        assert_eq!(
            eks.calls(),
            ["us-east-1"],
            "two calls on one region make one DescribeCluster"
        );
        assert_eq!(
            second.kept, first.kept,
            "the call after a diagnosis uses the diagnosis' connection"
        );
        assert_eq!(
            status(&second),
            "CREATING",
            "the kept connection carries what EKS said"
        );
    }

    #[derive(Clone, Copy)]
    enum Call {
        /// `fresh`: asks EKS and keeps the connection.
        Diagnosis,
        /// `for_one_call`: asks EKS and keeps it for the next call alone.
        WarmUp,
        /// `reuse`: any other call.
        Other,
    }

    #[tokio::test(start_paused = true)]
    async fn which_calls_connect_afresh() {
        use Call::{Diagnosis, Other, WarmUp};
        struct Row {
            name: &'static str,
            calls: &'static [Call],
            /// How long after the previous call each call comes.
            gap: Duration,
            describes: usize,
        }
        let rows = [
            Row {
                name: "every diagnosis asks EKS afresh, so a status change is seen",
                calls: &[Diagnosis, Diagnosis],
                gap: Duration::ZERO,
                describes: 2,
            },
            Row {
                name: "calls without a diagnosis keep nothing for each other",
                calls: &[Other, Other],
                gap: Duration::ZERO,
                describes: 2,
            },
            Row {
                name: "a diagnosis serves every call inside the window",
                calls: &[Diagnosis, Other, Other],
                gap: Duration::from_secs(9),
                describes: 1,
            },
            Row {
                name: "just inside the window the connection still serves",
                calls: &[Diagnosis, Other],
                gap: REUSE_FOR - Duration::from_millis(1),
                describes: 1,
            },
            Row {
                name: "at the end of the window the call connects again",
                calls: &[Diagnosis, Other],
                gap: REUSE_FOR,
                describes: 2,
            },
            Row {
                name: "an expired connection is not revived by the calls after it",
                calls: &[Diagnosis, Other, Other],
                gap: REUSE_FOR,
                describes: 3,
            },
            Row {
                name: "the warm-up's connection serves the first call",
                calls: &[WarmUp, Other],
                gap: Duration::from_secs(1),
                describes: 1,
            },
            Row {
                name: "and only that one: the next invocation sees the cluster anew",
                calls: &[WarmUp, Other, Other],
                gap: Duration::from_secs(1),
                describes: 2,
            },
            Row {
                name: "the warm-up's connection expires like any other",
                calls: &[WarmUp, Other],
                gap: REUSE_FOR,
                describes: 2,
            },
            Row {
                name: "a diagnosis after the warm-up is kept as a diagnosis",
                calls: &[WarmUp, Diagnosis, Other, Other],
                gap: Duration::ZERO,
                describes: 2,
            },
        ];
        for row in rows {
            let eks = FakeEks::answering(["CREATING"; 4]);
            let connections = connections(&eks);
            let east = region("us-east-1");
            for (i, &call) in row.calls.iter().enumerate() {
                if i > 0 {
                    tokio::time::advance(row.gap).await;
                }
                let connected = match call {
                    Diagnosis => connections.fresh(&east).await,
                    WarmUp => connections.for_one_call(&east).await,
                    Other => connections.reuse(&east).await,
                };
                assert!(connected.is_ok(), "{}: call {i}", row.name);
            }
            assert_eq!(eks.calls().len(), row.describes, "{}", row.name);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn regions_and_clusters_are_kept_apart() {
        let eks = FakeEks::answering(["CREATING"; 3]);
        let connections = connections(&eks);
        let east = region("us-east-1");
        let west = region("eu-west-1");
        let mut renamed = region("us-east-1");
        renamed.cluster = "platform-us-east-1-b".into();

        connections.fresh(&east).await.unwrap();
        connections.reuse(&west).await.unwrap();
        connections.reuse(&renamed).await.unwrap();
        connections.reuse(&east).await.unwrap();

        assert_eq!(
            eks.calls(),
            ["us-east-1", "eu-west-1", "us-east-1"],
            "another region or another cluster name is another connection"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_drops_only_its_own_connection() {
        let eks = FakeEks::answering(["CREATING"; 3]);
        let connections = connections(&eks);
        let east = region("us-east-1");

        let old = connections.fresh(&east).await.unwrap();
        let new = connections.fresh(&east).await.unwrap();
        connections.forget(&east, old.kept.unwrap());
        let after_old = connections.reuse(&east).await.unwrap();
        assert_eq!(
            (eks.calls().len(), after_old.kept),
            (2, new.kept),
            "forgetting a replaced connection keeps its replacement"
        );

        connections.forget(&east, new.kept.unwrap());
        let after_new = connections.reuse(&east).await.unwrap();
        assert_eq!(
            (eks.calls().len(), after_new.kept),
            (3, None),
            "forgetting the kept connection makes the next call connect anew"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_diagnosis_connection_leaves_nothing_to_reuse() {
        let eks = FakeEks::new(vec![
            Ok(Described::NotActive("CREATING".into())),
            Err(Error::unavailable("EKS", "DescribeCluster timed out")),
            Ok(Described::NotActive("CREATING".into())),
        ]);
        let connections = connections(&eks);
        let east = region("us-east-1");

        connections.fresh(&east).await.unwrap();
        let failed = connections.fresh(&east).await;
        assert!(
            matches!(failed, Err(Error::Unavailable { .. })),
            "the connector's error comes through: {:?}",
            failed.err()
        );
        let next = connections.reuse(&east).await.unwrap();
        assert_eq!(
            (eks.calls().len(), next.kept),
            (3, None),
            "after a failed look the older one is not used"
        );
    }

    #[test]
    fn a_reused_token_outlives_the_call_it_serves() {
        // 5 s connect, then two attempts of 5 s + 10 s with 0.5 s and 1 s
        // backoffs: the third attempt is sent by 36.5 s.
        assert_eq!(latest_send(), Duration::from_millis(36_500));
        assert!(
            REUSE_FOR + latest_send() <= VALIDITY,
            "{REUSE_FOR:?} + {:?} within {VALIDITY:?}",
            latest_send()
        );
    }
}
