//! `restore-platform`: looks at the failed region's platform, decides what
//! would help (the runbook's rules and the guardrails), does it, records it in
//! the incident and tells people.

use failover_aws::{AwsPorts, answer, cold_start, failure, restore_event};
use failover_core::confirm_outage::Deps;
use failover_core::ports::Platform;
use failover_core::restore_platform::restore_platform;
use failover_kube::{EksClusters, KubePlatform};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(
    deps: &Deps<'_>,
    platform: &dyn Platform,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    let request = restore_event::decode(&payload).map_err(failure)?;
    let report = restore_platform(deps, platform, &request, &context.request_id)
        .await
        .map_err(failure)?;
    tracing::info!(incident_id = %report.incident_id, region = %report.region, phase = report.phase.as_str(), "{}", report.summary);
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
