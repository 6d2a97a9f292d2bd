//! `verify-recovery`: one verification poll after a remedy. Answers recovered
//! (and closes the incident with its time to recover), keep waiting, or
//! failed (and escalates).

use failover_aws::{AwsPorts, answer, cold_start, failure, verify_event};
use failover_core::confirm_outage::Deps;
use failover_core::verify_recovery::verify_recovery;
use failover_kube::{EksClusters, KubePlatform};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Deps<'_>,
    platform: &KubePlatform,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    let request = verify_event::decode(&payload).map_err(failure)?;
    let report = verify_recovery(deps, platform, platform, &request, &context.request_id)
        .await
        .map_err(failure)?;
    tracing::info!(incident_id = %report.incident_id, phase = report.phase.as_str(), outcome = ?report.outcome, "verification poll");
    answer(&report)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, config) = cold_start().await?;
    let ports = AwsPorts::new(&config, &settings);
    let platform = KubePlatform::new(EksClusters::new(config), settings.platform.clone());
    let deps = ports.deps(&settings);
    lambda_runtime::run(service_fn(|event| handler(&deps, &platform, event))).await
}
