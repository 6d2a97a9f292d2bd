//! `check-derp-peers`: are the DERP relay peers online in every region?
//! By hand it reports; on its schedule it tells people when that changes.

use failover_aws::{AwsPorts, answer, cold_start, failure, peers_event};
use failover_core::check_derp_peers::check_derp_peers;
use failover_core::confirm_outage::Deps;
use failover_core::ports::Peers;
use failover_kube::{EksClusters, KubePlatform};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Deps<'_>,
    peers: &dyn Peers,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let scheduled = peers_event::decode(&event.payload).map_err(failure)?;
    let report = check_derp_peers(deps, peers, scheduled)
        .await
        .map_err(failure)?;
    tracing::info!(
        verdict = report.verdict,
        scheduled,
        notified = report.notified,
        "{}",
        report.summary
    );
    answer(&report)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let ports = AwsPorts::new(&config, &settings);
    let peers = KubePlatform::new(EksClusters::new(config), settings.platform.clone());
    let deps = ports.deps(&settings);
    lambda_runtime::run(service_fn(|event| handler(&deps, &peers, event))).await
}
