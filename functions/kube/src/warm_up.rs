//! Connections opened during the cold start, so the first invocation finds
//! them open. A small function gets a small share of a CPU once it runs
//! (about 7 % at 128 MB) but its init phase does not, and a TLS handshake
//! made then is one the first call no longer pays. A call right after a
//! cold start is the common case: on demand, Lambda starts a process for
//! the event that is waiting.

use failover_aws::WARM_UP_WITHIN;
use failover_core::config::RegionSettings;
use futures::future::join_all;

use crate::cluster::Described;
use crate::platform::KubePlatform;

impl KubePlatform {
    /// Connects to every region's cluster at once: `DescribeCluster`, a
    /// token, and `GET /version` over the new client (public, so it needs
    /// no grant), kept for the first call that would reuse a connection,
    /// within [`crate::connections::REUSE_FOR`]. A call that must see the
    /// cluster afresh (a diagnosis) still asks EKS again, and so does every
    /// call after that first one: a later invocation sees the cluster as it
    /// is then, not as it was at the cold start.
    ///
    /// Best effort and bounded by [`WARM_UP_WITHIN`]: a region that cannot
    /// be reached now is for the first invocation to find and report, so
    /// nothing here fails the cold start or waits longer. Answers how many
    /// regions answered.
    pub async fn warm_up(&self, regions: &[RegionSettings]) -> usize {
        let started = tokio::time::Instant::now();
        // Each region on its own clock: a far or silent one does not cost
        // the near ones their connection.
        let answered = join_all(
            regions
                .iter()
                .map(|region| tokio::time::timeout(WARM_UP_WITHIN, self.warm(region))),
        )
        .await
        .into_iter()
        .filter(|warmed| matches!(warmed, Ok(true)))
        .count();
        tracing::info!(
            answered,
            regions = regions.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "cold start: connected to {answered} of {} clusters",
            regions.len()
        );
        answered
    }

    async fn warm(&self, region: &RegionSettings) -> bool {
        let cluster = region.cluster.as_str();
        match self.connections.for_one_call(region).await {
            Ok(connection) => match connection.described {
                Described::Active(client) => match client.apiserver_version().await {
                    Ok(_) => true,
                    Err(error) => {
                        tracing::debug!(cluster, "warm-up: GET /version: {error}");
                        false
                    }
                },
                Described::NotActive(status) => {
                    tracing::debug!(cluster, status, "warm-up: cluster not ACTIVE");
                    false
                }
            },
            Err(error) => {
                tracing::debug!(cluster, "warm-up: {error}");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::{FakeEks, Seen, api_server, list, platform_settings, region, requests};
    use failover_core::Error;
    use failover_core::app::ports::Peers;
    use serde_json::{Value, json};

    fn platform(eks: &FakeEks) -> KubePlatform {
        KubePlatform::connecting_with(Box::new(eks.clone()), platform_settings())
    }

    fn version() -> Value {
        json!({
            "major": "1", "minor": "31", "gitVersion": "v1.31.0",
            "gitCommit": "abc", "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64"
        })
    }

    fn no_peers() -> Value {
        list("NetworkPeerList", "storage.loft.sh/v1", Vec::new())
    }

    #[tokio::test(start_paused = true)]
    async fn every_region_is_connected_once_and_the_first_call_uses_that_connection() {
        let (east, east_server) = api_server(vec![(200, version()), (200, no_peers())]);
        let (west, west_server) = api_server(vec![(200, version())]);
        let (east_later, east_later_server) = api_server(vec![(200, no_peers())]);
        let eks = FakeEks::connecting([east, west, east_later]);
        let kube = platform(&eks);
        let regions = [region("us-east-1"), region("eu-west-1")];

        assert_eq!(kube.warm_up(&regions).await, 2);
        assert_eq!(
            eks.calls(),
            ["us-east-1", "eu-west-1"],
            "one DescribeCluster each"
        );

        kube.peers(&regions[0]).await.unwrap();
        assert_eq!(eks.calls().len(), 2, "the DERP read asked EKS nothing more");
        kube.peers(&regions[0]).await.unwrap();
        assert_eq!(
            eks.calls(),
            ["us-east-1", "eu-west-1", "us-east-1"],
            "the next read sees the cluster as it is now, not at the cold start"
        );
        drop(kube);
        let east_seen = requests(east_server).await;
        assert_eq!(east_seen[0], Seen::get("/version"));
        assert!(
            east_seen[1].uri.contains("/networkpeers"),
            "then the peers, over the same client: {east_seen:?}"
        );
        assert_eq!(east_seen.len(), 2, "{east_seen:?}");
        assert_eq!(requests(east_later_server).await.len(), 1);
        assert_eq!(requests(west_server).await, [Seen::get("/version")]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_region_that_cannot_be_reached_is_left_for_the_first_call() {
        let (west, west_server) = api_server(vec![(200, version())]);
        let eks = FakeEks::new(vec![
            Err(Error::unavailable("EKS", "DescribeCluster timed out")),
            Ok(Described::Active(west)),
            Ok(Described::NotActive("UPDATING".into())),
        ]);
        let kube = platform(&eks);
        let regions = [
            region("us-east-1"),
            region("eu-west-1"),
            region("ap-southeast-2"),
        ];

        assert_eq!(kube.warm_up(&regions).await, 1, "only eu-west-1 answered");
        // Nothing was kept for us-east-1: its first call connects for itself.
        let error = kube.peers(&regions[0]).await.unwrap_err();
        assert!(
            error.to_string().contains("no more connections scripted"),
            "{error}"
        );
        assert_eq!(
            eks.calls(),
            ["us-east-1", "eu-west-1", "ap-southeast-2", "us-east-1"]
        );
        drop(kube);
        assert_eq!(requests(west_server).await, [Seen::get("/version")]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_that_never_answers_holds_the_cold_start_no_longer_than_allowed() {
        // A mock API server that takes the request and never answers it.
        let (silent, handle) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        let (west, west_server) = api_server(vec![(200, version())]);
        let eks = FakeEks::connecting([kube::Client::new(silent, "default"), west]);
        let kube = platform(&eks);
        let started = tokio::time::Instant::now();

        let answered = kube
            .warm_up(&[region("us-east-1"), region("eu-west-1")])
            .await;
        assert_eq!(answered, 1, "eu-west-1 is warm all the same");
        assert_eq!(started.elapsed(), WARM_UP_WITHIN);
        drop((kube, handle));
        assert_eq!(requests(west_server).await, [Seen::get("/version")]);
    }
}
