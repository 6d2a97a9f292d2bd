//! The Kubernetes adapter against the local Kubernetes API, reached the way
//! the functions reach a cluster: EKS DescribeCluster, an EKS token, TLS
//! verified against the cluster CA.

use failover_core::app::ports::Peers;
use failover_core::config::{PlatformSettings, RegionSettings};
use failover_kube::{EksClusters, KubePlatform};
use serde_json::json;
use system::{Environment, LocalCloud};

fn adapter(cloud: &LocalCloud) -> KubePlatform {
    let platform = PlatformSettings {
        namespace: "vcluster-platform".into(),
        deployment: "loft".into(),
        selector: "app=loft".into(),
        replicas: 3,
    };
    KubePlatform::new(EksClusters::new(cloud.sdk()), platform)
}

fn region(env: &Environment, name: &str) -> RegionSettings {
    let r = env.region(name);
    RegionSettings {
        name: r.name.clone(),
        cluster: r.cluster.clone(),
        health_check_id: r.health_check_id.clone(),
        alarm_names: r.alarm_names.clone(),
    }
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn derp_peers_are_read_with_the_omitted_online_field_meaning_offline() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("peers");
    env.region("eu-west-1").kube().scenario(json!({"peers": [
        {"name": "eu-west-1-peer", "online": true, "homeDerpRegion": 900},
        {"name": "us-east-1-peer", "online": false, "lastSeen": "2026-11-22T09:58:00Z", "homeDerpRegion": 901}
    ]}));

    let peers = adapter(&cloud)
        .peers(&region(&env, "eu-west-1"))
        .await
        .expect("peers");

    // Since when a peer is offline is what matters; an online one was just seen.
    let summary: Vec<(String, bool, Option<String>, Option<i64>)> = peers
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.online,
                p.last_seen.filter(|_| !p.online).map(|t| t.to_rfc3339()),
                p.home_derp_region,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("eu-west-1-peer".to_owned(), true, None, Some(900)),
            (
                "us-east-1-peer".to_owned(),
                false,
                Some("2026-11-22T09:58:00+00:00".to_owned()),
                Some(901)
            ),
        ]
    );
    let listed = env.region("eu-west-1").kube().requests();
    assert!(
        listed
            .iter()
            .any(|r| r["path"] == "/apis/storage.loft.sh/v1/networkpeers" && r["status"] == 200),
        "{listed:?}"
    );
}

#[tokio::test]
#[ignore = "needs the local cloud: scripts/local-cloud up (scripts/test runs it)"]
async fn peers_of_an_inactive_cluster_are_an_error_naming_it() {
    let cloud = LocalCloud::start().await;
    let env = cloud.provision("peersdown");
    env.region("us-east-1")
        .kube()
        .scenario(json!({"cluster_status": "FAILED"}));
    let error = adapter(&cloud)
        .peers(&region(&env, "us-east-1"))
        .await
        .expect_err("an inactive cluster has no readable peers");
    assert!(
        error.to_string().contains("is FAILED, not ACTIVE"),
        "{error}"
    );
    assert!(
        error.to_string().contains(&env.region("us-east-1").cluster),
        "{error}"
    );
}
